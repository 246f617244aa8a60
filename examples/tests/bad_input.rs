//! Bad input to the running server, over HTTP: every refusal is the right 4xx with a JSON
//! `{"error": ...}` saying what is wrong, nothing panics, and the server keeps serving.
//!
//! | what | status |
//! | --- | --- |
//! | a wrong Kommo path token | 403 |
//! | a Kommo body that is not a form: malformed keys, key conflicts, invalid UTF-8 (raw or percent-encoded), keys deeper than 10 segments, list indexes over 10 000, more than 20 000 pairs or 1 000 entities | 400 |
//! | a body over 1 MiB (by `Content-Length` or streamed) | 413 |
//! | a Kommo delivery with a content type other than a form | 415 |
//! | a Loops delivery without its three signature headers, or with a header that is not text | 400 |
//! | a Loops delivery with a bad signature, an unreadable or stale (or future) timestamp | 401 |
//! | a correctly signed Loops body that is not a JSON event | 400 |
//! | a Loops delivery already received (same `webhook-id`) | 409 |
//! | an unknown route | 404 |
//! | a wrong method on a webhook route | 405 |

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{BridgeConfig, MAX_BODY_BYTES};
use kommo_loops_examples::demo::{self, Stack, StackOptions};
use loops_client::webhooks::WebhookSecret;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FORM: &str = "application/x-www-form-urlencoded";

fn onboarding() -> Rules {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Rules::from_path(root.join(demo::RULES)).unwrap()
}

/// The server over the fakes, without workers: these tests are about what is answered.
async fn stack() -> Stack {
    Stack::start_with(
        onboarding(),
        BridgeConfig::default(),
        StackOptions::new().workers(0),
    )
    .await
    .unwrap()
}

#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// Asserts the status and that the JSON error mentions `needle`.
    #[track_caller]
    fn refused(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let error = self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no JSON error message: {self:?}"));
        assert!(
            error.to_lowercase().contains(&needle.to_lowercase()),
            "the message {error:?} should mention {needle:?}"
        );
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    content_type: Option<&str>,
    headers: &[(&str, &[u8])],
    body: impl Into<reqwest::Body>,
) -> Answer {
    let mut request = http.post(url).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    for (name, value) in headers {
        request = request.header(
            *name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let response = request.send().await.expect("the server answers");
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("a complete answer");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("status {status}: not JSON: {bytes:?}"));
    Answer { status, body }
}

/// A request written byte for byte (for what an HTTP client would not send): returns the
/// status and the JSON body. The answer is read while the body is still being written, as the
/// server may answer (and close) before taking all of it.
async fn raw(addr: std::net::SocketAddr, head: &str, body: Vec<Vec<u8>>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = head.as_bytes().to_vec();
    let writing = tokio::spawn(async move {
        writer.write_all(&head).await?;
        for chunk in body {
            writer.write_all(&chunk).await?;
        }
        writer.flush().await?;
        // Keep the connection open for writing: the server must answer on what it has.
        std::future::pending::<()>().await;
        Ok::<_, std::io::Error>(writer)
    });
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, reader.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                bytes.extend_from_slice(&buf[..n]);
                // One complete JSON answer is all we need.
                if complete(&bytes) {
                    break;
                }
            }
            _ => break,
        }
    }
    writing.abort();
    parse_raw(&bytes)
}

/// Whether `bytes` hold a whole answer (its headers and a body of the announced length, or a
/// last chunk).
fn complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, rest)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let head = head.to_lowercase();
    match head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        Some(length) => rest.len() >= length,
        None => rest.ends_with("0\r\n\r\n"),
    }
}

fn parse_raw(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let (head, rest) = text.split_once("\r\n\r\n").expect("headers end");
    let json = if head.to_lowercase().contains("transfer-encoding: chunked") {
        // One chunk: "<hex>\r\n<json>\r\n0\r\n\r\n".
        rest.split("\r\n").nth(1).unwrap_or_default().to_owned()
    } else {
        rest.to_owned()
    };
    let body = serde_json::from_str(&json).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    Answer { status, body }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Signs a Loops delivery with the stack's secret; returns the three headers.
fn signed(stack: &Stack, id: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    let secret = WebhookSecret::parse(&stack.loops_secret).unwrap();
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), secret.sign(id, timestamp, body)),
    ]
}

async fn post_loops(
    http: &reqwest::Client,
    stack: &Stack,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    post(
        http,
        &stack.loops_webhook_url(),
        Some("application/json"),
        &headers,
        body.to_vec(),
    )
    .await
}

/// The server still answers: `/healthz` is 200 and a real delivery is accepted.
async fn still_serving(http: &reqwest::Client, stack: &Stack) {
    let health = answer(
        http.get(format!("{}/healthz", stack.server.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health.status, 200, "{health:?}");
    let good = post(
        http,
        &stack.kommo_webhook_url(),
        Some(FORM),
        &[],
        "leads%5Badd%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=31000001",
    )
    .await;
    assert_eq!(good.status, 200, "{good:?}");
    assert_eq!(good.body["status"], "accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kommo_deliveries_get_clear_4xx_answers() {
    let stack = stack().await;
    let http = reqwest::Client::new();
    let url = stack.kommo_webhook_url();
    let form = Some(FORM);
    let post_form = |body: Vec<u8>| post(&http, &url, form, &[], body);

    // The path token.
    let wrong = format!(
        "{}/webhooks/kommo/{}",
        stack.server.url(),
        "x".repeat(stack.kommo_token.len())
    );
    post(&http, &wrong, form, &[], "leads%5Badd%5D%5B0%5D%5Bid%5D=1")
        .await
        .refused(403, "unknown webhook token");
    let prefix = format!(
        "{}/webhooks/kommo/{}",
        stack.server.url(),
        &stack.kommo_token[..8]
    );
    post(&http, &prefix, form, &[], "")
        .await
        .refused(403, "unknown webhook token");
    post(
        &http,
        &format!("{}/webhooks/kommo/", stack.server.url()),
        form,
        &[],
        "",
    )
    .await
    .refused(404, "no such route");
    // A wrong token is refused before the body is even looked at.
    post(&http, &wrong, form, &[], vec![b'a'; MAX_BODY_BYTES + 1])
        .await
        .refused(403, "unknown webhook token");

    // Malformed forms.
    for body in [
        &b"leads[status=1"[..],
        b"leads]x[=1",
        b"leads%5Bstatus=1",
        b"[]=1",
        b"leads[add][0][id]=1&leads[add][0][id][x]=2",
    ] {
        let refused = post_form(body.to_vec()).await;
        assert_eq!(
            refused.status,
            400,
            "{:?}: {refused:?}",
            String::from_utf8_lossy(body)
        );
        let error = refused.body["error"].as_str().unwrap();
        assert!(error.starts_with("not a Kommo webhook: "), "{error}");
        assert!(
            error.contains("malformed webhook key") || error.contains("both a value and a map"),
            "{error}"
        );
    }

    // Invalid UTF-8, raw and percent-encoded, in keys and values.
    for body in [
        &b"leads[add][0][name]=\xff\xfe"[..],
        b"leads%5Badd%5D%5B0%5D%5Bname%5D=%FF",
        b"leads%5Badd%5D%5B0%5D%5B%C3%28%5D=1",
        b"\xc3\x28=1",
    ] {
        post_form(body.to_vec())
            .await
            .refused(400, "is not valid UTF-8");
    }

    // Deep keys and huge indexes.
    post_form(b"leads[add][0][a][b][c][d][e][f][g][h]=1".to_vec())
        .await
        .refused(400, "deeper than 10 segments");
    let deep = format!("leads{}=1", "[a]".repeat(5000));
    post_form(deep.into_bytes())
        .await
        .refused(400, "deeper than 10 segments");
    post_form(b"leads[status][99999999999999][id]=1".to_vec())
        .await
        .refused(400, "exceeds the limit of 10000");
    post_form(b"leads[status][0][custom_fields][10001][id]=1".to_vec())
        .await
        .refused(400, "exceeds the limit of 10000");
    post_form(b"leads[status][184467440737095516160000][id]=1".to_vec())
        .await
        .refused(400, "exceeds the limit");
    let pairs = "a=1&".repeat(20_001);
    post_form(pairs.into_bytes())
        .await
        .refused(400, "more than 20000 pairs");
    let entities: String = (0..1001)
        .map(|i| format!("leads[add][{i}][id]={i}&"))
        .collect();
    post_form(entities.into_bytes())
        .await
        .refused(400, "more than 1000 entities");

    // Size: one byte over the limit is refused; exactly the limit is read.
    post_form(vec![b'a'; MAX_BODY_BYTES + 1])
        .await
        .refused(413, "larger than 1048576 bytes");
    let at_limit = {
        let mut body = b"account[subdomain]=".to_vec();
        body.resize(MAX_BODY_BYTES, b'a');
        body
    };
    let full = post_form(at_limit).await;
    assert_eq!(full.status, 200, "{full:?}");
    assert_eq!(full.body["events"], 0);
    // A streamed (chunked) body has no length to refuse up front: it is cut at the limit.
    let path = format!("/webhooks/kommo/{}", stack.kommo_token);
    let chunk = vec![b'a'; 64 * 1024];
    let chunk_frame = [
        format!("{:x}\r\n", chunk.len()).into_bytes(),
        chunk,
        b"\r\n".to_vec(),
    ]
    .concat();
    let mut frames = vec![chunk_frame; 20];
    frames.push(b"0\r\n\r\n".to_vec());
    raw(
        stack.server.addr,
        &format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: {FORM}\r\n\
             transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        ),
        frames,
    )
    .await
    .refused(413, "larger than");
    // A client announcing 5 GB is answered as soon as it has sent more than the limit (the
    // server never holds more than 1 MiB of one body).
    raw(
        stack.server.addr,
        &format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: {FORM}\r\n\
             content-length: 5000000000\r\nconnection: close\r\n\r\n"
        ),
        vec![vec![b'a'; 64 * 1024]; 20],
    )
    .await
    .refused(413, "larger than");

    // Content types: a form (any case, any parameters) or none; nothing else.
    post(&http, &url, Some("application/json"), &[], "{}")
        .await
        .refused(415, "unsupported webhook content type");
    post(
        &http,
        &url,
        Some("text/plain"),
        &[],
        "leads%5Badd%5D%5B0%5D%5Bid%5D=1",
    )
    .await
    .refused(415, "text/plain");
    let ok = post(
        &http,
        &url,
        Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        &[],
        "leads%5Badd%5D%5B0%5D%5Bid%5D=7",
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let ok = post(&http, &url, None, &[], "leads%5Badd%5D%5B0%5D%5Bid%5D=8").await;
    assert_eq!(ok.status, 200, "{ok:?}");
    // An empty body and unknown event types are acknowledged, so Kommo never disables the
    // hook over a new event type.
    let empty = post_form(Vec::new()).await;
    assert_eq!(
        (empty.status, empty.body["events"].clone()),
        (200, 0.into())
    );
    let unknown = post_form(b"customers[add][0][id]=5".to_vec()).await;
    assert_eq!(unknown.status, 200, "{unknown:?}");

    // Wrong methods and routes.
    let get = answer(http.get(&url).send().await.unwrap()).await;
    get.refused(405, "method");
    let put = answer(http.put(stack.loops_webhook_url()).send().await.unwrap()).await;
    put.refused(405, "method");
    let nowhere = answer(
        http.post(format!("{}/webhooks/other", stack.server.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    nowhere.refused(404, "no such route");

    still_serving(&http, &stack).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_loops_deliveries_get_clear_4xx_answers() {
    let stack = stack().await;
    let http = reqwest::Client::new();
    let body = br#"{"eventName":"testing.testEvent","eventTime":1700000000,"webhookSchemaVersion":"1.0.0"}"#;
    let now = now_secs();

    // Headers.
    post_loops(&http, &stack, &[], body)
        .await
        .refused(400, "webhook-id");
    let mut headers = signed(&stack, "msg_a", now, body);
    headers.retain(|(k, _)| k != "webhook-signature");
    post_loops(&http, &stack, &headers, body)
        .await
        .refused(400, "webhook-signature");
    let mut headers = signed(&stack, "msg_a", now, body);
    headers[0].1 = "  ".into();
    post_loops(&http, &stack, &headers, body)
        .await
        .refused(400, "webhook-id");
    // A header value that is not text reads as missing.
    let binary = post(
        &http,
        &stack.loops_webhook_url(),
        Some("application/json"),
        &[
            ("webhook-id", b"msg_\xff"),
            ("webhook-timestamp", now.to_string().as_bytes()),
            ("webhook-signature", b"v1,AAAA"),
        ],
        body.to_vec(),
    )
    .await;
    binary.refused(400, "webhook-id");

    // Signatures.
    let mut headers = signed(&stack, "msg_b", now, body);
    headers[2].1 = WebhookSecret::from_bytes(b"another key".to_vec()).sign("msg_b", now, body);
    post_loops(&http, &stack, &headers, body)
        .await
        .refused(401, "signature");
    for garbage in ["v1,", "v1,!!!not-base64", "v2,AAAA", "", "v1,AAAA v1,BBBB"] {
        let mut headers = signed(&stack, "msg_c", now, body);
        headers[2].1 = garbage.into();
        let refused = post_loops(&http, &stack, &headers, body).await;
        assert!(
            matches!(refused.status, 400 | 401),
            "{garbage:?}: {refused:?}"
        );
        assert!(refused.body["error"].is_string(), "{refused:?}");
    }
    // The signature covers the body: a changed body is refused.
    let headers = signed(&stack, "msg_d", now, body);
    post_loops(
        &http,
        &stack,
        &headers,
        br#"{"eventName":"testing.testEvent"} "#,
    )
    .await
    .refused(401, "signature");
    // The signature covers the id: a valid signature under another id is refused.
    let mut headers = signed(&stack, "msg_e", now, body);
    headers[0].1 = "msg_other".into();
    post_loops(&http, &stack, &headers, body)
        .await
        .refused(401, "signature");

    // Timestamps.
    for (timestamp, needle) in [
        ((now - 3600).to_string(), "timestamp"),
        ((now + 3600).to_string(), "timestamp"),
        ("soon".to_owned(), "timestamp"),
        ("99999999999999999999999".to_owned(), "timestamp"),
        (i64::MIN.to_string(), "timestamp"),
    ] {
        let mut headers = signed(&stack, "msg_f", now, body);
        headers[1].1 = timestamp.clone();
        post_loops(&http, &stack, &headers, body)
            .await
            .refused(401, needle);
    }
    // Correctly signed, but an hour old: a captured delivery replayed late.
    let headers = signed(&stack, "msg_g", now - 3600, body);
    post_loops(&http, &stack, &headers, body)
        .await
        .refused(401, "timestamp");

    // Bodies that verify but are not events.
    for bad in [
        &b"not json"[..],
        b"[1,2,3]",
        b"{}",
        br#"{"eventName": 5}"#,
        br#"{"eventName":"email.hardBounced","contactIdentity":"nope"}"#,
        b"{\"eventName\":\"\xff\"}",
        b"",
    ] {
        let id = format!("msg_bad_{}", bad.len());
        let headers = signed(&stack, &id, now, bad);
        post_loops(&http, &stack, &headers, bad)
            .await
            .refused(400, "");
    }
    // Too large.
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let headers = signed(&stack, "msg_big", now, &big);
    post_loops(&http, &stack, &headers, &big)
        .await
        .refused(413, "larger than");

    // A replay: the same delivery twice, and a delivery the Loops fake sends then replays.
    let headers = signed(&stack, "msg_once", now, body);
    let first = post_loops(&http, &stack, &headers, body).await;
    assert_eq!(first.status, 200, "{first:?}");
    post_loops(&http, &stack, &headers, body)
        .await
        .refused(409, "msg_once was already received");
    let sent = stack
        .loops
        .email_hard_bounced("stranger@example.com")
        .await
        .unwrap();
    assert_eq!(sent.status(), Some(200));
    let replayed = stack.loops.replay_webhook(&sent.id).await.unwrap();
    assert_eq!(replayed.status(), Some(409));

    still_serving(&http, &stack).await;
    let health = answer(
        http.get(format!("{}/healthz", stack.server.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        health.body["kommoWebhook"]["invalidAnswersLast2h"], 0,
        "Loops refusals do not count against the Kommo webhook: {health:?}"
    );
    stack.stop().await;
}

/// Random bytes and random bracket soups to both endpoints: never a 5xx, always JSON, and the
/// server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_never_get_a_5xx() {
    let stack = stack().await;
    let http = reqwest::Client::new();
    let mut rng = fastrand::Rng::with_seed(0x6b6f6d6d6f);
    let tokens: &[&str] = &[
        "leads",
        "contacts",
        "task",
        "unsorted",
        "account",
        "message",
        "[",
        "]",
        "[add]",
        "[status]",
        "[update]",
        "[delete]",
        "[note]",
        "[0]",
        "[1]",
        "[10000]",
        "[10001]",
        "[99999999999999]",
        "[-1]",
        "[]",
        "[id]",
        "[status_id]",
        "[custom_fields]",
        "[values]",
        "[value]",
        "[type]",
        "[updated_at]",
        "company",
        "%5B",
        "%5D",
        "%",
        "%FF",
        "%C3%28",
        "%00",
        "+",
        "=",
        "&",
        "&&",
        "==",
        "1",
        "142",
        "ada@acme.io",
        "\u{fffd}",
        "é",
        ";",
    ];
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..400 {
        let body: Vec<u8> = if round % 2 == 0 {
            let n = rng.usize(0..2000);
            (0..n).map(|_| rng.u8(..)).collect()
        } else {
            let n = rng.usize(0..120);
            (0..n)
                .map(|_| tokens[rng.usize(..tokens.len())])
                .collect::<String>()
                .into_bytes()
        };
        let kommo = post(
            &http,
            &stack.kommo_webhook_url(),
            Some(FORM),
            &[],
            body.clone(),
        )
        .await;
        assert!(
            (200..500).contains(&kommo.status),
            "Kommo endpoint, body {:?}: {kommo:?}",
            String::from_utf8_lossy(&body)
        );
        if kommo.status != 200 {
            assert!(kommo.body["error"].is_string(), "{kommo:?}");
        }
        *statuses.entry(kommo.status).or_default() += 1;

        // Loops: sometimes unsigned junk, sometimes a correct signature over junk.
        let id = format!("msg_fuzz_{round}");
        let headers = if rng.bool() {
            signed(&stack, &id, now_secs(), &body)
        } else {
            vec![
                ("webhook-id".into(), id),
                ("webhook-timestamp".into(), rng.i64(..).to_string()),
                ("webhook-signature".into(), format!("v1,{}", rng.u64(..))),
            ]
        };
        let loops = post_loops(&http, &stack, &headers, &body).await;
        assert!(
            (400..500).contains(&loops.status),
            "Loops endpoint, body {:?}: {loops:?}",
            String::from_utf8_lossy(&body)
        );
        assert!(loops.body["error"].is_string(), "{loops:?}");
        *statuses.entry(loops.status).or_default() += 1;
    }
    println!("answers by status: {statuses:?}");
    assert!(statuses.contains_key(&200) && statuses.contains_key(&400));
    still_serving(&http, &stack).await;
    stack.stop().await;
}

/// Kommo disables a webhook after more than 100 invalid answers in 2 hours; the server warns
/// from 50 on, in its log and on `/healthz`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_refused_deliveries_turn_healthz_to_warning() {
    let stack = stack().await;
    let http = reqwest::Client::new();
    let healthz = || async {
        answer(
            http.get(format!("{}/healthz", stack.server.url()))
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let before = healthz().await;
    assert_eq!(before.body["status"], "ok", "{before:?}");
    // Only answers Kommo itself would get count: those to requests with the path token.
    for n in 1..=60u64 {
        post(
            &http,
            &stack.kommo_webhook_url(),
            Some(FORM),
            &[],
            "leads%5Bstatus=1",
        )
        .await
        .refused(400, "malformed webhook key");
        let health = healthz().await;
        assert_eq!(health.body["kommoWebhook"]["invalidAnswersLast2h"], n);
        let expected = if n >= 50 { "warning" } else { "ok" };
        assert_eq!(health.body["status"], expected, "after {n}: {health:?}");
        assert_eq!(health.body["kommoWebhook"]["warning"], n >= 50);
    }
    // Anyone can post with a wrong token: refused, and not counted.
    let wrong = format!("{}/webhooks/kommo/not-the-token-at-all", stack.server.url());
    for _ in 0..30 {
        post(
            &http,
            &wrong,
            Some(FORM),
            &[],
            "leads%5Badd%5D%5B0%5D%5Bid%5D=1",
        )
        .await
        .refused(403, "unknown webhook token");
    }
    assert_eq!(
        healthz().await.body["kommoWebhook"]["invalidAnswersLast2h"],
        60
    );
    // Accepted deliveries do not lower the count (it is a window, not a ratio).
    let ok = post(
        &http,
        &stack.kommo_webhook_url(),
        Some(FORM),
        &[],
        "leads%5Badd%5D%5B0%5D%5Bid%5D=1",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        healthz().await.body["kommoWebhook"]["invalidAnswersLast2h"],
        60
    );
    stack.stop().await;
}
