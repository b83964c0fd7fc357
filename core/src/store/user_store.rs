use std::sync::Arc;

use async_trait::async_trait;

use super::StoreError;
use crate::user::{NewUser, ProfileUpdate, User, UserId};

/// Where accounts live: the port every user backend implements.
///
/// Logins are compared in their normalised form ([`normalize_login`](crate::login_name::normalize_login)).
/// Usernames and e-mail addresses share one namespace: no normalised username or e-mail of one
/// user may equal a normalised username or e-mail of another, so a login name always finds at most
/// one account. A user's own username and e-mail may be equal.
///
/// Implementations must pass [`crate::conformance`]'s user-store suite.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::store::{MemoryUserStore, UserStore};
/// use authmount::user::NewUser;
/// let store = MemoryUserStore::new();
/// let ann = store
///     .create(NewUser::new("Ann", std::time::SystemTime::now()).with_email("ann@example.org"))
///     .await?;
/// assert_eq!(store.find_by_login("ANN@example.org").await?.map(|u| u.id), Some(ann.id));
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Finds the user whose normalised username or e-mail equals the normalised `login`.
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError>;

    /// Gets a user by id.
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Gets a user by id as a shared record. This is what the per-request user check calls; the
    /// default wraps [`get`](Self::get), and stores that keep records in memory override it to
    /// hand out their record without copying it.
    async fn get_shared(&self, id: UserId) -> Result<Option<Arc<User>>, StoreError> {
        Ok(self.get(id).await?.map(Arc::new))
    }

    /// Creates a user and returns the stored record with its new id.
    ///
    /// A taken username or e-mail is [`StoreError::Conflict`] and nothing is stored; of many
    /// concurrent creations of one name exactly one succeeds.
    async fn create(&self, user: NewUser) -> Result<User, StoreError>;

    /// Replaces a user's password hash (a PHC string). Unknown id: [`StoreError::NotFound`].
    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError>;

    /// Applies a partial profile change and returns the updated record. A new e-mail address is
    /// subject to the uniqueness rule. Unknown id: [`StoreError::NotFound`].
    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError>;
}
