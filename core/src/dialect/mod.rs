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
//! - [`kit`]: the steps every dialect's handlers share (a login check, an opaque token, store
//!   failures).

pub mod amcr;
pub mod drf;
pub mod kit;
pub mod meldeschein;
pub mod minisass;
pub mod oz;
pub mod tdar;

#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod testing;

pub(crate) use kit::store_error;
