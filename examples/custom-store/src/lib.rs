//! # Writing your own user store: a worked example
//!
//! authmount keeps accounts behind one port, [`UserStore`]. The bundled stores (memory,
//! PostgreSQL/SQLite, Redis) cover the common cases; when your users already live somewhere else
//! (an LDAP directory, a legacy database, a file), you implement the port over that backend and
//! every dialect works on it unchanged. This crate is a complete, tested implementation to copy
//! from:
//!
//! - [`JsonUserStore`]: a [`UserStore`] over a JSON file of users, loaded at start and rewritten
//!   atomically on every change;
//! - [`LegacyAwareHasher`]: a [`PasswordHasher`] that accepts the users' old Django
//!   `pbkdf2_sha256$…` hashes next to argon2id and has them upgraded to argon2id on the next
//!   successful login.
//!
//! `src/main.rs` mounts the AMCR dialect on axum over both (`cargo run -p custom-store`); the
//! example's `README.md` covers token and counter stores too.
//!
//! ## What each `UserStore` method must guarantee
//!
//! | method | guarantee |
//! |---|---|
//! | [`find_by_login`](UserStore::find_by_login) | Compares **normalised** names: [`normalize_login`] of the argument against the normalised username *and* e-mail of every user, so `Ann`, `ANN` and `ａｎｎ` find one account. An unknown login is `Ok(None)`, never an error. |
//! | [`get`](UserStore::get) / [`get_shared`](UserStore::get_shared) | Unknown id is `Ok(None)`. `get_shared` runs on every authenticated request: stores that hold records in memory override it to hand out an `Arc` without copying. |
//! | [`create`](UserStore::create) | Assigns a fresh positive id. Usernames and e-mail addresses share **one namespace**: a new username may equal no normalised username *or* e-mail of another user, and the same for the e-mail; a user's own username and e-mail may be equal. A taken name is [`StoreError::Conflict`] naming the field ([`ConflictField::Username`] is checked first), and **nothing is stored**. Of concurrent creations of one name exactly one wins, so the check and the insert are one atomic step (here: one write lock; in SQL: unique indexes on the normalised columns). |
//! | [`set_password_hash`](UserStore::set_password_hash) | Replaces the stored string as given (argon2id PHC string). Unknown id: [`StoreError::NotFound`]. |
//! | [`update_profile`](UserStore::update_profile) | Changes only the fields that are `Some`, merges attributes key by key (`null` removes one), checks a new e-mail against the namespace (a conflict stores nothing) and frees the old address. Unknown id: [`StoreError::NotFound`]. |
//!
//! Every field of [`User`] must survive a round trip, the creation time to the millisecond
//! (this store keeps milliseconds, and truncates at creation so a record reads back exactly as
//! `create` returned it).
//!
//! ### Errors: `Conflict`, `NotFound`, `Unavailable`, `Backend`
//!
//! The HTTP layer maps the variants of [`StoreError`] differently, so choose carefully:
//!
//! - [`Conflict`](StoreError::Conflict) and [`NotFound`](StoreError::NotFound) are answers
//!   about the data (400 "already taken", 404) and must leave the store unchanged.
//! - [`Unavailable`](StoreError::Unavailable) means "cannot reach the backend right now": the
//!   client gets 503 and may retry; logins fail as "service unavailable", never as "wrong
//!   password", and nobody is logged out. Here: the file cannot be written (disk full, permission
//!   denied, I/O error) — the previous file and the in-memory copy both stay as they were, and the
//!   next change tries again. For a network backend: connection refused, pool timeout.
//! - [`Backend`](StoreError::Backend) means the backend answered but the answer is wrong: a row
//!   that does not decode, a constraint you did not expect. Here: a record that cannot be encoded,
//!   or a blocking task that failed.
//!
//! Never turn an error into `Ok(None)`: "the store is down" must not look like "no such user".
//!
//! ### Durability: write a temporary file, then rename
//!
//! A change is applied to a *copy* of the users, the copy is written to `<file>.tmp` next to the
//! file (mode 0600 on Unix: it holds password hashes), flushed to disk, and renamed over the file
//! in one atomic step; only then does the in-memory copy take the change. A crash leaves either
//! the old or the new file, never half of one, and a failed write changes nothing. Writes are
//! serialised by the lock, so the file always equals the in-memory state. Each change runs in its
//! own task, so a request whose client goes away cannot leave a written file with a stale memory
//! copy (handler futures are dropped when a connection closes). One process owns the
//! file: there is no cross-process locking, so run one instance (or use a database).
//!
//! ### Loading: refuse what you cannot trust
//!
//! [`JsonUserStore::open`] reads and checks the whole file at start and refuses to start on
//! anything doubtful with a [`LoadError`] that names the file and the problem: malformed JSON
//! (with line and column), unknown fields (a misspelt `"pasword_hash"` would otherwise lock a user
//! out silently), non-positive or duplicate ids, two users sharing a normalised login, a creation
//! time out of range.
//!
//! ## Bringing legacy password hashes along
//!
//! Do not ask users to reset their passwords when you move them: keep their old hashes and let a
//! [`PasswordHasher`] that understands both formats verify them. [`LegacyAwareHasher`] answers
//! [`Verification::Match { needs_rehash: true }`](Verification::Match) for a correct password
//! against a legacy hash; the [`Authenticator`](authmount::login::Authenticator) every dialect logs
//! in through then hashes the password with argon2id and stores it with
//! [`set_password_hash`](UserStore::set_password_hash). After one successful login the legacy hash
//! is gone. A malformed legacy hash verifies as a mismatch (with a warning that never quotes the
//! hash), never as an error or a panic.
//!
//! ## The conformance suite
//!
//! `authmount` ships the behaviour above as test cases (feature `conformance`). One line in an
//! integration test runs all of them against your store (see `tests/conformance.rs`):
//!
//! ```
//! use std::sync::Arc;
//! use authmount::store::UserStore;
//! # async fn my_store() -> custom_store::JsonUserStore { unimplemented!() }
//!
//! authmount::user_store_conformance!(async { Arc::new(my_store().await) as Arc<dyn UserStore> });
//! # fn main() {}
//! ```
//!
//! The cases use random names, so they can share one database; a store that passes them behaves
//! as the bundled stores do under every dialect.
//!
//! ## Putting it together
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
//! use authmount::services::Services;
//! use authmount::store::{MemoryCounterStore, MemoryTokenStore};
//! use custom_store::{JsonUserStore, LegacyAwareHasher};
//!
//! # let dir = std::env::temp_dir().join(authmount::conformance::unique("custom-store-doc"));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("users.json");
//! let users = Arc::new(JsonUserStore::open_or_init(&path)?);
//! # let params = Argon2Params::insecure_fast_for_tests();
//! # let argon2 = Argon2idHasher::insecure_for_tests(params)?;
//! # /*
//! let argon2 = Argon2idHasher::new(Argon2Params::default())?;
//! # */
//! let services = Services::new(users, Arc::new(MemoryTokenStore::new()), Arc::new(MemoryCounterStore::new()))?
//!     .with_passwords(PasswordService::new(Arc::new(LegacyAwareHasher::new(argon2))));
//! // Mount any dialect over `services`, e.g. `Amcr::new(services, AmcrConfig::default())`.
//! # let _ = services;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use authmount::login_name::normalize_login;
use authmount::password::{Argon2idHasher, PasswordError, PasswordHasher, Verification};
use authmount::store::{ConflictField, StoreError, UserPage, UserQuery, UserStore};
use authmount::user::{NewUser, ProfileUpdate, User, UserId};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;
use tokio::sync::RwLock;

// ---------------------------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------------------------

/// The whole file: `{"users": [...]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<UserRecord>,
}

/// One user as written in the file. Only `id`, `username` and `created_at_ms` are required;
/// the rest default as for [`NewUser::new`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRecord {
    id: i64,
    username: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default = "active_by_default")]
    is_active: bool,
    #[serde(default)]
    is_admin: bool,
    #[serde(default)]
    is_superuser: bool,
    #[serde(default)]
    groups: Vec<String>,
    /// Milliseconds since the Unix epoch (negative before 1970).
    created_at_ms: i64,
    /// An argon2 PHC string or a Django `pbkdf2_sha256$…` hash; absent for no usable password.
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    attributes: Map<String, Value>,
}

fn active_by_default() -> bool {
    true
}

impl UserRecord {
    fn of(user: &User) -> Result<Self, TimeOutOfRange> {
        Ok(Self {
            id: user.id.0,
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            is_active: user.is_active,
            is_admin: user.is_admin,
            is_superuser: user.is_superuser,
            groups: user.groups.clone(),
            created_at_ms: to_millis(user.created_at)?,
            password_hash: user.password_hash.clone(),
            attributes: user.attributes.clone(),
        })
    }

    fn into_user(self) -> Option<User> {
        Some(User {
            id: UserId(self.id),
            username: self.username,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            is_active: self.is_active,
            is_admin: self.is_admin,
            is_superuser: self.is_superuser,
            groups: self.groups,
            created_at: from_millis(self.created_at_ms)?,
            password_hash: self.password_hash,
            attributes: self.attributes,
        })
    }
}

/// A time that does not fit the file's millisecond field.
#[derive(Debug, thiserror::Error)]
#[error("the creation time does not fit in milliseconds since 1970")]
struct TimeOutOfRange;

/// Milliseconds since the Unix epoch, rounded towards the past.
fn to_millis(time: SystemTime) -> Result<i64, TimeOutOfRange> {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).map_err(|_| TimeOutOfRange),
        Err(before) => {
            let before = before.duration();
            let millis = before.as_millis() + u128::from(before.subsec_nanos() % 1_000_000 != 0);
            i64::try_from(millis).map(|m| -m).map_err(|_| TimeOutOfRange)
        }
    }
}

/// The time `millis` milliseconds after (or before) the Unix epoch. `i64::MIN` is refused: it
/// could not be written back.
fn from_millis(millis: i64) -> Option<SystemTime> {
    if millis == i64::MIN {
        return None;
    }
    let offset = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why [`JsonUserStore::open`] refused to start. Every message names the file.
///
/// ```
/// # let dir = std::env::temp_dir().join(authmount::conformance::unique("custom-store-doc"));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("users.json");
/// std::fs::write(&path, r#"{"users": [{"id": 1, "username": "ann", "created_at_ms": 0},"#).unwrap();
/// let error = custom_store::JsonUserStore::open(&path).unwrap_err();
/// assert!(matches!(error, custom_store::LoadError::Parse { .. }));
/// assert!(error.to_string().contains("line 1"), "{error}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file cannot be read (missing, no permission), or a new one cannot be written.
    #[error("cannot access the user file {path}: {source}")]
    Io {
        /// The user file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid users document: malformed JSON, an unknown or misspelt field, a
    /// value of the wrong type. The message has the line and column.
    #[error("the user file {path} is not valid: {source}")]
    Parse {
        /// The user file.
        path: PathBuf,
        /// The parser's message, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// An id is zero or negative (ids are positive integers).
    #[error("the user file {path} has the id {id}; ids must be positive")]
    InvalidId {
        /// The user file.
        path: PathBuf,
        /// The offending id.
        id: i64,
    },
    /// Two users have the same id.
    #[error("the user file {path} has the id {id} twice")]
    DuplicateId {
        /// The user file.
        path: PathBuf,
        /// The repeated id.
        id: UserId,
    },
    /// Two users share a normalised username or e-mail address, so a login could find either.
    #[error("in the user file {path}, users {first} and {second} share the login {login:?}")]
    LoginTaken {
        /// The user file.
        path: PathBuf,
        /// The shared login, normalised.
        login: String,
        /// The user listed first.
        first: UserId,
        /// The user listed later.
        second: UserId,
    },
    /// A `created_at_ms` that no [`SystemTime`] can hold.
    #[error("in the user file {path}, user {id} has a creation time out of range")]
    CreatedAtOutOfRange {
        /// The user file.
        path: PathBuf,
        /// The user.
        id: UserId,
    },
}

/// Why a change could not be written: the source of [`StoreError::Unavailable`] from
/// [`JsonUserStore`]. Nothing was changed, in the file or in memory.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the user file {path}: {source}")]
pub struct WriteError {
    /// The user file.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: io::Error,
}

/// The write task did not finish (the runtime is shutting down, or it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the user file write did not complete: {0}")]
struct WriteTaskFailed(#[source] tokio::task::JoinError);

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/// A [`UserStore`] over a JSON file: all users in memory, every change written to the file
/// atomically before it takes effect.
///
/// The file is `{"users": [...]}` with one object per user:
///
/// | field | type | default |
/// |---|---|---|
/// | `id` | positive integer | required |
/// | `username` | string, as entered | required |
/// | `email` | string or `null` | `null` |
/// | `first_name`, `last_name` | string | `""` |
/// | `is_active` | boolean | `true` |
/// | `is_admin`, `is_superuser` | boolean | `false` |
/// | `groups` | array of strings | `[]` |
/// | `created_at_ms` | integer, milliseconds since 1970 | required |
/// | `password_hash` | argon2 PHC string, Django `pbkdf2_sha256$…`, or `null` | `null` |
/// | `attributes` | object (dialect data, e.g. AMCR's `osoba`) | `{}` |
///
/// Other fields are refused at start. Suited to a few thousand users and one process: each
/// change rewrites the whole file.
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// use authmount::store::UserStore;
/// use authmount::user::NewUser;
/// use custom_store::JsonUserStore;
///
/// # let dir = std::env::temp_dir().join(authmount::conformance::unique("custom-store-doc"));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("users.json");
/// let store = JsonUserStore::open_or_init(&path)?;
/// let ann = store.create(NewUser::new("Ann", std::time::SystemTime::now())).await?;
///
/// // The change is in the file: a fresh store over it finds Ann by any spelling.
/// let reopened = JsonUserStore::open(&path)?;
/// assert_eq!(reopened.find_by_login("ＡＮＮ").await?.map(|u| u.id), Some(ann.id));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct JsonUserStore {
    path: PathBuf,
    users: Arc<RwLock<Users>>,
}

impl fmt::Debug for JsonUserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonUserStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The in-memory copy: records by id and the one login namespace.
#[derive(Debug, Clone, Default)]
struct Users {
    /// Ordered by id, so the file lists users in creation order.
    by_id: BTreeMap<UserId, Arc<User>>,
    /// Normalised usernames and e-mail addresses, in one namespace.
    logins: HashMap<String, UserId>,
    last_id: i64,
}

impl Users {
    /// Checks and indexes the file's records.
    fn from_file(path: &Path, file: UsersFile) -> Result<Self, LoadError> {
        let mut users = Self::default();
        for record in file.users {
            let id = UserId(record.id);
            if record.id <= 0 {
                return Err(LoadError::InvalidId { path: path.to_owned(), id: record.id });
            }
            if users.by_id.contains_key(&id) {
                return Err(LoadError::DuplicateId { path: path.to_owned(), id });
            }
            let user = record
                .into_user()
                .ok_or_else(|| LoadError::CreatedAtOutOfRange { path: path.to_owned(), id })?;
            for login in login_keys(&user) {
                if let Some(&first) = users.logins.get(&login) {
                    return Err(LoadError::LoginTaken { path: path.to_owned(), login, first, second: id });
                }
                users.logins.insert(login, id);
            }
            users.last_id = users.last_id.max(id.0);
            users.by_id.insert(id, Arc::new(user));
        }
        Ok(users)
    }

    fn to_file(&self) -> Result<UsersFile, TimeOutOfRange> {
        let users = self.by_id.values().map(|user| UserRecord::of(user)).collect::<Result<_, _>>()?;
        Ok(UsersFile { users })
    }

    /// Whether `login` is free for `owner` (unused, or already the owner's own).
    fn is_free_for(&self, login: &str, owner: Option<UserId>) -> bool {
        self.logins.get(login).is_none_or(|id| Some(*id) == owner)
    }

    fn create(&mut self, mut new: NewUser) -> Result<User, StoreError> {
        let username_key = normalize_login(&new.username);
        let email_key = new.email.as_deref().map(normalize_login);
        if !self.is_free_for(&username_key, None) {
            return Err(StoreError::Conflict(ConflictField::Username));
        }
        if let Some(key) = &email_key
            && !self.is_free_for(key, None)
        {
            return Err(StoreError::Conflict(ConflictField::Email));
        }
        // Keep what the file can hold, so the record reads back exactly as returned.
        let millis = to_millis(new.created_at).map_err(StoreError::backend)?;
        new.created_at = from_millis(millis).ok_or_else(|| StoreError::backend(TimeOutOfRange))?;
        let id = UserId(self.last_id.checked_add(1).ok_or_else(|| StoreError::backend(IdsExhausted))?);
        self.last_id = id.0;
        self.logins.insert(username_key, id);
        if let Some(key) = email_key {
            self.logins.insert(key, id);
        }
        let user = User::from_new(id, new);
        self.by_id.insert(id, Arc::new(user.clone()));
        Ok(user)
    }

    fn set_password_hash(&mut self, id: UserId, phc: &str) -> Result<(), StoreError> {
        let user = self.by_id.get_mut(&id).ok_or(StoreError::NotFound)?;
        Arc::make_mut(user).password_hash = Some(phc.to_owned());
        Ok(())
    }

    fn update_profile(&mut self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        let current = self.by_id.get(&id).ok_or(StoreError::NotFound)?;
        let username_key = normalize_login(&current.username);
        let old_email_key = current.email.as_deref().map(normalize_login);
        if let Some(new_email) = &update.email {
            let new_email_key = new_email.as_deref().map(normalize_login);
            if let Some(key) = &new_email_key
                && !self.is_free_for(key, Some(id))
            {
                return Err(StoreError::Conflict(ConflictField::Email));
            }
            // The old address is freed unless it is also the user's own username.
            if let Some(old) = old_email_key.filter(|old| *old != username_key) {
                self.logins.remove(&old);
            }
            if let Some(key) = new_email_key {
                self.logins.insert(key, id);
            }
        }
        let user = Arc::make_mut(self.by_id.get_mut(&id).ok_or(StoreError::NotFound)?);
        user.apply(update);
        Ok(user.clone())
    }
}

/// Every id up to `i64::MAX` has been handed out.
#[derive(Debug, thiserror::Error)]
#[error("no user ids left")]
struct IdsExhausted;

/// The normalised logins of a user: the username, and the e-mail address if it differs.
fn login_keys(user: &User) -> Vec<String> {
    let mut keys = vec![normalize_login(&user.username)];
    if let Some(email) = user.email.as_deref().map(normalize_login)
        && email != keys[0]
    {
        keys.push(email);
    }
    keys
}

impl JsonUserStore {
    /// Loads the users from the JSON file at `path` (it must exist) and checks them.
    ///
    /// Reads the file with blocking I/O: call it at start, before serving.
    ///
    /// # Errors
    /// A [`LoadError`] naming the file and the problem; see its variants.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, LoadError> {
        let path = path.into();
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Io { path: path.clone(), source })?;
        let file: UsersFile = serde_json::from_slice(&bytes)
            .map_err(|source| LoadError::Parse { path: path.clone(), source })?;
        let users = Users::from_file(&path, file)?;
        Ok(Self { path, users: Arc::new(RwLock::new(users)) })
    }

    /// As [`open`](Self::open), but a missing file is created with no users (written at once, so
    /// an unwritable location fails here rather than at the first registration).
    ///
    /// # Errors
    /// As [`open`](Self::open); [`LoadError::Io`] if the new file cannot be written.
    pub fn open_or_init(path: impl Into<PathBuf>) -> Result<Self, LoadError> {
        let path = path.into();
        match std::fs::metadata(&path) {
            Ok(_) => Self::open(path),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let empty = encode(&UsersFile::default())
                    .map_err(|source| LoadError::Io { path: path.clone(), source })?;
                write_atomically(&path, &empty)
                    .map_err(|source| LoadError::Io { path: path.clone(), source })?;
                Ok(Self { path, users: Arc::new(RwLock::new(Users::default())) })
            }
            Err(source) => Err(LoadError::Io { path, source }),
        }
    }

    /// The user file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many users the store holds.
    pub async fn len(&self) -> usize {
        self.users.read().await.by_id.len()
    }

    /// Whether the store holds no users.
    pub async fn is_empty(&self) -> bool {
        self.users.read().await.by_id.is_empty()
    }

    /// Applies `change` to a copy of the users, writes the copy to the file, and only then makes
    /// it the current state. The write lock is held throughout, so changes are serialised and the
    /// file always equals memory; on any error both stay as they were.
    ///
    /// The work runs in its own task: if the caller's future is dropped (the client went away),
    /// a write that has started still completes and takes effect, so the file never gets ahead of
    /// memory.
    async fn change<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Users) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let users = Arc::clone(&self.users);
        let path = self.path.clone();
        tokio::spawn(async move {
            let mut current = users.write_owned().await;
            let mut next = current.clone();
            let outcome = change(&mut next)?;
            let file = next.to_file().map_err(StoreError::backend)?;
            let bytes = encode(&file).map_err(StoreError::backend)?;
            let target = path.clone();
            tokio::task::spawn_blocking(move || write_atomically(&target, &bytes))
                .await
                .map_err(|error| StoreError::backend(WriteTaskFailed(error)))?
                .map_err(|source| StoreError::unavailable(WriteError { path, source }))?;
            *current = next;
            Ok(outcome)
        })
        .await
        .map_err(|error| StoreError::backend(WriteTaskFailed(error)))?
    }
}

/// The file's bytes: pretty-printed, so the file stays readable and diffs stay small.
fn encode(file: &UsersFile) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(file).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Replaces the file at `path` by `bytes` atomically: a temporary file in the same directory,
/// flushed to disk, renamed over the target; then the directory entry is flushed.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the user file path names no file"));
    };
    let mut tmp_name = name.to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        // Best effort: the target is untouched either way.
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    #[cfg(unix)]
    {
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[async_trait]
impl UserStore for JsonUserStore {
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let key = normalize_login(login);
        let users = self.users.read().await;
        Ok(users.logins.get(&key).and_then(|id| users.by_id.get(id)).map(|user| User::clone(user)))
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.users.read().await.by_id.get(&id).map(|user| User::clone(user)))
    }

    async fn get_shared(&self, id: UserId) -> Result<Option<Arc<User>>, StoreError> {
        Ok(self.users.read().await.by_id.get(&id).cloned())
    }

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        Ok(query.page(self.users.read().await.by_id.values().map(Arc::as_ref)))
    }

    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.change(move |users| users.create(user)).await
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        let phc = phc.to_owned();
        self.change(move |users| users.set_password_hash(id, &phc)).await
    }

    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        self.change(move |users| users.update_profile(id, update)).await
    }
}

// ---------------------------------------------------------------------------------------------
// The legacy-aware password hasher
// ---------------------------------------------------------------------------------------------

/// The prefix of Django's PBKDF2-SHA256 hashes.
pub const DJANGO_PBKDF2_PREFIX: &str = "pbkdf2_sha256$";

/// The length of Django's PBKDF2-SHA256 output (SHA-256's digest size), in bytes.
const PBKDF2_OUTPUT_LEN: usize = 32;

/// A [`PasswordHasher`] for users migrated from Django: verifies argon2 PHC strings and Django's
/// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`; hashes new passwords with argon2id.
///
/// - **argon2** (`$argon2id$…` and the other argon2 variants): delegated to the wrapped
///   [`Argon2idHasher`], including its rehash rule for outdated parameters.
/// - **Django PBKDF2-SHA256**: PBKDF2-HMAC-SHA256 over the UTF-8 password and the salt's bytes,
///   32 bytes of output, compared in constant time. A correct password answers
///   [`Verification::Match { needs_rehash: true }`](Verification::Match), so the
///   [`Authenticator`](authmount::login::Authenticator) replaces the hash with argon2id at once.
/// - **Django's unusable password** (`!` followed by random text, what `set_unusable_password`
///   stores): a mismatch, as in Django.
/// - **Anything else**, including a malformed PBKDF2 hash (wrong number of `$` parts, iterations
///   that are not a positive number or exceed [`max_pbkdf2_iterations`](Self::max_pbkdf2_iterations),
///   an empty salt, a hash that is not base64 of 32 bytes) and other Django formats (`bcrypt`,
///   `pbkdf2_sha1`, `md5`): a mismatch after one dummy argon2 verify, with a warning that names the
///   problem but never the hash or the password.
///
/// [`hash`](PasswordHasher::hash) and [`dummy_verify`](PasswordHasher::dummy_verify) are the
/// wrapped argon2id hasher's, so unknown users cost what argon2id users cost.
///
/// **Timing while legacy hashes remain:** a PBKDF2 verification costs what its iteration count
/// costs, not what argon2id costs, so an attacker who times logins can tell "account with a
/// not-yet-upgraded legacy hash" from "unknown account". The gap closes user by user as they log
/// in; to close it sooner, expire the remaining legacy hashes after a migration period (set them
/// to `null` and send password-reset mails).
///
/// ```
/// use authmount::password::{Argon2Params, Argon2idHasher, PasswordHasher, Verification};
/// use custom_store::LegacyAwareHasher;
///
/// # let argon2 = Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?;
/// # /*
/// let argon2 = Argon2idHasher::new(Argon2Params::default())?;
/// # */
/// let hasher = LegacyAwareHasher::new(argon2);
/// // Django's own test vector: make_password("lètmein", "seasalt", "pbkdf2_sha256") at 10,000
/// // iterations, i.e. base64(hashlib.pbkdf2_hmac("sha256", "lètmein".encode(), b"seasalt", 10000)).
/// let django = "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=";
/// assert_eq!(hasher.verify("lètmein".as_bytes(), django)?, Verification::Match { needs_rehash: true });
/// assert_eq!(hasher.verify(b"letmein", django)?, Verification::Mismatch);
///
/// let fresh = hasher.hash("lètmein".as_bytes())?;
/// assert!(fresh.starts_with("$argon2id$"));
/// assert!(hasher.verify("lètmein".as_bytes(), &fresh)?.is_match());
/// # Ok::<(), authmount::password::PasswordError>(())
/// ```
#[derive(Debug)]
pub struct LegacyAwareHasher {
    argon2: Argon2idHasher,
    max_pbkdf2_iterations: u32,
}

/// A parsed Django PBKDF2-SHA256 hash.
struct DjangoPbkdf2<'a> {
    iterations: u32,
    salt: &'a str,
    hash: [u8; PBKDF2_OUTPUT_LEN],
}

/// Parses `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`; the error names the problem.
fn parse_django_pbkdf2(encoded: &str) -> Result<DjangoPbkdf2<'_>, &'static str> {
    let rest = encoded.strip_prefix(DJANGO_PBKDF2_PREFIX).ok_or("not a pbkdf2_sha256 hash")?;
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("pbkdf2_sha256 hash without exactly four `$`-separated parts");
    };
    if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return Err("pbkdf2_sha256 iteration count is not a number");
    }
    let iterations = iterations.parse::<u32>().map_err(|_| "pbkdf2_sha256 iteration count out of range")?;
    if iterations == 0 {
        return Err("pbkdf2_sha256 iteration count is zero");
    }
    if salt.is_empty() {
        return Err("pbkdf2_sha256 salt is empty");
    }
    let decoded = BASE64.decode(hash).map_err(|_| "pbkdf2_sha256 hash is not base64")?;
    let hash = <[u8; PBKDF2_OUTPUT_LEN]>::try_from(decoded.as_slice())
        .map_err(|_| "pbkdf2_sha256 hash is not 32 bytes long")?;
    Ok(DjangoPbkdf2 { iterations, salt, hash })
}

impl LegacyAwareHasher {
    /// The default cap on the iteration count of a stored PBKDF2 hash: four million, above every
    /// Django default so far (1,200,000 in Django 6.0) with room to spare. A stored hash asking
    /// for more is refused rather than computed, so a corrupt `pbkdf2_sha256$4000000000$…` cannot
    /// tie up a hashing thread for minutes.
    pub const DEFAULT_MAX_PBKDF2_ITERATIONS: u32 = 4_000_000;

    /// A hasher that verifies with and hashes by `argon2`, and accepts Django PBKDF2-SHA256 hashes
    /// of up to [`DEFAULT_MAX_PBKDF2_ITERATIONS`](Self::DEFAULT_MAX_PBKDF2_ITERATIONS).
    pub fn new(argon2: Argon2idHasher) -> Self {
        Self { argon2, max_pbkdf2_iterations: Self::DEFAULT_MAX_PBKDF2_ITERATIONS }
    }

    /// Sets the highest PBKDF2 iteration count a stored hash may ask for.
    ///
    /// ```
    /// # use authmount::password::{Argon2Params, Argon2idHasher};
    /// # let argon2 = Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?;
    /// let hasher = custom_store::LegacyAwareHasher::new(argon2).with_max_pbkdf2_iterations(1_000_000);
    /// assert_eq!(hasher.max_pbkdf2_iterations(), 1_000_000);
    /// # Ok::<(), authmount::password::PasswordError>(())
    /// ```
    pub fn with_max_pbkdf2_iterations(mut self, max: u32) -> Self {
        self.max_pbkdf2_iterations = max;
        self
    }

    /// The highest PBKDF2 iteration count a stored hash may ask for.
    pub fn max_pbkdf2_iterations(&self) -> u32 {
        self.max_pbkdf2_iterations
    }

    /// The argon2id hasher new hashes are made with.
    pub fn argon2(&self) -> &Argon2idHasher {
        &self.argon2
    }

    fn verify_django_pbkdf2(&self, password: &[u8], encoded: &str) -> Verification {
        let parsed = match parse_django_pbkdf2(encoded) {
            Ok(parsed) if parsed.iterations <= self.max_pbkdf2_iterations => parsed,
            Ok(_) => return self.unusable(password, "pbkdf2_sha256 iteration count above the limit"),
            Err(problem) => return self.unusable(password, problem),
        };
        let mut derived = [0u8; PBKDF2_OUTPUT_LEN];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            password,
            parsed.salt.as_bytes(),
            parsed.iterations,
            &mut derived,
        );
        if bool::from(derived.ct_eq(&parsed.hash)) {
            Verification::Match { needs_rehash: true }
        } else {
            Verification::Mismatch
        }
    }

    /// A stored hash that cannot be checked: warn (without the hash), spend one dummy verify.
    fn unusable(&self, password: &[u8], problem: &'static str) -> Verification {
        tracing::warn!(problem, "stored password hash is unusable; treating the login as a mismatch");
        self.argon2.dummy_verify(password);
        Verification::Mismatch
    }
}

impl PasswordHasher for LegacyAwareHasher {
    fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
        self.argon2.hash(password)
    }

    fn verify(&self, password: &[u8], stored: &str) -> Result<Verification, PasswordError> {
        if stored.starts_with(DJANGO_PBKDF2_PREFIX) {
            Ok(self.verify_django_pbkdf2(password, stored))
        } else if stored.starts_with('!') {
            // Django's `set_unusable_password()`: deliberately matches nothing.
            self.argon2.dummy_verify(password);
            Ok(Verification::Mismatch)
        } else {
            self.argon2.verify(password, stored)
        }
    }

    fn dummy_verify(&self, password: &[u8]) {
        self.argon2.dummy_verify(password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_hashes_parse_strictly() {
        let good = "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=";
        let parsed = parse_django_pbkdf2(good).expect("parses");
        assert_eq!((parsed.iterations, parsed.salt), (10000, "seasalt"));
        for (bad, problem) in [
            ("pbkdf2_sha256$", "four"),
            ("pbkdf2_sha256$10000$seasalt", "four"),
            ("pbkdf2_sha256$10000$seasalt$CWWF$x", "four"),
            ("pbkdf2_sha256$$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "not a number"),
            ("pbkdf2_sha256$+10$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "not a number"),
            ("pbkdf2_sha256$-1$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "not a number"),
            ("pbkdf2_sha256$99999999999$s$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "out of range"),
            ("pbkdf2_sha256$0$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "zero"),
            ("pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", "salt is empty"),
            ("pbkdf2_sha256$10000$seasalt$not base64!", "not base64"),
            ("pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY", "not base64"),
            ("pbkdf2_sha256$10000$seasalt$AAAA", "32 bytes"),
            ("pbkdf2_sha256$10000$seasalt$", "32 bytes"),
        ] {
            let error = parse_django_pbkdf2(bad).err().unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(error.contains(problem), "{bad}: {error}");
        }
    }

    #[test]
    fn creation_times_round_to_the_millisecond_towards_the_past() {
        let after = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        assert_eq!(to_millis(after).expect("fits"), 1_700_000_000_123);
        let before = UNIX_EPOCH - Duration::from_nanos(1_500_000);
        assert_eq!(to_millis(before).expect("fits"), -2);
        assert_eq!(from_millis(-2), UNIX_EPOCH.checked_sub(Duration::from_millis(2)));
        assert_eq!(to_millis(UNIX_EPOCH).expect("fits"), 0);
        // What the file can hold is what it can write back.
        assert!(from_millis(i64::MIN).is_none());
        assert_eq!(from_millis(i64::MIN + 1).map(|t| to_millis(t).ok()), Some(Some(i64::MIN + 1)));
    }
}
