//! The read cache: what the gate reads on every authenticated request (opaque token records,
//! JWT revocation answers, the user record) kept in process memory, so a protected route costs
//! about what a public one does on any store.
//!
//! [`ReadCache`] wraps any [`UserStore`] and
//! [`TokenStore`] ([`Services::with_read_cache`](crate::services::Services::with_read_cache)
//! does both): reads are answered from memory when a fresh copy is there, every write goes to
//! the store and then drops the copies it makes stale.
//!
//! How it stays correct:
//! - **On this instance, exactly.** Every change made through the wrapped stores (logout,
//!   revocation, refresh rotation and reuse detection, password change, deactivation, profile
//!   update) drops the affected copies before the write's future completes, so before the
//!   handler answers. Copies that a change cannot name one by one (all tokens of a user, of a
//!   refresh family) are dropped by a [mark](Invalidation) that every later read compares with
//!   its copy's age.
//! - **Across instances, near-exactly.** With an [`InvalidationBus`] attached
//!   ([`ReadCache::attach`]), every change is published and every instance drops its copies
//!   when it hears it (Redis pub/sub in `authmount-redis`, PostgreSQL `LISTEN`/`NOTIFY` in
//!   `authmount-sqlx`). While the subscription is down, or its heartbeat does not come back in
//!   time, the cache is bypassed (every read goes to the store: correct, slower) and it is
//!   emptied when the subscription is back.
//! - **Changes made outside authmount** (SQL run by an operator, another program writing the
//!   store) are seen after at most [`ReadCacheConfig::max_staleness`]: no copy is used longer.
//! - **Expiry.** A cached token record is checked against the injectable clock on every hit; a
//!   copy that says "expired" is read again from the store (another instance may have slid it).
//!   Sliding sessions still slide: the store is written when
//!   [`TokenRecord::slid_expiry`](crate::store::TokenRecord::slid_expiry) says the move matters.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use authmount::cache::{ReadCache, ReadCacheConfig};
//! use authmount::services::Services;
//!
//! let cache = ReadCache::new(ReadCacheConfig::default());
//! let services = Services::in_memory()?.with_read_cache(&cache);
//! # let _ = services;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod bus;
mod entries;
mod invalidation;
mod monitor;
mod state;
mod token_store;
mod user_store;

use std::sync::Arc;
use std::time::Duration;

pub use bus::{BusError, InvalidationBus, InvalidationSink};
pub use invalidation::{Invalidation, InvalidationMessage, MessageError};
pub use token_store::CachedTokenStore;
pub use user_store::CachedUserStore;

use crate::clock::SharedClock;
use crate::store::{TokenStore, UserStore};
use state::State;

/// The read cache's settings.
///
/// ```
/// use std::time::Duration;
/// use authmount::cache::ReadCacheConfig;
/// let config = ReadCacheConfig { capacity: 50_000, ..ReadCacheConfig::default() };
/// assert_eq!(config.max_staleness, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCacheConfig {
    /// How many entries each of the three caches (token records, JWT revocation answers, users)
    /// holds at most; the least useful are evicted past it. Default 100,000. A cached token
    /// record takes about 300 bytes (measured: 1,000,000 of them add 296 MB resident; see
    /// BENCHMARKS.md), so the token cache stays under 30 MB at the default.
    pub capacity: usize,
    /// How long a cached copy is used at most before it is read again from the store: the bound
    /// on how late a change made outside authmount (not heard through the bus) is seen.
    /// Default 5 s: a few store reads per active token and user every 5 s cost nothing, and an
    /// operator's manual change holds within seconds.
    pub max_staleness: Duration,
    /// How often an instance attached to a bus sends itself a heartbeat through it. The cache
    /// is bypassed when none has come back for three intervals (a subscription that died
    /// silently). Default 500 ms.
    pub heartbeat: Duration,
}

impl Default for ReadCacheConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_staleness: Duration::from_secs(5),
            heartbeat: Duration::from_millis(500),
        }
    }
}

/// The read cache shared by the wrapped stores of one process (see the [module docs](self)).
/// Cheap to clone: clones share the cache.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::cache::{ReadCache, ReadCacheConfig};
/// use authmount::store::{MemoryTokenStore, MemoryUserStore, UserStore};
/// use authmount::user::NewUser;
///
/// let cache = ReadCache::new(ReadCacheConfig::default());
/// let users = cache.users(Arc::new(MemoryUserStore::new()));
/// let ann = users.create(NewUser::new("ann", std::time::SystemTime::now())).await?;
/// assert!(users.get_shared(ann.id).await?.is_some()); // read from the store, now cached
/// assert!(users.get_shared(ann.id).await?.is_some()); // from memory
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct ReadCache {
    state: Arc<State>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("config", &self.state.config)
            .field("in_use", &self.is_in_use())
            .finish_non_exhaustive()
    }
}

impl ReadCache {
    /// An empty cache with `config`, in use at once (no bus: one instance, or several that
    /// accept [`max_staleness`](ReadCacheConfig::max_staleness) for each other's changes).
    pub fn new(config: ReadCacheConfig) -> Self {
        Self { state: Arc::new(State::new(config)) }
    }

    /// The settings.
    pub fn config(&self) -> &ReadCacheConfig {
        &self.state.config
    }

    /// Wraps a user store: [`get`](UserStore::get) and [`get_shared`](UserStore::get_shared)
    /// are answered from the cache; writes go through and drop the user's copy.
    pub fn users(&self, inner: Arc<dyn UserStore>) -> Arc<CachedUserStore> {
        Arc::new(CachedUserStore::new(inner, self.clone()))
    }

    /// Wraps a token store whose records expire by `clock`: [`get`](TokenStore::get),
    /// [`touch`](TokenStore::touch) and [`is_jwt_revoked`](TokenStore::is_jwt_revoked) are
    /// answered from the cache; writes go through and drop the copies they make stale.
    pub fn tokens(&self, inner: Arc<dyn TokenStore>, clock: SharedClock) -> Arc<CachedTokenStore> {
        Arc::new(CachedTokenStore::new(inner, self.clone(), clock))
    }

    /// Subscribes to `bus` and publishes this instance's changes on it, so several instances
    /// keep each other's caches exact within milliseconds. Until the subscription is up (and
    /// whenever it is down or its heartbeat is late) the cache is bypassed. Spawns the
    /// subscription's watchdog on the current Tokio runtime; it ends when the cache is dropped.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn attach(&self, bus: Arc<dyn InvalidationBus>) {
        monitor::attach(&self.state, bus);
    }

    /// Whether reads are answered from memory right now (false while an attached bus is down).
    pub fn is_in_use(&self) -> bool {
        self.state.is_in_use()
    }

    /// Drops every cached copy (for example after changing the stores behind authmount's back).
    pub fn clear(&self) {
        self.state.flush();
    }

    /// How many entries the caches hold now (tokens, JWT answers, users).
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether the caches are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies a change: drops the copies it makes stale here and publishes it to the other
    /// instances. The wrapped stores call this after each successful write.
    pub(crate) async fn changed(&self, change: Invalidation) {
        self.state.apply(&change);
        self.state.publish(change).await;
    }
}

#[cfg(test)]
mod tests;
