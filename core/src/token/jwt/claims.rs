//! The claims authmount puts in a JWT.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::token::{RandomError, random_id};
use crate::user::UserId;

/// Claim names with a field of their own in [`Claims`]; they may not appear in
/// [`Claims::extra`].
pub const REGISTERED_CLAIMS: [&str; 8] = ["user_id", "token_type", "jti", "iat", "exp", "nbf", "aud", "iss"];

/// Whether a token grants access or obtains new tokens. Serialised as the claim
/// `token_type` = `"access"` / `"refresh"` (SimpleJWT's claim), so one is never accepted as the
/// other.
///
/// ```
/// use authmount::token::jwt::TokenType;
/// assert_eq!(serde_json::to_string(&TokenType::Refresh).unwrap(), "\"refresh\"");
/// assert_eq!(TokenType::Access.to_string(), "access");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Authenticates requests.
    Access,
    /// Is exchanged for new tokens at a refresh endpoint.
    Refresh,
}

impl TokenType {
    /// The claim value: `"access"` or `"refresh"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of an authmount JWT.
///
/// Claim names follow SimpleJWT and djangorestframework-jwt (`user_id`, `token_type`) plus the
/// registered ones (`jti`, `iat`, `exp`, `nbf`, `aud`, `iss`). Dialect claims such as `username`,
/// `email` or `orig_iat` go in [`extra`](Self::extra), which is flattened into the payload.
/// Times are whole UNIX seconds.
///
/// ```
/// use std::time::Duration;
/// use authmount::token::jwt::{Claims, TokenType};
/// use authmount::user::UserId;
/// let claims = Claims::new(UserId(7), TokenType::Access, 1_000, Duration::from_secs(300))?
///     .with_claim("username", "ann");
/// assert_eq!(claims.expires_at, 1_300);
/// let json = serde_json::to_value(&claims).unwrap();
/// assert_eq!(json["user_id"], 7);
/// assert_eq!(json["token_type"], "access");
/// assert_eq!(json["username"], "ann");
/// # Ok::<(), authmount::token::RandomError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user the token is about (claim `user_id`).
    pub user_id: UserId,
    /// Access or refresh (claim `token_type`).
    pub token_type: TokenType,
    /// A unique id for revocation (claim `jti`).
    pub jti: String,
    /// Issue time (claim `iat`).
    #[serde(rename = "iat")]
    pub issued_at: i64,
    /// Expiry time (claim `exp`); the token is invalid from this second on.
    #[serde(rename = "exp")]
    pub expires_at: i64,
    /// Not valid before this time (claim `nbf`).
    #[serde(rename = "nbf", default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// The intended audience (claim `aud`, a single string).
    #[serde(rename = "aud", default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The issuer (claim `iss`).
    #[serde(rename = "iss", default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Every other claim, e.g. `username`, `email`, `orig_iat`. Must not use a name from
    /// [`REGISTERED_CLAIMS`].
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    /// Claims for `user_id` issued at `issued_at` (UNIX seconds) and expiring `ttl` later, with a
    /// fresh random `jti`.
    pub fn new(
        user_id: UserId,
        token_type: TokenType,
        issued_at: i64,
        ttl: Duration,
    ) -> Result<Self, RandomError> {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Ok(Self {
            user_id,
            token_type,
            jti: random_id()?,
            issued_at,
            expires_at: issued_at.saturating_add(ttl),
            not_before: None,
            audience: None,
            issuer: None,
            extra: Map::new(),
        })
    }

    /// Sets `aud`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets `iss`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets `nbf`.
    pub fn with_not_before(mut self, not_before: i64) -> Self {
        self.not_before = Some(not_before);
        self
    }

    /// Adds a dialect claim to [`extra`](Self::extra).
    pub fn with_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_the_documented_claim_names() {
        let claims = Claims::new(UserId(3), TokenType::Refresh, 10, Duration::from_secs(5))
            .unwrap()
            .with_audience("api")
            .with_issuer("authmount")
            .with_not_before(11)
            .with_claim("orig_iat", 10);
        let json = serde_json::to_value(&claims).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        for key in REGISTERED_CLAIMS.iter().chain(&["orig_iat"]) {
            assert!(keys.contains(key), "{key} missing from {keys:?}");
        }
        assert_eq!(json["token_type"], "refresh");
        assert_eq!(json["exp"], 15);
        assert_eq!(serde_json::from_value::<Claims>(json).unwrap(), claims);
    }

    #[test]
    fn optional_claims_are_omitted() {
        let claims = Claims::new(UserId(3), TokenType::Access, 10, Duration::from_secs(5)).unwrap();
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 5);
    }

    #[test]
    fn each_claims_gets_a_fresh_jti() {
        let a = Claims::new(UserId(1), TokenType::Access, 0, Duration::ZERO).unwrap();
        let b = Claims::new(UserId(1), TokenType::Access, 0, Duration::ZERO).unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn huge_ttls_saturate() {
        let claims = Claims::new(UserId(1), TokenType::Access, 10, Duration::MAX).unwrap();
        assert_eq!(claims.expires_at, i64::MAX);
    }
}
