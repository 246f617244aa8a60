//! Refusals a stranger can cause: they neither raise the "Kommo will disable the webhook" alarm
//! nor flood the logs, and Loops deliveries with blank or oversized signature headers get a
//! clear 400 without anything being stored.
//!
//! The log lines are captured by a subscriber layer installed for this whole test binary.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use kommo_loops_bridge::runtime::{BridgeConfig, MAX_WEBHOOK_ID_BYTES};
use kommo_loops_examples::demo::{self, Stack, StackOptions};
use loops_client::webhooks::WebhookSecret;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const FORM: &str = "application/x-www-form-urlencoded";

/// The message of every WARN line logged so far.
fn warnings() -> &'static Arc<Mutex<Vec<String>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let layer = Warnings(lines.clone());
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the only subscriber of this test binary");
        lines
    })
}

struct Warnings(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

fn count(needle: &str) -> usize {
    warnings()
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains(needle))
        .count()
}

async fn stack() -> Stack {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let rules = kommo_loops_bridge::Rules::from_path(root.join(demo::RULES)).unwrap();
    Stack::start_with(
        rules,
        BridgeConfig::default(),
        StackOptions::new().workers(0),
    )
    .await
    .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_neither_raise_the_alarm_nor_flood_the_logs() {
    let _ = warnings();
    let stack = stack().await;
    let http = reqwest::Client::new();
    let healthz = || send(http.get(format!("{}/healthz", stack.server.url())));
    let wrong = format!("{}/webhooks/kommo/not-the-token", stack.server.url());
    for _ in 0..120 {
        let (status, body) = send(
            http.post(&wrong)
                .header("content-type", FORM)
                .body("leads%5Badd%5D%5B0%5D%5Bid%5D=1"),
        )
        .await;
        assert_eq!(status, 403, "{body}");
    }
    let (_, health) = healthz().await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["kommoWebhook"]["invalidAnswersLast2h"], 0);
    let unknown_token = count("unknown path token");
    assert_eq!(unknown_token, 1, "{:?}", warnings().lock().unwrap());

    // Refusals of requests with the token count, and past the threshold their warning is
    // logged once a minute, not once per refusal.
    for _ in 0..71 {
        let (status, _) = send(
            http.post(stack.kommo_webhook_url())
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
        assert_eq!(status, 415);
    }
    let (_, health) = healthz().await;
    assert_eq!(health["status"], "warning", "{health}");
    assert_eq!(health["kommoWebhook"]["invalidAnswersLast2h"], 71);
    let disable_warnings = count("Kommo disables a webhook");
    assert_eq!(disable_warnings, 1, "{:?}", warnings().lock().unwrap());
    println!(
        "observed: 120 posts with a wrong token: 403 each, /healthz ok with 0 invalid answers, \
         {unknown_token} warning logged; 71 refused posts with the token: /healthz warning with \
         71, {disable_warnings} warning logged (the rest held back for a minute)"
    );
    stack.stop().await;
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_and_oversized_loops_headers_get_a_clear_400_and_store_nothing() {
    let _ = warnings();
    let stack = stack().await;
    let http = reqwest::Client::new();
    let secret = WebhookSecret::parse(&stack.loops_secret).unwrap();
    let body = br#"{"eventName":"testing.testEvent","eventTime":1767229200,"message":"hi"}"#;
    let post = |id: &str, timestamp: String, signature: String| {
        http.post(stack.loops_webhook_url())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(body.to_vec())
    };
    let now = now_secs();
    let signed = |id: &str| post(id, now.to_string(), secret.sign(id, now, body));

    let (status, answer) = send(post("msg_1", now.to_string(), "   ".into())).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "header `webhook-signature` is blank");
    let (status, answer) = send(post("msg_1", " ".into(), secret.sign("msg_1", now, body))).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "header `webhook-timestamp` is blank");
    // Absent is still reported as missing.
    let (status, answer) = send(
        http.post(stack.loops_webhook_url())
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", now.to_string())
            .body(body.to_vec()),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "missing header `webhook-signature`");

    // A correctly signed delivery whose id is too long to be a Loops id.
    let long_id = format!("msg_{}", "x".repeat(MAX_WEBHOOK_ID_BYTES));
    let (status, answer) = send(signed(&long_id)).await;
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("at most 256"), "{error}");
    assert!(!error.contains("xxxx"), "the id is echoed: {error}");
    // A head of 100 KB does not even reach the bridge.
    let huge_id = format!("msg_{}", "x".repeat(100_000));
    let response = signed(&huge_id).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 431);
    // Handed to the bridge directly, it is refused too.
    let direct = stack
        .bridge
        .ingest_loops(
            &{
                let mut headers = http::HeaderMap::new();
                headers.insert("webhook-id", huge_id.parse().unwrap());
                headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
                headers.insert(
                    "webhook-signature",
                    secret.sign(&huge_id, now, body).parse().unwrap(),
                );
                headers
            },
            body,
            SystemTime::now(),
        )
        .await;
    assert_eq!(direct.status, 400, "{direct:?}");
    // An ordinary id is accepted, once.
    let (status, answer) = send(signed("msg_ordinary")).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = send(signed("msg_ordinary")).await;
    assert_eq!(status, 409);
    stack.stop().await;
}
