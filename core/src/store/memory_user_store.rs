use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;

use super::{ConflictField, StoreError, UserPage, UserQuery, UserStore};
use crate::login_name::normalize_login;
use crate::user::{NewUser, ProfileUpdate, User, UserId};

/// A [`UserStore`] in process memory: for tests, examples and single-process apps that load
/// their users at start. Everything is lost when the process ends.
///
/// ```
/// use authmount::store::MemoryUserStore;
/// let store = MemoryUserStore::new();
/// # let _ = store;
/// ```
#[derive(Debug, Default)]
pub struct MemoryUserStore {
    inner: RwLock<Users>,
}

#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<UserId, Arc<User>>,
    /// Normalised usernames and e-mail addresses, in one namespace.
    logins: HashMap<String, UserId>,
    last_id: i64,
}

impl Users {
    /// Whether `key` is free for `owner` (unused, or already the owner's own).
    fn is_free_for(&self, key: &str, owner: Option<UserId>) -> bool {
        match self.logins.get(key) {
            None => true,
            Some(id) => Some(*id) == owner,
        }
    }
}

impl MemoryUserStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Users> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Users> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let key = normalize_login(login);
        let users = self.read();
        Ok(users.logins.get(&key).and_then(|id| users.by_id.get(id)).map(|user| User::clone(user)))
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.read().by_id.get(&id).map(|user| User::clone(user)))
    }

    async fn get_shared(&self, id: UserId) -> Result<Option<Arc<User>>, StoreError> {
        Ok(self.read().by_id.get(&id).cloned())
    }

    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let username_key = normalize_login(&new.username);
        let email_key = new.email.as_deref().map(normalize_login);
        let mut users = self.write();
        if !users.is_free_for(&username_key, None) {
            return Err(StoreError::Conflict(ConflictField::Username));
        }
        if let Some(key) = &email_key
            && !users.is_free_for(key, None)
        {
            return Err(StoreError::Conflict(ConflictField::Email));
        }
        users.last_id += 1;
        let id = UserId(users.last_id);
        users.logins.insert(username_key, id);
        if let Some(key) = email_key {
            users.logins.insert(key, id);
        }
        let user = User::from_new(id, new);
        users.by_id.insert(id, Arc::new(user.clone()));
        Ok(user)
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        let mut users = self.write();
        let user = users.by_id.get_mut(&id).ok_or(StoreError::NotFound)?;
        Arc::make_mut(user).password_hash = Some(phc.to_owned());
        Ok(())
    }

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        Ok(query.page(self.read().by_id.values().map(Arc::as_ref)))
    }

    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        let mut users = self.write();
        let current = users.by_id.get(&id).ok_or(StoreError::NotFound)?;
        let username_key = normalize_login(&current.username);
        let old_email_key = current.email.as_deref().map(normalize_login);
        if let Some(new_email) = &update.email {
            let new_email_key = new_email.as_deref().map(normalize_login);
            if let Some(key) = &new_email_key
                && !users.is_free_for(key, Some(id))
            {
                return Err(StoreError::Conflict(ConflictField::Email));
            }
            if let Some(old) = old_email_key.filter(|old| *old != username_key) {
                users.logins.remove(&old);
            }
            if let Some(key) = new_email_key {
                users.logins.insert(key, id);
            }
        }
        let user = Arc::make_mut(users.by_id.get_mut(&id).ok_or(StoreError::NotFound)?);
        user.apply(update);
        Ok(user.clone())
    }
}
