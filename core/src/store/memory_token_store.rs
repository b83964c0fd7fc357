use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::token_store::FAMILY_RETENTION;
use super::{ConflictField, Rotation, StoreError, TokenRecord, TokenStore};
use crate::clock::{SharedClock, SystemClock};
use crate::token::TokenHash;
use crate::user::UserId;

/// How often writes sweep expired records out of memory. Reads already ignore expired records;
/// the sweep only bounds memory, so once a minute is plenty and keeps writes O(1) amortised.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// A [`TokenStore`] in process memory: the default for one process. Tokens are lost on restart
/// and not shared between processes (use the SQL or Redis stores for that).
///
/// ```
/// use std::sync::Arc;
/// use authmount::clock::ManualClock;
/// use authmount::store::MemoryTokenStore;
/// let clock = ManualClock::at_unix(1_000);
/// let store = MemoryTokenStore::with_clock(Arc::new(clock.clone()));
/// # let _ = store;
/// ```
#[derive(Debug)]
pub struct MemoryTokenStore {
    clock: SharedClock,
    inner: RwLock<Tokens>,
}

#[derive(Debug)]
struct Stored {
    record: TokenRecord,
    /// Spent by a rotation: kept (not live) until it expires, so a replay can be recognised.
    rotated: bool,
}

impl Stored {
    fn is_live_at(&self, now: SystemTime) -> bool {
        !self.rotated && !self.record.is_expired_at(now)
    }
}

#[derive(Debug)]
struct Tokens {
    records: HashMap<TokenHash, Stored>,
    by_user: HashMap<UserId, HashSet<TokenHash>>,
    by_family: HashMap<String, HashSet<TokenHash>>,
    revoked_jtis: HashMap<String, SystemTime>,
    revoked_families: HashMap<String, SystemTime>,
    last_purge: SystemTime,
}

impl Tokens {
    fn insert(&mut self, hash: TokenHash, record: TokenRecord) {
        self.by_user.entry(record.user_id).or_default().insert(hash);
        if let Some(family) = &record.family {
            self.by_family.entry(family.clone()).or_default().insert(hash);
        }
        self.records.insert(hash, Stored { record, rotated: false });
    }

    fn remove(&mut self, hash: &TokenHash) -> Option<Stored> {
        let stored = self.records.remove(hash)?;
        remove_from_index(&mut self.by_user, &stored.record.user_id, hash);
        if let Some(family) = &stored.record.family {
            remove_from_index(&mut self.by_family, family, hash);
        }
        Some(stored)
    }

    /// Removes a family's records and lists the family as revoked; returns how many were live.
    fn revoke_family(&mut self, family: &str, now: SystemTime) -> u64 {
        let hashes = self.by_family.get(family).cloned().unwrap_or_default();
        let mut until = now + FAMILY_RETENTION;
        let mut live = 0;
        for hash in hashes {
            if let Some(stored) = self.remove(&hash) {
                until = until.max(stored.record.expires_at);
                live += u64::from(stored.is_live_at(now));
            }
        }
        let entry = self.revoked_families.entry(family.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
        live
    }

    fn purge(&mut self, now: SystemTime) -> u64 {
        let expired: Vec<TokenHash> = self
            .records
            .iter()
            .filter(|(_, stored)| stored.record.is_expired_at(now))
            .map(|(hash, _)| *hash)
            .collect();
        let mut removed = expired.len() as u64;
        for hash in &expired {
            self.remove(hash);
        }
        let before = self.revoked_jtis.len() + self.revoked_families.len();
        self.revoked_jtis.retain(|_, until| *until > now);
        self.revoked_families.retain(|_, until| *until > now);
        removed += (before - self.revoked_jtis.len() - self.revoked_families.len()) as u64;
        self.last_purge = now;
        removed
    }

    fn purge_if_due(&mut self, now: SystemTime) {
        let due = now.duration_since(self.last_purge).is_ok_and(|since| since >= PURGE_INTERVAL);
        if due {
            self.purge(now);
        }
    }
}

fn remove_from_index<K: std::hash::Hash + Eq + Clone>(
    index: &mut HashMap<K, HashSet<TokenHash>>,
    key: &K,
    hash: &TokenHash,
) {
    if let Some(set) = index.get_mut(key) {
        set.remove(hash);
        if set.is_empty() {
            index.remove(key);
        }
    }
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTokenStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store that reads time from `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        let now = clock.now();
        Self {
            clock,
            inner: RwLock::new(Tokens {
                records: HashMap::new(),
                by_user: HashMap::new(),
                by_family: HashMap::new(),
                revoked_jtis: HashMap::new(),
                revoked_families: HashMap::new(),
                last_purge: now,
            }),
        }
    }

    /// How many records are held, live or not yet purged.
    pub fn len(&self) -> usize {
        self.read().records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tokens> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The write lock, after the periodic sweep of expired records.
    fn write(&self, now: SystemTime) -> std::sync::RwLockWriteGuard<'_, Tokens> {
        let mut tokens = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        tokens.purge_if_due(now);
        tokens
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        if let Some(existing) = tokens.records.get(&hash) {
            if !existing.record.is_expired_at(now) {
                return Err(StoreError::Conflict(ConflictField::Token));
            }
            tokens.remove(&hash);
        }
        tokens.insert(hash, record);
        Ok(())
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.clock.now();
        let tokens = self.read();
        Ok(tokens
            .records
            .get(hash)
            .filter(|stored| stored.is_live_at(now))
            .map(|stored| stored.record.clone()))
    }

    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        let Some(stored) = tokens.records.get_mut(hash).filter(|s| s.is_live_at(now)) else {
            return Ok(None);
        };
        if let Some(idle) = stored.record.idle_timeout {
            stored.record.expires_at = now + idle;
        }
        Ok(Some(stored.record.clone()))
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        Ok(tokens.remove(hash).is_some_and(|stored| stored.is_live_at(now)))
    }

    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        let hashes = tokens.by_user.get(&user_id).cloned().unwrap_or_default();
        let mut families = HashSet::new();
        let mut live = 0;
        for hash in hashes {
            if let Some(stored) = tokens.remove(&hash) {
                live += u64::from(stored.is_live_at(now));
                families.extend(stored.record.family);
            }
        }
        for family in families {
            live += tokens.revoke_family(&family, now);
        }
        Ok(live)
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let now = self.clock.now();
        Ok(self.write(now).revoke_family(family, now))
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
    ) -> Result<Rotation, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        let Some(stored) = tokens.records.get(old) else {
            return Ok(Rotation::NotFound);
        };
        if stored.record.is_expired_at(now) {
            return Ok(Rotation::NotFound);
        }
        if stored.rotated {
            let user_id = stored.record.user_id;
            let family = stored.record.family.clone();
            match &family {
                Some(family) => {
                    tokens.revoke_family(family, now);
                }
                None => {
                    tokens.remove(old);
                }
            }
            return Ok(Rotation::Reused { user_id, family });
        }
        if tokens.records.get(&new).is_some_and(|s| !s.record.is_expired_at(now)) {
            return Err(StoreError::Conflict(ConflictField::Token));
        }
        if let Some(stored) = tokens.records.get_mut(old) {
            stored.rotated = true;
        }
        tokens.remove(&new);
        tokens.insert(new, record);
        Ok(Rotation::Rotated)
    }

    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        if !tokens.records.get(hash).is_some_and(|s| s.is_live_at(now)) {
            return Ok(None);
        }
        Ok(tokens.remove(hash).map(|stored| stored.record))
    }

    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        let entry = tokens.revoked_jtis.entry(jti.to_owned()).or_insert(expires_at);
        *entry = (*entry).max(expires_at);
        Ok(())
    }

    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
        let tokens = self.read();
        Ok(tokens.revoked_jtis.contains_key(jti)
            || family.is_some_and(|family| tokens.revoked_families.contains_key(family)))
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        Ok(tokens.purge(now))
    }
}
