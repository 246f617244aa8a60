//! Tasks (`/api/v4/tasks`).

use serde::{Deserialize, Serialize};

use crate::common::EntityType;
use crate::ids::{AccountId, GroupId, TaskId, TaskTypeId, UserId};
use crate::serde_util;

/// A task's completion result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskResult {
    /// The result text.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub text: Option<String>,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Task {
    /// The id.
    pub id: TaskId,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Who changed it last.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub updated_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The responsible user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub responsible_user_id: Option<UserId>,
    /// The user group.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub group_id: Option<GroupId>,
    /// The entity it is attached to.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub entity_id: Option<u64>,
    /// `leads`, `contacts`, `companies`, `customers`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub entity_type: Option<String>,
    /// Whether it is done.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_completed: Option<bool>,
    /// The task type.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub task_type_id: Option<TaskTypeId>,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Duration, seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub duration: Option<i64>,
    /// Due time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub complete_till: Option<i64>,
    /// The result.
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    pub result: Option<TaskResult>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
}

/// A task to add (or, with `id`, to update).
///
/// ```
/// use kommo_client::tasks::TaskWrite;
/// use kommo_client::common::EntityType;
/// use kommo_client::ids::{TaskTypeId, UserId};
///
/// let task = TaskWrite::new("Call back", 1_735_689_600)
///     .entity(EntityType::Leads, 123)
///     .task_type(TaskTypeId::FOLLOW_UP)
///     .responsible(UserId(456));
/// let json = serde_json::to_value(&task).unwrap();
/// assert_eq!(json["entity_type"], "leads");
/// assert_eq!(json["complete_till"], 1_735_689_600);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct TaskWrite {
    /// The task to update (updates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<TaskId>,
    /// The text (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Due time, unix seconds (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_till: Option<i64>,
    /// The entity type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<EntityType>,
    /// The entity id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<u64>,
    /// The task type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_type_id: Option<TaskTypeId>,
    /// The responsible user (defaults to the token's user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// Duration, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// Marks it done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_completed: Option<bool>,
    /// The completion result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl TaskWrite {
    /// A new task with its required text and due time.
    #[must_use]
    pub fn new(text: impl Into<String>, complete_till: i64) -> Self {
        Self {
            text: Some(text.into()),
            complete_till: Some(complete_till),
            ..Self::default()
        }
    }

    /// An update of task `id`.
    #[must_use]
    pub fn update(id: TaskId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Attaches the task to an entity.
    #[must_use]
    pub fn entity(mut self, entity_type: EntityType, entity_id: u64) -> Self {
        self.entity_type = Some(entity_type);
        self.entity_id = Some(entity_id);
        self
    }

    /// Sets the task type.
    #[must_use]
    pub fn task_type(mut self, task_type: TaskTypeId) -> Self {
        self.task_type_id = Some(task_type);
        self
    }

    /// Sets the responsible user.
    #[must_use]
    pub fn responsible(mut self, user: UserId) -> Self {
        self.responsible_user_id = Some(user);
        self
    }

    /// Completes the task with a result text.
    #[must_use]
    pub fn complete(mut self, result: impl Into<String>) -> Self {
        self.is_completed = Some(true);
        self.result = Some(TaskResult {
            text: Some(result.into()),
        });
        self
    }

    /// Sets the `request_id`.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

#[cfg(feature = "client")]
pub use api::TasksApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::{Task, TaskWrite};
    use crate::batch::Batch;
    use crate::client::Client;
    use crate::common::{Page, WriteResult};
    use crate::error::{Error, Result};
    use crate::ids::TaskId;
    use crate::pagination::ListQuery;

    const TASKS: Batch = Batch {
        path: "/api/v4/tasks",
        key: "tasks",
        noun: "task",
    };

    /// Tasks. Get it with [`Client::tasks`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::common::EntityType;
    /// use kommo_client::pagination::ListQuery;
    /// use kommo_client::tasks::TaskWrite;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let due = 1_767_225_600; // unix seconds
    /// client
    ///     .tasks()
    ///     .add(vec![TaskWrite::new("Call back", due).entity(EntityType::Leads, 152464)])
    ///     .await?;
    /// let open = client
    ///     .tasks()
    ///     .list_page(ListQuery::new().filter("is_completed", 0))
    ///     .await?;
    /// # let _ = open; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct TasksApi {
        pub(crate) client: Client,
    }

    impl TasksApi {
        /// One page of `GET /api/v4/tasks`.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<Task>> {
            self.client.list_page(TASKS.path, query, TASKS.key).await
        }

        /// `GET /api/v4/tasks`, following pages. Filter with e.g.
        /// `ListQuery::new().filter("entity_type", "leads").filter("entity_id", "123")`.
        pub fn list(&self, query: ListQuery) -> impl Stream<Item = Result<Task>> + Send + 'static {
            self.client.paginate(TASKS.path, query, TASKS.key)
        }

        /// `GET /api/v4/tasks/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn get(&self, id: TaskId) -> Result<Option<Task>> {
            self.client
                .get_json(format!("{}/{id}", TASKS.path), None)
                .await
        }

        /// `POST /api/v4/tasks` in chunks.
        ///
        /// # Errors
        ///
        /// As [`crate::leads::LeadsApi::add`], plus [`Error::InvalidRequest`] for a task
        /// without text or due time (nothing is sent).
        pub async fn add(&self, tasks: Vec<TaskWrite>) -> Result<Vec<WriteResult>> {
            if tasks
                .iter()
                .any(|t| t.text.is_none() || t.complete_till.is_none())
            {
                return Err(Error::invalid_request(
                    "a new task needs text and complete_till",
                ));
            }
            self.client.batch_add(TASKS, tasks).await
        }

        /// `PATCH /api/v4/tasks` in chunks; every item needs `id`.
        ///
        /// # Errors
        ///
        /// As [`crate::leads::LeadsApi::update`].
        pub async fn update(&self, tasks: Vec<TaskWrite>) -> Result<Vec<WriteResult>> {
            self.client.batch_update(TASKS, tasks).await
        }
    }
}
