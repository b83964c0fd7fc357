//! # authmount
//!
//! The framework-free core of authmount: the ports ([`store::UserStore`], [`store::TokenStore`])
//! with in-memory implementations, password hashing, opaque tokens and JWTs, token carriers and
//! the guard that authenticates a request, the body codecs, and the injectable clock.
//!
//! Nothing here depends on a web framework: requests and responses are `http` types, and the
//! `authmount-axum` and `authmount-actix` crates only translate.

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc-rs")))]
compile_error!(
    "authmount needs a JWT crypto backend: enable the `rust-crypto` (default) or `aws-lc-rs` feature"
);

pub mod abuse;
pub mod admin;
pub mod api;
pub mod audit;
pub mod authz;
pub mod cache;
pub mod carrier;
pub mod clock;
pub mod codec;
#[cfg(any(feature = "conformance", doc))]
pub mod conformance;
pub mod dialect;
pub mod guard;
pub mod login;
pub mod login_name;
pub mod mailer;
pub mod openapi;
pub mod password;
pub mod password_change;
pub mod services;
pub mod store;
pub mod time_format;
pub mod token;
pub mod user;

/// The README's Rust examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
