//! The steps every dialect's handlers share, written once: checking a login (with the failure
//! mapping every dialect agrees on), issuing an opaque token, and turning store failures into
//! [`ApiError`]s. Each returns what `?` in a [`Handler`](crate::api::Handler) takes.
//!
//! The DRF dialects' whole login prologue (decode, `username`/`password`, check) is
//! [`drf::log_in`](super::drf::log_in); "check the gate, then require the user" is
//! [`Gate::require_user`](crate::api::Gate::require_user).

use http::request::Parts;

use crate::api::{ApiError, Refusal};
use crate::login::LoginError;
use crate::services::Services;
use crate::store::{StoreError, TokenRecord, TokenStore};
use crate::token::OpaqueToken;
use crate::user::User;

/// A login that failed on its credentials: the cases each dialect answers in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLogin {
    /// Unknown login or wrong password (one case: nothing tells which accounts exist).
    Invalid,
    /// The right password for a deactivated account. Most dialects answer it as
    /// [`Invalid`](Self::Invalid); some (tDAR, Oz) tell it apart, which only someone who knows
    /// the password learns.
    Inactive,
}

/// How a failed login is answered: [`BadLogin`] for the dialect to shape, or the [`ApiError`]
/// every dialect answers alike. A lockout is 429 with `Retry-After`
/// ([`ApiError::TooManyAttempts`]) in every dialect: their clients (`requests`, DRF's own
/// throttling) already handle a 429; a busy hasher 503 with `Retry-After`; a user store that is
/// down 503; a hashing failure 500.
///
/// ```
/// use authmount::api::ApiError;
/// use authmount::dialect::kit::{BadLogin, login_error};
/// use authmount::login::LoginError;
/// assert_eq!(login_error(LoginError::InvalidCredentials).unwrap(), BadLogin::Invalid);
/// assert!(matches!(login_error(LoginError::Busy), Err(ApiError::Busy)));
/// ```
pub fn login_error(error: LoginError) -> Result<BadLogin, ApiError> {
    match error {
        LoginError::InvalidCredentials => Ok(BadLogin::Invalid),
        LoginError::Inactive(_) => Ok(BadLogin::Inactive),
        LoginError::Busy => Err(ApiError::Busy),
        LoginError::Locked { retry_after } => Err(ApiError::TooManyAttempts { retry_after }),
        LoginError::Unavailable(error) => {
            tracing::warn!(%error, "user store unavailable during login");
            Err(ApiError::Unavailable)
        }
        LoginError::Hashing(error) => {
            tracing::error!(%error, "password verification failed");
            Err(ApiError::Internal)
        }
    }
}

/// Checks `login` and `password` for the request whose head is `head` (the lockout, the
/// per-client limit and the audit events of [`Services::authenticator`]; one password hash
/// whatever the outcome). Bad credentials are answered `bad(..)`, in the dialect's shape; every
/// other failure as [`login_error`] says.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::api::{Refusal, Reply};
/// use authmount::dialect::kit::{BadLogin, log_in};
/// # let fast = authmount::password::PasswordService::new(std::sync::Arc::new(
/// #     authmount::password::Argon2idHasher::insecure_for_tests(authmount::password::Argon2Params::insecure_fast_for_tests()).unwrap()));
/// let services = authmount::services::Services::in_memory()?;
/// # let services = services.with_passwords(fast);
/// let head = http::Request::post("/login").body(()).unwrap().into_parts().0;
/// let bad = |why: BadLogin| Refusal::from(Reply::json(http::StatusCode::UNAUTHORIZED, &serde_json::json!({"error": format!("{why:?}")})));
/// let Err(Refusal::Shaped(answer)) = log_in(&services, &head, "nobody", "secret", bad).await else { panic!() };
/// assert_eq!(&answer.body()[..], br#"{"error":"Invalid"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn log_in(
    services: &Services,
    head: &Parts,
    login: &str,
    password: &str,
    bad: impl FnOnce(BadLogin) -> Refusal,
) -> Result<User, Refusal> {
    match services.authenticator().authenticate_request(head, login, password).await {
        Ok(user) => Ok(user),
        Err(error) => Err(login_error(error).map_or_else(Refusal::from, bad)),
    }
}

/// The [`ApiError`] for a failed store call: 503 when the store is down, else 500 (logged).
pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(_) => {
            tracing::warn!(%error, "token store unavailable");
            ApiError::Unavailable
        }
        other => {
            tracing::error!(error = %other, "token store failed");
            ApiError::Internal
        }
    }
}

/// A fresh opaque token (256 bits from the OS); 500 (logged) when the random source fails.
pub fn new_opaque_token() -> Result<OpaqueToken, ApiError> {
    OpaqueToken::generate().map_err(|error| {
        tracing::error!(%error, "could not generate an opaque token");
        ApiError::Internal
    })
}

/// Issues a fresh opaque token stored, by its hash only, as `record`: the token a login hands
/// out (AMCR's token, tDAR's session key, a reset link's token).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use authmount::dialect::kit::issue_opaque;
/// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
/// use authmount::user::UserId;
/// let tokens = MemoryTokenStore::new();
/// let record = TokenRecord::new(TokenKind::Access, UserId(1), "app", SystemTime::now(), Duration::from_secs(60));
/// let token = issue_opaque(&tokens, record).await.unwrap();
/// assert_eq!(tokens.get(&token.hash()).await.unwrap().unwrap().audience, "app");
/// # });
/// ```
pub async fn issue_opaque(tokens: &dyn TokenStore, record: TokenRecord) -> Result<OpaqueToken, ApiError> {
    let token = new_opaque_token()?;
    tokens.put(token.hash(), record).await.map_err(store_error)?;
    Ok(token)
}
