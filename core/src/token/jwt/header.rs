//! Our own reading of a JWT header, done before any key is touched.
//!
//! jsonwebtoken's `Header` cannot represent `alg: none` or unknown algorithms (it fails with a
//! generic JSON error), and ignores parameters we refuse. This reads exactly what the checks
//! need, borrowing from the decoded bytes.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

/// The header parameters authmount looks at.
#[derive(Deserialize)]
pub(crate) struct RawHeader<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) typ: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

impl RawHeader<'_> {
    /// The first parameter present that would fetch, embed or extend keys or processing.
    pub(crate) fn forbidden_parameter(&self) -> Option<&'static str> {
        [(self.jku, "jku"), (self.jwk, "jwk"), (self.x5u, "x5u"), (self.x5c, "x5c"), (self.crit, "crit")]
            .into_iter()
            .find_map(|(present, name)| present.then_some(name))
    }
}

/// `true` whenever the parameter occurs, whatever its value (`null` included).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(true)
}
