use std::sync::Arc;

use async_trait::async_trait;

use super::StoreError;
use crate::user::{NewUser, ProfileUpdate, User, UserId};

/// Which users [`UserStore::list`] returns.
///
/// ```
/// use authmount::store::UserQuery;
/// let query = UserQuery::new(0, 20).with_search("ann");
/// assert_eq!((query.offset, query.limit, query.search.as_deref()), (0, 20, Some("ann")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Keep only users whose normalised username or e-mail contains this, normalised the same
    /// way (so `ANN` finds `ann@example.org`). `None` or empty: every user.
    pub search: Option<String>,
    /// How many matching users (in id order) to skip.
    pub offset: u64,
    /// How many to return at most.
    pub limit: u32,
}

impl UserQuery {
    /// Every user, `limit` of them after skipping `offset`.
    pub fn new(offset: u64, limit: u32) -> Self {
        Self { search: None, offset, limit }
    }

    /// Only users whose username or e-mail contains `search`.
    pub fn with_search(mut self, search: impl Into<String>) -> Self {
        self.search = Some(search.into());
        self
    }

    /// Whether `user` matches the search (its normalised username or e-mail contains it).
    pub fn matches(&self, user: &User) -> bool {
        let Some(search) = self.normalized_search() else { return true };
        let contains = |login: &str| crate::login_name::normalize_login(login).contains(&search);
        contains(&user.username) || user.email.as_deref().is_some_and(contains)
    }

    /// The page of `users` (any order) this query selects: for stores that hold their users in
    /// memory.
    ///
    /// ```
    /// use authmount::store::UserQuery;
    /// use authmount::user::{NewUser, User, UserId};
    /// let user = |id, name: &str| User::from_new(UserId(id), NewUser::new(name, std::time::SystemTime::UNIX_EPOCH));
    /// let users = [user(3, "carl"), user(1, "ann"), user(2, "anna")];
    /// let page = UserQuery::new(0, 1).with_search("ANN").page(&users);
    /// assert_eq!((page.total, page.users[0].id), (2, UserId(1)));
    /// ```
    pub fn page<'u>(&self, users: impl IntoIterator<Item = &'u User>) -> UserPage {
        let mut matching: Vec<&User> = users.into_iter().filter(|user| self.matches(user)).collect();
        matching.sort_unstable_by_key(|user| user.id);
        let total = matching.len() as u64;
        let offset = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let users = matching.into_iter().skip(offset).take(self.limit as usize).cloned().collect();
        UserPage { users, total }
    }

    /// The normalised search text, `None` when every user matches.
    pub fn normalized_search(&self) -> Option<String> {
        self.search.as_deref().map(crate::login_name::normalize_login).filter(|search| !search.is_empty())
    }
}

/// One page of [`UserStore::list`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPage {
    /// The users of the page, in id order.
    pub users: Vec<User>,
    /// How many users match the query in all.
    pub total: u64,
}

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

    /// One page of users in id order, all of them or those whose normalised username or e-mail
    /// contains the normalised [`UserQuery::search`], with the number of users that match
    /// (for operators' listings: the admin API, `users list`).
    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError>;

    /// Applies a partial profile change and returns the updated record. A new e-mail address is
    /// subject to the uniqueness rule. Unknown id: [`StoreError::NotFound`].
    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError>;
}
