//! Cross-site request checks for cookie sessions: the `Origin` and `Sec-Fetch-Site` rules a
//! [`Gate`](super::Gate) with [cross-site protection](super::Gate::with_cross_site_protection)
//! applies to state-changing requests that ride on a cookie.

use std::fmt;
use std::str::FromStr;

use http::header::{HOST, ORIGIN};
use http::request::Parts;
use http::{HeaderMap, HeaderName, Method};

/// The reason of the 403 a [`Gate`](super::Gate) with cross-site protection gives a cookie-authenticated,
/// state-changing request from another site.
pub const CROSS_SITE_REFUSED: &str =
    "Cross-site request refused: a session cookie is only accepted from this site and its trusted origins.";

/// A web origin, `scheme://host[:port]`, as browsers send it in the `Origin` header: the sites a
/// [`Gate`](super::Gate) with [cross-site protection](super::Gate::with_cross_site_protection) trusts besides its own.
///
/// Parsing normalises it: scheme and host in lowercase, the default port (80 for `http`, 443
/// for `https`) left out, one trailing `/` tolerated. Anything with a path, query, user
/// information or another scheme is refused.
///
/// ```
/// use authmount::api::Origin;
/// let origin: Origin = "HTTPS://App.Example.org:443/".parse()?;
/// assert_eq!(origin.to_string(), "https://app.example.org");
/// assert_eq!("http://localhost:8080".parse::<Origin>()?.to_string(), "http://localhost:8080");
/// assert!("https://example.org/path".parse::<Origin>().is_err());
/// assert!("null".parse::<Origin>().is_err());
/// # Ok::<(), authmount::api::InvalidOrigin>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

/// A string that is not an origin of the form `scheme://host[:port]` (see [`Origin`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a web origin (scheme://host[:port]): {0:?}")]
pub struct InvalidOrigin(pub String);

impl Origin {
    /// The origin of `scheme` and an authority as a `Host` header carries it (`host[:port]`).
    fn of(scheme: &str, authority: &str) -> Option<Self> {
        let (host, port) = split_authority(authority)?;
        let port = match (scheme, port) {
            ("http", Some(80)) | ("https", Some(443)) | (_, None) => String::new(),
            (_, Some(port)) => format!(":{port}"),
        };
        Some(Self(format!("{scheme}://{}{port}", host.to_ascii_lowercase())))
    }

    /// The normalised text, `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Origin {
    type Err = InvalidOrigin;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidOrigin(text.to_owned());
        let trimmed = text.trim();
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let (scheme, authority) = trimmed.split_once("://").ok_or_else(invalid)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid());
        }
        Self::of(&scheme, authority).ok_or_else(invalid)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `host[:port]` (or `[v6]:port`), refusing anything that is not a plain host name or
/// IP literal with an optional numeric port.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':'));
    if !host_ok {
        return None;
    }
    let port = match port {
        None => None,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// The cross-site request check of a [`Gate`](super::Gate) (see
/// [`Gate::with_cross_site_protection`](super::Gate::with_cross_site_protection)).
#[derive(Debug, Clone)]
pub(super) struct CrossSite {
    pub(super) trusted: Vec<Origin>,
    pub(super) schemes: Vec<&'static str>,
}

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The one value of a header as text: `Ok(None)` when absent, `Err` when repeated or not text.
fn single_text<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(());
    }
    first.map(|value| value.to_str().map(str::trim).map_err(|_| ())).transpose()
}

impl CrossSite {
    /// Whether a state-changing request riding on a cookie may proceed.
    pub(super) fn allows(&self, head: &Parts) -> bool {
        let origin = match single_text(&head.headers, &ORIGIN) {
            Ok(None) => None,
            Ok(Some(value)) => match value.parse::<Origin>() {
                Ok(origin) => Some(origin),
                // `Origin: null` (sandboxed frames, some redirects) or garbage: not ours.
                Err(_) => return false,
            },
            Err(()) => return false,
        };
        if let Some(origin) = &origin {
            if self.trusted.contains(origin) {
                return true;
            }
            if !self.is_own(head, origin) {
                return false;
            }
        }
        match single_text(&head.headers, &SEC_FETCH_SITE) {
            Ok(Some(site)) => {
                !(site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
            }
            Ok(None) => true,
            Err(()) => false,
        }
    }

    /// Whether `origin` is the request's own: its `Host` (or, in HTTP/2, its URI authority)
    /// under one of the configured schemes.
    fn is_own(&self, head: &Parts, origin: &Origin) -> bool {
        let authority = match single_text(&head.headers, &HOST) {
            Ok(Some(host)) => host,
            Ok(None) => match head.uri.authority() {
                Some(authority) => authority.as_str(),
                None => return false,
            },
            Err(()) => return false,
        };
        self.schemes.iter().any(|scheme| Origin::of(scheme, authority).as_ref() == Some(origin))
    }
}

/// Methods that must not change state (RFC 9110 §9.2.1), exempt from the cross-site check.
pub(super) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_and_normalise() {
        let parse = |s: &str| s.parse::<Origin>().map(|o| o.to_string());
        assert_eq!(parse("https://Example.org/").as_deref(), Ok("https://example.org"));
        assert_eq!(parse("http://example.org:80").as_deref(), Ok("http://example.org"));
        assert_eq!(parse("http://example.org:443").as_deref(), Ok("http://example.org:443"));
        assert_eq!(parse("http://[::1]:8080").as_deref(), Ok("http://[::1]:8080"));
        assert_eq!(parse("http://127.0.0.1:3000").as_deref(), Ok("http://127.0.0.1:3000"));
        for bad in [
            "",
            "null",
            "example.org",
            "ftp://example.org",
            "https://",
            "https://example.org/path",
            "https://user@example.org",
            "https://example.org:",
            "https://example.org:99999",
            "https://example.org:8a",
            "https://exa mple.org",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad:?}");
        }
    }
}
