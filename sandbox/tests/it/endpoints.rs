//! Every endpoint, driven by the real client.

use futures_util::TryStreamExt;
use kommo_loops_sandbox::loops::{MailingListSeed, PropertyKind, TransactionalTemplate};
use loops_client::Error;
use loops_client::contact_properties::{PropertyList, PropertyType};
use loops_client::contacts::{ContactLookup, CreateContactRequest, UpdateContactRequest};
use loops_client::events::SendEventRequest;
use loops_client::pagination::PageRequest;
use loops_client::transactional::{SendTransactionalRequest, TransactionalList};
use loops_client::value::ContactProperties;
use serde_json::json;

use crate::support::{client, sandbox, unlimited};

#[tokio::test]
async fn api_key_and_wrong_key() {
    let sandbox = sandbox(unlimited().team_name("Acme")).await;
    let info = client(&sandbox).api_key().test().await.unwrap();
    assert_eq!(info.team_name, "Acme");

    let wrong = loops_client::Client::builder()
        .api_key("not-the-key")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let err = wrong.api_key().test().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let body = err.body().unwrap().json.clone().unwrap();
    assert_eq!(
        body,
        json!({"success": false, "message": "Invalid API key", "error": "Invalid API key"})
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn contacts_round_trip() {
    let sandbox = sandbox(
        unlimited()
            .list(MailingListSeed::new("list_news", "News"))
            .custom_property("plan", PropertyKind::String),
    )
    .await;
    let client = client(&sandbox);

    let id = client
        .contacts()
        .create(
            &CreateContactRequest::new("ada@example.com")
                .user_id("u_ada")
                .properties(
                    ContactProperties::new()
                        .first_name("Ada")
                        .set("plan", "pro"),
                )
                .mailing_list("list_news", true),
        )
        .await
        .unwrap();
    let found = client
        .contacts()
        .find(&ContactLookup::email("ada@example.com"))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.id, id.as_str());
    assert_eq!(found.first_name.as_deref(), Some("Ada"));
    assert_eq!(found.last_name, None);
    assert_eq!(found.user_group.as_deref(), Some(""));
    assert_eq!(found.user_id.as_deref(), Some("u_ada"));
    assert_eq!(found.source.as_deref(), Some("API"));
    assert_eq!(found.subscribed, Some(true));
    assert_eq!(found.opt_in_status, None);
    assert_eq!(found.mailing_lists.get("list_news"), Some(&true));
    assert_eq!(found.property("plan"), Some(&json!("pro")));

    let updated = client
        .contacts()
        .update(
            &UpdateContactRequest::by_user_id("u_ada")
                .property("plan", loops_client::value::PropertyValue::Null)
                .mailing_list("list_news", false),
        )
        .await
        .unwrap();
    assert_eq!(updated, id);
    let found = client
        .contacts()
        .find(&ContactLookup::user_id("u_ada"))
        .await
        .unwrap()
        .unwrap();
    assert!(found.property("plan").is_none());
    assert!(found.mailing_lists.is_empty());

    let deleted = client
        .contacts()
        .delete(&ContactLookup::email("ada@example.com"))
        .await
        .unwrap();
    assert_eq!(deleted.message.as_deref(), Some("Contact deleted."));
    assert!(
        client
            .contacts()
            .find(&ContactLookup::email("ada@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn properties_lists_ips() {
    let sandbox = sandbox(
        unlimited()
            .list(MailingListSeed::new("l1", "Beta"))
            .list(
                MailingListSeed::new("l2", "Launch")
                    .description("Pre-launch")
                    .private(),
            )
            .custom_property("favoriteColor", PropertyKind::String)
            .sending_ips(["1.2.3.4", "5.6.7.8"]),
    )
    .await;
    let client = client(&sandbox);

    let all = client
        .contact_properties()
        .list(PropertyList::All)
        .await
        .unwrap();
    let keys: Vec<&str> = all.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "firstName",
            "lastName",
            "email",
            "notes",
            "source",
            "userGroup",
            "userId",
            "subscribed",
            "createdAt",
            "favoriteColor"
        ]
    );
    assert_eq!(all[9].label, "Favorite Color");

    client
        .contact_properties()
        .create("planName", PropertyType::Number)
        .await
        .unwrap();
    let custom = client
        .contact_properties()
        .list(PropertyList::Custom)
        .await
        .unwrap();
    assert_eq!(custom.len(), 2);
    assert_eq!(custom[1].key, "planName");
    assert_eq!(custom[1].property_type, PropertyType::Number);
    // Duplicates (custom or default) are refused with 400.
    for name in ["planName", "firstName"] {
        let err = client
            .contact_properties()
            .create(name, PropertyType::String)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400), "{name}: {err:?}");
    }

    let lists = client.mailing_lists().list().await.unwrap();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[1].description.as_deref(), Some("Pre-launch"));
    assert!(!lists[1].is_public);

    assert_eq!(
        client.dedicated_sending_ips().list().await.unwrap(),
        ["1.2.3.4", "5.6.7.8"]
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn events_and_transactional_round_trip() {
    let sandbox = sandbox(
        unlimited()
            .custom_property("plan", PropertyKind::String)
            .transactional(TransactionalTemplate::new("tx_welcome", "Welcome").required(["name"])),
    )
    .await;
    let client = client(&sandbox);

    let receipt = client
        .events()
        .send(
            &SendEventRequest::by_email("new@example.com", "signup")
                .event_property("trialDays", 14)
                .contact_property("plan", "trial"),
        )
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 1);
    assert!(!receipt.deduplicated);
    // The event created the contact and set its property.
    let contact = sandbox
        .contact("new@example.com")
        .expect("created by the event");
    assert_eq!(contact.properties["plan"], "trial");
    let events = sandbox.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_name, "signup");
    assert_eq!(events[0].event_properties["trialDays"], 14);
    assert_eq!(events[0].contact_properties["plan"], "trial");
    assert_eq!(
        events[0].idempotency_key.as_deref(),
        Some(receipt.idempotency_key.as_str())
    );

    let receipt = client
        .transactional()
        .send(
            &SendTransactionalRequest::new("tx_welcome", "new@example.com")
                .data_variable("name", "Ada"),
        )
        .await
        .unwrap();
    let sends = sandbox.transactional_sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].transactional_id, "tx_welcome");
    assert_eq!(sends[0].data_variables["name"], "Ada");
    assert_eq!(
        sends[0].idempotency_key.as_deref(),
        Some(receipt.idempotency_key.as_str())
    );

    // Unknown id: 404. Missing variable: 400 with the nested error.
    let err = client
        .transactional()
        .send(&SendTransactionalRequest::new("nope", "new@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = client
        .transactional()
        .send(&SendTransactionalRequest::new(
            "tx_welcome",
            "new@example.com",
        ))
        .await
        .unwrap_err();
    let body = err.body().unwrap();
    assert_eq!(err.status(), Some(400));
    assert_eq!(body.path.as_deref(), Some("dataVariables"));
    assert_eq!(
        body.message.as_deref(),
        Some("Missing required fields: name")
    );
    assert_eq!(body.transactional_id.as_deref(), Some("tx_welcome"));
    assert_eq!(sandbox.transactional_sends().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn transactional_lists_paginate() {
    let mut config = unlimited();
    for i in 0..23 {
        config = config.transactional(
            TransactionalTemplate::new(format!("tx_{i:02}"), format!("Email {i}"))
                .required(["url"]),
        );
    }
    config = config.transactional(TransactionalTemplate::new("tx_draft", "Draft").draft());
    let sandbox = sandbox(config).await;
    let client = client(&sandbox);

    // Current list: drafts included, newest first, 10 per page over 3 pages.
    let first = client
        .transactional()
        .list_page(
            TransactionalList::Current,
            &PageRequest {
                per_page: Some(10),
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.data.len(), 10);
    assert_eq!(first.data[0].id, "tx_draft");
    assert!(first.data[0].data_variables.is_empty());
    assert!(first.data[0].published_email_message_id.is_none());
    assert_eq!(first.pagination.total_results, Some(24));
    assert_eq!(first.pagination.total_pages, Some(3));
    let next = first.pagination.next_cursor.clone().expect("a next page");
    assert!(first.pagination.next_page.unwrap().contains(&next));

    let all: Vec<_> = client
        .transactional()
        .list(TransactionalList::Current, Some(10))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 24);
    let legacy: Vec<_> = client
        .transactional()
        .list(TransactionalList::Legacy, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        legacy.len(),
        23,
        "the legacy list shows published emails only"
    );
    assert_eq!(legacy[0].data_variables, ["url"]);
    assert!(legacy[0].last_updated.is_some());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn suppression_round_trip() {
    let sandbox = sandbox(unlimited().removal_quota(1)).await;
    let client = client(&sandbox);
    sandbox.mark_suppressed("bounced@example.com").unwrap();
    sandbox
        .add_contact(kommo_loops_sandbox::loops::NewContact::new("also@example.com").suppressed())
        .unwrap();

    let status = client
        .contacts()
        .check_suppression(&ContactLookup::email("bounced@example.com"))
        .await
        .unwrap();
    assert!(status.is_suppressed);
    assert_eq!(
        status.contact.unwrap().email.as_deref(),
        Some("bounced@example.com")
    );
    assert_eq!(status.removal_quota.unwrap().remaining, 1);

    let removed = client
        .contacts()
        .remove_suppression(&ContactLookup::email("bounced@example.com"))
        .await
        .unwrap();
    assert_eq!(removed.removal_quota.unwrap().remaining, 0);
    assert!(!sandbox.contact("bounced@example.com").unwrap().suppressed);

    // Not suppressed any more: 400. Quota used up: 400. Unknown: 404.
    let err = client
        .contacts()
        .remove_suppression(&ContactLookup::email("bounced@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let err = client
        .contacts()
        .remove_suppression(&ContactLookup::email("also@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let err = client
        .contacts()
        .check_suppression(&ContactLookup::email("nobody@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    sandbox.shutdown().await;
}
