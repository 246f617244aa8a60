//! The admission rules, without a server: which connection makes room, and what a new
//! connection is seen to have sent.

use super::*;

fn registry(max: usize) -> Registry {
    Registry {
        conns: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        max,
        epoch: Instant::now(),
    }
}

fn closing(conn: &Conn) -> bool {
    phase(conn.state.load(Ordering::SeqCst)) == CLOSING
}

#[tokio::test]
async fn a_connection_whose_head_arrived_is_not_closed_for_newcomers() {
    let registry = registry(4);
    let Admission::Admitted(_, ready) = registry.admit(Sent::Head) else {
        panic!("a free slot admits");
    };
    let mut slow = Vec::new();
    for _ in 0..3 {
        let Admission::Admitted(_, conn) = registry.admit(Sent::Partial) else {
            panic!("a free slot admits");
        };
        slow.push(conn);
    }
    // A flood of newcomers that sent something: each takes the place of a slow head, never of
    // the connection whose request is waiting to be read.
    for _ in 0..20 {
        let Admission::Evicted(_, conn) = registry.admit(Sent::Partial) else {
            panic!("a slow head makes room");
        };
        slow.push(conn);
    }
    assert!(!closing(&ready));
    assert_eq!(slow.iter().filter(|c| closing(c)).count(), 20);
    // Once its request runs it stays out of reach as before; answered, it may make room.
    assert!(ready.start_request());
    assert!(!Conn::evictable(ready.state.load(Ordering::SeqCst)));
    ready.end_request();
    assert!(Conn::evictable(ready.state.load(Ordering::SeqCst)));
}

#[tokio::test]
async fn at_the_limit_silence_waits_and_ready_slots_are_full() {
    let registry = registry(2);
    for _ in 0..2 {
        assert!(matches!(
            registry.admit(Sent::Head),
            Admission::Admitted(..)
        ));
    }
    assert!(matches!(registry.admit(Sent::Nothing), Admission::Wait));
    assert!(matches!(registry.admit(Sent::Partial), Admission::Full));
    assert!(matches!(registry.admit(Sent::Head), Admission::Full));
}

#[tokio::test]
async fn what_a_new_connection_sent_is_seen_without_reading_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cases: [(&[u8], Sent); 4] = [
        (b"", Sent::Nothing),
        (b"GET /he", Sent::Partial),
        (b"GET /healthz HTTP/1.1\r\nhost: bridge\r\n", Sent::Partial),
        (b"GET /healthz HTTP/1.1\r\nhost: bridge\r\n\r\n", Sent::Head),
    ];
    for (bytes, expected) in cases {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        if !bytes.is_empty() {
            client.write_all(bytes).await.unwrap();
            server.readable().await.unwrap();
        }
        assert_eq!(
            sent(&server),
            expected,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        // Peeking leaves the bytes for hyper.
        assert_eq!(sent(&server), expected);
    }
}

#[tokio::test]
async fn a_shed_connection_that_keeps_sending_is_closed_after_a_small_bound() {
    // Small socket buffers on both sides, so that what the kernel holds cannot hide how much
    // the server read before closing.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let client = TcpSocket::new_v4().unwrap();
    client.set_send_buffer_size(8 * 1024).unwrap();
    let mut client = client
        .connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let shedding = tokio::spawn(shed(server));

    let chunk = [b'x'; 4 * 1024];
    let mut written = 0;
    // Bounded in case the close went unnoticed; the server closes within `LINGER_TIME`.
    while written < 2 * LINGER_BYTES {
        match client.write(&chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n,
        }
    }
    shedding.await.unwrap();
    // 64 KiB read and dropped, plus the two socket buffers; far below the 4 MiB of a refused
    // body's linger.
    assert!(written < 1024 * 1024, "the client wrote {written} bytes");
}
