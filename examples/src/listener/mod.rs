//! The server's connections: how many it keeps, how long each may take to send a request, and
//! what a client gets when the server is full.
//!
//! Every connection is waiting for a request head (from the moment it is accepted, or from the
//! first byte after a response), idle between requests, busy with a request (from a complete
//! head until the answer is ready), or closing. A watchdog per
//! connection closes it when its head has not arrived within the header-read timeout (a slow
//! client, or one that sends `GET /he` and nothing more), or when it stayed idle longer than
//! the idle timeout. The body of a request has its own deadline, in the handlers.
//!
//! At most [`ConnectionLimits::max_connections`] connections are kept. A new connection that
//! arrives at the limit and has already sent bytes (a health check or a webhook sends its
//! request at once) takes the place of the connection that has waited longest without a
//! complete request head, which is closed: connections that hold a slot without sending a
//! request cost nothing but their slot; one whose whole head had arrived when it was admitted
//! is not closed that way (it is answered next). A new connection whose first bytes have not been seen
//! yet waits for them outside the limit, for at most [`FIRST_BYTES_WAIT`]. When no connection can
//! make room (every one is busy with a request), or the wait runs out, the new connection is
//! answered `503 Service Unavailable` with `Retry-After` and closed.
//!
//! An answer given before the request body was read to its end (a refusal: 403, 413, 408…)
//! carries `Connection: close`, as the rest of the body cannot be told from the next request.
//! Every connection the server closes after an answer lingers: it half-closes, then reads and
//! drops what the client still sends for at most [`LINGER_TIME`] and [`LINGER_BYTES`] (a shed
//! connection, [`SHED_LINGER_BYTES`]). Closing a socket with unread bytes resets the
//! connection, and the reset can reach the client before it has read the answer.
//!
//! hyper's own `header_read_timeout` is not used: it runs from the end of one response to the
//! end of the next head, so it cannot tell an idle keep-alive connection (which a load
//! balancer keeps for a minute or more) from a slow head.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use futures_util::FutureExt;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use kommo_loops_bridge::runtime::health::LogLimiter;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The most bytes of one connection's read buffer: a request head must fit (a larger one is
/// answered 431), and the body is read through it. Keeps a connection's memory small.
const MAX_BUFFER_BYTES: usize = 32 * 1024;
/// The largest request head (request line and headers) accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// At most this many connections are being answered 503 at once; beyond, they are closed.
const MAX_SHEDDING: usize = 64;
/// How long closing a connection may take: after its last answer, reading (and dropping) what
/// the client still sends; when shedding it, also writing the 503.
const LINGER_TIME: Duration = Duration::from_secs(1);
/// The most bytes read (and dropped) from a connection being closed: a little more than a
/// refused body over the 1 MiB limit, so that such a client can finish sending it and read the
/// answer. [`LINGER_TIME`] bounds a slower client.
const LINGER_BYTES: usize = 4 * 1024 * 1024;
/// The most bytes read (and dropped) from a connection answered 503: its client sent nothing
/// the server wants, and with [`MAX_SHEDDING`] of them at once the larger [`LINGER_BYTES`]
/// would let them make the server read 256 MiB.
const SHED_LINGER_BYTES: usize = 64 * 1024;
/// How long a new connection that arrives at the limit may take to send its first bytes
/// before it is answered 503.
pub const FIRST_BYTES_WAIT: Duration = Duration::from_millis(250);
/// At most this many new connections wait for their first bytes at once; beyond, they are
/// answered 503 at once.
const MAX_WAITING: usize = 256;
/// The `Retry-After` of a 503 sent because the server is full, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The connection settings of the server (see `docs/operations.md` for the defaults' reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// The most connections kept open at once (`MAX_CONNECTIONS`, default 512).
    pub max_connections: usize,
    /// How long a request head may take: from the connection's start, or from the first byte
    /// of a later request (`HEADER_READ_TIMEOUT_SECS`, default 10 s).
    pub header_read_timeout: Duration,
    /// How long a connection may stay idle between requests (`IDLE_TIMEOUT_SECS`, default
    /// 75 s: longer than the 60 s most load balancers keep an idle connection, so that the
    /// balancer, not the server, closes it).
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive once its head is in (`BODY_TIMEOUT_SECS`,
    /// default 10 s); answered 408 when it is late.
    pub body_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionLimits {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`body_timeout`](Self::body_timeout).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }
}

// A connection's phase and since when it is in it, in one atomic word (the phase in the top
// three bits, milliseconds since the server started below), so that both change together.

/// Accepted, no byte received yet.
const FRESH: u64 = 0;
/// Reading a request head.
const HEAD: u64 = 1;
/// Between requests.
const IDLE: u64 = 2;
/// From a complete head to the answer.
const BUSY: u64 = 3;
/// Being closed.
const CLOSING: u64 = 4;
/// Accepted with a complete request head already received, not read by hyper yet.
const READY: u64 = 5;
const PHASE_SHIFT: u32 = 61;
const MS_MASK: u64 = (1 << PHASE_SHIFT) - 1;

fn pack(phase: u64, ms: u64) -> u64 {
    (phase << PHASE_SHIFT) | (ms & MS_MASK)
}

fn phase(state: u64) -> u64 {
    state >> PHASE_SHIFT
}

fn since(state: u64) -> u64 {
    state & MS_MASK
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(MS_MASK)
}

/// What the watchdog, the reader, the service and the admission share about one connection.
struct Conn {
    state: AtomicU64,
    /// Wakes the watchdog when the phase changed.
    wake: Notify,
    epoch: Instant,
}

impl Conn {
    fn new(epoch: Instant, phase: u64) -> Self {
        Conn {
            state: AtomicU64::new(pack(phase, millis(epoch.elapsed()))),
            wake: Notify::new(),
            epoch,
        }
    }

    /// Moves from the state `from` to `to`, if nothing changed meanwhile.
    fn swap(&self, from: u64, to: u64) -> bool {
        let moved = self
            .state
            .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if moved {
            self.wake.notify_one();
        }
        moved
    }

    /// Moves from the state `from` to the phase `to`, since now.
    fn advance(&self, from: u64, to: u64) -> bool {
        self.swap(from, pack(to, millis(self.epoch.elapsed())))
    }

    /// Bytes arrived: an idle connection starts reading a head (its header-read time starts
    /// now); a new one keeps the time it was accepted at.
    fn bytes_arrived(&self) {
        let state = self.state.load(Ordering::SeqCst);
        match phase(state) {
            IDLE => {
                self.advance(state, HEAD);
            }
            FRESH => {
                self.swap(state, pack(HEAD, since(state)));
            }
            _ => {}
        }
    }

    /// A complete head arrived; false when the connection is closing.
    fn start_request(&self) -> bool {
        loop {
            let state = self.state.load(Ordering::SeqCst);
            if phase(state) == CLOSING {
                return false;
            }
            if self.advance(state, BUSY) {
                return true;
            }
        }
    }

    fn end_request(&self) {
        let state = self.state.load(Ordering::SeqCst);
        if phase(state) == BUSY {
            self.advance(state, IDLE);
        }
    }

    /// When the watchdog must act, or `None` while a request runs.
    fn deadline(&self, state: u64, limits: &ConnectionLimits) -> Option<Instant> {
        let since = self.epoch + Duration::from_millis(since(state));
        match phase(state) {
            FRESH | HEAD | READY => Some(since + limits.header_read_timeout),
            IDLE => Some(since + limits.idle_timeout),
            BUSY => None,
            _ => Some(self.epoch),
        }
    }

    /// Whether a connection in `state` may be closed to make room: it waits for a request.
    /// One whose whole head arrived with it is not: under a flood, the newcomers admitted
    /// between its admission and its task's first read would otherwise close it before it is
    /// answered (a health check or a webhook sends its head in one packet).
    fn evictable(state: u64) -> bool {
        matches!(phase(state), FRESH | HEAD | IDLE)
    }
}

/// The open connections, for the limit and the choice of which to close.
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    max: usize,
    epoch: Instant,
}

/// What [`Registry::admit`] did.
enum Admission {
    /// A free slot.
    Admitted(u64, Arc<Conn>),
    /// The longest-waiting connection without a request was closed to make room.
    Evicted(u64, Arc<Conn>),
    /// At the limit, and the new connection has not sent anything yet.
    Wait,
    /// Every connection is busy with a request.
    Full,
}

impl Registry {
    /// Admits a new connection that has `sent` what it has; at the limit, only one that has
    /// sent something, in place of the longest-waiting connection without a request.
    fn admit(&self, sent: Sent) -> Admission {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        let mut evicted = false;
        if conns.len() >= self.max {
            if sent == Sent::Nothing {
                return Admission::Wait;
            }
            // A few tries: a candidate may start a request while it is being chosen.
            for _ in 0..3 {
                let oldest = conns
                    .iter()
                    .map(|(id, conn)| (*id, conn.state.load(Ordering::SeqCst)))
                    .filter(|(_, state)| Conn::evictable(*state))
                    .min_by_key(|(_, state)| since(*state));
                let Some((id, state)) = oldest else { break };
                if conns[&id].advance(state, CLOSING) {
                    conns.remove(&id);
                    evicted = true;
                    break;
                }
            }
            if !evicted {
                return Admission::Full;
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let phase = if sent == Sent::Head { READY } else { FRESH };
        let conn = Arc::new(Conn::new(self.epoch, phase));
        conns.insert(id, conn.clone());
        if evicted {
            Admission::Evicted(id, conn)
        } else {
            Admission::Admitted(id, conn)
        }
    }

    fn remove(&self, id: u64) {
        self.conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

/// The socket, telling its connection when bytes arrive, and lingering when hyper closes it.
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
    /// Set once the socket is half-closed.
    linger: Option<Linger>,
}

impl Watched {
    fn new(stream: TcpStream, conn: Arc<Conn>) -> Self {
        Watched {
            stream,
            conn,
            linger: None,
        }
    }
}

/// Reading and dropping what a client still sends to a half-closed socket, within
/// [`LINGER_TIME`] and a number of bytes.
struct Linger {
    until: Pin<Box<tokio::time::Sleep>>,
    drained: usize,
    max_bytes: usize,
}

impl Linger {
    fn new(max_bytes: usize) -> Self {
        Linger {
            until: Box::pin(tokio::time::sleep(LINGER_TIME)),
            drained: 0,
            max_bytes,
        }
    }

    /// Ready when the client has closed its side, the socket failed, or a bound is reached.
    fn poll_drain(&mut self, stream: &mut TcpStream, cx: &mut Context<'_>) -> Poll<()> {
        let mut buf = [0u8; 16 * 1024];
        while self.drained < self.max_bytes {
            if self.until.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            let mut read = ReadBuf::new(&mut buf);
            match Pin::new(&mut *stream).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if !read.filled().is_empty() => {
                    self.drained += read.filled().len();
                }
                Poll::Pending => return Poll::Pending,
                Poll::Ready(_) => return Poll::Ready(()),
            }
        }
        Poll::Ready(())
    }

    /// Lingers on `stream`, already half-closed.
    async fn drain(mut self, stream: &mut TcpStream) {
        std::future::poll_fn(|cx| self.poll_drain(stream, cx)).await;
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.bytes_arrived();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    /// hyper shuts the socket down once it has written the last answer; the answer is sent,
    /// and what the client still sends is drained before the socket is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let linger = match &mut this.linger {
            Some(linger) => linger,
            None => {
                ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
                this.linger.insert(Linger::new(LINGER_BYTES))
            }
        };
        linger.poll_drain(&mut this.stream, cx).map(Ok)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The body of the answer to a client the server has no room for.
const FULL: &str = r#"{"error":"the server is at its connection limit; retry later"}"#;

/// The answer to a client the server has no room for.
fn full_answer() -> Response<Body> {
    let mut response = Response::new(Body::from(FULL));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Answers 503 with `Retry-After` without reading the request, then lingers, so that closing
/// does not reset the connection before the client has read the answer.
async fn shed(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{FULL}",
        FULL.len()
    );
    let _ = tokio::time::timeout(LINGER_TIME, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        Linger::new(SHED_LINGER_BYTES).drain(&mut stream).await;
        Ok::<_, io::Error>(())
    })
    .await;
}

/// A request body that records whether it was read to its end.
struct Tracked {
    body: Incoming,
    ended: Arc<AtomicBool>,
}

impl Tracked {
    fn new(body: Incoming) -> Self {
        let ended = Arc::new(AtomicBool::new(body.is_end_stream()));
        Tracked { body, ended }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(poll, Poll::Ready(None)) || this.body.is_end_stream() {
            this.ended.store(true, Ordering::Relaxed);
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Serves one connection until it ends, its watchdog closes it, or it is evicted.
async fn drive<F: std::future::Future>(connection: F, conn: &Conn, limits: &ConnectionLimits) {
    tokio::pin!(connection);
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    loop {
        let state = conn.state.load(Ordering::SeqCst);
        if phase(state) == CLOSING {
            return;
        }
        let deadline = conn.deadline(state, limits);
        if let Some(deadline) = deadline
            && Instant::now() >= deadline
        {
            if conn.advance(state, CLOSING) {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = &mut connection => return,
            _ = conn.wake.notified() => {}
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {}
        }
    }
}

/// How many connections the kernel may hold for the server before it accepts them. The
/// standard library's 128 overflows under a connection flood (the kernel then drops new
/// connection attempts, and a client waits a second before it tries again); the kernel caps
/// this at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

/// Listens on `addr` (port 0 picks a free one) with a backlog fit for a flood.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// What a new connection has sent so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Nothing seen yet.
    Nothing,
    /// Some bytes (or it closed), not a whole request head.
    Partial,
    /// A whole request head (within the first [`PEEK_BYTES`]).
    Head,
}

/// How much of a new connection's first bytes is looked at for a complete head.
const PEEK_BYTES: usize = 4 * 1024;

/// What the client has sent already, without waiting or reading it. It sees only what the
/// runtime's I/O driver has already reported: a connection accepted a moment ago may have
/// sent its request and still count as [`Sent::Nothing`], until it is readable.
fn sent(stream: &TcpStream) -> Sent {
    let mut buf = [0u8; PEEK_BYTES];
    match stream.peek(&mut buf).now_or_never() {
        None => Sent::Nothing,
        Some(Ok(n)) if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") => Sent::Head,
        Some(_) => Sent::Partial,
    }
}

/// What every connection of one server shares.
struct Shared {
    app: Router,
    limits: ConnectionLimits,
    registry: Registry,
    http: http1::Builder,
    /// Connections being answered 503, and new ones waiting for their first bytes.
    shedding: AtomicUsize,
    waiting: AtomicUsize,
    /// Limits the warnings about a full server.
    full_log: Mutex<LogLimiter>,
}

impl Shared {
    /// Answers 503 and closes, in the background; beyond [`MAX_SHEDDING`] at once, closes.
    fn shed(self: &Arc<Self>, stream: TcpStream, why: &str) {
        let allowed = self
            .full_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(std::time::Instant::now());
        if let Some(held_back) = allowed {
            tracing::warn!(
                max_connections = self.registry.max,
                held_back,
                "connection limit reached: answering 503 ({why})"
            );
        }
        if self.shedding.fetch_add(1, Ordering::SeqCst) < MAX_SHEDDING {
            let shared = self.clone();
            tokio::spawn(async move {
                shed(stream).await;
                shared.shedding.fetch_sub(1, Ordering::SeqCst);
            });
        } else {
            self.shedding.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Admits `stream` and serves it, or sheds it, or (`may_wait`) lets it wait for its first
    /// bytes. Returns whether a connection was closed to make room.
    fn admit(self: &Arc<Self>, stream: TcpStream, watcher: Watcher, may_wait: bool) -> bool {
        let (id, conn, evicted) = match self.registry.admit(sent(&stream)) {
            Admission::Admitted(id, conn) => (id, conn, false),
            Admission::Evicted(id, conn) => (id, conn, true),
            Admission::Full => {
                self.shed(stream, "every connection is busy with a request");
                return false;
            }
            Admission::Wait if !may_wait => {
                self.shed(stream, "a new connection sent nothing");
                return false;
            }
            Admission::Wait => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    self.shed(
                        stream,
                        "too many new connections wait for their first bytes",
                    );
                    return false;
                }
                let shared = self.clone();
                tokio::spawn(async move {
                    let sent = tokio::time::timeout(FIRST_BYTES_WAIT, stream.readable()).await;
                    shared.waiting.fetch_sub(1, Ordering::SeqCst);
                    if sent.is_ok() {
                        // Readable by now: admitted, or shed if every slot is busy.
                        shared.admit(stream, watcher, false);
                    } else {
                        shared.shed(stream, "a new connection sent nothing");
                    }
                });
                return false;
            }
        };
        let service = {
            let conn = conn.clone();
            let app = TowerToHyperService::new(self.app.clone());
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let conn = conn.clone();
                let started = conn.start_request();
                let (request, body_ended) = {
                    let (parts, body) = request.into_parts();
                    let body = Tracked::new(body);
                    let ended = body.ended.clone();
                    (Request::from_parts(parts, body), ended)
                };
                let answer = started.then(|| hyper::service::Service::call(&app, request));
                async move {
                    let Some(answer) = answer else {
                        return Ok::<_, Infallible>(full_answer());
                    };
                    let mut response = answer.await;
                    conn.end_request();
                    // What is left of the body would be read as the next request: hyper
                    // tries to skip it, gives up when it has not all arrived, and closes
                    // the connection, which the client, not told, would reuse.
                    if let Ok(response) = &mut response
                        && !body_ended.load(Ordering::Relaxed)
                    {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    response
                }
            })
        };
        let io = TokioIo::new(Watched::new(stream, conn.clone()));
        let connection = watcher.watch(self.http.serve_connection(io, service));
        let shared = self.clone();
        tokio::spawn(async move {
            drive(connection, &conn, &shared.limits).await;
            shared.registry.remove(id);
        });
        evicted
    }
}

/// Serves `app` on `listener` with `limits` until `stop` resolves, then stops accepting, lets
/// requests in flight finish and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.keep_alive(true)
        .max_buf_size(MAX_BUFFER_BYTES)
        .max_header_size(MAX_HEAD_BYTES);
    let shared = Arc::new(Shared {
        app,
        limits,
        registry: Registry {
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            max: limits.max_connections.max(1),
            epoch: Instant::now(),
        },
        http,
        shedding: AtomicUsize::new(0),
        waiting: AtomicUsize::new(0),
        full_log: Mutex::new(LogLimiter::default()),
    });
    let graceful = GracefulShutdown::new();
    let mut error_log = LogLimiter::default();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to be closed.
                    if let Some(held_back) = error_log.allow(std::time::Instant::now()) {
                        tracing::warn!(error = %e, held_back, "cannot accept a connection");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        if shared.admit(stream, graceful.watcher(), true) {
            // Under a flood, accepts are always ready: without a pause, a burst of them could
            // close the connections just admitted before they read the request they sent.
            // Yielding lets the new connection's task run first (tokio runs the task spawned
            // last next).
            tokio::task::yield_now().await;
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests;
