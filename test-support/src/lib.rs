//! Test helpers shared by the store adapters' tests (`authmount-sqlx`, `authmount-redis`) and the
//! conformance suite (`authmount-conformance`), kept out of the published crates.
//!
//! - [`Proxy`] is a TCP proxy in front of a service (PostgreSQL, Redis) that a test stops and
//!   starts again on the same address, to cut a store off from its server without touching the
//!   server other tests use.
//! - [`through`] points a service URL at the proxy.
//!
//! It depends on tokio only, so a store crate's tests can use it without building axum or
//! actix-web. The helpers panic on failure (a port that cannot be bound, a URL without a
//! scheme): they are for tests.
//!
//! ```no_run
//! # async fn example() {
//! use authmount_test_support::{Proxy, through};
//! let url = "redis://127.0.0.1:6379/0";
//! let (target, _) = through(url, "127.0.0.1:0".parse().unwrap());
//! let mut proxy = Proxy::start(target).await;
//! let (_, proxied) = through(url, proxy.addr());
//! // ... connect a store to `proxied`, then:
//! proxy.stop().await; // the store's server is "down"
//! proxy.resume().await; // and back, on the same address
//! # let _ = proxied;
//! # }
//! ```

use std::net::SocketAddr;

use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// A TCP proxy in front of a service that the test can stop and start again on the same
/// address: stopping closes the listener and every forwarded connection. Dropping the proxy
/// stops it too.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    target: String,
    tasks: Option<JoinSet<()>>,
}

impl Proxy {
    /// Starts forwarding from an ephemeral port on 127.0.0.1 to `target` (`host:port`).
    pub async fn start(target: impl Into<String>) -> Self {
        let mut proxy =
            Self { addr: SocketAddr::from(([127, 0, 0, 1], 0)), target: target.into(), tasks: None };
        proxy.resume().await;
        proxy
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Listens (again) on the same address and forwards every connection to the target; does
    /// nothing while the proxy is running.
    pub async fn resume(&mut self) {
        if self.tasks.is_some() {
            return;
        }
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(self.addr).expect("bind the proxy's address");
        let listener = socket.listen(64).expect("listen");
        self.addr = listener.local_addr().expect("address");
        let target = self.target.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Closes the listener and every forwarded connection (dropping the tasks aborts them).
    pub async fn stop(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.shutdown().await;
        }
    }
}

/// The `host:port` a service URL (`redis://…`, `postgres://…`) points at, and the same URL
/// pointing at `addr` instead (user, password, path and query kept). Without a port, the
/// service's default (6379 for `redis*` schemes, 5432 otherwise); without a host, 127.0.0.1.
///
/// ```
/// use authmount_test_support::through;
/// let proxy = "127.0.0.1:4000".parse().unwrap();
/// assert_eq!(
///     through("redis://:pw@localhost/2", proxy),
///     ("localhost:6379".to_owned(), "redis://:pw@127.0.0.1:4000/2".to_owned())
/// );
/// ```
pub fn through(url: &str, addr: SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (format!("{credentials}@"), host_port),
        None => (String::new(), authority),
    };
    let host_port = if host_port.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        host_port.to_owned()
    } else {
        let port = if scheme.starts_with("redis") { 6379 } else { 5432 };
        format!("{}:{port}", if host_port.is_empty() { "127.0.0.1" } else { host_port })
    };
    (host_port, format!("{scheme}://{credentials}{addr}{path}"))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn through_replaces_the_authority_only() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 4000));
        assert_eq!(
            through("postgres://postgres@127.0.0.1:5432/test", addr),
            ("127.0.0.1:5432".to_owned(), "postgres://postgres@127.0.0.1:4000/test".to_owned())
        );
        assert_eq!(
            through("redis://:pw@localhost/2", addr),
            ("localhost:6379".to_owned(), "redis://:pw@127.0.0.1:4000/2".to_owned())
        );
        assert_eq!(
            through("redis://127.0.0.1:6379", addr),
            ("127.0.0.1:6379".to_owned(), "redis://127.0.0.1:4000".to_owned())
        );
        assert_eq!(
            through("postgres://db?sslmode=disable", addr),
            ("db:5432".to_owned(), "postgres://127.0.0.1:4000?sslmode=disable".to_owned())
        );
    }

    /// An echo server behind the proxy: reachable, cut off by `stop`, reachable again on the
    /// same address after `resume`.
    #[tokio::test]
    async fn forwards_stops_and_resumes_on_the_same_address() {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = echo.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0; 64];
                    while let Ok(n @ 1..) = socket.read(&mut buffer).await {
                        if socket.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut proxy = Proxy::start(target).await;
        let addr = proxy.addr();
        let round_trip = |addr| async move {
            let mut client = TcpStream::connect(addr).await?;
            client.write_all(b"ping").await?;
            let mut reply = [0; 4];
            client.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(reply)
        };
        assert_eq!(&round_trip(addr).await.expect("through the proxy"), b"ping");

        let mut open = TcpStream::connect(addr).await.expect("connects");
        open.write_all(b"ping").await.expect("write");
        let mut reply = [0; 4];
        open.read_exact(&mut reply).await.expect("forwarded");
        proxy.stop().await;
        let mut byte = [0; 1];
        let after = open.read(&mut byte).await;
        assert!(matches!(after, Ok(0) | Err(_)), "a stopped proxy closes its connections: {after:?}");
        assert!(round_trip(addr).await.is_err(), "nothing listens while stopped");

        proxy.resume().await;
        assert_eq!(proxy.addr(), addr, "the same address");
        assert_eq!(&round_trip(addr).await.expect("through the proxy again"), b"ping");
    }
}
