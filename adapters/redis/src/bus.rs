//! [`RedisBus`]: the read cache's invalidations between instances, on Redis pub/sub.

use std::time::Duration;

use async_trait::async_trait;
use authmount::cache::{BusError, InvalidationBus, InvalidationSink};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The channel [`RedisBus::connect`] uses: the default key prefix and `cache`.
pub const DEFAULT_CHANNEL: &str = "authmount:cache";

/// Carries [`ReadCache`](authmount::cache::ReadCache) invalidations between the instances of one
/// deployment over Redis pub/sub (`PUBLISH`, one `SUBSCRIBE` connection per instance): a logout
/// or deactivation on one instance drops the cached copies on all of them within milliseconds.
///
/// Pub/sub delivers at most once: a message sent while an instance's subscription is down is
/// lost to it. The cache therefore bypasses itself while the subscription is down (this bus
/// reports it), or silent for longer than the sink's
/// [`idle_timeout`](InvalidationSink::idle_timeout) (the heartbeat did not come back; this bus
/// then reconnects), and empties itself when the subscription is back.
///
/// Why pub/sub and not RESP3 client-side caching (`CLIENT TRACKING`): tracking invalidates the
/// Redis keys a connection read, but the cache also holds answers that span several keys (a JWT
/// revocation answer reads the `jti` and the family entries) and user records that live in
/// PostgreSQL or SQLite, not Redis; one explicit message per change covers all of them with one
/// mechanism for every store. See BENCHMARKS.md for the measured propagation delay.
///
/// ```no_run
/// # async fn demo() -> Result<(), authmount::cache::BusError> {
/// use std::sync::Arc;
/// use authmount::cache::{ReadCache, ReadCacheConfig};
/// use authmount_redis::RedisBus;
///
/// let cache = ReadCache::new(ReadCacheConfig::default());
/// cache.attach(Arc::new(RedisBus::connect("redis://127.0.0.1:6379").await?));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    publisher: ConnectionManager,
    channel: String,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connects to the Redis server at `url`, on [`DEFAULT_CHANNEL`].
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        Self::connect_with(url, DEFAULT_CHANNEL).await
    }

    /// Connects to the Redis server at `url`, on `channel` (give each deployment sharing a
    /// Redis server its own, as with the store's key prefix).
    pub async fn connect_with(url: &str, channel: impl Into<String>) -> Result<Self, BusError> {
        let client = redis::Client::open(url).map_err(BusError::unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1);
        let publisher = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(BusError::unavailable)?;
        Ok(Self { client, publisher, channel: channel.into() })
    }

    /// The pub/sub channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

#[async_trait]
impl InvalidationBus for RedisBus {
    async fn publish(&self, line: &str) -> Result<(), BusError> {
        let mut connection = self.publisher.clone();
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(line)
            .query_async::<i64>(&mut connection)
            .await
            .map(drop)
            .map_err(BusError::unavailable)
    }

    fn subscribe(&self, sink: InvalidationSink) {
        tokio::spawn(listen(self.client.clone(), self.channel.clone(), sink));
    }
}

/// Subscribes, delivers, and on any break (an error, the connection closing, or silence longer
/// than the sink's idle timeout) reports the outage and subscribes again, backing off up to
/// 2 s between attempts. Ends when the cache is gone.
async fn listen(client: redis::Client, channel: String, sink: InvalidationSink) {
    const FIRST_RETRY: Duration = Duration::from_millis(50);
    let mut retry = FIRST_RETRY;
    while !sink.is_closed() {
        let connected = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await;
        if let Ok(Ok(mut pubsub)) = connected
            && pubsub.subscribe(&channel).await.is_ok()
        {
            sink.connected();
            retry = FIRST_RETRY;
            let idle = sink.idle_timeout();
            let mut messages = pubsub.on_message();
            while let Ok(Some(message)) = tokio::time::timeout(idle, messages.next()).await {
                if sink.is_closed() {
                    return;
                }
                match message.get_payload::<String>() {
                    Ok(line) => sink.received(&line),
                    Err(error) => tracing::debug!(%error, "ignored a non-text message on the cache channel"),
                }
            }
            tracing::warn!(%channel, "the cache invalidation subscription broke; subscribing again");
        }
        sink.disconnected();
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(Duration::from_secs(2));
    }
}
