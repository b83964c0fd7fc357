//! The dialects the demo mounts: one function each, listed once in [`all`].
//!
//! Adding a dialect is one function here that builds it from the [`DialectContext`] and
//! describes it as a [`Mounted`] (its routes, its gate, where its tokens travel and a login to
//! print as a curl line), plus one line in [`all`] and its section in
//! [`DemoConfig`] if it has settings.

use std::sync::Arc;

use authmount::api::{Api, Gate};
use authmount::carrier::Carrier;
use authmount::dialect::amcr::{self, Amcr, AmcrConfig};
use authmount::dialect::meldeschein::{self, Meldeschein, MeldescheinConfig};
use authmount::dialect::minisass::{self, Minisass, MinisassConfig};
use authmount::dialect::oz::{self, Oz, OzConfig};
use authmount::dialect::tdar::{self, Tdar, TdarConfig};
use authmount::guard::TokenVerifier;
use authmount::services::Services;
use authmount::token::jwt::JwtService;
use serde_json::json;

use crate::DemoError;
use crate::config::DemoConfig;
use crate::mail::DevMailer;

/// What every dialect is built from.
#[derive(Clone)]
pub struct DialectContext {
    /// The stores, password service and clock, shared by every dialect.
    pub services: Services,
    /// The JWT key ring (each JWT dialect sets its own audience).
    pub jwt: JwtService,
    /// The effective configuration.
    pub config: DemoConfig,
}

impl std::fmt::Debug for DialectContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialectContext").field("config", &self.config).finish_non_exhaustive()
    }
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

/// A mounted dialect.
#[derive(Clone)]
pub struct Mounted {
    /// The dialect's name (`amcr`, `meldeschein`...).
    pub name: &'static str,
    /// Its endpoints.
    pub api: Api,
    /// The gate protecting app routes with its tokens.
    pub gate: Gate,
    /// Where its tokens travel and what verifies them, in order (for `/api/whoami`).
    pub carriers: Vec<(Carrier, Arc<dyn TokenVerifier>)>,
    /// How to log in with given credentials: the curl line printed at first start.
    pub login: fn(&Credentials<'_>) -> LoginRequest,
    /// What to do with the token, for the start banner: one or more lines, `{base}` standing
    /// for the server's URL. Lines starting with `curl ` are ready to paste (the start test runs
    /// them).
    pub usage: &'static str,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mounted").field("name", &self.name).field("api", &self.api).finish_non_exhaustive()
    }
}

impl Mounted {
    /// The dialect named `name` among `mounted`.
    pub fn find<'m>(mounted: &'m [Mounted], name: &str) -> Option<&'m Mounted> {
        mounted.iter().find(|m| m.name == name)
    }
}

/// Every dialect the demo serves, in the order they are listed (and tried by `/api/whoami`).
/// Fails on a configuration a dialect refuses (exit code 2).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
/// use authmount_demo::dialects::{self, DialectContext};
///
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("demo", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let mounted = dialects::all(&DialectContext { services, jwt, config: Default::default() })?;
/// let names: Vec<_> = mounted.iter().map(|m| m.name).collect();
/// assert_eq!(names, ["amcr", "meldeschein", "oz", "tdar", "minisass"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn all(context: &DialectContext) -> Result<Vec<Mounted>, DemoError> {
    Ok(vec![amcr(context), meldeschein(context), oz(context), tdar(context)?, minisass(context)])
}

/// Where a gate's tokens travel and what verifies them, in order.
fn carriers(gate: &Gate) -> Vec<(Carrier, Arc<dyn TokenVerifier>)> {
    gate.guard().rules().to_vec()
}

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

/// AMCR: `POST /api/token-auth/`, then `Authorization: Bearer <token>`.
pub fn amcr(context: &DialectContext) -> Mounted {
    let section = &context.config.amcr;
    let config = AmcrConfig {
        token_ttl: section.token_ttl.as_duration(),
        schema_version: section.schema_version.clone(),
        ..AmcrConfig::default()
    };
    let dialect = Amcr::new(context.services.clone(), config);
    let gate = dialect.gate();
    Mounted {
        name: "amcr",
        api: dialect.api(),
        carriers: carriers(&gate),
        gate,
        login: |who| {
            json_login(amcr::TOKEN_AUTH_PATH, json!({ "username": who.username, "password": who.password }))
        },
        usage: "then: Authorization: Bearer <token> on GET {base}/api/uzivatel-info/ or {base}/api/whoami",
    }
}

/// Meldeschein: `POST /api/token/`, then `Authorization: JWT <token>`; the demo's
/// `POST /api/meldeschein/` business route uses its gate.
pub fn meldeschein(context: &DialectContext) -> Mounted {
    let section = &context.config.meldeschein;
    let config = MeldescheinConfig {
        token_lifetime: section.token_lifetime.as_duration(),
        query_token: section.query_token,
        ..MeldescheinConfig::default()
    };
    let dialect = Meldeschein::new(context.services.clone(), context.jwt.clone(), config);
    let gate = dialect.gate();
    Mounted {
        name: "meldeschein",
        api: dialect.api(),
        carriers: carriers(&gate),
        gate,
        login: |who| {
            json_login(meldeschein::TOKEN_PATH, json!({ "username": who.username, "password": who.password }))
        },
        usage: "then: Authorization: JWT <token> on GET {base}/api/get-config/, {base}/api/whoami \
                or POST {base}/api/meldeschein/ with {\"meta\": {...}, ...}",
    }
}

/// Oz: `POST /api/authorize/auth` with the `credentials` envelope, then
/// `X-Forensic-Access-Token: <access_token>`.
pub fn oz(context: &DialectContext) -> Mounted {
    let section = &context.config.oz;
    let config = OzConfig {
        access_idle_ttl: section.access_idle_ttl.as_duration(),
        refresh_ttl: section.refresh_ttl.as_duration(),
        ..OzConfig::default()
    };
    let dialect = Oz::new(context.services.clone(), config);
    let gate = dialect.gate();
    Mounted {
        name: "oz",
        api: dialect.api(),
        carriers: carriers(&gate),
        gate,
        login: |who| {
            json_login(
                oz::AUTH_PATH,
                json!({ "credentials": { "email": who.email, "password": who.password } }),
            )
        },
        usage: "then: X-Forensic-Access-Token: <access_token> on GET {base}/api/whoami; \
                renew with POST {base}/api/authorize/refresh/ {\"expire_token\": \"<expire_token>\"}",
    }
}

/// tDAR: `POST /api/login` with the Struts form fields, which sets the session cookie; then the
/// cookie, or `?<session_key_name>=<apiToken>`. The cookie's `Secure` flag follows
/// `cookies.secure` (off by default: the demo serves plain HTTP).
pub fn tdar(context: &DialectContext) -> Result<Mounted, DemoError> {
    let section = &context.config.tdar;
    let config = TdarConfig {
        session_key_name: section.session_key_name.clone(),
        idle_timeout: section.idle_timeout.as_duration(),
        max_session_lifetime: Some(section.max_session_lifetime.as_duration()),
        insecure_cookies: !context.config.cookies.secure,
        ..TdarConfig::default()
    };
    let dialect = Tdar::new(context.services.clone(), config)
        .map_err(|error| DemoError::Usage(format!("invalid [tdar] configuration: {error}")))?;
    let gate = dialect.gate();
    Ok(Mounted {
        name: "tdar",
        api: dialect.api(),
        carriers: carriers(&gate),
        gate,
        login: |who| LoginRequest {
            path: tdar::LOGIN_PATH,
            content_type: "application/x-www-form-urlencoded",
            body: form_body(&[(tdar::USERNAME_FIELD, who.username), (tdar::PASSWORD_FIELD, who.password)]),
            cookie_jar: Some(TDAR_COOKIE_JAR),
        },
        usage: "then: the session cookie (kept in tdar-cookies.txt), or ?<sessionKeyName>=<apiToken> \
                from the answer, on GET {base}/api/whoami; log out with POST {base}/api/logout\n\
                curl -sS -b tdar-cookies.txt '{base}/api/whoami'",
    })
}

/// The cookie jar file the tDAR curl lines use (in the working directory).
pub const TDAR_COOKIE_JAR: &str = "tdar-cookies.txt";

/// miniSASS: `POST /authentication/api/token/`, then `Authorization: Bearer <access>` (a JWT);
/// refresh with `{"refresh"}`. Reset mails are kept in memory, never delivered ([`DevMailer`]).
pub fn minisass(context: &DialectContext) -> Mounted {
    let section = &context.config.minisass;
    let defaults = MinisassConfig::default();
    let config = MinisassConfig {
        access_lifetime: section.access_lifetime.as_duration(),
        refresh_lifetime: section.refresh_lifetime.as_duration(),
        reset_link_base: section.reset_link_base.clone().unwrap_or(defaults.reset_link_base.clone()),
        ..defaults
    };
    let dialect =
        Minisass::new(context.services.clone(), context.jwt.clone(), Arc::new(DevMailer::new()), config);
    let gate = dialect.gate();
    Mounted {
        name: "minisass",
        api: dialect.api(),
        carriers: carriers(&gate),
        gate,
        login: |who| {
            json_login(minisass::TOKEN_PATH, json!({ "username": who.username, "password": who.password }))
        },
        usage: "then: Authorization: Bearer <access> on GET {base}/authentication/api/check-auth-status/ \
                or {base}/api/whoami; renew with POST {base}/authentication/api/token/refresh/ {\"refresh\": \"<refresh>\"}",
    }
}
