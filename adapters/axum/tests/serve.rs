//! `serve`: a half-sent request header does not keep its connection, the connection limit holds,
//! and handlers see the peer address.

use std::net::SocketAddr;
use std::time::Duration;

use authmount_axum::{ServeLimits, serve};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A bound on how long anything here may take, so a bug fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(limits: ServeLimits) -> Server {
    let app = Router::new().route("/", get(|| async { "hello" })).route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    Server { addr, stop: Some(stop), task }
}

impl Server {
    async fn shut_down(mut self) {
        let _ = self.stop.take().expect("once").send(());
        tokio::time::timeout(PATIENCE, self.task).await.expect("drained").expect("joined").expect("served");
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server never closed the connection");
    String::from_utf8_lossy(&all).into_owned()
}

async fn get_once(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    read_to_close(&mut stream).await
}

#[tokio::test]
async fn a_half_sent_request_header_is_closed_and_others_are_served() {
    let limits = ServeLimits { header_read_timeout: Duration::from_millis(200), ..ServeLimits::default() };
    let server = start(limits).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ").await.expect("half a header");
        slow.push(stream);
    }
    for stream in &mut slow {
        let answer = read_to_close(stream).await;
        assert!(!answer.contains("200 OK"), "a half-sent request was answered: {answer}");
    }
    let answer = get_once(server.addr, "/").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("hello"), "{answer}");
    let answer = get_once(server.addr, "/peer").await;
    assert!(answer.ends_with("127.0.0.1"), "handlers see the peer address: {answer}");
    server.shut_down().await;
}

#[tokio::test]
async fn past_the_connection_limit_new_clients_wait_for_a_free_slot() {
    let server = start(ServeLimits { max_connections: 1, ..ServeLimits::default() }).await;
    // The first client holds the only slot with a kept-alive connection.
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    first.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n").await.expect("sent");
    let mut buf = [0u8; 1024];
    let n = first.read(&mut buf).await.expect("answered");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"));

    let second = tokio::spawn(get_once(server.addr, "/"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "a second connection was served while the only slot was taken");
    drop(first);
    let answer =
        tokio::time::timeout(PATIENCE, second).await.expect("served once the slot was free").expect("joined");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    server.shut_down().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let limits = ServeLimits { header_read_timeout: Duration::from_millis(200), ..ServeLimits::default() };
    let server = start(limits).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n").await.expect("sent");
    // The answer, then nothing more: the server must not wait for the next request for good.
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    server.shut_down().await;
}
