//! Password hashing: argon2id by default, off the async threads, one hash per login path.
//!
//! - [`PasswordHasher`] — the port: a synchronous, CPU-bound hashing algorithm. Implement it for
//!   legacy hash formats.
//! - [`Argon2idHasher`] with [`Argon2Params`] — the implementation (OWASP floor by default;
//!   verifies any argon2 PHC string and reports when it should be re-hashed).
//! - [`PasswordPolicy`] — length rules for new passwords, the cap checked before hashing, and
//!   the [common-password list](is_common_password).
//! - [`PasswordService`] — what the rest of the crate calls: policy + hasher on Tokio's blocking
//!   pool behind a semaphore with a bounded queue ([`PasswordError::Busy`] when full).
//!
//! ```
//! use std::sync::Arc;
//! use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
//!
//! let service = PasswordService::new(Arc::new(Argon2idHasher::new(Argon2Params::default())?));
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let matched = runtime.block_on(async {
//!     let stored = service.hash_new_password("a long passphrase").await?;
//!     service.verify("a long passphrase", Some(&stored)).await
//! })?;
//! assert!(matched.is_match());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod argon2id;
mod block_pool;
mod common;
mod error;
mod hasher;
mod hashing_threads;
mod policy;
mod service;
#[cfg(test)]
mod tests;

pub use argon2id::{Argon2Params, Argon2idHasher};
pub use common::{common_password_count, is_common_password};
pub use error::{BackendError, ConfigProblem, HashingFailure, PasswordError, TaskFailure};
pub use hasher::{PasswordHasher, Verification};
pub use policy::PasswordPolicy;
pub use service::{PasswordService, PasswordServiceBuilder};
