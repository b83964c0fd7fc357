//! [`PostgresBus`]: the read cache's invalidations between instances, on PostgreSQL
//! `LISTEN`/`NOTIFY`.

use std::time::Duration;

use async_trait::async_trait;
use authmount::cache::{BusError, InvalidationBus, InvalidationSink};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

/// The channel [`PostgresBus::connect`] uses.
pub const DEFAULT_CHANNEL: &str = "authmount_cache";

/// Carries [`ReadCache`](authmount::cache::ReadCache) invalidations between the instances of one
/// deployment over PostgreSQL `NOTIFY` (sent with `pg_notify`) and one `LISTEN` connection per
/// instance: for deployments whose shared store is PostgreSQL and that run no Redis.
///
/// Notifications reach only connected listeners: one sent while an instance's `LISTEN`
/// connection is down is lost to it. The cache therefore bypasses itself while the connection
/// is down (this bus reports it) or silent for longer than the sink's
/// [`idle_timeout`](InvalidationSink::idle_timeout) (this bus then reconnects), and empties
/// itself when it is back. The bus has a pool of its own (two connections: one listening, one
/// notifying), apart from the store's.
///
/// ```no_run
/// # async fn demo() -> Result<(), authmount::cache::BusError> {
/// use std::sync::Arc;
/// use authmount::cache::{ReadCache, ReadCacheConfig};
/// use authmount_sqlx::PostgresBus;
///
/// let cache = ReadCache::new(ReadCacheConfig::default());
/// cache.attach(Arc::new(PostgresBus::connect("postgres://auth@db.internal/auth").await?));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresBus {
    pool: PgPool,
    channel: String,
}

impl PostgresBus {
    /// Connects to the PostgreSQL server at `url`, on [`DEFAULT_CHANNEL`].
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        Self::connect_with(url, DEFAULT_CHANNEL).await
    }

    /// Connects to the PostgreSQL server at `url`, on `channel` (give each deployment sharing
    /// a database its own).
    pub async fn connect_with(url: &str, channel: impl Into<String>) -> Result<Self, BusError> {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await
            .map_err(BusError::unavailable)?;
        Ok(Self { pool, channel: channel.into() })
    }

    /// The notification channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

#[async_trait]
impl InvalidationBus for PostgresBus {
    async fn publish(&self, line: &str) -> Result<(), BusError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(line)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(BusError::unavailable)
    }

    fn subscribe(&self, sink: InvalidationSink) {
        tokio::spawn(listen(self.pool.clone(), self.channel.clone(), sink));
    }
}

/// Listens, delivers, and on any break (an error, the connection lost, or silence longer than
/// the sink's idle timeout) reports the outage and listens again on a new connection, backing
/// off up to 2 s between attempts. Ends when the cache is gone.
async fn listen(pool: PgPool, channel: String, sink: InvalidationSink) {
    const FIRST_RETRY: Duration = Duration::from_millis(50);
    let mut retry = FIRST_RETRY;
    while !sink.is_closed() {
        if let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener.listen(&channel).await.is_ok()
        {
            sink.connected();
            retry = FIRST_RETRY;
            let idle = sink.idle_timeout();
            // `try_recv` says `None` when the connection was lost; a new listener is made then,
            // rather than letting it reconnect silently (notifications may have been missed).
            while let Ok(Ok(Some(notification))) = tokio::time::timeout(idle, listener.try_recv()).await {
                if sink.is_closed() {
                    return;
                }
                sink.received(notification.payload());
            }
            tracing::warn!(%channel, "the cache invalidation LISTEN connection broke; listening again");
        }
        sink.disconnected();
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(Duration::from_secs(2));
    }
}
