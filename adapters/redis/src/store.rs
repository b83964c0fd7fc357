//! [`RedisStore`] and its connection options.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::clock::{SharedClock, SystemClock};
use authmount::store::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::from_redis;
use crate::record::millis;

/// The key prefix used unless [`RedisOptions::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "authmount:";

/// How a [`RedisStore`] connects: key prefix, timeouts and reconnect attempts.
///
/// The defaults fail fast when Redis is down (1 s to connect, 1 s per answer, no reconnect
/// retry inside a request), so a request gets [`StoreError::Unavailable`] (HTTP 503) instead of
/// hanging: at once when the connection is refused, after the timeouts when Redis does not
/// answer.
///
/// ```
/// use std::time::Duration;
/// use authmount_redis::RedisOptions;
/// let options = RedisOptions::default()
///     .prefix("shop:auth:")
///     .response_timeout(Duration::from_millis(500));
/// assert_eq!(options.key_prefix(), "shop:auth:");
/// ```
#[derive(Debug, Clone)]
pub struct RedisOptions {
    prefix: String,
    connection_timeout: Duration,
    response_timeout: Duration,
    reconnect_retries: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            reconnect_retries: 0,
        }
    }
}

impl RedisOptions {
    /// The prefix of every key this store writes (default [`DEFAULT_PREFIX`]). Give each app
    /// sharing one Redis its own, ending in `:` (e.g. `"shop:auth:"`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one connection attempt may take (default 1 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long one command may wait for its answer (default 1 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many times a failed (re)connection is retried before the waiting commands fail with
    /// [`StoreError::Unavailable`] (default 0). Each retry waits 1–2 s first (the `redis`
    /// crate's backoff starts at 1 s, with jitter), and requests wait with it, so more than 0
    /// trades fast 503s for riding out short blips. Either way the next command after a failed
    /// attempt starts a new one, so the store recovers by itself when Redis returns.
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// The configured key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }
}

/// Tokens, sessions, refresh families, the JWT revocation list and lockout counters in Redis:
/// one type implementing both [`TokenStore`](authmount::store::TokenStore) and
/// [`CounterStore`](authmount::store::CounterStore).
///
/// One type, because both need the same connection, prefix and clock, and an app behind a load
/// balancer wants both shared. Cloning is cheap and clones share one multiplexed connection
/// ([`redis::aio::ConnectionManager`], which reconnects by itself after Redis restarts); wrap it
/// in an `Arc` and hand it out as `Arc<dyn TokenStore>` and `Arc<dyn CounterStore>`.
///
/// Every key is written with its TTL in the same atomic step, so Redis drops tokens, revocation
/// entries and counters when they expire. Expiry is also stored in each value and compared with
/// the store's [clock](Self::with_clock) on every read, so a record is not live after its expiry
/// even if Redis still holds it (and tests can move a `ManualClock`).
///
/// Needs a standalone Redis ≥ 6.0 (or one managed by Sentinel), not Redis Cluster: the scripts
/// that revoke a user or family touch keys they discover as they run.
///
/// ```no_run
/// # async fn demo() -> Result<(), authmount::store::StoreError> {
/// use std::sync::Arc;
/// use authmount::store::{CounterStore, TokenStore};
/// use authmount_redis::RedisStore;
/// let store = Arc::new(RedisStore::connect("redis://127.0.0.1:6379").await?);
/// let tokens: Arc<dyn TokenStore> = store.clone();
/// let counters: Arc<dyn CounterStore> = store;
/// # let _ = (tokens, counters);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) conn: ConnectionManager,
    pub(crate) prefix: Arc<str>,
    pub(crate) clock: SharedClock,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`, `redis://:password@host/2`,
    /// `rediss://` needs a TLS feature this crate does not enable) with the default
    /// [`RedisOptions`]: prefix [`DEFAULT_PREFIX`], 1 s timeouts.
    ///
    /// Fails with [`StoreError::Unavailable`] when Redis cannot be reached and with
    /// [`StoreError::Backend`] for a malformed URL.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), authmount::store::StoreError> {
    /// let store = authmount_redis::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.prefix(), "authmount:");
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to `url` with `options` (key prefix, timeouts).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), authmount::store::StoreError> {
    /// use authmount_redis::{RedisOptions, RedisStore};
    /// let store = RedisStore::connect_with(
    ///     "redis://127.0.0.1:6379",
    ///     RedisOptions::default().prefix("shop:auth:"),
    /// )
    /// .await?;
    /// assert_eq!(store.prefix(), "shop:auth:");
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(from_redis)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connection_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(options.reconnect_retries)
            // 1 s, 2 s, 4 s, then 5 s between reconnection attempts (plus jitter): what redis 0.32
            // did with factor 2 (its backoff then always started at 1 s).
            .set_min_delay(Duration::from_secs(1))
            .set_exponent_base(2.0)
            .set_max_delay(Duration::from_secs(5));
        let conn = ConnectionManager::new_with_config(client, config).await.map_err(from_redis)?;
        Ok(Self { conn, prefix: options.prefix.into(), clock: Arc::new(SystemClock) })
    }

    /// The same store reading time from `clock` (for tests with a
    /// [`ManualClock`](authmount::clock::ManualClock)).
    ///
    /// The clock decides what is live: each value holds its expiry and reads compare it with the
    /// clock. Key TTLs are computed from the same clock (expiry − clock's now), which is the
    /// real remaining lifetime in production; with a test clock set in the past or future, keys
    /// still live as long as their records do, and Redis then counts that time down in real time.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), authmount::store::StoreError> {
    /// use std::sync::Arc;
    /// use authmount::clock::ManualClock;
    /// let clock = ManualClock::starting_now();
    /// let store = authmount_redis::RedisStore::connect("redis://127.0.0.1:6379")
    ///     .await?
    ///     .with_clock(Arc::new(clock.clone()));
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The prefix of every key this store reads and writes.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full Redis key of a token record, for operators and tests (`PTTL`, `DEL`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), authmount::store::StoreError> {
    /// use authmount::token::TokenHash;
    /// let store = authmount_redis::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(
    ///     store.token_key(&TokenHash::of("abc")),
    ///     "authmount:t:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn token_key(&self, hash: &authmount::token::TokenHash) -> String {
        format!("{}t:{}", self.prefix, hash.to_hex())
    }

    /// The full Redis key of a counter, for operators and tests.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), authmount::store::StoreError> {
    /// let store = authmount_redis::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.counter_key("login-failures:alice"), "authmount:c:login-failures:alice");
    /// # Ok(()) }
    /// ```
    pub fn counter_key(&self, name: &str) -> String {
        format!("{}c:{name}", self.prefix)
    }

    /// The store clock's now, and in milliseconds for the scripts.
    pub(crate) fn now(&self) -> (SystemTime, u64) {
        let now = self.clock.now();
        (now, millis(now))
    }

    /// A fresh handle on the shared connection (cheap: an `Arc` clone).
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A script invocation with the prefix and the clock's now as ARGV[1] and ARGV[2].
    pub(crate) fn invocation<'a>(
        &self,
        script: &'a redis::Script,
        now_ms: u64,
    ) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(&*self.prefix).arg(now_ms);
        invocation
    }
}
