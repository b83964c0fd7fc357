//! Abuse resistance around logins: the per-account lockout, the optional per-client limit
//! against credential stuffing, and the client address both rely on.
//!
//! [`LoginLimits`] (in [`Services::limits`](crate::services::Services::limits)) configures them;
//! [`Lockout`] applies them through the [`CounterStore`](crate::store::CounterStore) port, so a
//! lockout on one instance holds on all instances sharing Redis or SQL counters. The
//! [`Authenticator`](crate::login::Authenticator) consults it before hashing.

mod client;
mod lockout;

pub use client::{ClientAddr, TrustedProxies};
pub use lockout::{AccountLockout, ClientLimit, Lockout, LockoutError, LoginLimits};
