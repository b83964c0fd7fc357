//! The documented APIs ("dialects"), each a module that builds an [`Api`](crate::api::Api) of its
//! endpoints and a [`Gate`](crate::api::Gate) that protects an app's routes with its tokens.
//!
//! - [`amcr`]: DRF token authentication with `Bearer`, the user's profile as AMCR XML.
//! - [`meldeschein`]: JWTs with the `JWT` prefix, JSON/XML/form bodies, the `meta` object.
//! - [`oz`]: a `credentials` envelope, a rich session object, sliding tokens in `X-Forensic-Access-Token`.
//! - [`tdar`]: a JAXB XML result container, a cookie session or query key, logout.
//! - [`minisass`]: DRF + SimpleJWT, the whole account lifecycle (register, login, refresh,
//!   logout, password reset by e-mail).
//! - [`drf`]: the Django REST framework conventions these share (field errors, error bodies).

pub mod amcr;
pub mod drf;
pub mod meldeschein;
pub mod minisass;
pub mod oz;
pub mod tdar;

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod testing;

use crate::api::ApiError;
use crate::login::LoginError;
use crate::store::StoreError;

/// The API error for a failed login, or `None` for bad credentials (unknown login, wrong
/// password, deactivated account: one case, so nothing is revealed), which each dialect answers
/// in its own shape. A lockout is 429 with `Retry-After` ([`ApiError::TooManyAttempts`]) in
/// every dialect: their clients (`requests`, DRF's own throttling) already handle a 429.
pub(crate) fn login_failure(error: LoginError) -> Option<ApiError> {
    match error {
        LoginError::InvalidCredentials | LoginError::Inactive(_) => None,
        LoginError::Busy => Some(ApiError::Busy),
        LoginError::Locked { retry_after } => Some(ApiError::TooManyAttempts { retry_after }),
        LoginError::Unavailable(error) => {
            tracing::warn!(%error, "user store unavailable during login");
            Some(ApiError::Unavailable)
        }
        LoginError::Hashing(error) => {
            tracing::error!(%error, "password verification failed");
            Some(ApiError::Internal)
        }
    }
}

/// The API error for a failed token-store write: 503 when the store is down, else 500.
pub(crate) fn store_error(error: StoreError) -> ApiError {
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
