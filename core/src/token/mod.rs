//! Tokens: opaque random tokens, their storage hashes, and JWTs.
//!
//! - [`OpaqueToken`] is a 256-bit random bearer token (DRF-authtoken style, sessions, refresh
//!   tokens, reset links). It is handed to the client once and stored only as its [`TokenHash`].
//! - [`random_id`] makes the shorter random ids used as JWT `jti`s and refresh-family ids.
//! - [`jwt`] signs and verifies JWTs with a [`KeyRing`](jwt::KeyRing) of pinned-algorithm keys.
//!
//! ```
//! use authmount::token::{OpaqueToken, TokenHash};
//! let token = OpaqueToken::generate()?;
//! // Store only the hash; give `token.as_str()` to the client.
//! let stored = token.hash();
//! // Later the client presents the token again:
//! let presented: OpaqueToken = token.as_str().parse()?;
//! assert_eq!(TokenHash::of(presented.as_str()), stored);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod crypto_provider;
mod hash;
pub mod jwt;
mod opaque;

pub use hash::{InvalidTokenHash, TokenHash};
pub use opaque::{InvalidOpaqueToken, OpaqueToken, RandomError, random_id};
