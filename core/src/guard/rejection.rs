use crate::carrier::MalformedCredentials;
use crate::store::StoreError;
use crate::token::jwt::JwtError;

/// Why the [`Guard`](super::Guard) did not authenticate a request. Each dialect renders these in
/// its own error shape; the distinction between [`NotProvided`](Self::NotProvided) and the rest
/// is DRF's "Authentication credentials were not provided." versus "Invalid token.".
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// No carrier found a token (a missing header, or an unknown `Authorization` scheme).
    #[error("Authentication credentials were not provided.")]
    NotProvided,
    /// A carrier is in use but its value cannot be read.
    #[error(transparent)]
    Malformed(MalformedCredentials),
    /// The token was read but is not valid.
    #[error("Invalid token: {0}")]
    Invalid(InvalidToken),
    /// The token was valid once and has expired (only tokens that say so, such as JWTs; an
    /// expired opaque token is simply unknown).
    #[error("Token has expired.")]
    Expired,
    /// The store needed to check the token failed: the request gets 503, never a 401 that sends
    /// the user back to log in.
    #[error("Authentication is temporarily unavailable.")]
    Unavailable(#[source] StoreError),
}

/// Why a token that was read is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    /// No live record for it: never issued, expired, revoked or rotated away.
    #[error("unknown token")]
    Unknown,
    /// A token of another kind (e.g. a reset token used as an access token).
    #[error("wrong kind of token")]
    WrongKind,
    /// Issued by another API than the one asked.
    #[error("token issued for another API")]
    WrongAudience,
    /// On the revocation list.
    #[error("revoked token")]
    Revoked,
    /// A JWT that fails verification (signature, algorithm, claims, type).
    #[error("{0}")]
    Jwt(JwtError),
    /// Its user no longer exists or is deactivated.
    #[error("user inactive or deleted")]
    InactiveUser,
}
