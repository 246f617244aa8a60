//! [`KommoApi`] on `kommo-client`.

use std::collections::BTreeMap;

use kommo_client::common::{EntityType, TagRef};
use kommo_client::companies::{Company, CompanyWith};
use kommo_client::contacts::{Contact, ContactWith, ContactWrite};
use kommo_client::events::{Event, EventsQuery};
use kommo_client::ids::{CompanyId, ContactId, LeadId, TaskTypeId};
use kommo_client::leads::{Lead, LeadWith, LeadWrite};
use kommo_client::notes::NewNote;
use kommo_client::pagination::ListQuery;
use kommo_client::pipelines::Pipeline;
use kommo_client::tasks::TaskWrite;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSubscription};
use kommo_client::{ApiRequest, Error, Method};
use serde_json::Value;

use super::ports::{
    BatchOutcome, KommoApi, KommoEntity, KommoNote, KommoTask, PortError, TagChange,
};

mod batch;

/// Classifies a `kommo-client` error by what retrying can achieve.
pub fn classify_kommo_error(error: Error) -> PortError {
    let after = error.retry_after();
    match &error {
        Error::Blocked { retry_after, .. } => PortError::Transient {
            after: Some(*retry_after),
            reason: error.to_string(),
        },
        Error::RateLimited { .. }
        | Error::GatewayTimeout(_)
        | Error::Server(_)
        | Error::Transport { .. } => PortError::Transient {
            after,
            reason: error.to_string(),
        },
        _ => PortError::Permanent {
            reason: error.to_string(),
        },
    }
}

fn read<T>(result: Result<Option<T>, Error>) -> Result<Option<T>, PortError> {
    match result {
        Ok(found) => Ok(found),
        Err(Error::NotFound(_)) => Ok(None),
        Err(error) => Err(classify_kommo_error(error)),
    }
}

fn path_of(entity: KommoEntity) -> (EntityType, u64) {
    match entity {
        KommoEntity::Lead(id) => (EntityType::Leads, id),
        KommoEntity::Contact(id) => (EntityType::Contacts, id),
    }
}

/// The items of a HAL list answer (`_embedded.<name>`), or none for a 204.
fn embedded(answer: Option<Value>, name: &str) -> Vec<Value> {
    answer
        .and_then(|v| v.get("_embedded")?.get(name)?.as_array().cloned())
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl KommoApi for kommo_client::Client {
    async fn lead(&self, id: u64) -> Result<Option<Lead>, PortError> {
        read(self.leads().get(LeadId(id), &[LeadWith::Contacts]).await)
    }

    async fn contact(&self, id: u64) -> Result<Option<Contact>, PortError> {
        read(
            self.contacts()
                .get(ContactId(id), &[ContactWith::Leads])
                .await,
        )
    }

    async fn company(&self, id: u64) -> Result<Option<Company>, PortError> {
        read(
            self.companies()
                .get(CompanyId(id), &[CompanyWith::Contacts])
                .await,
        )
    }

    async fn pipelines(&self) -> Result<Vec<Pipeline>, PortError> {
        // The endpoint is not paginated: its one page is every pipeline.
        self.pipelines()
            .list_page()
            .await
            .map(|page| page.items)
            .map_err(classify_kommo_error)
    }

    async fn contacts_by_email(&self, email: &str) -> Result<Vec<Contact>, PortError> {
        self.contacts()
            .find_by_email(email)
            .await
            .map_err(classify_kommo_error)
    }

    async fn recent_notes(&self, entity: KommoEntity) -> Result<Vec<String>, PortError> {
        let (kind, id) = path_of(entity);
        // The bridge writes service messages; 0.1.0 wrote common notes, still recognised.
        let request = ApiRequest::raw(Method::GET, format!("/api/v4/{}/{id}/notes", kind.as_str()))
            .query("limit", batch::PER_ENTITY.to_string())
            .query("order[id]", "desc")
            .query("filter[note_type][0]", "service_message")
            .query("filter[note_type][1]", "common");
        let answer = get_value(self, request).await?;
        Ok(embedded(answer, "notes")
            .iter()
            .filter_map(|n| note_text(n).map(str::to_owned))
            .collect())
    }

    async fn add_note(&self, entity: KommoEntity, text: &str) -> Result<(), PortError> {
        let (kind, id) = path_of(entity);
        self.notes(kind)
            .add(vec![NewNote::service_message(
                id,
                super::executor::NOTE_SERVICE,
                text,
            )])
            .await
            .map(drop)
            .map_err(classify_kommo_error)
    }

    async fn open_tasks(&self, entity: KommoEntity) -> Result<Vec<String>, PortError> {
        let (kind, id) = path_of(entity);
        let request = ApiRequest::raw(Method::GET, "/api/v4/tasks")
            .query("filter[entity_type]", kind.as_str())
            .query("filter[entity_id][]", id.to_string())
            .query("filter[is_completed]", "0")
            // Newest first: the task of a write whose answer was lost is among the newest, and
            // Kommo's default order is not documented.
            .query("order[id]", "desc")
            .query("limit", batch::PER_ENTITY.to_string());
        let answer = get_value(self, request).await?;
        Ok(embedded(answer, "tasks")
            .iter()
            .filter_map(|t| t.get("text")?.as_str().map(str::to_owned))
            .collect())
    }

    async fn add_task(
        &self,
        entity: KommoEntity,
        text: &str,
        due: i64,
        task_type: Option<u64>,
    ) -> Result<(), PortError> {
        let (kind, id) = path_of(entity);
        let mut task = TaskWrite::new(text, due).entity(kind, id);
        if let Some(task_type) = task_type {
            task = task.task_type(TaskTypeId(task_type));
        }
        self.tasks()
            .add(vec![task])
            .await
            .map(drop)
            .map_err(classify_kommo_error)
    }

    async fn change_tags(
        &self,
        entity: KommoEntity,
        add: &[String],
        remove: &[String],
    ) -> Result<Option<i64>, PortError> {
        let change = TagChange::new(entity, add.to_vec(), remove.to_vec());
        let result = match entity {
            KommoEntity::Lead(id) => {
                self.leads()
                    .update_one(LeadId(id), lead_tags(&change))
                    .await
            }
            KommoEntity::Contact(id) => {
                self.contacts()
                    .update_one(ContactId(id), contact_tags(&change))
                    .await
            }
        };
        result.map(|r| r.updated_at).map_err(classify_kommo_error)
    }

    async fn recent_notes_of(
        &self,
        entities: &[KommoEntity],
    ) -> Result<BTreeMap<KommoEntity, Vec<String>>, PortError> {
        batch::texts_by_entity(
            self,
            entities,
            "notes",
            batch::notes_page,
            |note| note_text(note).map(str::to_owned),
            |entity| self.recent_notes(entity),
        )
        .await
    }

    async fn add_notes(&self, notes: &[KommoNote]) -> BatchOutcome<()> {
        let mut out: Vec<Option<Result<(), PortError>>> = notes.iter().map(|_| None).collect();
        for (kind, positions) in batch::by_type(notes, |n| n.entity) {
            let items: Vec<&KommoNote> = positions.iter().map(|&i| &notes[i]).collect();
            let results = batch::write_batch(
                &items,
                |sent| {
                    let notes = sent
                        .into_iter()
                        .map(|(i, note)| {
                            NewNote::service_message(
                                note.entity.id(),
                                super::executor::NOTE_SERVICE,
                                &note.text,
                            )
                            .request_id(i.to_string())
                        })
                        .collect();
                    async move { self.notes(kind).add(notes).await }
                },
                |_| (),
            )
            .await;
            for (position, result) in positions.into_iter().zip(results) {
                out[position] = Some(result);
            }
        }
        // `by_type` placed every position.
        out.into_iter().flatten().collect()
    }

    async fn open_tasks_of(
        &self,
        entities: &[KommoEntity],
    ) -> Result<BTreeMap<KommoEntity, Vec<String>>, PortError> {
        batch::texts_by_entity(
            self,
            entities,
            "tasks",
            batch::open_tasks_page,
            |task| task.get("text")?.as_str().map(str::to_owned),
            |entity| self.open_tasks(entity),
        )
        .await
    }

    async fn add_tasks(&self, tasks: &[KommoTask]) -> BatchOutcome<()> {
        batch::write_batch(
            tasks,
            |sent| {
                let tasks = sent
                    .into_iter()
                    .map(|(i, task)| {
                        let (kind, id) = path_of(task.entity);
                        let mut write = TaskWrite::new(task.text, task.due)
                            .entity(kind, id)
                            .request_id(i.to_string());
                        if let Some(task_type) = task.task_type {
                            write = write.task_type(TaskTypeId(task_type));
                        }
                        write
                    })
                    .collect();
                async move { self.tasks().add(tasks).await }
            },
            |_| (),
        )
        .await
    }

    async fn change_tags_of(&self, changes: &[TagChange]) -> BatchOutcome<Option<i64>> {
        let mut out: Vec<Option<Result<Option<i64>, PortError>>> =
            changes.iter().map(|_| None).collect();
        for (kind, positions) in batch::by_type(changes, |c| c.entity) {
            let items: Vec<&TagChange> = positions.iter().map(|&i| &changes[i]).collect();
            let updated_at = |r: &kommo_client::common::WriteResult| r.updated_at;
            let results = if kind == EntityType::Contacts {
                batch::write_batch(
                    &items,
                    |sent| {
                        let writes = sent
                            .into_iter()
                            .map(|(i, c)| contact_tags(c).request_id(i.to_string()))
                            .collect();
                        async move { self.contacts().update(writes).await }
                    },
                    updated_at,
                )
                .await
            } else {
                batch::write_batch(
                    &items,
                    |sent| {
                        let writes = sent
                            .into_iter()
                            .map(|(i, c)| lead_tags(c).request_id(i.to_string()))
                            .collect();
                        async move { self.leads().update(writes).await }
                    },
                    updated_at,
                )
                .await
            };
            for (position, result) in positions.into_iter().zip(results) {
                out[position] = Some(result);
            }
        }
        // `by_type` placed every position.
        out.into_iter().flatten().collect()
    }

    async fn leads_by_id(&self, ids: &[u64]) -> Result<Vec<Lead>, PortError> {
        self.leads()
            .list_page(by_id(ids).with(["contacts"]))
            .await
            .map(|page| page.items)
            .map_err(classify_kommo_error)
    }

    async fn contacts_by_id(&self, ids: &[u64]) -> Result<Vec<Contact>, PortError> {
        self.contacts()
            .list_page(by_id(ids).with(["leads"]))
            .await
            .map(|page| page.items)
            .map_err(classify_kommo_error)
    }

    async fn companies_by_id(&self, ids: &[u64]) -> Result<Vec<Company>, PortError> {
        self.companies()
            .list_page(by_id(ids).with(["contacts"]))
            .await
            .map(|page| page.items)
            .map_err(classify_kommo_error)
    }

    async fn events(&self, query: EventsQuery) -> Result<(Vec<Event>, bool), PortError> {
        let page = self
            .events()
            .list_page(query)
            .await
            .map_err(classify_kommo_error)?;
        let more = page.next_href().is_some();
        Ok((page.items, more))
    }

    async fn account(&self) -> Result<(u64, String), PortError> {
        let account = self
            .account()
            .get(&[])
            .await
            .map_err(classify_kommo_error)?;
        Ok((account.id.0, account.subdomain))
    }

    async fn webhook_subscription(
        &self,
        destination: &str,
    ) -> Result<Option<WebhookSubscription>, PortError> {
        let page = self
            .webhook_subscriptions()
            .list_page(ListQuery::new().filter("destination", destination))
            .await
            .map_err(classify_kommo_error)?;
        // The filter is exact in Kommo; compared again so that a looser server cannot hand
        // over another integration's subscription.
        Ok(page
            .items
            .into_iter()
            .find(|s| s.destination == destination))
    }

    async fn subscribe_webhook(
        &self,
        subscription: &Subscribe,
    ) -> Result<WebhookSubscription, PortError> {
        self.webhook_subscriptions()
            .subscribe(subscription)
            .await
            .map_err(classify_kommo_error)
    }
}

/// A note's text (`params.text`).
fn note_text(note: &Value) -> Option<&str> {
    note.get("params")?.get("text")?.as_str()
}

/// The update of a lead that adds and removes tags (`tags_to_add`, `tags_to_delete`).
fn lead_tags(change: &TagChange) -> LeadWrite {
    let mut write = LeadWrite::update(LeadId(change.entity.id()));
    for tag in &change.add {
        write = write.add_tag(TagRef::from(tag.as_str()));
    }
    for tag in &change.remove {
        write = write.remove_tag(TagRef::from(tag.as_str()));
    }
    write
}

/// [`lead_tags`] for a contact.
fn contact_tags(change: &TagChange) -> ContactWrite {
    let mut write = ContactWrite::update(ContactId(change.entity.id()));
    for tag in &change.add {
        write = write.add_tag(TagRef::from(tag.as_str()));
    }
    for tag in &change.remove {
        write = write.remove_tag(TagRef::from(tag.as_str()));
    }
    write
}

/// One page of at most 250 entities by id.
fn by_id(ids: &[u64]) -> ListQuery {
    ListQuery::new()
        .limit(250)
        .filter_ids("id", ids.iter().take(250))
}

/// A read kept as loose JSON: these answers feed conditions, and one odd note or task must
/// not fail the whole read.
async fn get_value(
    client: &kommo_client::Client,
    request: ApiRequest,
) -> Result<Option<Value>, PortError> {
    client
        .raw(request)
        .await
        .and_then(|response| response.json())
        .map_err(classify_kommo_error)
}
