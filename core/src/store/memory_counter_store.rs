use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Counter, CounterStore, StoreError};
use crate::clock::{SharedClock, SystemClock};

/// How often increments sweep closed windows out of memory.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// A [`CounterStore`] in process memory, for one process. Counters are not shared between
/// processes (use the Redis store for that).
///
/// ```
/// let counters = authmount::store::MemoryCounterStore::new();
/// # let _ = counters;
/// ```
#[derive(Debug)]
pub struct MemoryCounterStore {
    clock: SharedClock,
    inner: Mutex<Counters>,
}

#[derive(Debug)]
struct Counters {
    counters: HashMap<String, Counter>,
    last_purge: SystemTime,
}

impl Default for MemoryCounterStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCounterStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store that reads time from `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        let last_purge = clock.now();
        Self { clock, inner: Mutex::new(Counters { counters: HashMap::new(), last_purge }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl CounterStore for MemoryCounterStore {
    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        if now.duration_since(inner.last_purge).is_ok_and(|since| since >= PURGE_INTERVAL) {
            inner.counters.retain(|_, counter| counter.expires_at > now);
            inner.last_purge = now;
        }
        let counter = inner
            .counters
            .entry(key.to_owned())
            .and_modify(|counter| {
                if counter.expires_at <= now {
                    *counter = Counter { count: 0, expires_at: now + window };
                }
            })
            .or_insert(Counter { count: 0, expires_at: now + window });
        counter.count += 1;
        Ok(*counter)
    }

    async fn peek(&self, key: &str) -> Result<Option<Counter>, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().counters.get(key).filter(|counter| counter.expires_at > now).copied())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.lock().counters.remove(key);
        Ok(())
    }
}
