use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::entries::{JwtEntry, Stamp, TokenEntry};
use super::state::Subject;
use super::{Invalidation, ReadCache};
use crate::clock::SharedClock;
use crate::store::{Rotation, StoreError, TokenRecord, TokenStore};
use crate::token::TokenHash;
use crate::user::UserId;

/// A [`TokenStore`] with a [`ReadCache`] in front: made by [`ReadCache::tokens`] (or
/// [`Services::with_read_cache`](crate::services::Services::with_read_cache)).
///
/// [`get`](TokenStore::get), [`touch`](TokenStore::touch) and
/// [`is_jwt_revoked`](TokenStore::is_jwt_revoked) are answered from memory while a fresh copy
/// is there; a touch writes to the store only when the slide rule
/// ([`TokenRecord::slid_expiry`]) says the expiry must move. Every write goes to the store first
/// and then drops (here and, through the bus, on the other instances) the copies it makes
/// stale.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use authmount::cache::{ReadCache, ReadCacheConfig};
/// use authmount::clock::SystemClock;
/// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
/// use authmount::token::TokenHash;
/// use authmount::user::UserId;
///
/// let cache = ReadCache::new(ReadCacheConfig::default());
/// let tokens = cache.tokens(Arc::new(MemoryTokenStore::new()), Arc::new(SystemClock));
/// let hash = TokenHash::of("a token");
/// let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", SystemTime::now(), Duration::from_secs(60));
/// tokens.put(hash, record).await?;
/// assert!(tokens.touch(&hash).await?.is_some()); // from memory
/// tokens.revoke(&hash).await?;
/// assert!(tokens.touch(&hash).await?.is_none()); // the copy went with the revocation
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct CachedTokenStore {
    inner: Arc<dyn TokenStore>,
    cache: ReadCache,
    clock: SharedClock,
}

impl std::fmt::Debug for CachedTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenStore").field("cache", &self.cache).finish_non_exhaustive()
    }
}

impl CachedTokenStore {
    pub(super) fn new(inner: Arc<dyn TokenStore>, cache: ReadCache, clock: SharedClock) -> Self {
        Self { inner, cache, clock }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn TokenStore> {
        &self.inner
    }

    /// A fresh copy of the record with this hash that is live at `now` and, for a touch, needs
    /// no write. An expired copy is a miss: the store may know a later expiry (a touch on
    /// another instance).
    fn lookup(&self, hash: &TokenHash, now: SystemTime, touch: bool) -> Option<Arc<TokenRecord>> {
        let state = &self.cache.state;
        let entry = state.tokens.get(hash)?;
        let record = &entry.record;
        let subjects = [
            Some(Subject::Token(hash)),
            Some(Subject::UserTokens(record.user_id)),
            record.family.as_deref().map(Subject::Family),
        ];
        if !state.is_fresh(&entry.stamp, false, subjects.into_iter().flatten())
            || record.is_expired_at(now)
            || (touch && record.slid_expiry(now).is_some())
        {
            return None;
        }
        Some(entry.record)
    }

    /// Remembers what the store answered for `hash` (read with `stamp` taken before).
    fn remember(&self, hash: &TokenHash, stamp: Stamp, record: Option<&TokenRecord>) {
        let state = &self.cache.state;
        match record {
            Some(record) if state.is_in_use() => {
                state.tokens.insert(*hash, TokenEntry { record: Arc::new(record.clone()), stamp });
            }
            _ => {
                state.tokens.remove(hash);
            }
        }
    }

    async fn read_through(&self, hash: &TokenHash, touch: bool) -> Result<Option<TokenRecord>, StoreError> {
        if let Some(record) = self.lookup(hash, self.clock.now(), touch) {
            return Ok(Some(TokenRecord::clone(&record)));
        }
        let stamp = self.cache.state.stamp();
        let record = if touch { self.inner.touch(hash).await? } else { self.inner.get(hash).await? };
        self.remember(hash, stamp, record.as_ref());
        Ok(record)
    }
}

#[async_trait]
impl TokenStore for CachedTokenStore {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        let stamp = self.cache.state.stamp();
        self.inner.put(hash, record.clone()).await?;
        // A new token is used right after it is issued: keep it.
        self.remember(&hash, stamp, Some(&record));
        Ok(())
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.read_through(hash, false).await
    }

    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.read_through(hash, true).await
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let result = self.inner.revoke(hash).await;
        self.cache.changed(Invalidation::Token(*hash)).await;
        result
    }

    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let result = self.inner.revoke_user(user_id).await;
        self.cache.changed(Invalidation::UserTokens(user_id)).await;
        result
    }

    async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
        let result = self.inner.revoke_user_except(user_id, keep).await;
        self.cache.changed(Invalidation::UserTokens(user_id)).await;
        result
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let result = self.inner.revoke_family(family).await;
        self.cache.changed(Invalidation::Family(family.to_owned())).await;
        result
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError> {
        let result = self.inner.rotate(old, new, record, reuse_grace).await;
        self.cache.changed(Invalidation::Token(*old)).await;
        if let Ok(Rotation::Reused { family: Some(family), .. }) = &result {
            self.cache.changed(Invalidation::Family(family.clone())).await;
        }
        result
    }

    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let result = self.inner.consume(hash).await;
        self.cache.changed(Invalidation::Token(*hash)).await;
        result
    }

    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let result = self.inner.revoke_jti(jti, expires_at).await;
        self.cache.changed(Invalidation::Jti(jti.to_owned())).await;
        result
    }

    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
        let state = &self.cache.state;
        if let Some(entry) = state.jwts.get(jti)
            && entry.family.as_deref() == family
        {
            let subjects = [Some(Subject::Jti(jti)), family.map(Subject::Family)];
            if state.is_fresh(&entry.stamp, true, subjects.into_iter().flatten()) {
                return Ok(entry.revoked);
            }
        }
        let stamp = state.stamp();
        let revoked = self.inner.is_jwt_revoked(jti, family).await?;
        if state.is_in_use() {
            let entry = JwtEntry { family: family.map(Arc::from), revoked, stamp };
            state.jwts.insert(jti.into(), entry);
        }
        Ok(revoked)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}
