//! Incoming leads, catalogs and customers against the fake, through `kommo_client`.

use futures_util::TryStreamExt;
use kommo_client::catalogs::{CatalogElementWrite, CatalogWrite};
use kommo_client::contacts::ContactWrite;
use kommo_client::customers::CustomerWrite;
use kommo_client::customers::transactions::NewTransaction;
use kommo_client::events::{EventType, EventsQuery};
use kommo_client::field_values::FieldValueUpdate;
use kommo_client::ids::{CatalogElementId, CatalogId, CustomFieldId, CustomerId, LeadId};
use kommo_client::leads::LeadWrite;
use kommo_client::pagination::ListQuery;
use kommo_client::unsorted::{FormMetadata, NewUnsorted, UnsortedDecision, UnsortedMetadata};
use kommo_loops_sandbox::kommo::saas_onboarding as ids;

use crate::kommo_support::{client, kommo, saas};

fn form() -> FormMetadata {
    serde_json::from_value(
        serde_json::json!({"form_id": "1", "form_name": "Trial signup",
        "form_page": "https://example.com/trial", "ip": "127.0.0.1", "form_sent_at": 1700000000}),
    )
    .unwrap()
}

#[tokio::test]
async fn incoming_leads_are_accepted_and_declined() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let submit = |uid: &str| {
        NewUnsorted::new(uid, "Trial form", UnsortedMetadata::Form(form()))
            .pipeline(ids::PIPELINE_ID)
            .lead(LeadWrite::new().name("Website trial"))
            .contact(ContactWrite::new().name("Ada"))
    };
    let added = api
        .unsorted()
        .add_forms(vec![submit("s-1"), submit("s-2")])
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    let lead = LeadId(added[0].embedded.leads[0].id);
    let waiting = api
        .leads()
        .get(lead, &[kommo_client::leads::LeadWith::Contacts])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        waiting.status_id,
        Some(ids::INCOMING),
        "waits in the incoming column"
    );
    assert_eq!(
        waiting.main_contact_id().map(|c| c.0),
        Some(added[0].embedded.contacts[0].id)
    );
    let listed: Vec<_> = api
        .unsorted()
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0].metadata.as_ref().unwrap()["form_name"],
        "Trial signup"
    );

    api.unsorted()
        .accept(
            &added[0].uid,
            UnsortedDecision::default().to_status(ids::TRIAL),
        )
        .await
        .unwrap();
    assert_eq!(
        api.leads().get(lead, &[]).await.unwrap().unwrap().status_id,
        Some(ids::TRIAL)
    );
    api.unsorted().decline(&added[1].uid, None).await.unwrap();
    let declined = LeadId(added[1].embedded.leads[0].id);
    assert!(api.leads().get(declined, &[]).await.unwrap().is_none());
    let again = api
        .unsorted()
        .accept(&added[0].uid, UnsortedDecision::default())
        .await;
    assert_eq!(again.unwrap_err().status(), Some(400), "sorted once");
    let summary = api.unsorted().summary(ListQuery::new()).await.unwrap();
    assert_eq!(
        (summary.total, summary.accepted, summary.declined),
        (Some(2), Some(1), Some(1))
    );
    assert!(
        api.unsorted()
            .list_page(ListQuery::new())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // The lead's own events: added, moved out of the incoming column, deleted.
    let kinds: Vec<EventType> = api
        .events()
        .list(EventsQuery::new().entity("lead"))
        .map_ok(|e| e.event_type)
        .try_collect()
        .await
        .unwrap();
    for kind in [
        EventType::LeadAdded,
        EventType::LeadStatusChanged,
        EventType::LeadDeleted,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn catalogs_elements_and_customers_keep_state() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let catalog = CatalogId(
        api.catalogs()
            .add(vec![CatalogWrite::new("Plans")])
            .await
            .unwrap()[0]
            .id,
    );
    let elements = api.catalog_elements(catalog);
    let added = elements
        .add(vec![
            CatalogElementWrite::new("Pro plan")
                .field(FieldValueUpdate::text(CustomFieldId(1), "PRO")),
            CatalogElementWrite::new("Team plan"),
        ])
        .await
        .unwrap();
    let mut rename = CatalogElementWrite::update(CatalogElementId(added[1].id));
    rename.name = Some("Team plan (yearly)".into());
    elements.update(vec![rename]).await.unwrap();
    let found = elements
        .list_page(ListQuery::new().query("yearly"))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(
        elements
            .get(CatalogElementId(added[0].id))
            .await
            .unwrap()
            .unwrap()
            .name,
        "Pro plan"
    );
    assert_eq!(
        api.catalogs().get(catalog).await.unwrap().unwrap().name,
        "Plans"
    );

    let acme = CustomerId(
        api.customers()
            .add(vec![
                CustomerWrite::new("Acme").next_purchase(500.0, 1_700_000_000),
            ])
            .await
            .unwrap()[0]
            .id,
    );
    let transactions = api.customer_transactions();
    transactions
        .add(
            acme,
            vec![NewTransaction::new(200.0), NewTransaction::new(300.0)],
            true,
        )
        .await
        .unwrap();
    let bought = api.customers().get(acme).await.unwrap().unwrap();
    assert_eq!((bought.ltv, bought.purchases_count), (Some(500.0), Some(2)));
    assert_eq!(
        api.customers().earn_points(acme, 10).await.unwrap(),
        Some(510)
    );
    assert_eq!(
        api.customers().redeem_points(acme, 110).await.unwrap(),
        Some(400)
    );
    let all: Vec<_> = transactions
        .list_for(acme, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    transactions.delete(all[0].id).await.unwrap();
    assert_eq!(
        transactions
            .list_page(ListQuery::new())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let logged: Vec<_> = api
        .events()
        .list(EventsQuery::new().entity("customer").entity_ids([acme.0]))
        .try_collect()
        .await
        .unwrap();
    let added = logged
        .iter()
        .filter(|e| e.event_type == EventType::CustomerAdded)
        .count();
    let bought = logged
        .iter()
        .filter(|e| e.event_type == EventType::TransactionAdded)
        .count();
    assert_eq!(
        (added, bought),
        (1, 2),
        "the customers module logs its changes"
    );
    let bad = api
        .customers()
        .update(vec![CustomerWrite::update(CustomerId(1))])
        .await;
    assert_eq!(bad.unwrap_err().status(), Some(400), "an unknown customer");
    sandbox.shutdown().await;
}
