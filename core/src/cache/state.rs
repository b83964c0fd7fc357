//! The cache's shared state: the three caches, the change counter and the marks that tell a
//! read whether its copy is still fresh, and the bus health that decides whether the cache is
//! used at all.
//!
//! Every applied change takes the next value of a counter (`seq`). A copy is stamped with the
//! counter's value *before* the store read that produced it. A change that names a copy's key
//! removes it; a change that cannot name its copies one by one (every token of a user or of a
//! family) leaves a *mark*: its key and counter value. A copy is fresh only if no mark
//! concerning it is newer than its stamp, so a read that raced with a change (read the old
//! value, cached it after the change was applied) is never used. Marks live in a bounded cache
//! too; evicting one raises a floor below which every copy counts as stale, so eviction can
//! only cost hits, never correctness. A mark older than the staleness bound is ignored: every
//! copy it could concern is older still, and stale by age.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, UnitWeighter};
use tokio::time::Instant;

use super::entries::{JwtEntry, Stamp, TokenEntry, UserEntry};
use super::{Invalidation, InvalidationBus, InvalidationMessage, ReadCacheConfig};
use crate::token::TokenHash;
use crate::user::UserId;

/// What a mark concerns; hashed (with a per-process random key) into the marks cache's key. A
/// collision can only make a fresh copy look stale.
#[derive(Hash)]
pub(super) enum Subject<'a> {
    Token(&'a TokenHash),
    Jti(&'a str),
    Family(&'a str),
    UserTokens(UserId),
    User(UserId),
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    seq: u64,
    at: Instant,
}

/// Raises the floor when a mark is evicted before its time: copies older than the lost mark
/// then count as stale.
#[derive(Clone)]
struct RaiseFloor(Arc<AtomicU64>);

impl Lifecycle<u64, Mark> for RaiseFloor {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: u64, mark: Mark) {
        self.0.fetch_max(mark.seq, Ordering::SeqCst);
    }
}

pub(super) struct State {
    pub(super) config: ReadCacheConfig,
    pub(super) tokens: Cache<TokenHash, TokenEntry>,
    pub(super) jwts: Cache<Box<str>, JwtEntry>,
    pub(super) users: Cache<UserId, UserEntry>,
    seq: AtomicU64,
    /// Copies stamped below this are stale (a flush, or an evicted mark).
    floor: Arc<AtomicU64>,
    /// JWT answers stamped below this are stale: a user's tokens were revoked, and the answers
    /// do not say whose JWT they are about.
    jwt_floor: AtomicU64,
    marks: Cache<u64, Mark, UnitWeighter, DefaultHashBuilder, RaiseFloor>,
    mark_keys: RandomState,
    pub(super) bus: OnceLock<Arc<dyn InvalidationBus>>,
    /// This instance's id on the bus.
    pub(super) instance: u64,
    pub(super) health: Health,
    born: Instant,
}

/// Whether the cache may be used: always without a bus; with one, only while the subscription
/// is connected and this instance's heartbeat came back recently.
#[derive(Default)]
pub(super) struct Health {
    pub(super) attached: AtomicBool,
    pub(super) connected: AtomicBool,
    pub(super) beating: AtomicBool,
    /// Milliseconds since the state was made when our last heartbeat came back.
    pub(super) last_beat: AtomicU64,
}

impl State {
    pub(super) fn new(config: ReadCacheConfig) -> Self {
        let capacity = config.capacity.max(16);
        let floor = Arc::new(AtomicU64::new(0));
        let marks = Cache::with(
            capacity,
            capacity as u64,
            UnitWeighter,
            DefaultHashBuilder::default(),
            RaiseFloor(floor.clone()),
        );
        Self {
            config,
            tokens: Cache::new(capacity),
            jwts: Cache::new(capacity),
            users: Cache::new(capacity),
            seq: AtomicU64::new(1),
            floor,
            jwt_floor: AtomicU64::new(0),
            marks,
            mark_keys: RandomState::new(),
            bus: OnceLock::new(),
            instance: random_instance_id(),
            health: Health::default(),
            born: Instant::now(),
        }
    }

    /// Whether reads are answered from memory now.
    pub(super) fn is_in_use(&self) -> bool {
        !self.health.attached.load(Ordering::Acquire)
            || (self.health.connected.load(Ordering::Acquire) && self.health.beating.load(Ordering::Acquire))
    }

    /// The stamp for a copy about to be read from the store.
    pub(super) fn stamp(&self) -> Stamp {
        let at = Instant::now();
        Stamp { at, seq: self.seq.load(Ordering::SeqCst) }
    }

    /// Whether a copy stamped `stamp` may be used: the cache is in use, the copy is younger
    /// than the staleness bound, above the floors, and no mark of `subjects` is newer.
    pub(super) fn is_fresh<'a>(
        &self,
        stamp: &Stamp,
        jwt: bool,
        subjects: impl IntoIterator<Item = Subject<'a>>,
    ) -> bool {
        if !self.is_in_use() || stamp.at.elapsed() >= self.config.max_staleness {
            return false;
        }
        for subject in subjects {
            if let Some(mark) = self.marks.get(&self.mark_key(&subject))
                && mark.seq > stamp.seq
                && mark.at.elapsed() < self.config.max_staleness
            {
                return false;
            }
        }
        // Read after the marks: a mark evicted before we looked has raised the floor already.
        let floor = self.floor.load(Ordering::SeqCst);
        let floor = if jwt { floor.max(self.jwt_floor.load(Ordering::SeqCst)) } else { floor };
        stamp.seq >= floor
    }

    fn mark_key(&self, subject: &Subject<'_>) -> u64 {
        self.mark_keys.hash_one(subject)
    }

    fn mark(&self, subject: Subject<'_>, seq: u64) {
        self.marks.insert(self.mark_key(&subject), Mark { seq, at: Instant::now() });
    }

    /// Applies a change to this instance's copies.
    pub(super) fn apply(&self, change: &Invalidation) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        match change {
            Invalidation::Token(hash) => {
                self.mark(Subject::Token(hash), seq);
                self.tokens.remove(hash);
            }
            Invalidation::Jti(jti) => {
                self.mark(Subject::Jti(jti), seq);
                self.jwts.remove(jti.as_str());
            }
            Invalidation::Family(family) => self.mark(Subject::Family(family), seq),
            Invalidation::UserTokens(user) => {
                self.mark(Subject::UserTokens(*user), seq);
                self.jwt_floor.fetch_max(seq, Ordering::SeqCst);
            }
            Invalidation::User(user) => {
                self.mark(Subject::User(*user), seq);
                self.users.remove(user);
            }
            Invalidation::All => self.flush_at(seq),
        }
    }

    /// Drops every copy.
    pub(super) fn flush(&self) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.flush_at(seq);
    }

    fn flush_at(&self, seq: u64) {
        self.floor.fetch_max(seq, Ordering::SeqCst);
        self.tokens.clear();
        self.jwts.clear();
        self.users.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.tokens.len() + self.jwts.len() + self.users.len()
    }

    /// Publishes a change made here to the other instances (if a bus is attached). A failure
    /// is logged: the change is in the store and applied here; instances that missed it see
    /// it when their subscription notices the outage (they bypass their cache) or after the
    /// staleness bound.
    pub(super) async fn publish(&self, change: Invalidation) {
        let Some(bus) = self.bus.get() else { return };
        let line = InvalidationMessage::Change { sender: self.instance, change }.to_string();
        if let Err(error) = bus.publish(&line).await {
            tracing::warn!(%error, "could not publish a cache invalidation");
        }
    }

    /// A line heard on the bus.
    pub(super) fn received(&self, line: &str) {
        match line.parse::<InvalidationMessage>() {
            Ok(InvalidationMessage::Change { sender, change }) if sender != self.instance => {
                self.apply(&change);
            }
            Ok(InvalidationMessage::Change { .. }) => {} // ours: applied before it was sent
            Ok(InvalidationMessage::Heartbeat { sender, .. }) if sender == self.instance => self.beat(),
            Ok(InvalidationMessage::Heartbeat { .. }) => {}
            Err(error) => tracing::debug!(%error, "ignored a message on the invalidation bus"),
        }
    }

    /// Our heartbeat came back: the subscription hears us. If the cache was bypassed, empty it
    /// (messages may have been lost meanwhile), then use it again.
    fn beat(&self) {
        self.health.last_beat.store(self.millis_since_born(), Ordering::Release);
        if self.health.connected.load(Ordering::Acquire) && !self.health.beating.load(Ordering::Acquire) {
            self.flush();
            self.health.beating.store(true, Ordering::Release);
            tracing::info!("cache invalidation bus is up: read cache in use");
        }
    }

    pub(super) fn set_connected(&self, connected: bool) {
        if connected {
            // Used again only once a heartbeat has come back through the new subscription.
            self.health.beating.store(false, Ordering::Release);
            self.health.connected.store(true, Ordering::Release);
        } else {
            let was_in_use = self.is_in_use();
            self.health.connected.store(false, Ordering::Release);
            self.health.beating.store(false, Ordering::Release);
            if was_in_use {
                tracing::warn!("cache invalidation bus is down: reads go to the stores until it is back");
            }
        }
    }

    /// Called by the watchdog: the last heartbeat is older than `limit_ms`.
    pub(super) fn heartbeat_late(&self, limit_ms: u64) {
        let last = self.health.last_beat.load(Ordering::Acquire);
        if self.millis_since_born().saturating_sub(last) > limit_ms
            && self.health.beating.swap(false, Ordering::AcqRel)
        {
            tracing::warn!("cache invalidation heartbeat is late: reads go to the stores until it is back");
        }
    }

    fn millis_since_born(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A random id for this instance on the bus (collisions between two instances would only make
/// each skip some of the other's changes: 64 random bits make that negligible).
fn random_instance_id() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the per-process keyed hasher, still unique per process.
        let hasher = RandomState::new();
        return hasher.hash_one(std::process::id());
    }
    u64::from_le_bytes(bytes)
}
