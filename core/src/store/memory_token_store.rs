use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::token_store::FAMILY_RETENTION;
use super::{ConflictField, Rotation, StoreError, TokenKind, TokenRecord, TokenStore};
use crate::clock::{SharedClock, SystemClock};
use crate::token::TokenHash;
use crate::user::UserId;

/// How often writes sweep expired records out of memory. Reads already ignore expired records;
/// the sweep only bounds memory, so once a minute is plenty and keeps writes O(1) amortised.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// A [`TokenStore`] in process memory: the default for one process. Tokens are lost on restart
/// and not shared between processes (use the SQL or Redis stores for that).
///
/// Records are held compactly (a million live sessions take about 250 MB, see BENCHMARKS.md):
/// times as nanoseconds since the Unix epoch (times before 1970 read back as 1970), audiences
/// interned, families and dialect data out of line and only when present.
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

/// A point in time as nanoseconds since the Unix epoch (u64: good until the year 2554).
type Nanos = u64;

fn to_nanos(time: SystemTime) -> Nanos {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| Nanos::try_from(since.as_nanos()).unwrap_or(Nanos::MAX))
}

fn to_nanos_duration(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn from_nanos(nanos: Nanos) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// `idle_ns` of a record without an idle timeout.
const NOT_SLIDING: u64 = u64::MAX;

/// One stored token, packed to 48 bytes: a million of them is the load this store is sized for.
#[derive(Debug)]
struct Slot {
    user_id: UserId,
    issued_at: Nanos,
    expires_at: Nanos,
    /// The idle timeout in nanoseconds, or [`NOT_SLIDING`].
    idle_ns: u64,
    /// Family and dialect data, when the record has either.
    extra: Option<Box<Extra>>,
    /// Index into [`Tokens::audiences`].
    audience: u32,
    kind: TokenKind,
    /// Spent by a rotation: kept (not live) until it expires, so a replay can be recognised.
    /// When it was rotated is in [`Extra::rotated_at`] (a spent slot always has its `extra`),
    /// which keeps the slot at 48 bytes.
    rotated: bool,
}

#[derive(Debug, Default)]
struct Extra {
    family: Option<Arc<str>>,
    data: Map<String, Value>,
    /// When a spent slot was rotated, for the reuse grace period.
    rotated_at: Option<Nanos>,
}

impl Slot {
    fn is_expired_at(&self, now: Nanos) -> bool {
        now >= self.expires_at
    }

    fn is_live_at(&self, now: Nanos) -> bool {
        !self.rotated && !self.is_expired_at(now)
    }

    fn family(&self) -> Option<&Arc<str>> {
        self.extra.as_ref().and_then(|extra| extra.family.as_ref())
    }

    fn rotated_at(&self) -> Option<Nanos> {
        self.extra.as_ref().and_then(|extra| extra.rotated_at)
    }

    fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_ns != NOT_SLIDING).then(|| Duration::from_nanos(self.idle_ns))
    }
}

#[derive(Debug)]
struct Tokens {
    records: HashMap<TokenHash, Slot>,
    /// Every audience seen, by the index slots keep; audiences come from code, so few.
    audiences: Vec<Arc<str>>,
    audience_ids: HashMap<Arc<str>, u32>,
    /// The hashes stored for each user and family. Removals leave stale entries, which are
    /// checked against `records` when used and swept out by [`Tokens::purge`]: a plain list costs
    /// 32 bytes a token where a set would cost twice that.
    by_user: HashMap<UserId, Vec<TokenHash>>,
    by_family: HashMap<Arc<str>, Vec<TokenHash>>,
    revoked_jtis: HashMap<String, SystemTime>,
    revoked_families: HashMap<String, SystemTime>,
    last_purge: SystemTime,
}

impl Tokens {
    fn audience_id(&mut self, audience: &str) -> u32 {
        if let Some(id) = self.audience_ids.get(audience) {
            return *id;
        }
        let interned: Arc<str> = Arc::from(audience);
        // More than four billion distinct audiences cannot come from code; saturate rather than fail.
        let id = u32::try_from(self.audiences.len()).unwrap_or(u32::MAX);
        self.audiences.push(Arc::clone(&interned));
        self.audience_ids.insert(interned, id);
        id
    }

    fn insert(&mut self, hash: TokenHash, record: TokenRecord) {
        let TokenRecord { kind, user_id, audience, family, issued_at, expires_at, idle_timeout, data } =
            record;
        let family = family.map(|family| {
            let key = match self.by_family.get_key_value(family.as_str()) {
                Some((key, _)) => Arc::clone(key),
                None => Arc::from(family),
            };
            self.by_family.entry(Arc::clone(&key)).or_default().push(hash);
            key
        });
        self.by_user.entry(user_id).or_default().push(hash);
        let slot = Slot {
            user_id,
            issued_at: to_nanos(issued_at),
            expires_at: to_nanos(expires_at),
            idle_ns: idle_timeout.map_or(NOT_SLIDING, |idle| {
                u64::try_from(idle.as_nanos()).unwrap_or(NOT_SLIDING - 1).min(NOT_SLIDING - 1)
            }),
            extra: (family.is_some() || !data.is_empty())
                .then(|| Box::new(Extra { family, data, rotated_at: None })),
            audience: self.audience_id(&audience),
            kind,
            rotated: false,
        };
        self.records.insert(hash, slot);
    }

    /// The record as the port returns it.
    fn unpack(&self, slot: &Slot) -> TokenRecord {
        let audience = self.audiences.get(slot.audience as usize).map_or_else(String::new, |a| a.to_string());
        let (family, data) = match &slot.extra {
            Some(extra) => (extra.family.as_deref().map(str::to_owned), extra.data.clone()),
            None => (None, Map::new()),
        };
        TokenRecord {
            kind: slot.kind,
            user_id: slot.user_id,
            audience,
            family,
            issued_at: from_nanos(slot.issued_at),
            expires_at: from_nanos(slot.expires_at),
            idle_timeout: slot.idle_timeout(),
            data,
        }
    }

    fn remove(&mut self, hash: &TokenHash) -> Option<Slot> {
        self.records.remove(hash)
    }

    /// The hashes still stored under `hashes` for which `belongs` holds.
    fn members(&self, hashes: Option<&Vec<TokenHash>>, belongs: impl Fn(&Slot) -> bool) -> Vec<TokenHash> {
        let mut members: Vec<TokenHash> = hashes
            .into_iter()
            .flatten()
            .filter(|hash| self.records.get(*hash).is_some_and(&belongs))
            .copied()
            .collect();
        members.sort_unstable();
        members.dedup();
        members
    }

    /// Removes a family's records and lists the family as revoked; returns how many were live.
    fn revoke_family(&mut self, family: &str, now: SystemTime) -> u64 {
        let hashes =
            self.members(self.by_family.get(family), |slot| slot.family().is_some_and(|f| **f == *family));
        self.by_family.remove(family);
        let now_ns = to_nanos(now);
        let mut until = now + FAMILY_RETENTION;
        let mut live = 0;
        for hash in hashes {
            if let Some(slot) = self.remove(&hash) {
                until = until.max(from_nanos(slot.expires_at));
                live += u64::from(slot.is_live_at(now_ns));
            }
        }
        let entry = self.revoked_families.entry(family.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
        live
    }

    fn purge(&mut self, now: SystemTime) -> u64 {
        let now_ns = to_nanos(now);
        let before = self.records.len();
        self.records.retain(|_, slot| !slot.is_expired_at(now_ns));
        let mut removed = (before - self.records.len()) as u64;
        let records = &self.records;
        self.by_user.retain(|user, hashes| {
            hashes.retain(|hash| records.get(hash).is_some_and(|slot| slot.user_id == *user));
            shrink(hashes)
        });
        self.by_family.retain(|family, hashes| {
            hashes.retain(|hash| records.get(hash).and_then(Slot::family).is_some_and(|f| f == family));
            shrink(hashes)
        });
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

/// Gives back an index list's spare capacity after a sweep; `false` when it is empty (drop it).
fn shrink(hashes: &mut Vec<TokenHash>) -> bool {
    if hashes.capacity() > 2 * hashes.len() + 4 {
        hashes.shrink_to_fit();
    }
    !hashes.is_empty()
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
                audiences: Vec::new(),
                audience_ids: HashMap::new(),
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

    /// Removes the user's records except those of the family `keep`, and revokes the families
    /// they belonged to; returns how many were live.
    fn revoke_user_sparing(&self, user_id: UserId, keep: Option<&str>) -> u64 {
        let now = self.clock.now();
        let now_ns = to_nanos(now);
        let mut tokens = self.write(now);
        let spared = |slot: &Slot| keep.is_some_and(|keep| slot.family().is_some_and(|f| **f == *keep));
        let hashes =
            tokens.members(tokens.by_user.get(&user_id), |slot| slot.user_id == user_id && !spared(slot));
        if keep.is_none() {
            tokens.by_user.remove(&user_id);
        }
        let mut families = HashSet::new();
        let mut live = 0;
        for hash in hashes {
            if let Some(slot) = tokens.remove(&hash) {
                live += u64::from(slot.is_live_at(now_ns));
                families.extend(slot.family().cloned());
            }
        }
        for family in families {
            live += tokens.revoke_family(&family, now);
        }
        live
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        if let Some(existing) = tokens.records.get(&hash) {
            if !existing.is_expired_at(to_nanos(now)) {
                return Err(StoreError::Conflict(ConflictField::Token));
            }
            tokens.remove(&hash);
        }
        tokens.insert(hash, record);
        Ok(())
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = to_nanos(self.clock.now());
        let tokens = self.read();
        Ok(tokens.records.get(hash).filter(|slot| slot.is_live_at(now)).map(|slot| tokens.unpack(slot)))
    }

    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.clock.now();
        let now_ns = to_nanos(now);
        // Under the shared lock unless the record slides far enough to be worth a write (the
        // port's own rule, `TokenRecord::slid_expiry`): a busy session costs no write lock.
        {
            let tokens = self.read();
            let Some(slot) = tokens.records.get(hash).filter(|slot| slot.is_live_at(now_ns)) else {
                return Ok(None);
            };
            let record = tokens.unpack(slot);
            if record.slid_expiry(now).is_none() {
                return Ok(Some(record));
            }
        }
        let mut tokens = self.write(now);
        let Some(slot) = tokens.records.get_mut(hash).filter(|slot| slot.is_live_at(now_ns)) else {
            return Ok(None);
        };
        if let Some(idle) = slot.idle_timeout() {
            slot.expires_at = to_nanos(now + idle);
        }
        let slot = &tokens.records[hash];
        Ok(Some(tokens.unpack(slot)))
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        Ok(tokens.remove(hash).is_some_and(|slot| slot.is_live_at(to_nanos(now))))
    }

    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(self.revoke_user_sparing(user_id, None))
    }

    async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
        Ok(self.revoke_user_sparing(user_id, Some(keep)))
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
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError> {
        let now = self.clock.now();
        let now_ns = to_nanos(now);
        let mut tokens = self.write(now);
        let Some(stored) = tokens.records.get(old) else {
            return Ok(Rotation::NotFound);
        };
        if stored.is_expired_at(now_ns) {
            return Ok(Rotation::NotFound);
        }
        if stored.rotated {
            let rotated_at = stored.rotated_at().unwrap_or(0);
            if now_ns.saturating_sub(rotated_at) < to_nanos_duration(reuse_grace) {
                return Ok(Rotation::WithinGrace { previous: tokens.unpack(stored) });
            }
            let user_id = stored.user_id;
            let family = stored.family().cloned();
            match &family {
                Some(family) => {
                    tokens.revoke_family(family, now);
                }
                None => {
                    tokens.remove(old);
                }
            }
            return Ok(Rotation::Reused { user_id, family: family.as_deref().map(str::to_owned) });
        }
        if tokens.records.get(&new).is_some_and(|slot| !slot.is_expired_at(now_ns)) {
            return Err(StoreError::Conflict(ConflictField::Token));
        }
        if let Some(stored) = tokens.records.get_mut(old) {
            stored.rotated = true;
            stored.extra.get_or_insert_default().rotated_at = Some(now_ns);
        }
        tokens.remove(&new);
        tokens.insert(new, record);
        Ok(Rotation::Rotated)
    }

    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.clock.now();
        let mut tokens = self.write(now);
        if !tokens.records.get(hash).is_some_and(|slot| slot.is_live_at(to_nanos(now))) {
            return Ok(None);
        }
        Ok(tokens.remove(hash).map(|slot| tokens.unpack(&slot)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_stays_packed() {
        assert!(std::mem::size_of::<Slot>() <= 48, "{} bytes", std::mem::size_of::<Slot>());
    }

    #[test]
    fn records_read_back_exactly() {
        let mut tokens = MemoryTokenStore::new().inner.into_inner().unwrap();
        let issued = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let record =
            TokenRecord::new(TokenKind::Session, UserId(-3), "tdar", issued, Duration::from_secs(90))
                .sliding(Duration::ZERO)
                .in_family("f")
                .with_data("n", 7);
        tokens.insert(TokenHash::of("t"), record.clone());
        let plain = TokenRecord::new(TokenKind::Access, UserId(4), "amcr", issued, Duration::from_millis(1));
        tokens.insert(TokenHash::of("p"), plain.clone());
        assert_eq!(tokens.unpack(&tokens.records[&TokenHash::of("t")]), record);
        assert_eq!(tokens.unpack(&tokens.records[&TokenHash::of("p")]), plain);
        assert_eq!(tokens.audiences.len(), 2);
    }

    #[test]
    fn sweeps_drop_stale_index_entries() {
        use crate::clock::Clock;
        let clock = crate::clock::ManualClock::at_unix(1_000);
        let store = MemoryTokenStore::with_clock(Arc::new(clock.clone()));
        let mut tokens = store.inner.write().unwrap();
        let now = clock.now();
        for i in 0..10 {
            let record =
                TokenRecord::new(TokenKind::Access, UserId(1), "amcr", now, Duration::from_secs(i + 1))
                    .in_family("fam");
            tokens.insert(TokenHash::of(&i.to_string()), record);
        }
        tokens.purge(now + Duration::from_secs(5));
        assert_eq!(tokens.records.len(), 5);
        assert_eq!(tokens.by_user[&UserId(1)].len(), 5);
        assert_eq!(tokens.by_family["fam"].len(), 5);
        tokens.purge(now + Duration::from_secs(60));
        assert!(tokens.by_user.is_empty() && tokens.by_family.is_empty());
    }
}
