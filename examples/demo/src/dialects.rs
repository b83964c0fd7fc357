//! The dialects the demo mounts: every dialect of authmount's registry
//! ([`BUILT_IN`](authmount::dialect::BUILT_IN)), configured from the demo's configuration, and
//! what the start banner shows for each.
//!
//! A dialect added to the registry is mounted here, and accepted by `/api/whoami`, without a
//! change to the demo. To make its settings configurable, give it a section in
//! [`DemoConfig`] and map it in [`build`]; for a ready-to-paste login in the banner, add it to
//! [`hint`].

use std::sync::Arc;

use authmount::dialect::amcr::{self, AmcrConfig};
use authmount::dialect::meldeschein::{self, MeldescheinConfig};
use authmount::dialect::minisass::{self, MinisassConfig};
use authmount::dialect::oz::{self, OzConfig};
use authmount::dialect::tdar::{self, TdarConfig};
use authmount::dialect::{DialectContext, Dialects};
use authmount::mailer::Mailer;
use authmount::services::Services;
use authmount::token::jwt::JwtService;
use serde_json::json;

use crate::DemoError;
use crate::config::DemoConfig;

/// Builds every registered dialect over `services` and `jwt` with the settings of `config`,
/// every dialect mailing through `mailer` (the demo's is [`DemoMail::mailer`](crate::mail::DemoMail::mailer)).
/// Fails on a configuration a dialect refuses (exit code 2).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authmount::dialect::{BUILT_IN, Registration};
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
///
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("demo", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let mailer = std::sync::Arc::new(authmount::mailer::OutboxMailer::new());
/// let dialects = authmount_demo::dialects::build(&services, &jwt, &Default::default(), mailer)?;
/// let names: Vec<_> = dialects.iter().map(|d| d.name()).collect();
/// let registered: Vec<_> = BUILT_IN.iter().map(Registration::name).collect();
/// assert_eq!(names, registered, "every registered dialect, in order");
/// assert!(names.starts_with(&["amcr", "meldeschein", "oz", "tdar", "minisass"]));
/// # Ok(()) }
/// ```
pub fn build(
    services: &Services,
    jwt: &JwtService,
    config: &DemoConfig,
    mailer: Arc<dyn Mailer>,
) -> Result<Dialects, DemoError> {
    let context = DialectContext::new(services.clone(), jwt.clone(), mailer)
        .with_config(AmcrConfig {
            token_ttl: config.amcr.token_ttl.as_duration(),
            schema_version: config.amcr.schema_version.clone(),
            default_group: config.amcr.default_group.clone(),
            default_organisation: config.amcr.default_organisation(),
            ..AmcrConfig::default()
        })
        .with_config(MeldescheinConfig {
            token_lifetime: config.meldeschein.token_lifetime.as_duration(),
            query_token: config.meldeschein.query_token,
            ..MeldescheinConfig::default()
        })
        .with_config(OzConfig {
            access_idle_ttl: config.oz.access_idle_ttl.as_duration(),
            refresh_ttl: config.oz.refresh_ttl.as_duration(),
            refresh_reuse_grace: config.oz.refresh_reuse_grace.as_duration(),
            ..OzConfig::default()
        })
        // The cookie's `Secure` flag follows `cookies.secure` (off by default: the demo serves
        // plain HTTP).
        .with_config(TdarConfig {
            session_key_name: config.tdar.session_key_name.clone(),
            idle_timeout: config.tdar.idle_timeout.as_duration(),
            max_session_lifetime: Some(config.tdar.max_session_lifetime.as_duration()),
            insecure_cookies: !config.cookies.secure,
            ..TdarConfig::default()
        })
        .with_config({
            let defaults = MinisassConfig::default();
            let section = &config.minisass;
            let privacy_policy =
                section.privacy_policy_version.clone().map(|version| minisass::PrivacyPolicy {
                    id: 1,
                    version,
                    link: section.privacy_policy_link.clone().unwrap_or_default(),
                    published_at: None,
                });
            MinisassConfig {
                access_lifetime: section.access_lifetime.as_duration(),
                refresh_lifetime: section.refresh_lifetime.as_duration(),
                refresh_reuse_grace: section.refresh_reuse_grace.as_duration(),
                reset_link_base: section.reset_link_base.clone().unwrap_or(defaults.reset_link_base.clone()),
                frontend_url: section.frontend_url.clone(),
                // Like tDAR's, the `sessionid` cookie's `Secure` flag follows `cookies.secure`.
                insecure_cookies: !config.cookies.secure,
                privacy_policy,
                require_activation: section.require_activation,
                ..defaults
            }
        });
    Dialects::built_in(&context).map_err(|error| DemoError::Usage(error.to_string()))
}

/// A login request, as printed in a ready-to-paste curl line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// The path (POSTed to).
    pub path: &'static str,
    /// The body's `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// The file curl keeps the answer's cookies in (`-c`), for dialects whose session is a
    /// cookie.
    pub cookie_jar: Option<&'static str>,
}

/// Whose login a curl line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The username.
    pub username: &'a str,
    /// The e-mail address (for dialects that log in by e-mail).
    pub email: &'a str,
    /// The password.
    pub password: &'a str,
}

/// What the start banner shows for a dialect.
#[derive(Debug, Clone, Copy)]
pub struct Hint {
    /// How to log in with given credentials: the curl line printed at first start.
    pub login: fn(&Credentials<'_>) -> LoginRequest,
    /// What to do with the token: one or more lines, `{base}` standing for the server's URL.
    /// Lines starting with `curl ` are ready to paste (the start test runs them).
    pub usage: &'static str,
}

/// The banner's hint for the dialect named `name` (`None` for a dialect without one: the
/// banner then shows its first endpoint only).
///
/// ```
/// let hint = authmount_demo::dialects::hint("amcr").expect("AMCR has a hint");
/// let who = authmount_demo::dialects::Credentials { username: "demo", email: "demo@example.org", password: "pw" };
/// assert_eq!((hint.login)(&who).path, "/api/token-auth/");
/// assert!(authmount_demo::dialects::hint("toy").is_none());
/// ```
pub fn hint(name: &str) -> Option<Hint> {
    let hint = match name {
        "amcr" => Hint {
            login: |who| {
                json_login(
                    amcr::TOKEN_AUTH_PATH,
                    json!({ "username": who.username, "password": who.password }),
                )
            },
            usage: "then: Authorization: Bearer <token> on GET {base}/api/uzivatel-info/ or {base}/api/whoami",
        },
        "meldeschein" => Hint {
            login: |who| {
                json_login(
                    meldeschein::TOKEN_PATH,
                    json!({ "username": who.username, "password": who.password }),
                )
            },
            usage: "then: Authorization: JWT <token> on GET {base}/api/get-config/, {base}/api/whoami \
                    or POST {base}/api/meldeschein/ with {\"meta\": {...}, ...}",
        },
        "oz" => Hint {
            login: |who| {
                json_login(
                    oz::AUTH_PATH,
                    json!({ "credentials": { "email": who.email, "password": who.password } }),
                )
            },
            usage: "then: X-Forensic-Access-Token: <access_token> on GET {base}/api/whoami; \
                    renew with POST {base}/api/authorize/refresh/ {\"expire_token\": \"<expire_token>\"}",
        },
        // The form login sets the session cookie; then the cookie, or
        // `?<session_key_name>=<apiToken>`.
        "tdar" => Hint {
            login: |who| LoginRequest {
                path: tdar::LOGIN_PATH,
                content_type: "application/x-www-form-urlencoded",
                body: form_body(&[
                    (tdar::USERNAME_FIELD, who.username),
                    (tdar::PASSWORD_FIELD, who.password),
                ]),
                cookie_jar: Some(TDAR_COOKIE_JAR),
            },
            usage: "then: the session cookie (kept in tdar-cookies.txt), or ?<sessionKeyName>=<apiToken> \
                    from the answer, on GET {base}/api/whoami; log out with POST {base}/api/logout\n\
                    curl -sS -b tdar-cookies.txt '{base}/api/whoami'",
        },
        "minisass" => Hint {
            login: |who| {
                json_login(
                    minisass::TOKEN_PATH,
                    json!({ "username": who.username, "password": who.password }),
                )
            },
            usage: "then: Authorization: Bearer <access> on GET {base}/authentication/api/check-auth-status/ \
                    or {base}/api/whoami; renew with POST {base}/authentication/api/token/refresh/ {\"refresh\": \"<refresh>\"}",
        },
        _ => return None,
    };
    Some(hint)
}

/// The cookie jar file the tDAR curl lines use (in the working directory).
pub const TDAR_COOKIE_JAR: &str = "tdar-cookies.txt";

/// `application/x-www-form-urlencoded` of `pairs` (everything but unreserved characters
/// percent-encoded).
///
/// ```
/// use authmount_demo::dialects::form_body;
/// assert_eq!(form_body(&[("a.b", "x y&z=ü")]), "a.b=x%20y%26z%3D%C3%BC");
/// ```
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        encode(name, &mut out);
        out.push('=');
        encode(value, &mut out);
    }
    out
}

fn json_login(path: &'static str, body: serde_json::Value) -> LoginRequest {
    LoginRequest { path, content_type: "application/json", body: body.to_string(), cookie_jar: None }
}
