use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::StoreError;

/// A counter's state: how many increments it has had in its current window, and when the window
/// ends (the counter then starts again from zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Increments since the window opened.
    pub count: u64,
    /// When the window closes and the counter disappears.
    pub expires_at: SystemTime,
}

/// Counters with a fixed window: what brute-force lockouts and rate limits are built on.
///
/// A counter opens its window at its first increment and disappears `window` later; increments
/// within the window do not extend it. Increments are atomic, so counters shared by many
/// instances (Redis, PostgreSQL) count every attempt exactly once.
///
/// Implementations must pass [`crate::conformance`]'s counter-store suite.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use authmount::store::{CounterStore, MemoryCounterStore};
/// let counters = MemoryCounterStore::new();
/// let window = Duration::from_secs(900);
/// counters.increment("login-failures:alice", window).await?;
/// let now = counters.increment("login-failures:alice", window).await?;
/// assert_eq!(now.count, 2);
/// counters.clear("login-failures:alice").await?;
/// assert!(counters.peek("login-failures:alice").await?.is_none());
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait CounterStore: Send + Sync + 'static {
    /// Adds one to `key` and returns the counter after the increment. A counter that does not
    /// exist (or whose window has closed) starts at 1 with a window of `window` from now.
    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError>;

    /// The counter's current state, `None` when it does not exist or its window has closed.
    async fn peek(&self, key: &str) -> Result<Option<Counter>, StoreError>;

    /// Removes the counter.
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
