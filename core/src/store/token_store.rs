use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::StoreError;
use crate::token::TokenHash;
use crate::user::UserId;

/// What a stored token is for. A verifier checks the kind, so a password-reset token can never
/// be used as an access token, nor a refresh token as a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A bearer access token (AMCR's token, Oz's `access_token`).
    Access,
    /// A refresh token (Oz's `expire_token`, the record behind a refresh JWT's `jti`).
    Refresh,
    /// A browser or API session (tDAR's session key).
    Session,
    /// A single-use password-reset token.
    PasswordReset,
    /// A single-use account-activation token (the link a registration mails).
    Activation,
}

impl TokenKind {
    /// A stable lowercase name, for storage backends and logs.
    ///
    /// ```
    /// use authmount::store::TokenKind;
    /// assert_eq!(TokenKind::from_name(TokenKind::PasswordReset.name()), Some(TokenKind::PasswordReset));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
            Self::Session => "session",
            Self::PasswordReset => "password_reset",
            Self::Activation => "activation",
        }
    }

    /// The kind with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "access" => Self::Access,
            "refresh" => Self::Refresh,
            "session" => Self::Session,
            "password_reset" => Self::PasswordReset,
            "activation" => Self::Activation,
            _ => return None,
        })
    }
}

/// Everything stored about one token. The token itself is never stored: the record is keyed by
/// its [`TokenHash`].
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// What the token is for.
    pub kind: TokenKind,
    /// Whose token it is.
    pub user_id: UserId,
    /// Which API issued it (e.g. `"amcr"`), so one dialect's tokens are not accepted by another.
    pub audience: String,
    /// The refresh family (or session) the token belongs to; revoking the family revokes them all.
    pub family: Option<String>,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it stops working (unless touched, for sliding tokens).
    pub expires_at: SystemTime,
    /// For sliding sessions: how far each use moves the expiry ahead.
    pub idle_timeout: Option<Duration>,
    /// Dialect-specific data (a session number, device information, a predecessor token).
    pub data: Map<String, Value>,
}

impl TokenRecord {
    /// A record for `kind` owned by `user_id`, valid from `issued_at` for `ttl`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use authmount::store::{TokenKind, TokenRecord};
    /// use authmount::user::UserId;
    /// let now = SystemTime::now();
    /// let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", now, Duration::from_secs(60));
    /// assert_eq!(record.expires_at, now + Duration::from_secs(60));
    /// ```
    pub fn new(
        kind: TokenKind,
        user_id: UserId,
        audience: impl Into<String>,
        issued_at: SystemTime,
        ttl: Duration,
    ) -> Self {
        Self {
            kind,
            user_id,
            audience: audience.into(),
            family: None,
            issued_at,
            expires_at: issued_at + ttl,
            idle_timeout: None,
            data: Map::new(),
        }
    }

    /// Puts the record into a refresh family or session.
    pub fn in_family(mut self, family: impl Into<String>) -> Self {
        self.family = Some(family.into());
        self
    }

    /// Makes the record sliding: each [`TokenStore::touch`] moves its expiry `idle_timeout` ahead.
    pub fn sliding(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = Some(idle_timeout);
        self
    }

    /// Adds one dialect-specific value.
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    /// The expiry a touch at `now` should store, or `None` when nothing needs writing: the
    /// record is not sliding, or its expiry would move by less than
    /// 1/[`TOUCH_GRANULARITY`] of its idle timeout.
    ///
    /// Stores where each write costs (a SQL `UPDATE` serialised through SQLite's single writer,
    /// a network round trip) use it to skip the write on most requests of a busy session: the
    /// session then expires at most 5% of its idle timeout earlier than an exact slide would
    /// make it, never later.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use authmount::store::{TokenKind, TokenRecord};
    /// use authmount::user::UserId;
    /// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
    /// let idle = Duration::from_secs(600);
    /// let session = TokenRecord::new(TokenKind::Session, UserId(1), "tdar", start, idle).sliding(idle);
    /// // A request a second later would move the expiry by 1 s of 600: not worth a write.
    /// assert_eq!(session.slid_expiry(start + Duration::from_secs(1)), None);
    /// // A minute later it moves 60 s (10%): written.
    /// let later = start + Duration::from_secs(60);
    /// assert_eq!(session.slid_expiry(later), Some(later + idle));
    /// ```
    pub fn slid_expiry(&self, now: SystemTime) -> Option<SystemTime> {
        let idle = self.idle_timeout?;
        let slid = now + idle;
        let moved = slid.duration_since(self.expires_at).ok()?;
        (moved >= idle / TOUCH_GRANULARITY && !moved.is_zero()).then_some(slid)
    }

    /// Whether the record has expired at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

/// A sliding record's expiry is re-written when a touch would move it by at least
/// `idle_timeout / TOUCH_GRANULARITY` (see [`TokenRecord::slid_expiry`]).
pub const TOUCH_GRANULARITY: u32 = 20;

/// How long a revoked family stays on the revocation list when none of its records is left to
/// say how long its tokens live: one day, longer than any access-token lifetime the dialects use.
pub const FAMILY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// The reuse grace period the dialects that rotate refresh tokens use by default (miniSASS's
/// refresh JWTs, Oz's `expire_token`): 10 seconds.
///
/// Why: the tabs of one single-page app share one refresh token and their timers fire
/// together, and a client retries a refresh whose answer it lost; both repeat the just-rotated
/// token within a second or two. Without a grace period the repeat counts as theft, the family
/// is revoked and the user is logged out in every tab. With it, a repeat inside the window gets
/// tokens of the same family and revokes nothing; a repeat after it still revokes the family.
/// The window is what a thief holding a copy could use without setting off reuse detection,
/// so it is kept short (the models: Auth0's reuse interval and Okta's grace period for
/// refresh-token rotation). `Duration::ZERO` turns it off.
pub const DEFAULT_REUSE_GRACE: Duration = Duration::from_secs(10);

/// The outcome of [`TokenStore::rotate`].
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The old token was live: it is now spent and the new one is stored.
    Rotated,
    /// The old token had already been rotated: this is a replay. The store has revoked the old
    /// token's whole family (so the token that replaced it stops working too) and stored nothing.
    Reused {
        /// The owner of the replayed token, for the audit log.
        user_id: UserId,
        /// The family that was revoked.
        family: Option<String>,
    },
    /// The old token had been rotated less than the `reuse_grace` given to
    /// [`TokenStore::rotate`] ago: a client that sent the same refresh twice at once (two tabs of
    /// one app, a retry after a lost answer), not a thief. Nothing was revoked and nothing was
    /// stored; the caller may issue tokens of the same family (see [`TokenStore::rotate`]).
    WithinGrace {
        /// The spent record, as it was stored: its owner, family and data.
        previous: TokenRecord,
    },
    /// No live token has that hash (unknown, expired or revoked); nothing was stored.
    NotFound,
}

/// Where tokens with a lifetime live: the port every token backend implements.
///
/// Records are keyed by [`TokenHash`], never by the token. "Live" means stored, not expired
/// (by the store's clock), not revoked and not rotated away. Stores purge expired records so
/// memory and tables do not grow without bound.
///
/// Implementations must pass [`crate::conformance`]'s token-store suite.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
/// use authmount::token::TokenHash;
/// use authmount::user::UserId;
/// let store = MemoryTokenStore::new();
/// let hash = TokenHash::of("a presented token");
/// let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", SystemTime::now(), Duration::from_secs(60));
/// store.put(hash, record).await?;
/// assert!(store.get(&hash).await?.is_some());
/// store.revoke(&hash).await?;
/// assert!(store.get(&hash).await?.is_none());
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a new record. A record with the same hash already stored is
    /// [`StoreError::Conflict`].
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError>;

    /// The live record with this hash.
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;

    /// For a live sliding record, moves its expiry to `now + idle_timeout` and returns the
    /// updated record; a live record without an idle timeout is returned unchanged. A store may
    /// skip the write when [`TokenRecord::slid_expiry`] says the move is too small to matter
    /// (and return the record as stored).
    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;

    /// Revokes one token. Returns whether a live record was revoked.
    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Revokes every token of the user, and every family those tokens belong to (so the user's
    /// JWTs carrying one of those families are refused too). Returns how many records were
    /// revoked.
    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Like [`revoke_user`](Self::revoke_user), but spares the family `keep` and its tokens:
    /// what a password change does, ending the user's other sessions and keeping the one it was
    /// made from. Returns how many records were revoked.
    async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError>;

    /// Revokes every token of a family and puts the family on the revocation list, so JWTs that
    /// carry it are refused by [`is_jwt_revoked`](Self::is_jwt_revoked). The list entry is kept
    /// until the family's last record would have expired (at least [`FAMILY_RETENTION`] from
    /// now). Returns how many records were revoked.
    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError>;

    /// Atomically replaces the live token `old` by `new` (compare-and-swap: of concurrent
    /// rotations of one token exactly one gets [`Rotation::Rotated`]).
    ///
    /// Presenting a token that was already rotated is either a repeat inside the grace period
    /// or a replay. Rotated less than `reuse_grace` ago (by the store's clock): nothing is
    /// revoked or stored, and the answer is [`Rotation::WithinGrace`] with the spent record, so
    /// the caller can issue the repeating client tokens of the same family (with
    /// [`put`](Self::put)). Rotated longer ago: the whole family is revoked
    /// ([`Rotation::Reused`]). `Duration::ZERO` means no grace: every repeat revokes. A store
    /// therefore keeps, with a spent record, when it was rotated.
    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError>;

    /// Atomically takes a live single-use token: returns its record and removes it, so a second
    /// call with the same hash gets `None`.
    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;

    /// Puts a JWT id on the revocation list until `expires_at` (the token's own expiry).
    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError>;

    /// Whether a JWT with this id, belonging to this family (session), has been revoked: by
    /// [`revoke_jti`](Self::revoke_jti), or by revoking its family or its user.
    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError>;

    /// Removes expired records and revocation entries now. Returns how many were removed.
    async fn purge_expired(&self) -> Result<u64, StoreError>;
}
