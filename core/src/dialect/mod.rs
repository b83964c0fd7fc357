//! The documented APIs ("dialects"). Each is a module whose type implements [`Dialect`]: an
//! [`Api`](crate::api::Api) of its endpoints for an adapter to mount, and a
//! [`Gate`](crate::api::Gate) that protects an app's routes with its tokens.
//!
//! - [`amcr`]: DRF token authentication with `Bearer`, the user's profile as AMCR XML.
//! - [`meldeschein`]: JWTs with the `JWT` prefix, JSON/XML/form bodies, the `meta` object.
//! - [`oz`]: a `credentials` envelope, a rich session object, sliding tokens in `X-Forensic-Access-Token`.
//! - [`tdar`]: a JAXB XML result container, a cookie session or query key, logout.
//! - [`minisass`]: DRF + SimpleJWT, the whole account lifecycle (register, login, refresh,
//!   logout, password reset by e-mail).
//! - [`drf`]: the Django REST framework conventions these share (field errors, error bodies).
//! - [`kit`]: the steps every dialect's handlers share (a login check, an opaque token, store
//!   failures).
//!
//! [`BUILT_IN`] lists them; [`Dialects::built_in`] builds them all from one [`DialectContext`]
//! (the shared services, the JWT key ring, the mailer, each dialect's configuration), and
//! [`Dialects::any_gate`] protects an app's routes with the tokens of every one ([`any_gate`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use authmount::dialect::{Dialect, DialectContext, Dialects};
//! use authmount::dialect::minisass::MinisassConfig;
//! use authmount::mailer::OutboxMailer;
//! use authmount::services::Services;
//! use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
//!
//! let services = Services::in_memory()?;
//! let jwt = JwtService::new(KeyRing::new("k1", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
//! let context = DialectContext::new(services.clone(), jwt, Arc::new(OutboxMailer::new()))
//!     .with_config(MinisassConfig { reset_link_base: "https://app.example.org/reset/".into(), ..Default::default() });
//! let dialects = Dialects::built_in(&context)?;
//! for dialect in dialects.iter() {
//!     println!("{}: {} routes", dialect.name(), dialect.api().routes().len());
//! }
//! # Ok(()) }
//! ```

/// Implements what every dialect has alike, for a dialect type whose shared state is its
/// `inner: Arc<Inner>` field (an `Inner` with `config` and `gate` fields and an
/// `fn api(self: &Arc<Self>) -> Api` method): `Debug` (showing the configuration), `config()`,
/// [`Dialect`] and [`BuildDialect`] (named `$name`, configured by `$config`, built by `$build`
/// from the [`DialectContext`] and the configuration, failing with `$error`).
macro_rules! dialect {
    ($dialect:ident, $name:literal, $config:ty, $error:ty, $build:expr $(,)?) => {
        impl std::fmt::Debug for $dialect {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($dialect))
                    .field("config", &self.inner.config)
                    .finish_non_exhaustive()
            }
        }

        impl $dialect {
            /// The configuration.
            pub fn config(&self) -> &$config {
                &self.inner.config
            }
        }

        impl $crate::dialect::Dialect for $dialect {
            fn name(&self) -> &'static str {
                $name
            }

            fn api(&self) -> $crate::api::Api {
                self.inner.api()
            }

            fn gate(&self) -> $crate::api::Gate {
                self.inner.gate.clone()
            }
        }

        impl $crate::dialect::BuildDialect for $dialect {
            const NAME: &'static str = $name;
            type Config = $config;
            type Error = $error;

            fn build(context: &$crate::dialect::DialectContext, config: $config) -> Result<Self, $error> {
                let build: fn(&$crate::dialect::DialectContext, $config) -> Result<Self, $error> = $build;
                build(context, config)
            }
        }
    };
}

pub mod amcr;
mod any;
pub mod drf;
pub mod kit;
pub mod meldeschein;
pub mod minisass;
pub mod oz;
mod registry;
pub mod tdar;

#[cfg(test)]
mod security_tests;
#[cfg(test)]
pub(crate) mod testing;

pub use any::any_gate;
pub(crate) use kit::store_error;
pub use registry::{BuildDialect, Dialect, DialectContext, DialectError, Dialects, Registration};

/// The dialects authmount ships, in the order they are mounted and tried by [`any_gate`]: the
/// registry the demo, the conformance suite and the shared-store tests build from. A new
/// dialect is a module above and one line here.
///
/// ```
/// use authmount::dialect::{BUILT_IN, Registration};
/// let names: Vec<&str> = BUILT_IN.iter().map(Registration::name).collect();
/// assert!(names.starts_with(&["amcr", "meldeschein", "oz", "tdar", "minisass"]));
/// ```
pub const BUILT_IN: &[Registration] = &[
    Registration::of::<amcr::Amcr>(),
    Registration::of::<meldeschein::Meldeschein>(),
    Registration::of::<oz::Oz>(),
    Registration::of::<tdar::Tdar>(),
    Registration::of::<minisass::Minisass>(),
];
