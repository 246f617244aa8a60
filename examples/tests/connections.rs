//! Hostile clients over real sockets: connections that send half a request head and wait
//! (an idle flood), clients that send a head one byte at a time (slowloris), bodies that never
//! finish, and more connections than the server keeps. The server closes each in time, its
//! memory stays bounded, `/healthz` keeps answering while the attack runs, and a client the
//! server has no room for gets a 503 with `Retry-After`. A body refused before it is read
//! closes its connection, after an answer the client reads whole.
//!
//! The limits are small (32 connections, a 1 s header-read timeout) so that each test takes a
//! few seconds. Run with `--nocapture` for the `observed:` lines.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kommo_loops_bridge::runtime::BridgeConfig;
use kommo_loops_examples::demo::{self, Stack, StackOptions};
use kommo_loops_examples::measure::parse_status_kib;
use kommo_loops_examples::server::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

const HEADER_READ: Duration = Duration::from_secs(1);
const IDLE: Duration = Duration::from_secs(2);
const BODY: Duration = Duration::from_secs(2);
/// How late a close may come on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);
/// How long `/healthz` may take to answer during an attack.
const HEALTHZ_BOUND: Duration = Duration::from_secs(2);
/// How much the process's resident memory may grow during an attack.
const RSS_BOUND_MIB: u64 = 48;

fn limits(max_connections: usize) -> ConnectionLimits {
    ConnectionLimits::new()
        .max_connections(max_connections)
        .header_read_timeout(HEADER_READ)
        .idle_timeout(IDLE)
        .body_timeout(BODY)
}

async fn stack(max_connections: usize) -> Stack {
    let rules = kommo_loops_bridge::Rules::from_path(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join(demo::RULES),
    )
    .unwrap();
    Stack::start_with(
        rules,
        BridgeConfig::default(),
        StackOptions::new()
            .workers(0)
            .connections(limits(max_connections)),
    )
    .await
    .unwrap()
}

/// This process's resident memory, in MiB (the server runs in it), where `/proc` is there.
fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(parse_status_kib(&status, "VmRSS:")? / 1024)
}

/// Reads until the server closes the connection or `within` passes; returns what was read and
/// whether it closed.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (bytes, true),
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => return (bytes, false),
        }
    }
}

/// What one kind of attack saw.
#[derive(Debug, Default)]
struct AttackLog {
    connections: usize,
    /// How long each connection lived before the server closed it.
    lifetimes: Vec<Duration>,
    /// Connections still open when the attack ended, with how long they had lived.
    still_open: Vec<Duration>,
}

/// Runs `attackers` clients until `until`; each connects, calls `speak` (which writes to the
/// connection and returns when the server closed it or the attack is over), and connects again.
async fn attack<F, Fut>(
    addr: SocketAddr,
    attackers: usize,
    until: Instant,
    speak: F,
) -> Arc<Mutex<AttackLog>>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let log = Arc::new(Mutex::new(AttackLog::default()));
    for _ in 0..attackers {
        let (log, speak) = (log.clone(), speak.clone());
        tokio::spawn(async move {
            while Instant::now() < until {
                let Ok(stream) = TcpStream::connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let opened = Instant::now();
                let closed = speak(stream).await;
                let mut log = log.lock().await;
                log.connections += 1;
                if closed {
                    log.lifetimes.push(opened.elapsed());
                } else {
                    log.still_open.push(opened.elapsed());
                }
                drop(log);
                // A short pause, so that the attack does not only measure how fast the
                // machine reconnects.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    log
}

/// While the attack runs: `/healthz` on a new connection every 100 ms, and the process's
/// memory. Returns the answers' latencies (or the failures) and the peak memory.
async fn probe(url: String, until: Instant) -> (Vec<Result<Duration, String>>, Option<u64>) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (mut answers, mut peak) = (Vec::new(), rss_mib());
    while Instant::now() < until {
        let started = Instant::now();
        let answer = match http.get(format!("{url}/healthz")).send().await {
            Ok(r) if r.status() == 200 => Ok(started.elapsed()),
            Ok(r) => Err(format!("status {}", r.status())),
            Err(e) => Err(chain(&e)),
        };
        answers.push(answer);
        peak = peak.max(rss_mib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (answers, peak)
}

/// An error with its causes, so that a failed probe says whether it was refused, reset or
/// closed unanswered.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A measurement, or `n/a` where `/proc` is not there.
fn shown(value: Option<u64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| v.to_string())
}

/// Checks the probes: every one answered 200 within the bound. Returns the slowest.
#[track_caller]
fn all_answered(answers: &[Result<Duration, String>]) -> Duration {
    assert!(answers.len() >= 10, "too few probes: {answers:?}");
    let failed: Vec<_> = answers.iter().filter(|a| a.is_err()).collect();
    assert!(
        failed.is_empty(),
        "/healthz failed during the attack: {failed:?}"
    );
    let slowest = answers.iter().flatten().max().copied().unwrap();
    assert!(slowest <= HEALTHZ_BOUND, "/healthz took {slowest:?}");
    slowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_is_closed_and_healthz_keeps_answering() {
    let stack = stack(32).await;
    let url = stack.server.url();
    let before = rss_mib();
    let until = Instant::now() + Duration::from_secs(4);
    // Each attacker sends the start of a request and then nothing, as in the report: 400 of
    // them against a server that keeps 32 connections.
    let log = attack(
        stack.server.addr,
        400,
        until,
        move |mut stream| async move {
            if stream.write_all(b"GET /he").await.is_err() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            read_to_close(&mut stream, left).await.1
        },
    )
    .await;
    let (answers, peak) = probe(url, until).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = log.lock().await;
    let slowest = all_answered(&answers);
    assert!(
        log.still_open
            .iter()
            .all(|open| *open <= HEADER_READ + SLACK),
        "connections the server never closed: {:?}",
        log.still_open.iter().max()
    );
    let longest = log.lifetimes.iter().max().copied().unwrap_or_default();
    assert!(
        longest <= HEADER_READ + SLACK,
        "a connection lived {longest:?}"
    );
    let evicted = log.lifetimes.iter().filter(|l| **l < HEADER_READ).count();
    let grew = peak.zip(before).map(|(p, b)| p.saturating_sub(b));
    if let Some(grew) = grew {
        assert!(grew <= RSS_BOUND_MIB, "memory grew by {grew} MiB");
    }
    println!(
        "observed: 400 idle attackers, {} connections in 4 s; {} closed by the server, the \
         longest after {longest:.2?}, {evicted} of them early to make room; {} probes of \
         /healthz all 200, the slowest in {slowest:.2?}; memory grew by {} MiB",
        log.connections,
        log.lifetimes.len(),
        answers.len(),
        shown(grew)
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_off_and_memory_stays_bounded() {
    let stack = stack(32).await;
    let url = stack.server.url();
    let before = rss_mib();
    let until = Instant::now() + Duration::from_secs(4);
    let count = Arc::new(AtomicUsize::new(0));
    // Slow heads: one byte every 100 ms; one attacker in four sends 1 KiB header lines every
    // 20 ms instead (a head that grows without end).
    let log = attack(stack.server.addr, 300, until, move |mut stream| {
        let fat = count.fetch_add(1, Ordering::SeqCst).is_multiple_of(4);
        async move {
            let head = b"POST /webhooks/loops HTTP/1.1\r\nhost: bridge\r\n";
            let line = format!("x-pad: {}\r\n", "a".repeat(1024));
            let (pause, mut sent) = (Duration::from_millis(if fat { 20 } else { 100 }), 0);
            while Instant::now() < until {
                let at = sent % head.len();
                let chunk = if fat { line.as_bytes() } else { &head[at..=at] };
                if stream.write_all(chunk).await.is_err() {
                    return true;
                }
                sent += 1;
                let (answer, closed) = read_to_close(&mut stream, pause).await;
                if closed || !answer.is_empty() {
                    return true;
                }
            }
            false
        }
    })
    .await;
    let (answers, peak) = probe(url, until).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = log.lock().await;
    let slowest = all_answered(&answers);
    let longest = log.lifetimes.iter().max().copied().unwrap_or_default();
    assert!(
        longest <= HEADER_READ + SLACK,
        "a slow head lived {longest:?}"
    );
    assert!(
        log.still_open
            .iter()
            .all(|open| *open <= HEADER_READ + SLACK),
        "slow heads the server never closed: {:?}",
        log.still_open.iter().max()
    );
    let grew = peak.zip(before).map(|(p, b)| p.saturating_sub(b));
    if let Some(grew) = grew {
        assert!(grew <= RSS_BOUND_MIB, "memory grew by {grew} MiB");
    }
    println!(
        "observed: 300 slowloris attackers (a byte every 100 ms, or 1 KiB lines every 20 ms \
         for one in four), {} connections in 4 s, every one closed, the longest after \
         {longest:.2?}; {} probes of /healthz all 200, the slowest in {slowest:.2?}; memory \
         grew by {} MiB",
        log.connections,
        answers.len(),
        shown(grew)
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_are_closed_at_the_header_read_timeout() {
    // Fewer than the limit: no connection is closed to make room, only by its timeout.
    let stack = stack(32).await;
    let addr = stack.server.addr;
    let mut slow = Vec::new();
    for n in 0..16u32 {
        slow.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let opened = Instant::now();
            let head = b"POST /webhooks/loops HTTP/1.1\r\nhost: bridge\r\nx-slow: ";
            // Half of them send a byte every 100 ms, so bytes never reset the deadline.
            let (mut answer, mut sent) = (Vec::new(), 0);
            loop {
                let byte = head.get(sent).copied().unwrap_or(b'a');
                if stream.write_all(&[byte]).await.is_err() {
                    break;
                }
                sent += 1;
                let pause = if n.is_multiple_of(2) { 100 } else { 5000 };
                let (read, closed) = read_to_close(&mut stream, Duration::from_millis(pause)).await;
                answer.extend(read);
                if closed || opened.elapsed() > HEADER_READ * 5 {
                    break;
                }
            }
            (opened.elapsed(), answer)
        }));
    }
    // A head that keeps growing is refused at 16 KiB.
    let mut fat = TcpStream::connect(addr).await.unwrap();
    fat.write_all(b"POST /webhooks/loops HTTP/1.1\r\nhost: bridge\r\n")
        .await
        .unwrap();
    let line = format!("x-pad: {}\r\n", "a".repeat(1024));
    for _ in 0..20 {
        if fat.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
    let (answer, closed) = read_to_close(&mut fat, HEADER_READ + SLACK).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(closed);
    let mut lifetimes = Vec::new();
    for handle in slow {
        let (lived, answer) = handle.await.unwrap();
        assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
        assert!(
            lived >= HEADER_READ - Duration::from_millis(50) && lived <= HEADER_READ + SLACK,
            "a slow head lived {lived:?}"
        );
        lifetimes.push(lived);
    }
    lifetimes.sort();
    println!(
        "observed: 16 slow heads (8 sending a byte every 100 ms) closed after {:.2?} to \
         {:.2?} (timeout {HEADER_READ:?}); a head growing past 16 KiB got 431",
        lifetimes[0],
        lifetimes[lifetimes.len() - 1]
    );
    stack.stop().await;
}

/// A request to the Loops webhook whose head is complete and whose body never is.
async fn stalled_body(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /webhooks/loops HTTP/1.1\r\nhost: bridge\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_a_new_one_gets_503_with_retry_after() {
    let stack = stack(4).await;
    let addr = stack.server.addr;
    let started = Instant::now();
    let mut busy = Vec::new();
    for _ in 0..4 {
        busy.push(stalled_body(addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut extra = TcpStream::connect(addr).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: bridge\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_to_close(&mut extra, Duration::from_secs(2)).await;
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
    assert!(answer.contains("connection limit"), "{answer}");
    assert!(closed, "the refused connection was left open");

    // The stalled bodies get a clear answer when their deadline passes.
    for mut stream in busy {
        let (answer, _) = read_to_close(&mut stream, BODY + SLACK).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive within 2 s"), "{answer}");
    }
    let answered_after = started.elapsed();
    assert!(answered_after >= BODY, "{answered_after:?}");
    let health = reqwest::get(format!("{}/healthz", stack.server.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    println!(
        "observed: 4 of 4 connections held by stalled bodies; a fifth got 503 with \
         Retry-After: 1 and was closed; the stalled bodies got 408 after {answered_after:.2?}; \
         /healthz then 200"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_close_after_the_idle_timeout_not_the_header_one() {
    let stack = stack(8).await;
    let mut stream = TcpStream::connect(stack.server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: bridge\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let idle_since = Instant::now();
    // A second request after more than the header-read timeout of idleness is still served.
    tokio::time::sleep(HEADER_READ + Duration::from_millis(300)).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: bridge\r\n\r\n")
        .await
        .unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "kept alive past the header timeout"
    );
    let idle_since_second = Instant::now();
    let (_, closed) = read_to_close(&mut stream, IDLE + SLACK).await;
    let idle_for = idle_since_second.elapsed();
    assert!(closed, "an idle connection was kept past the idle timeout");
    assert!(
        idle_for >= IDLE - Duration::from_millis(100),
        "{idle_for:?}"
    );
    println!(
        "observed: a keep-alive connection served a request after {:.2?} idle, then was \
         closed after {idle_for:.2?} idle (timeout {IDLE:?})",
        idle_since_second.duration_since(idle_since)
    );
    stack.stop().await;
}

/// A Kommo delivery, byte for byte.
fn delivery(token: &str, body: &[u8], close: bool) -> Vec<u8> {
    let connection = if close { "connection: close\r\n" } else { "" };
    let head = format!(
        "POST /webhooks/kommo/{token} HTTP/1.1\r\nhost: bridge\r\n{connection}\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// Sends `requests` over a new connection and reads the answers until the server closes it (a
/// hang guard of 5 s); a reset instead of a close fails.
async fn exchange(stack: &Stack, requests: &[u8]) -> String {
    let mut stream = TcpStream::connect(stack.server.addr).await.unwrap();
    stream
        .write_all(requests)
        .await
        .expect("the server takes the whole body, even one it refused");
    let mut answers = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answers))
        .await
        .expect("the server closes the connection")
        .expect("closed, not reset");
    String::from_utf8_lossy(&answers).to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_refused_unread_gets_a_whole_answer_and_a_closed_connection() {
    let stack = stack(8).await;
    // A wrong token is refused before the body is read, while 2 MiB of it are still coming;
    // the request after it is never read.
    let wrong = "x".repeat(stack.kommo_token.len());
    let form = b"leads%5Badd%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=31000001";
    let refused = [
        delivery(&wrong, &vec![b'a'; 2 * 1024 * 1024], false),
        delivery(&stack.kommo_token, form, true),
    ]
    .concat();
    let answer = exchange(&stack, &refused).await;
    assert!(answer.starts_with("http/1.1 403"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(answer.contains("unknown webhook token"), "{answer}");
    assert_eq!(answer.matches("http/1.1 ").count(), 1, "{answer}");

    // A body read to its end keeps the connection for the next request.
    let kept = [
        delivery(&stack.kommo_token, form, false),
        delivery(&stack.kommo_token, form, true),
    ]
    .concat();
    let answers = exchange(&stack, &kept).await;
    assert_eq!(answers.matches("http/1.1 200").count(), 2, "{answers}");
    assert_eq!(answers.matches("connection: close").count(), 1, "{answers}");
    stack.stop().await;
}

/// A Kommo delivery with a chunked body (two chunks when it has bytes).
fn chunked_delivery(token: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /webhooks/kommo/{token} HTTP/1.1\r\nhost: bridge\r\n\
         content-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let (first, second) = body.split_at(body.len() / 2);
    for chunk in [first, second] {
        if !chunk.is_empty() {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_and_empty_bodies_read_to_their_end_keep_the_connection() {
    let stack = stack(8).await;
    let form = b"leads%5Badd%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=31000001";
    let token = stack.kommo_token.clone();
    let requests = [
        chunked_delivery(&token, form),
        // No body at all, and an empty chunked one.
        b"GET /healthz HTTP/1.1\r\nhost: bridge\r\n\r\n".to_vec(),
        chunked_delivery(&token, b""),
        delivery(&token, form, true),
    ]
    .concat();
    let answers = exchange(&stack, &requests).await;
    assert_eq!(answers.matches("http/1.1 ").count(), 4, "{answers}");
    assert_eq!(answers.matches("http/1.1 200").count(), 4, "{answers}");
    assert_eq!(
        answers.matches("connection: close").count(),
        1,
        "only the last, which asked for it: {answers}"
    );
    stack.stop().await;
}

/// Sends the head of a refused delivery (a wrong token, a 1 MiB body announced) and reads the
/// answer up to the server's half-close.
async fn refused_head(stack: &Stack) -> (TcpStream, String) {
    let wrong = "x".repeat(stack.kommo_token.len());
    let mut stream = TcpStream::connect(stack.server.addr).await.unwrap();
    let head = format!(
        "POST /webhooks/kommo/{wrong} HTTP/1.1\r\nhost: bridge\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: 1048576\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (answer, closed) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "the server half-closes after its answer");
    (stream, String::from_utf8_lossy(&answer).to_lowercase())
}

/// Writes a byte now and then until the server drops the connection (a write fails).
async fn dribble(stream: &mut TcpStream) -> bool {
    tokio::time::timeout(Duration::from_secs(5), async {
        while stream.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_keeps_sending_after_a_refusal_is_dropped_and_stop_does_not_wait_on_it() {
    let stack = stack(8).await;
    let (mut stream, answer) = refused_head(&stack).await;
    assert!(answer.starts_with("http/1.1 403"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(
        dribble(&mut stream).await,
        "the server stops lingering and drops a client that never stops sending"
    );

    // A client lingering when the server stops does not hold the stop up.
    let (mut lingering, _) = refused_head(&stack).await;
    lingering.write_all(b"a").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), stack.stop())
        .await
        .expect("stop returns while a client still sends");
    assert!(dribble(&mut lingering).await, "and the client is dropped");
}
