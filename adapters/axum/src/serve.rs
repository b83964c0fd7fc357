//! Serving an axum app with the limits a public auth endpoint needs: `axum::serve` has no
//! timeout for a client that sends half a request header and never the rest (each such socket
//! stays open for good, and enough of them exhaust file descriptors), and no connection limit.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The limits [`serve`] enforces. The defaults match actix-web's where it has one.
///
/// ```
/// use std::time::Duration;
/// use authmount_axum::ServeLimits;
/// let limits = ServeLimits { max_connections: 2_048, ..ServeLimits::default() };
/// assert_eq!(limits.header_read_timeout, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// How long a client has to send a whole request header, from the moment the server waits
    /// for one (on a new connection, or on a kept-alive one between requests). Past it the
    /// connection is closed. Default 5 s (actix-web's `client_request_timeout`).
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive in full. Past it reading the body fails (the
    /// authmount endpoints answer 400; they also stop on their own after
    /// [`BODY_READ_TIMEOUT`](authmount::api::BODY_READ_TIMEOUT)). Default 10 s.
    pub body_read_timeout: Duration,
    /// Open connections at most; past it the server stops accepting until one closes (new
    /// clients wait in the kernel's backlog). Default 25,000 (actix-web's per-worker default).
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may take to finish before their connections
    /// are dropped. Default 30 s (actix-web's `shutdown_timeout`).
    pub drain_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: authmount::api::BODY_READ_TIMEOUT,
            max_connections: 25_000,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` over HTTP/1.1 (no protocol upgrades) with `limits`, until
/// `shutdown` completes; then
/// stops accepting and lets in-flight requests finish (up to
/// [`drain_timeout`](ServeLimits::drain_timeout)). Handlers can read the peer address with
/// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), as with
/// `into_make_service_with_connect_info`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use authmount_axum::{ServeLimits, serve};
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// // Until the process is stopped; an app would await `tokio::signal::ctrl_c()` here.
/// let shutdown = std::future::pending::<()>();
/// serve(listener, app, ServeLimits::default(), shutdown).await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let app = app.layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A failed accept (the peer reset it, or file descriptors are short) is one
                // lost connection, not the server's end.
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone().map_request(move |mut request: Request<_>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            request
        }));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            "in-flight requests did not finish within the drain timeout; their connections were dropped"
        );
    }
    Ok(())
}
