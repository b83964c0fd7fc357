use std::error::Error as StdError;
use std::sync::{Arc, Weak};

use async_trait::async_trait;

use super::state::State;

/// Carries cache invalidations between the instances of one deployment: the port behind
/// [`ReadCache::attach`](super::ReadCache::attach). `authmount-redis` implements it on Redis
/// pub/sub, `authmount-sqlx` on PostgreSQL `LISTEN`/`NOTIFY`.
///
/// Messages are short text lines ([`InvalidationMessage`](super::InvalidationMessage)'s
/// `Display` form); a bus moves them unchanged, to every subscribed instance, the sender
/// included. Delivery may be at most once: the cache detects a broken subscription (the bus
/// says so, or the instance's heartbeat does not come back) and is bypassed until it is whole
/// again, so a lost message never leaves a stale copy in use.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use authmount::cache::{BusError, InvalidationBus, InvalidationSink};
///
/// /// A bus inside one process: every published line reaches every subscriber.
/// #[derive(Default)]
/// struct LocalBus(Mutex<Vec<InvalidationSink>>);
///
/// #[async_trait::async_trait]
/// impl InvalidationBus for LocalBus {
///     async fn publish(&self, line: &str) -> Result<(), BusError> {
///         let mut sinks = self.0.lock().unwrap();
///         sinks.retain(|sink| !sink.is_closed());
///         sinks.iter().for_each(|sink| sink.received(line));
///         Ok(())
///     }
///
///     fn subscribe(&self, sink: InvalidationSink) {
///         sink.connected();
///         self.0.lock().unwrap().push(sink);
///     }
/// }
/// # let _ = LocalBus::default();
/// ```
#[async_trait]
pub trait InvalidationBus: Send + Sync + 'static {
    /// Sends one message line to every subscriber. Called after a store write, before the
    /// request that made it is answered.
    async fn publish(&self, line: &str) -> Result<(), BusError>;

    /// Starts delivering every line published by any instance to `sink`, and returns at once
    /// (a bus spawns what it needs). The bus calls [`InvalidationSink::connected`] once it is
    /// listening, [`InvalidationSink::disconnected`] as soon as it knows the subscription is
    /// broken, and reconnects on its own; it stops once [`InvalidationSink::is_closed`].
    fn subscribe(&self, sink: InvalidationSink);
}

/// A bus could not publish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The service behind the bus cannot be reached.
    #[error("invalidation bus unavailable: {0}")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
}

impl BusError {
    /// Wraps the error of a bus that cannot reach its service.
    pub fn unavailable(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(source))
    }
}

/// Where a bus delivers what it hears: a handle on one instance's [`ReadCache`](super::ReadCache)
/// given to [`InvalidationBus::subscribe`]. Cheap to clone; it does not keep the cache alive.
#[derive(Clone)]
pub struct InvalidationSink {
    state: Weak<State>,
}

impl std::fmt::Debug for InvalidationSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvalidationSink").field("closed", &self.is_closed()).finish()
    }
}

impl InvalidationSink {
    pub(super) fn new(state: &Arc<State>) -> Self {
        Self { state: Arc::downgrade(state) }
    }

    /// A line heard on the bus. Lines that do not parse are logged and ignored.
    pub fn received(&self, line: &str) {
        if let Some(state) = self.state.upgrade() {
            state.received(line);
        }
    }

    /// The subscription is listening (again): the cache empties itself, then is used again
    /// once its next heartbeat comes back.
    pub fn connected(&self) {
        if let Some(state) = self.state.upgrade() {
            state.set_connected(true);
        }
    }

    /// The subscription is broken: the cache is bypassed until [`connected`](Self::connected).
    pub fn disconnected(&self) {
        if let Some(state) = self.state.upgrade() {
            state.set_connected(false);
        }
    }

    /// How long a subscription may hear nothing before a bus should treat it as broken and
    /// reconnect: three heartbeat intervals (every attached cache sends itself a heartbeat, so
    /// a live subscription is never silent that long).
    pub fn idle_timeout(&self) -> std::time::Duration {
        self.state.upgrade().map_or(std::time::Duration::from_secs(1), |state| state.config.heartbeat * 3)
    }

    /// Whether the cache is gone: the bus should stop delivering to this sink.
    pub fn is_closed(&self) -> bool {
        self.state.strong_count() == 0
    }
}
