//! JWTs: signing and verification with pinned-algorithm keys, a `kid` key ring, typed claims and
//! an injected clock.
//!
//! jsonwebtoken does the signature work; none of its types appear in this API.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use authmount::clock::ManualClock;
//! use authmount::token::jwt::{JwtError, JwtKey, JwtService, KeyRing, TokenType};
//! use authmount::user::UserId;
//!
//! let clock = ManualClock::at_unix(1_700_000_000);
//! let ring = KeyRing::new("k1", JwtKey::hs256(b"a secret of thirty-two bytes or more")?)?;
//! let jwt = JwtService::new(ring, Arc::new(clock.clone()));
//!
//! let claims = jwt.new_claims(UserId(7), TokenType::Access, Duration::from_secs(300))?;
//! let token = jwt.sign(&claims)?;
//! assert_eq!(jwt.verify(&token, TokenType::Access)?, claims);
//!
//! // Not usable as a refresh token, and not after it expired:
//! assert!(matches!(jwt.verify(&token, TokenType::Refresh), Err(JwtError::WrongTokenType { .. })));
//! clock.advance(Duration::from_secs(300) + authmount::token::jwt::DEFAULT_LEEWAY);
//! assert_eq!(jwt.verify(&token, TokenType::Access), Err(JwtError::Expired));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod claims;
mod error;
mod header;
mod key;
mod key_ring;
mod service;
#[cfg(test)]
mod tests;

pub use claims::{Claims, REGISTERED_CLAIMS, TokenType};
pub use error::{JwtError, KeyError, Malformed};
pub use key::{JwtAlgorithm, JwtKey, MIN_HS256_SECRET_LEN};
pub use key_ring::{KeyRing, MAX_KID_LEN};
pub use service::{DEFAULT_LEEWAY, JwtService, MAX_LEEWAY, MAX_TOKEN_LEN};
