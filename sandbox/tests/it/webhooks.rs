//! Outgoing webhooks, checked by a small local receiver with the client's `WebhookVerifier`.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kommo_loops_sandbox::DeliveryOutcome;
use kommo_loops_sandbox::loops::{
    DeliveryOptions, EmailEventKind, EmailSource, NewContact, Sandbox, SignatureMode,
    WebhookSendError,
};
use loops_client::webhooks::{
    SourceType, WebhookError, WebhookEvent, WebhookHeaders, WebhookSecret, WebhookVerifier,
};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::{sandbox, unlimited};

/// What the receiver got and what its verifier said.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    verdict: Result<WebhookEvent, WebhookError>,
}

type Log = Arc<Mutex<Vec<Received>>>;

struct Receiver {
    url: String,
    secret: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        let secret = WebhookSecret::from_bytes(b"receiver-test-secret-bytes".to_vec()).to_whsec();
        let verifier = Arc::new(WebhookVerifier::new(&secret).unwrap());
        let log: Log = Arc::default();
        let app = axum::Router::new()
            .route("/hooks/loops", axum::routing::post(receive))
            .with_state((verifier, log.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/loops", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            secret,
            log,
            task,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State((verifier, log)): State<(Arc<WebhookVerifier>, Log)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let verdict = WebhookHeaders::from_header_map(&headers).and_then(|h| {
        verifier
            .verify_and_parse(&h, &body, SystemTime::now())
            .map(|d| d.event)
    });
    let id = headers
        .get("webhook-id")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = if verdict.is_ok() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::BAD_REQUEST
    };
    log.lock().unwrap().push(Received { id, verdict });
    status
}

async fn setup() -> (Sandbox, Receiver) {
    let receiver = Receiver::start().await;
    let sandbox = sandbox(unlimited()).await;
    sandbox
        .register_webhook(&receiver.url, &receiver.secret)
        .unwrap();
    sandbox
        .add_contact(
            NewContact::new("ada@example.com")
                .user_id("u_ada")
                .property("plan", "pro"),
        )
        .unwrap();
    (sandbox, receiver)
}

#[tokio::test]
async fn a_hard_bounce_is_signed_shaped_and_applied() {
    let (sandbox, receiver) = setup().await;
    let delivery = sandbox.email_hard_bounced("ada@example.com").await.unwrap();
    assert_eq!(delivery.outcome, DeliveryOutcome::Status(204));
    assert!(delivery.acknowledged());
    assert!(delivery.id.starts_with("msg_"));
    assert!(delivery.signature.starts_with("v1,"));

    let body = delivery.json();
    assert_eq!(body["eventName"], "email.hardBounced");
    assert_eq!(body["webhookSchemaVersion"], "1.0.0");
    assert_eq!(body["eventTime"], delivery.timestamp);
    assert_eq!(body["sourceType"], "campaign");
    assert!(body["campaignId"].is_string());
    for key in ["id", "emailMessageId", "subject"] {
        assert!(body["email"][key].is_string(), "email.{key}");
    }
    let contact = sandbox.contact("ada@example.com").unwrap();
    assert_eq!(
        body["contactIdentity"],
        json!({"id": contact.id, "email": "ada@example.com", "userId": "u_ada"})
    );

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].id, delivery.id);
    match &received[0].verdict {
        Ok(WebhookEvent::EmailHardBounced(bounce)) => {
            assert_eq!(bounce.contact_identity.email, "ada@example.com");
            assert_eq!(bounce.contact_identity.user_id.as_deref(), Some("u_ada"));
            assert_eq!(bounce.source_type, Some(SourceType::Campaign));
        }
        other => panic!("unexpected {other:?}"),
    }
    // Side effects: Loops unsubscribes and suppresses a hard-bounced address.
    assert!(!contact.subscribed);
    assert!(contact.suppressed);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn every_helper_sends_a_verifiable_event() {
    let (sandbox, receiver) = setup().await;
    let mut ids = Vec::new();
    ids.push(sandbox.contact_created("ada@example.com").await.unwrap().id);
    ids.push(
        sandbox
            .email_soft_bounced("ada@example.com")
            .await
            .unwrap()
            .id,
    );
    ids.push(
        sandbox
            .email_unsubscribed("ada@example.com")
            .await
            .unwrap()
            .id,
    );
    ids.push(
        sandbox
            .contact_unsubscribed("ada@example.com")
            .await
            .unwrap()
            .id,
    );
    ids.push(
        sandbox
            .email_spam_reported("stranger@example.com")
            .await
            .unwrap()
            .id,
    );
    ids.push(
        sandbox
            .email_event(
                EmailEventKind::Delivered,
                "ada@example.com",
                EmailSource::Transactional("tx_1".into()),
            )
            .await
            .unwrap()
            .id,
    );
    ids.push(
        sandbox
            .emit("testing.testEvent", json!({"message": "test"}))
            .await
            .unwrap()
            .id,
    );
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "webhook ids are unique");

    let events: Vec<WebhookEvent> = receiver
        .received()
        .into_iter()
        .map(|r| r.verdict.expect("verified"))
        .collect();
    assert_eq!(events.len(), 7);
    match &events[0] {
        WebhookEvent::ContactCreated(created) => {
            assert_eq!(created.contact.user_id.as_deref(), Some("u_ada"));
            assert_eq!(created.contact.property("plan"), Some(&json!("pro")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(events[1], WebhookEvent::EmailSoftBounced(_)));
    assert!(matches!(events[2], WebhookEvent::EmailUnsubscribed(_)));
    assert!(matches!(events[3], WebhookEvent::ContactUnsubscribed(_)));
    match &events[4] {
        WebhookEvent::EmailSpamReported(spam) => {
            assert_eq!(spam.contact_identity.email, "stranger@example.com");
            assert!(spam.contact_identity.user_id.is_none());
        }
        other => panic!("{other:?}"),
    }
    match &events[5] {
        WebhookEvent::EmailDelivered(delivered) => {
            assert_eq!(delivered.source_type, Some(SourceType::Transactional));
            assert_eq!(delivered.transactional_id.as_deref(), Some("tx_1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(events[6], WebhookEvent::TestingTestEvent(_)));
    assert!(!sandbox.contact("ada@example.com").unwrap().subscribed);

    // Events Loops never sends, and events that need a contact.
    let err = sandbox
        .email_event(
            EmailEventKind::Opened,
            "ada@example.com",
            EmailSource::Transactional("tx_1".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookSendError::InvalidEvent(_)), "{err}");
    let err = sandbox
        .contact_created("nobody@example.com")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WebhookSendError::UnknownContact("nobody@example.com".into())
    );
    assert_eq!(sandbox.webhook_deliveries().len(), 7);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn replays_stale_timestamps_and_bad_signatures() {
    let (sandbox, receiver) = setup().await;
    let original = sandbox.email_hard_bounced("ada@example.com").await.unwrap();

    // A replay is byte for byte the same delivery; a receiver must de-duplicate by id.
    let replay = sandbox.replay_webhook(&original.id).await.unwrap();
    assert!(replay.replay);
    assert_eq!(
        (
            &replay.id,
            replay.timestamp,
            &replay.signature,
            &replay.body
        ),
        (
            &original.id,
            original.timestamp,
            &original.signature,
            &original.body
        )
    );
    assert_eq!(replay.outcome, DeliveryOutcome::Status(204));

    // Correctly signed but an hour old: refused by the verifier's tolerance.
    let an_hour_ago = original.timestamp - 3600;
    let stale = sandbox
        .emit_with(
            "testing.testEvent",
            json!({"message": "test"}),
            DeliveryOptions::new().timestamp(an_hour_ago),
        )
        .await
        .unwrap();
    assert_eq!(stale.timestamp, an_hour_ago);
    assert_eq!(stale.status(), Some(400));

    let forged = sandbox
        .emit_with(
            "testing.testEvent",
            json!({"message": "test"}),
            DeliveryOptions::new().signature(SignatureMode::Invalid),
        )
        .await
        .unwrap();
    assert_eq!(forged.status(), Some(400));

    let received = receiver.received();
    assert_eq!(received.len(), 4);
    assert_eq!(received[0].id, received[1].id);
    assert!(received[1].verdict.is_ok());
    assert!(matches!(
        received[2].verdict,
        Err(WebhookError::StaleTimestamp { .. })
    ));
    assert_eq!(received[3].verdict, Err(WebhookError::InvalidSignature));

    let err = sandbox.replay_webhook("msg_unknown").await.unwrap_err();
    assert!(matches!(err, WebhookSendError::UnknownDelivery(_)));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn registration_errors_and_unreachable_receivers() {
    let sandbox = sandbox(unlimited()).await;
    let err = sandbox
        .emit("testing.testEvent", json!({"message": "test"}))
        .await
        .unwrap_err();
    assert_eq!(err, WebhookSendError::NotRegistered);
    assert!(matches!(
        sandbox.register_webhook("http://127.0.0.1:9/", "whsec_!!!"),
        Err(WebhookSendError::InvalidSecret(_))
    ));
    assert!(matches!(
        sandbox.emit("x", json!([1])).await,
        Err(WebhookSendError::InvalidEvent(_))
    ));

    // A port nobody listens on: the delivery is recorded with the transport error.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let secret = WebhookSecret::from_bytes(b"k".to_vec()).to_whsec();
    sandbox.register_webhook(&url, &secret).unwrap();
    let delivery = sandbox
        .emit("testing.testEvent", json!({"message": "test"}))
        .await
        .unwrap();
    assert!(matches!(
        delivery.outcome,
        DeliveryOutcome::TransportError(_)
    ));
    assert!(!delivery.acknowledged());
    assert_eq!(sandbox.webhook_deliveries().len(), 1);

    sandbox.unregister_webhook();
    assert_eq!(
        sandbox
            .email_hard_bounced("a@example.com")
            .await
            .unwrap_err(),
        WebhookSendError::NotRegistered
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_webhook_can_be_configured_up_front() {
    let receiver = Receiver::start().await;
    let sandbox = sandbox(
        unlimited()
            .webhook(receiver.url.clone(), &receiver.secret)
            .unwrap(),
    )
    .await;
    let delivery = sandbox
        .emit("testing.testEvent", json!({"message": "test"}))
        .await
        .unwrap();
    assert!(delivery.acknowledged());
    // Reset keeps the configured registration.
    sandbox.unregister_webhook();
    sandbox.reset();
    assert!(sandbox.webhook_deliveries().is_empty());
    assert!(
        sandbox
            .emit("testing.testEvent", json!({"message": "test"}))
            .await
            .unwrap()
            .acknowledged()
    );
    sandbox.shutdown().await;
}
