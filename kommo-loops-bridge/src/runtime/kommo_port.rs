//! [`KommoApi`] on `kommo-client`.

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

use super::ports::{KommoApi, KommoEntity, PortError};

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
            .query("limit", "50")
            .query("order[id]", "desc")
            .query("filter[note_type][0]", "service_message")
            .query("filter[note_type][1]", "common");
        let answer = get_value(self, request).await?;
        Ok(embedded(answer, "notes")
            .iter()
            .filter_map(|n| n.get("params")?.get("text")?.as_str().map(str::to_owned))
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
            .query("limit", "50");
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
        let result = match entity {
            KommoEntity::Lead(id) => {
                let mut write = LeadWrite::update(LeadId(id));
                for tag in add {
                    write = write.add_tag(TagRef::from(tag.as_str()));
                }
                for tag in remove {
                    write = write.remove_tag(TagRef::from(tag.as_str()));
                }
                self.leads().update_one(LeadId(id), write).await
            }
            KommoEntity::Contact(id) => {
                let mut write = ContactWrite::update(ContactId(id));
                for tag in add {
                    write = write.add_tag(TagRef::from(tag.as_str()));
                }
                for tag in remove {
                    write = write.remove_tag(TagRef::from(tag.as_str()));
                }
                self.contacts().update_one(ContactId(id), write).await
            }
        };
        result.map(|r| r.updated_at).map_err(classify_kommo_error)
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
