//! Acting on accounts: what operators need once real users sign up (deactivate, end every
//! session, unlock after a lockout, set groups), as [`Accounts`] operations for an app's own
//! tools and as an HTTP API ([`AdminApi`]) for its administrators.
//!
//! Every operation goes through the stores' ports, so the [read cache](crate::cache) drops what
//! it makes stale (on every instance, with a bus), and each is an audit event
//! ([`AuthEvent::AccountChanged`]) naming who acted.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use authmount::admin::{Accounts, Actor};
//! use authmount::services::Services;
//! use authmount::user::NewUser;
//!
//! let services = Services::in_memory()?;
//! let ann = services.users.create(NewUser::new("ann", std::time::SystemTime::now())).await?;
//! let accounts = Accounts::new(services);
//! let ann = accounts.deactivate(ann.id, &Actor::command_line()).await?;
//! assert!(!ann.is_active);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod api;

use std::net::IpAddr;

pub use api::{AdminApi, MAX_PER_PAGE, USERS_PATH};

use crate::audit::{AccountAction, AuthEvent};
use crate::services::Services;
use crate::store::{StoreError, UserPage, UserQuery};
use crate::user::{ProfileUpdate, User, UserId};

/// Who performs an account operation, for its audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The administrator's account, `None` for an operator at the command line.
    pub admin: Option<UserId>,
    /// The client's address, when known.
    pub client: Option<IpAddr>,
}

impl Actor {
    /// An operator at the command line (no account, no address).
    pub fn command_line() -> Self {
        Self { admin: None, client: None }
    }

    /// The administrator `admin`, from `client`.
    pub fn admin(admin: UserId, client: Option<IpAddr>) -> Self {
        Self { admin: Some(admin), client }
    }
}

/// Why an account operation failed. Nothing was changed when it fails before the store wrote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// No user has that id.
    #[error("no such user")]
    NotFound,
    /// A store failed (see [`StoreError`]).
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

/// The account operations over [`Services`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    services: Services,
}

impl Accounts {
    /// The operations on `services`' stores.
    pub fn new(services: Services) -> Self {
        Self { services }
    }

    /// One page of users ([`UserStore::list`](crate::store::UserStore::list)).
    pub async fn list(&self, query: &UserQuery) -> Result<UserPage, AccountError> {
        Ok(self.services.users.list(query).await?)
    }

    /// The user with `id`.
    pub async fn get(&self, id: UserId) -> Result<User, AccountError> {
        self.services.users.get(id).await?.ok_or(AccountError::NotFound)
    }

    /// Deactivates the account and ends every token, session and refresh family of it: its
    /// live tokens (opaque and JWT, every dialect) are refused on their next request.
    pub async fn deactivate(&self, id: UserId, by: &Actor) -> Result<User, AccountError> {
        let user = self.update(id, ProfileUpdate { is_active: Some(false), ..Default::default() }).await?;
        self.services.tokens.revoke_user(id).await?;
        self.audit(id, AccountAction::Deactivated, by);
        Ok(user)
    }

    /// Activates the account (its old sessions stay ended).
    pub async fn activate(&self, id: UserId, by: &Actor) -> Result<User, AccountError> {
        let user = self.update(id, ProfileUpdate { is_active: Some(true), ..Default::default() }).await?;
        self.audit(id, AccountAction::Activated, by);
        Ok(user)
    }

    /// Ends every token, session and refresh family of the account at once (on every instance);
    /// returns how many stored records were revoked.
    pub async fn revoke_sessions(&self, id: UserId, by: &Actor) -> Result<u64, AccountError> {
        self.get(id).await?;
        let revoked = self.services.tokens.revoke_user(id).await?;
        self.audit(id, AccountAction::SessionsRevoked, by);
        Ok(revoked)
    }

    /// Clears the lockout of the account's username and e-mail address: the right password
    /// logs in again at once.
    pub async fn unlock(&self, id: UserId, by: &Actor) -> Result<User, AccountError> {
        let user = self.get(id).await?;
        self.services.lockout().clear_user(&user).await?;
        self.audit(id, AccountAction::Unlocked, by);
        Ok(user)
    }

    /// Replaces the account's groups.
    pub async fn set_groups(
        &self,
        id: UserId,
        groups: Vec<String>,
        by: &Actor,
    ) -> Result<User, AccountError> {
        let user = self.update(id, ProfileUpdate { groups: Some(groups), ..Default::default() }).await?;
        self.audit(id, AccountAction::GroupsSet, by);
        Ok(user)
    }

    async fn update(&self, id: UserId, update: ProfileUpdate) -> Result<User, AccountError> {
        Ok(self.services.users.update_profile(id, update).await?)
    }

    fn audit(&self, user_id: UserId, action: AccountAction, by: &Actor) {
        self.services.audit(AuthEvent::AccountChanged {
            user_id,
            action,
            admin: by.admin,
            client: by.client,
        });
    }
}

#[cfg(test)]
mod tests;
