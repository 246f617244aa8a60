//! The real `kommo_client::Client` against the Kommo sandbox, endpoint by endpoint.

use futures_util::TryStreamExt;
use kommo_client::common::{EntityType, TagRef};
use kommo_client::companies::{CompanyWith, CompanyWrite};
use kommo_client::contacts::{ContactWith, ContactWrite};
use kommo_client::custom_fields::FieldType;
use kommo_client::field_values::{FieldValue, FieldValueUpdate};
use kommo_client::ids::{
    CompanyId, ContactId, CustomFieldId, EnumId, LeadId, NoteId, PipelineId, StatusId, TaskId,
    UserId,
};
use kommo_client::leads::{ComplexLead, LeadWith, LeadWrite};
use kommo_client::links::EntityLink;
use kommo_client::notes::NewNote;
use kommo_client::pagination::ListQuery;
use kommo_client::tasks::TaskWrite;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSetting};
use kommo_client::{ApiRequest, Method};
use kommo_loops_sandbox::kommo::{
    NewCompany, NewContact, NewLead, defaults, saas_onboarding as saas_ids,
};
use serde_json::{Value, json};

use crate::kommo_support::{client, kommo, saas};

#[tokio::test]
async fn account_users_pipelines_and_field_definitions() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);

    let account = client.account().get(&["task_types"]).await.unwrap();
    assert_eq!(account.subdomain, "sandbox");
    assert_eq!(account.id, defaults::ACCOUNT_ID);
    assert_eq!(account.current_user_id, Some(defaults::API_USER));
    assert_eq!(account.embedded.task_types.len(), 2);

    let users: Vec<_> = client
        .users()
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].rights.is_admin, Some(true));
    let manager = client
        .users()
        .get(defaults::UI_USER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manager.name, "Sandbox Manager");
    assert!(
        client.users().get(UserId(1)).await.unwrap().is_none(),
        "204"
    );

    let pipelines: Vec<_> = client.pipelines().list().try_collect().await.unwrap();
    assert_eq!(pipelines.len(), 1);
    let saas_pipeline = &pipelines[0];
    assert_eq!(saas_pipeline.id, saas_ids::PIPELINE_ID);
    assert_eq!(saas_pipeline.name, "SaaS sales");
    let ids: Vec<u64> = saas_pipeline.statuses().iter().map(|s| s.id.0).collect();
    assert_eq!(ids, vec![5000, 5001, 5002, 5003, 5004, 142, 143]);
    assert!(saas_pipeline.statuses()[0].is_incoming());
    assert_eq!(
        saas_pipeline.status_by_name("Upgrade offered").unwrap().id,
        StatusId(5003)
    );
    let statuses = client
        .pipelines()
        .statuses(saas_ids::PIPELINE_ID)
        .await
        .unwrap();
    assert_eq!(statuses.len(), 7);
    let won = client
        .pipelines()
        .status(saas_ids::PIPELINE_ID, StatusId::WON)
        .await
        .unwrap()
        .unwrap();
    assert!(won.is_won());
    assert!(
        client
            .pipelines()
            .get(PipelineId(1))
            .await
            .unwrap()
            .is_none()
    );

    let contact_fields: Vec<_> = client
        .custom_fields(EntityType::Contacts)
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    let email = contact_fields
        .iter()
        .find(|f| f.code.as_deref() == Some("EMAIL"))
        .unwrap();
    assert_eq!(email.field_type, FieldType::Multitext);
    let kinds: Vec<_> = email
        .enums
        .iter()
        .map(|e| e.value.clone().unwrap())
        .collect();
    assert_eq!(kinds, vec!["WORK", "PRIV", "OTHER"]);
    // One per page: the stream follows `_links.next`.
    let lead_fields: Vec<_> = client
        .custom_fields(EntityType::Leads)
        .list(ListQuery::new().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(lead_fields.len(), 2);
    let plan = &lead_fields[0];
    assert_eq!(plan.code.as_deref(), Some("PLAN"));
    assert_eq!(plan.enum_by_value("team").unwrap().id, saas_ids::PLAN_TEAM);
    let days = client
        .custom_fields(EntityType::Leads)
        .get(saas_ids::TRIAL_DAYS_FIELD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(days.field_type, FieldType::Numeric);
    assert_eq!(days.name, "Trial days");
    assert!(
        client
            .custom_fields(EntityType::Leads)
            .get(CustomFieldId(1))
            .await
            .unwrap()
            .is_none()
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn leads_contacts_and_companies_round_trip_with_links() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);

    let created = client
        .contacts()
        .add(vec![
            ContactWrite::new()
                .names("Ada", "Lovelace")
                .email("ada@example.com")
                .phone("+1 555 0100")
                .request_id("c1"),
        ])
        .await
        .unwrap();
    assert_eq!(created[0].request_id.as_deref(), Some("c1"));
    let ada = ContactId(created[0].id);

    // Companies have no typed add in the client: the raw escape hatch, as an integration would.
    let body = json!([{"name": "Analytical Engines", "custom_fields_values": [
        {"field_code": "WEB", "values": [{"value": "https://engines.example"}]}]}]);
    let answer: Value = client
        .raw(
            ApiRequest::raw(Method::POST, "/api/v4/companies")
                .json_body(&body)
                .unwrap(),
        )
        .await
        .unwrap()
        .json()
        .unwrap()
        .unwrap();
    let acme = CompanyId(answer["_embedded"]["companies"][0]["id"].as_u64().unwrap());
    assert_eq!(answer["_embedded"]["companies"][0]["request_id"], "0");

    client
        .contacts()
        .update_one(ada, ContactWrite::new().company(acme))
        .await
        .unwrap();

    let leads = client
        .leads()
        .add(vec![
            LeadWrite::new()
                .name("Ada's trial")
                .price(49.0)
                .status(saas_ids::PIPELINE_ID, saas_ids::TRIAL)
                .contact(ada, true)
                .company(acme)
                .field(FieldValueUpdate::select(
                    saas_ids::PLAN_FIELD,
                    saas_ids::PLAN_PRO,
                ))
                .field(FieldValueUpdate::numeric(saas_ids::TRIAL_DAYS_FIELD, 14.0))
                .request_id("l1"),
        ])
        .await
        .unwrap();
    let lead_id = LeadId(leads[0].id);
    assert_eq!(leads[0].request_id.as_deref(), Some("l1"));

    let lead = client
        .leads()
        .get(lead_id, &[LeadWith::Contacts])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.main_contact_id(), Some(ada));
    assert_eq!(lead.company_id(), Some(acme));
    assert_eq!(lead.status_id, Some(saas_ids::TRIAL));
    assert_eq!(lead.pipeline_id, Some(saas_ids::PIPELINE_ID));
    assert_eq!(lead.price, Some(49.0));
    assert_eq!(lead.created_by, Some(defaults::API_USER));
    let plan = lead.custom_field_by_code("plan").unwrap();
    assert_eq!(plan.first().unwrap().enum_id(), Some(saas_ids::PLAN_PRO));
    assert_eq!(plan.first().unwrap().as_text().as_deref(), Some("pro"));
    assert_eq!(
        lead.custom_field(saas_ids::TRIAL_DAYS_FIELD)
            .unwrap()
            .first(),
        Some(&FieldValue::Numeric(14.0))
    );
    // Without `with=contacts` the contacts are not embedded; the company always is.
    let bare = client.leads().get(lead_id, &[]).await.unwrap().unwrap();
    assert!(bare.embedded.contacts.is_empty());
    assert_eq!(bare.company_id(), Some(acme));

    let contact = client
        .contacts()
        .get(ada, &[ContactWith::Leads])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(contact.primary_email().as_deref(), Some("ada@example.com"));
    assert!(contact.has_phone("15550100"));
    assert_eq!(contact.company_id(), Some(acme));
    assert_eq!(contact.embedded.leads[0].id, lead_id.0);
    let email = contact.custom_field_by_code("EMAIL").unwrap();
    assert_eq!(email.first().unwrap().enum_code(), Some("WORK"));

    let company = client
        .companies()
        .get(acme, &[CompanyWith::Contacts, CompanyWith::Leads])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(company.embedded.contacts[0].id, ada.0);
    assert_eq!(company.embedded.leads[0].id, lead_id.0);
    assert_eq!(
        company.custom_field_by_code("WEB").unwrap().texts(),
        vec!["https://engines.example".to_owned()]
    );

    // Updates bump updated_at; batch results echo request ids.
    let before = lead.updated_at.unwrap();
    let updated = client
        .leads()
        .update(vec![
            LeadWrite::update(lead_id).price(99.5).request_id("u1"),
        ])
        .await
        .unwrap();
    assert_eq!(updated[0].request_id.as_deref(), Some("u1"));
    assert!(updated[0].updated_at.unwrap() > before);
    let one = client
        .leads()
        .update_one(lead_id, LeadWrite::new().name("Renamed"))
        .await
        .unwrap();
    assert!(one.updated_at.unwrap() > updated[0].updated_at.unwrap());
    assert_eq!(sandbox.lead(lead_id).unwrap().price, 99.5);
    assert_eq!(sandbox.lead(lead_id).unwrap().name, "Renamed");

    // Raw shape: `custom_fields_values` is null when empty, HAL links point at the sandbox.
    let lone = sandbox.seed_contact(NewContact::new("No Fields")).unwrap();
    let raw: Value = client
        .raw(ApiRequest::raw(
            Method::GET,
            format!("/api/v4/contacts/{lone}"),
        ))
        .await
        .unwrap()
        .json()
        .unwrap()
        .unwrap();
    assert!(raw["custom_fields_values"].is_null());
    assert_eq!(
        raw["_links"]["self"]["href"],
        format!("{}/api/v4/contacts/{lone}", sandbox.base_url())
    );
    assert!(raw["created_at"].is_i64());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn lists_follow_pages_and_an_empty_list_is_204() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let leads: Vec<_> = client
        .leads()
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert!(leads.is_empty());
    assert_eq!(
        sandbox
            .request_stats()
            .endpoint_status("GET /api/v4/leads", 204),
        1
    );

    for i in 0..7 {
        sandbox
            .seed_contact(
                NewContact::new(format!("Contact {i}")).email(format!("c{i}@example.com")),
            )
            .unwrap();
    }
    let all: Vec<_> = client
        .contacts()
        .list(ListQuery::new().limit(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(
        sandbox.request_stats().requests_to("GET /api/v4/contacts"),
        3
    );
    let newest_first: Vec<_> = client
        .contacts()
        .list(ListQuery::new().order("id", false).page(2).limit(5))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(newest_first.len(), 2);
    assert_eq!(newest_first[0].name.as_deref(), Some("Contact 1"));

    // Filters by status and by id.
    let trial = sandbox
        .seed_lead(NewLead::new("t").status(saas_ids::PIPELINE_ID, saas_ids::TRIAL))
        .unwrap();
    sandbox
        .seed_lead(NewLead::new("w").status(saas_ids::PIPELINE_ID, StatusId::WON))
        .unwrap();
    let in_trial: Vec<_> = client
        .leads()
        .list(ListQuery::new().filter_status(saas_ids::PIPELINE_ID, saas_ids::TRIAL))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(in_trial.len(), 1);
    assert_eq!(in_trial[0].id, trial);
    let by_id: Vec<_> = client
        .leads()
        .list(ListQuery::new().filter_ids("id", [trial.0]))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn query_by_email_finds_a_contact_by_any_of_its_emails() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let ada = sandbox
        .seed_contact(
            NewContact::new("Ada")
                .email("ada@work.example")
                .email_kind("ada@home.example", "PRIV"),
        )
        .unwrap();
    sandbox
        .seed_contact(NewContact::new("Bob").email("bob@work.example"))
        .unwrap();

    let found = client
        .contacts()
        .find_by_email("ADA@home.example")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ada);
    assert_eq!(
        found[0].emails(),
        vec!["ada@work.example", "ada@home.example"]
    );
    assert!(
        client
            .contacts()
            .find_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        sandbox
            .request_stats()
            .endpoint_status("GET /api/v4/contacts", 204),
        1,
        "no hit is a 204"
    );
    // The search is a substring search, as Kommo's is: the client filters exactly.
    let fuzzy: Vec<_> = client
        .contacts()
        .list(ListQuery::new().query("work.example"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fuzzy.len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tags_are_added_and_removed_without_touching_the_others() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let lead = client
        .leads()
        .add(vec![
            LeadWrite::new().name("Tagged").add_tag("a").add_tag("b"),
        ])
        .await
        .unwrap()[0]
        .id;
    let lead = LeadId(lead);
    client
        .tags()
        .add_to_lead(lead, vec![TagRef::name("c")])
        .await
        .unwrap();
    assert_eq!(sandbox.lead(lead).unwrap().tag_names(), vec!["a", "b", "c"]);
    client
        .tags()
        .remove_from_lead(lead, vec![TagRef::name("a")])
        .await
        .unwrap();
    let fetched = client.leads().get(lead, &[]).await.unwrap().unwrap();
    assert_eq!(fetched.tag_names(), vec!["b", "c"]);

    let contact = sandbox
        .seed_contact(NewContact::new("Ada").tag("lead-magnet"))
        .unwrap();
    let directory: Vec<_> = client
        .tags()
        .list(EntityType::Contacts, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    let magnet = directory
        .iter()
        .find(|t| t.name == "lead-magnet")
        .unwrap()
        .id;
    client
        .tags()
        .add_to_contact(contact, vec![TagRef::name("customer")])
        .await
        .unwrap();
    client
        .tags()
        .remove_from_contact(contact, vec![TagRef::id(magnet)])
        .await
        .unwrap();
    assert_eq!(
        sandbox.contact(contact).unwrap().tag_names(),
        vec!["customer"]
    );
    // Lead and contact tags live in separate directories.
    assert_eq!(sandbox.tags(EntityType::Leads).len(), 3);
    assert_eq!(sandbox.tags(EntityType::Contacts).len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn notes_and_tasks_are_recorded() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let lead = sandbox.seed_lead(NewLead::new("Noted")).unwrap();
    let contact = sandbox.seed_contact(NewContact::new("Ada")).unwrap();

    let written = client
        .notes(EntityType::Leads)
        .add(vec![
            NewNote::common(lead.0, "Trial started").request_id("n1"),
        ])
        .await
        .unwrap();
    assert_eq!(written[0].request_id.as_deref(), Some("n1"));
    client
        .notes(EntityType::Contacts)
        .add(vec![NewNote::service_message(
            contact.0,
            "bridge",
            "Welcome email sent",
        )])
        .await
        .unwrap();
    let recorded = sandbox.notes_for(EntityType::Leads, lead.0);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].text(), Some("Trial started"));
    assert_eq!(recorded[0].created_by, defaults::API_USER);
    assert_eq!(recorded[0].note_type, "common");
    let listed: Vec<_> = client
        .notes(EntityType::Leads)
        .list_for(lead.0, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed[0].text(), Some("Trial started"));
    let one = client
        .notes(EntityType::Leads)
        .get(NoteId(written[0].id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.entity_id, Some(lead.0));
    let contact_notes = sandbox.notes_for(EntityType::Contacts, contact.0);
    assert_eq!(contact_notes[0].params["service"], "bridge");

    let due = sandbox.now() + 86_400;
    let tasks = client
        .tasks()
        .add(vec![
            TaskWrite::new("Call about the trial", due).entity(EntityType::Leads, lead.0),
        ])
        .await
        .unwrap();
    let task = TaskId(tasks[0].id);
    let listed: Vec<_> = client
        .tasks()
        .list(
            ListQuery::new()
                .filter("entity_type", "leads")
                .filter_ids("entity_id", [lead.0]),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].complete_till, Some(due));
    let fetched_lead = client.leads().get(lead, &[]).await.unwrap().unwrap();
    assert_eq!(fetched_lead.closest_task_at, Some(due));
    client
        .tasks()
        .update(vec![TaskWrite::update(task).complete("Called")])
        .await
        .unwrap();
    let done = client.tasks().get(task).await.unwrap().unwrap();
    assert_eq!(done.is_completed, Some(true));
    assert_eq!(done.result.and_then(|r| r.text).as_deref(), Some("Called"));
    assert_eq!(sandbox.tasks()[0].result_text.as_deref(), Some("Called"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn links_and_complex_adds() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let ada = sandbox.seed_contact(NewContact::new("Ada")).unwrap();
    let bob = sandbox.seed_contact(NewContact::new("Bob")).unwrap();
    let acme = sandbox.seed_company(NewCompany::new("Acme")).unwrap();
    let lead = sandbox
        .seed_lead(NewLead::new("Deal").contact(ada))
        .unwrap();

    client
        .links()
        .link_contact_to_lead(lead, bob, true)
        .await
        .unwrap();
    let links = client
        .links()
        .link(EntityType::Leads, lead.0, vec![EntityLink::company(acme)])
        .await
        .unwrap();
    assert_eq!(links[0].to_entity_type, "companies");
    let stored = sandbox.lead(lead).unwrap();
    assert_eq!(stored.main_contact(), Some(bob));
    assert_eq!(stored.contact_ids(), vec![ada, bob]);
    assert_eq!(stored.company, Some(acme));
    let listed: Vec<_> = client
        .links()
        .list(EntityType::Leads, lead.0, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().any(
        |l| l.to_entity_id == bob.0 && l.metadata.as_ref().is_some_and(|m| m.is_main_contact())
    ));

    client
        .links()
        .unlink_contact_from_lead(lead, bob)
        .await
        .unwrap();
    let stored = sandbox.lead(lead).unwrap();
    assert_eq!(
        stored.main_contact(),
        Some(ada),
        "the remaining contact becomes main"
    );
    let via_contact = client
        .links()
        .list_page(EntityType::Contacts, ada.0, ListQuery::new())
        .await
        .unwrap()
        .items;
    assert_eq!(via_contact[0].to_entity_id, lead.0);

    let results = client
        .leads()
        .add_complex(vec![
            ComplexLead::new(LeadWrite::new().name("Inbound").price(10.0))
                .contact(ContactWrite::new().name("Cy").email("cy@example.com"))
                .company(CompanyWrite::new("Cyco")),
        ])
        .await
        .unwrap();
    let result = &results[0];
    assert!(!result.merged);
    assert_eq!(result.request_id, vec!["0".to_owned()]);
    let cy = sandbox.contact(result.contact_id.unwrap()).unwrap();
    assert_eq!(cy.company, result.company_id);
    assert_eq!(cy.emails(), vec!["cy@example.com"]);
    let inbound = sandbox.lead(result.id).unwrap();
    assert_eq!(inbound.main_contact(), result.contact_id);
    assert_eq!(inbound.company, result.company_id);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn webhook_subscriptions_through_the_api() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    assert!(
        client
            .webhook_subscriptions()
            .list_page(ListQuery::new())
            .await
            .unwrap()
            .items
            .is_empty(),
        "204 when none"
    );
    let url = "http://127.0.0.1:9/hooks/kommo";
    let sub = client
        .webhook_subscriptions()
        .subscribe(&Subscribe::new(
            url,
            vec![WebhookSetting::AddLead, WebhookSetting::StatusLead],
        ))
        .await
        .unwrap();
    assert!(sub.id.is_some());
    assert_eq!(sub.destination, url);
    assert_eq!(sub.disabled, Some(false));
    // Subscribing again updates the settings of the same subscription.
    let again = client
        .webhook_subscriptions()
        .subscribe(&Subscribe::new(url, vec![WebhookSetting::NoteLead]))
        .await
        .unwrap();
    assert_eq!(again.id, sub.id);
    let listed: Vec<_> = client
        .webhook_subscriptions()
        .list(ListQuery::new().filter("destination", url))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].settings, vec![WebhookSetting::NoteLead]);
    assert!(
        client
            .webhook_subscriptions()
            .list_page(ListQuery::new().filter("destination", "http://other"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        sandbox.subscriptions()[0].settings,
        vec![WebhookSetting::NoteLead]
    );
    client
        .webhook_subscriptions()
        .unsubscribe(url)
        .await
        .unwrap();
    assert!(sandbox.subscriptions().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn select_fields_accept_labels_ids_and_clearing() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let lead = sandbox
        .seed_lead(
            NewLead::new("L")
                .field("PLAN", "team")
                .field(saas_ids::TRIAL_DAYS_FIELD, 7),
        )
        .unwrap();
    let stored = sandbox.lead(lead).unwrap();
    assert_eq!(stored.field_text("PLAN").as_deref(), Some("team"));
    assert_eq!(
        stored.field_by_code("PLAN").unwrap().values[0].enum_id,
        Some(saas_ids::PLAN_TEAM)
    );
    client
        .leads()
        .update_one(
            lead,
            LeadWrite::new().field(FieldValueUpdate::clear(
                kommo_client::field_values::FieldRef::Code("PLAN".into()),
            )),
        )
        .await
        .unwrap();
    let fetched = client.leads().get(lead, &[]).await.unwrap().unwrap();
    assert!(fetched.custom_field_by_code("PLAN").is_none());
    assert!(fetched.custom_field(saas_ids::TRIAL_DAYS_FIELD).is_some());
    let bad = client
        .leads()
        .update_one(
            lead,
            LeadWrite::new().field(FieldValueUpdate::select(saas_ids::PLAN_FIELD, EnumId(1))),
        )
        .await
        .unwrap_err();
    assert_eq!(
        bad.validation_errors()[0].errors[0].path,
        "custom_fields_values.0.values.0.enum_id"
    );
    sandbox.shutdown().await;
}
