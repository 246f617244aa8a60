//! Reading what the preflight compares the rules with, through the two clients. Only what the
//! rules need is read: a handful of requests, well within both rate limits.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use kommo_client::common::EntityType;
use kommo_client::custom_fields::CustomFieldDefinition;
use kommo_client::pagination::ListQuery;
use kommo_client::pipelines::Pipeline;
use kommo_client::webhook_subscriptions::WebhookSubscription;
use loops_client::contact_properties::{ContactPropertyDefinition, PropertyList};
use loops_client::mailing_lists::MailingList;
use loops_client::transactional::{TransactionalEmail, TransactionalList};

use super::needs::{FieldEntity, Needs};

/// Why a read failed: the status when the API answered, and the client's message (which
/// never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
}

/// `None`: not read (not needed, or the account itself could not be reached).
pub(crate) type Fetched<T> = Option<Result<T, Failure>>;

/// What the accounts hold, as far as the rules need it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// `acme (31000001)`.
    pub(crate) kommo_account: Fetched<String>,
    pub(crate) pipelines: Fetched<Vec<Pipeline>>,
    pub(crate) fields: BTreeMap<FieldEntity, Result<Vec<CustomFieldDefinition>, Failure>>,
    pub(crate) subscriptions: Fetched<Vec<WebhookSubscription>>,
    /// The team name.
    pub(crate) loops_team: Fetched<String>,
    pub(crate) properties: Fetched<Vec<ContactPropertyDefinition>>,
    pub(crate) transactional: Fetched<Vec<TransactionalEmail>>,
    pub(crate) lists: Fetched<Vec<MailingList>>,
}

fn kommo_failure(error: kommo_client::Error) -> Failure {
    Failure {
        status: error.status(),
        message: error.to_string(),
    }
}

fn loops_failure(error: loops_client::Error) -> Failure {
    Failure {
        status: error.status(),
        message: error.to_string(),
    }
}

/// Reads the Kommo side: the account first (a wrong token or address stops there), then the
/// pipelines, the custom fields of the entities the rules read, and the subscriptions.
pub(crate) async fn kommo(
    client: &kommo_client::Client,
    needs: &Needs,
    names: bool,
    facts: &mut Facts,
) {
    match client.account().get(&[]).await {
        Ok(account) => {
            facts.kommo_account = Some(Ok(format!("{} ({})", account.subdomain, account.id.0)));
        }
        Err(error) => {
            facts.kommo_account = Some(Err(kommo_failure(error)));
            return;
        }
    }
    if names || !needs.pipelines.is_empty() || !needs.stages.is_empty() {
        facts.pipelines = Some(
            client
                .pipelines()
                .list_page()
                .await
                .map(|page| page.items)
                .map_err(kommo_failure),
        );
    }
    let mut entities: Vec<FieldEntity> = needs.fields.iter().map(|f| f.entity).collect();
    entities.sort();
    entities.dedup();
    for entity in entities {
        let kind = match entity {
            FieldEntity::Lead => EntityType::Leads,
            FieldEntity::Contact => EntityType::Contacts,
            FieldEntity::Company => EntityType::Companies,
        };
        let fields = client
            .custom_fields(kind)
            .list(ListQuery::new().limit(250))
            .try_collect()
            .await
            .map_err(kommo_failure);
        facts.fields.insert(entity, fields);
    }
    if !needs.settings.is_empty() {
        facts.subscriptions = Some(
            client
                .webhook_subscriptions()
                .list(ListQuery::new())
                .try_collect()
                .await
                .map_err(kommo_failure),
        );
    }
}

/// Reads the Loops side: the key first, then the contact properties, the transactional
/// emails and the mailing lists the rules use.
pub(crate) async fn loops(client: &loops_client::Client, needs: &Needs, facts: &mut Facts) {
    match client.api_key().test().await {
        Ok(info) => facts.loops_team = Some(Ok(info.team_name)),
        Err(error) => {
            facts.loops_team = Some(Err(loops_failure(error)));
            return;
        }
    }
    if !needs.properties.is_empty() {
        facts.properties = Some(
            client
                .contact_properties()
                .list(PropertyList::All)
                .await
                .map_err(loops_failure),
        );
    }
    if !needs.transactional.is_empty() {
        facts.transactional = Some(
            client
                .transactional()
                .list(TransactionalList::Current, Some(50))
                .try_collect()
                .await
                .map_err(loops_failure),
        );
    }
    if !needs.mailing_lists.is_empty() {
        facts.lists = Some(client.mailing_lists().list().await.map_err(loops_failure));
    }
}
