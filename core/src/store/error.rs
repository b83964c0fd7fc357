use std::error::Error as StdError;

/// Which unique login field a [`StoreError::Conflict`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictField {
    /// The normalised username is taken (by a username or an e-mail address).
    Username,
    /// The normalised e-mail address is taken (by a username or an e-mail address).
    Email,
    /// A token with the same hash is already stored.
    Token,
}

/// What can go wrong in a [`UserStore`](super::UserStore) or [`TokenStore`](super::TokenStore).
///
/// [`StoreError::Unavailable`] is the one callers must not turn into "log in again": the backing
/// service is down, so the HTTP layer answers 503 and the server recovers when it returns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique login field or token hash is already taken; nothing was stored.
    #[error("{0:?} is already taken")]
    Conflict(ConflictField),
    /// The record to change does not exist.
    #[error("no such record")]
    NotFound,
    /// The backing service cannot be reached right now (connection refused, pool timeout).
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// The backend answered with an error, or returned data that does not decode.
    #[error("store backend error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error that means "cannot reach the service".
    pub fn unavailable(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(source))
    }

    /// Wraps any other backend error.
    pub fn backend(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(source))
    }
}
