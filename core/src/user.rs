//! The user record every dialect reads, and the inputs for creating and changing one.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A user's stable numeric id, assigned by the [`UserStore`](crate::store::UserStore).
///
/// The documented APIs hand out integer ids (DRF's `id`/`user_id`, Meldeschein's JWT `user_id`),
/// so ids are positive integers.
///
/// ```
/// use authmount::user::UserId;
/// assert_eq!(UserId(7).to_string(), "7");
/// assert_eq!("7".parse::<UserId>().unwrap(), UserId(7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for UserId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(UserId)
    }
}

/// A stored user: typed core fields plus a free attribute map for dialect- or app-specific data.
///
/// The attribute map holds what only some dialects read, e.g. AMCR's `osoba`, Meldeschein's
/// granted IDs under `meldeschein`, Oz's `company_id`, miniSASS's organisation.
/// `Debug` never prints the password hash.
#[derive(Clone, PartialEq)]
pub struct User {
    /// The store-assigned id.
    pub id: UserId,
    /// The username as entered at registration (lookups use its normalised form).
    pub username: String,
    /// The e-mail address as entered, if any (lookups use its normalised form).
    pub email: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Whether the account may log in.
    pub is_active: bool,
    /// Staff/admin flag (Django's `is_staff`).
    pub is_admin: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Group names, in the order they were granted.
    pub groups: Vec<String>,
    /// When the account was created.
    pub created_at: SystemTime,
    /// The password hash in PHC string format, or `None` for an account that cannot log in with a
    /// password.
    pub password_hash: Option<String>,
    /// Dialect- and app-specific data.
    pub attributes: Map<String, Value>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("is_active", &self.is_active)
            .field("is_admin", &self.is_admin)
            .field("is_superuser", &self.is_superuser)
            .field("groups", &self.groups)
            .field("created_at", &self.created_at)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl User {
    /// An attribute from the attribute map.
    ///
    /// ```
    /// # use authmount::user::NewUser;
    /// # let mut user = authmount::user::User::from_new(authmount::user::UserId(1), NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH));
    /// user.attributes.insert("orcid".into(), "0000-0002".into());
    /// assert_eq!(user.attribute("orcid").and_then(|v| v.as_str()), Some("0000-0002"));
    /// ```
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    /// Builds the stored record for `new` under the id a store assigned.
    ///
    /// ```
    /// use authmount::user::{NewUser, User, UserId};
    /// let user = User::from_new(UserId(3), NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH));
    /// assert_eq!((user.id, user.username.as_str(), user.is_active), (UserId(3), "ann", true));
    /// ```
    pub fn from_new(id: UserId, new: NewUser) -> Self {
        Self {
            id,
            username: new.username,
            email: new.email,
            first_name: new.first_name,
            last_name: new.last_name,
            is_active: new.is_active,
            is_admin: new.is_admin,
            is_superuser: new.is_superuser,
            groups: new.groups,
            created_at: new.created_at,
            password_hash: new.password_hash,
            attributes: new.attributes,
        }
    }

    /// Applies `update` to this record (what a store's `update_profile` does).
    ///
    /// ```
    /// use authmount::user::{NewUser, ProfileUpdate, User, UserId};
    /// let mut user = User::from_new(UserId(1), NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH));
    /// user.apply(ProfileUpdate { first_name: Some("Ann".into()), ..Default::default() });
    /// assert_eq!(user.first_name, "Ann");
    /// ```
    pub fn apply(&mut self, update: ProfileUpdate) {
        let ProfileUpdate {
            email,
            first_name,
            last_name,
            is_active,
            is_admin,
            is_superuser,
            groups,
            attributes,
        } = update;
        if let Some(email) = email {
            self.email = email;
        }
        if let Some(v) = first_name {
            self.first_name = v;
        }
        if let Some(v) = last_name {
            self.last_name = v;
        }
        if let Some(v) = is_active {
            self.is_active = v;
        }
        if let Some(v) = is_admin {
            self.is_admin = v;
        }
        if let Some(v) = is_superuser {
            self.is_superuser = v;
        }
        if let Some(v) = groups {
            self.groups = v;
        }
        for (key, value) in attributes {
            if value.is_null() {
                self.attributes.remove(&key);
            } else {
                self.attributes.insert(key, value);
            }
        }
    }
}

/// What a store needs to create a user. The store assigns the id.
///
/// ```
/// use authmount::user::NewUser;
/// let new = NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH).with_email("ann@example.org");
/// assert_eq!(new.email.as_deref(), Some("ann@example.org"));
/// ```
#[derive(Clone, PartialEq)]
pub struct NewUser {
    /// The username as entered.
    pub username: String,
    /// The e-mail address as entered.
    pub email: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Whether the account may log in (default `true`).
    pub is_active: bool,
    /// Staff/admin flag.
    pub is_admin: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Group names.
    pub groups: Vec<String>,
    /// Creation time, read from the service's [`Clock`](crate::clock::Clock).
    pub created_at: SystemTime,
    /// The password hash (PHC string), or `None` for no usable password.
    pub password_hash: Option<String>,
    /// Dialect- and app-specific data.
    pub attributes: Map<String, Value>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("is_active", &self.is_active)
            .field("is_admin", &self.is_admin)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl NewUser {
    /// An active, non-admin user with only a username, created at `created_at`.
    pub fn new(username: impl Into<String>, created_at: SystemTime) -> Self {
        Self {
            username: username.into(),
            email: None,
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_admin: false,
            is_superuser: false,
            groups: Vec::new(),
            created_at,
            password_hash: None,
            attributes: Map::new(),
        }
    }

    /// Sets the e-mail address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the password hash (a PHC string from the password service).
    pub fn with_password_hash(mut self, hash: impl Into<String>) -> Self {
        self.password_hash = Some(hash.into());
        self
    }

    /// Sets given and family name.
    pub fn with_names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = first.into();
        self.last_name = last.into();
        self
    }

    /// Adds one attribute.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// A partial change to a user's profile: `None` leaves a field as it is.
///
/// Attributes are merged key by key; a `null` value removes the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    /// New e-mail address (`Some(None)` clears it). Subject to the store's uniqueness rule.
    pub email: Option<Option<String>>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// Grant or withdraw the admin flag.
    pub is_admin: Option<bool>,
    /// Grant or withdraw the superuser flag.
    pub is_superuser: Option<bool>,
    /// Replace the group list.
    pub groups: Option<Vec<String>>,
    /// Attributes to set (or remove, with `null`).
    pub attributes: Map<String, Value>,
}
