use std::sync::Arc;

use async_trait::async_trait;

use super::entries::UserEntry;
use super::state::Subject;
use super::{Invalidation, ReadCache};
use crate::store::{StoreError, UserPage, UserQuery, UserStore};
use crate::user::{NewUser, ProfileUpdate, User, UserId};

/// A [`UserStore`] with a [`ReadCache`] in front: made by [`ReadCache::users`] (or
/// [`Services::with_read_cache`](crate::services::Services::with_read_cache)).
///
/// [`get`](UserStore::get) and [`get_shared`](UserStore::get_shared), what the gate reads on
/// every request, are answered from memory while a fresh copy is there.
/// [`find_by_login`](UserStore::find_by_login) (the login path, which needs the current
/// password hash) always reads the store. Every change drops the user's copy here and, through
/// the bus, on the other instances.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::cache::{ReadCache, ReadCacheConfig};
/// use authmount::store::{MemoryUserStore, UserStore};
/// use authmount::user::{NewUser, ProfileUpdate};
///
/// let users = ReadCache::new(ReadCacheConfig::default()).users(Arc::new(MemoryUserStore::new()));
/// let ann = users.create(NewUser::new("ann", std::time::SystemTime::now())).await?;
/// assert!(users.get_shared(ann.id).await?.is_some_and(|u| u.is_active));
/// users.update_profile(ann.id, ProfileUpdate { is_active: Some(false), ..Default::default() }).await?;
/// assert!(users.get_shared(ann.id).await?.is_some_and(|u| !u.is_active));
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct CachedUserStore {
    inner: Arc<dyn UserStore>,
    cache: ReadCache,
}

impl std::fmt::Debug for CachedUserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedUserStore").field("cache", &self.cache).finish_non_exhaustive()
    }
}

impl CachedUserStore {
    pub(super) fn new(inner: Arc<dyn UserStore>, cache: ReadCache) -> Self {
        Self { inner, cache }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn UserStore> {
        &self.inner
    }

    fn lookup(&self, id: UserId) -> Option<Arc<User>> {
        let state = &self.cache.state;
        let entry = state.users.get(&id)?;
        state.is_fresh(&entry.stamp, false, [Subject::User(id)]).then_some(entry.user)
    }
}

#[async_trait]
impl UserStore for CachedUserStore {
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_by_login(login).await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.get_shared(id).await?.map(Arc::unwrap_or_clone))
    }

    async fn get_shared(&self, id: UserId) -> Result<Option<Arc<User>>, StoreError> {
        if let Some(user) = self.lookup(id) {
            return Ok(Some(user));
        }
        let state = &self.cache.state;
        let stamp = state.stamp();
        let user = self.inner.get_shared(id).await?;
        match &user {
            Some(user) if state.is_in_use() => {
                state.users.insert(id, UserEntry { user: user.clone(), stamp })
            }
            _ => {
                state.users.remove(&id);
            }
        }
        Ok(user)
    }

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        self.inner.list(query).await
    }

    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create(user).await
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        let result = self.inner.set_password_hash(id, phc).await;
        self.cache.changed(Invalidation::User(id)).await;
        result
    }

    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        let result = self.inner.update_profile(id, update).await;
        self.cache.changed(Invalidation::User(id)).await;
        result
    }
}
