//! The demo's configuration: defaults, then a TOML file (`--config`), then `AUTHMOUNT_*`
//! environment variables.
//!
//! ```toml
//! [amcr]
//! token_ttl = "24h"          # how long an AMCR token works after login (fixed, not sliding)
//! schema_version = "2.1"     # the XML namespace https://api.aiscr.cz/schema/amcr/<version>/
//! default_group = "Badatel"  # the skupina of a user without groups (the schema needs one)
//! default_organisation_id = "ORG-000000"   # the organizace of a user without one ...
//! default_organisation_name = "Neuvedeno"  # ... (the schema needs it, with an id)
//!
//! [meldeschein]
//! token_lifetime = "5m"      # how long a Meldeschein JWT works
//! query_token = false        # also accept ?jwt=<token>
//!
//! [oz]
//! access_idle_ttl = "15m"    # an Oz access token works this long after its last use (sliding)
//! refresh_ttl = "30d"        # an Oz refresh token works this long after issue (used once)
//! refresh_reuse_grace = "10s" # a repeat of a just-used refresh token within this gets a twin session
//!
//! [tdar]
//! session_key_name = "session.tokenkey"   # the cookie and query parameter (live system: crowd.token_key)
//! idle_timeout = "30m"       # a tDAR session ends after this long without use ...
//! max_session_lifetime = "8h" # ... and this long after its login in any case
//!
//! [minisass]
//! access_lifetime = "1h"     # how long a miniSASS access JWT works (the real clients never refresh)
//! refresh_lifetime = "1d"    # how long a miniSASS refresh JWT (and the sessionid cookie) works
//! refresh_reuse_grace = "10s" # two tabs refreshing at once both stay signed in; 0 turns it off
//! # reset_link_base = "https://app.example.org/reset/"  # default: the server's own verify endpoint
//! # frontend_url = "https://app.example.org/"  # reset and activation links redirect to the web app
//! require_activation = false # registration mails an activation link; the account waits for it
//! # privacy_policy_version = "v1.3"  # a published policy users must accept (default: none)
//! # privacy_policy_link = "https://app.example.org/privacy/"
//!
//! [jwt]
//! # secret = "at least 32 bytes of secret text......"   # else generated once and kept in secret_file
//! # secret_file = "authmount-demo.secret"                # default: beside the SQLite database
//!
//! [cookies]
//! secure = false             # the Secure flag on session cookies (turn on behind HTTPS;
//!                            # off, the tDAR and miniSASS cookies are sent over plain HTTP: development only)
//!
//! [lockout]
//! max_failures = 5           # failed logins before a login is locked ...
//! window = "15m"             # ... within this window (reserved for the lockout service)
//!
//! [server]
//! header_read_timeout = "5s" # a client has this long to send a whole request header (also
//!                            # how long an idle kept-alive connection stays open)
//! body_read_timeout = "10s"  # ... and this long to send a request body
//! max_connections = 25000    # open connections at most (per worker on actix-web)
//!
//! [cache]
//! enabled = true             # answer the per-request token and user reads from memory
//! capacity = 100000          # entries per cache (tokens, JWT revocation answers, users)
//! max_staleness = "5s"       # a change made outside authmount is seen within this
//!
//! [mail]
//! # smtp = "smtp://user:password@mail.example.org:587"  # deliver by SMTP (also --smtp URL);
//! #                                                      # without it: one .eml file per message
//! # dir = "mail"             # where the .eml files go (default: authmount-demo-mail beside the
//! #                          # SQLite database, else in the working directory)
//! from = "authmount demo <noreply@example.org>"   # the sender
//! ```
//!
//! Mail (miniSASS's password-reset links) goes where `[mail]` says, see [`crate::mail`]: the log
//! names each written file (or the SMTP delivery), never the body, which holds the link.
//!
//! Durations are whole seconds (`300`) or a number with a unit `s`, `m`, `h` or `d` (`"15m"`).
//! Unknown keys are an error. Every key can be overridden by an environment variable named
//! `AUTHMOUNT_<SECTION>_<KEY>` in upper case ([`ENV_VARS`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file cannot be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid configuration file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation (line, column, key).
        message: String,
    },
    /// An environment variable has a value of the wrong form.
    #[error("invalid value in {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The environment variables that override configuration keys, with the key each sets.
pub const ENV_VARS: [(&str, &str); 35] = [
    ("AUTHMOUNT_AMCR_TOKEN_TTL", "amcr.token_ttl"),
    ("AUTHMOUNT_AMCR_SCHEMA_VERSION", "amcr.schema_version"),
    ("AUTHMOUNT_AMCR_DEFAULT_GROUP", "amcr.default_group"),
    ("AUTHMOUNT_AMCR_DEFAULT_ORGANISATION_ID", "amcr.default_organisation_id"),
    ("AUTHMOUNT_AMCR_DEFAULT_ORGANISATION_NAME", "amcr.default_organisation_name"),
    ("AUTHMOUNT_MELDESCHEIN_TOKEN_LIFETIME", "meldeschein.token_lifetime"),
    ("AUTHMOUNT_MELDESCHEIN_QUERY_TOKEN", "meldeschein.query_token"),
    ("AUTHMOUNT_OZ_ACCESS_IDLE_TTL", "oz.access_idle_ttl"),
    ("AUTHMOUNT_OZ_REFRESH_TTL", "oz.refresh_ttl"),
    ("AUTHMOUNT_OZ_REFRESH_REUSE_GRACE", "oz.refresh_reuse_grace"),
    ("AUTHMOUNT_TDAR_SESSION_KEY_NAME", "tdar.session_key_name"),
    ("AUTHMOUNT_TDAR_IDLE_TIMEOUT", "tdar.idle_timeout"),
    ("AUTHMOUNT_TDAR_MAX_SESSION_LIFETIME", "tdar.max_session_lifetime"),
    ("AUTHMOUNT_MINISASS_ACCESS_LIFETIME", "minisass.access_lifetime"),
    ("AUTHMOUNT_MINISASS_REFRESH_LIFETIME", "minisass.refresh_lifetime"),
    ("AUTHMOUNT_MINISASS_REFRESH_REUSE_GRACE", "minisass.refresh_reuse_grace"),
    ("AUTHMOUNT_MINISASS_RESET_LINK_BASE", "minisass.reset_link_base"),
    ("AUTHMOUNT_MINISASS_FRONTEND_URL", "minisass.frontend_url"),
    ("AUTHMOUNT_MINISASS_REQUIRE_ACTIVATION", "minisass.require_activation"),
    ("AUTHMOUNT_MINISASS_PRIVACY_POLICY_VERSION", "minisass.privacy_policy_version"),
    ("AUTHMOUNT_MINISASS_PRIVACY_POLICY_LINK", "minisass.privacy_policy_link"),
    ("AUTHMOUNT_JWT_SECRET", "jwt.secret"),
    ("AUTHMOUNT_JWT_SECRET_FILE", "jwt.secret_file"),
    ("AUTHMOUNT_COOKIES_SECURE", "cookies.secure"),
    ("AUTHMOUNT_LOCKOUT_MAX_FAILURES", "lockout.max_failures"),
    ("AUTHMOUNT_LOCKOUT_WINDOW", "lockout.window"),
    ("AUTHMOUNT_SERVER_HEADER_READ_TIMEOUT", "server.header_read_timeout"),
    ("AUTHMOUNT_SERVER_BODY_READ_TIMEOUT", "server.body_read_timeout"),
    ("AUTHMOUNT_SERVER_MAX_CONNECTIONS", "server.max_connections"),
    ("AUTHMOUNT_CACHE_ENABLED", "cache.enabled"),
    ("AUTHMOUNT_CACHE_CAPACITY", "cache.capacity"),
    ("AUTHMOUNT_CACHE_MAX_STALENESS", "cache.max_staleness"),
    ("AUTHMOUNT_MAIL_SMTP", "mail.smtp"),
    ("AUTHMOUNT_MAIL_DIR", "mail.dir"),
    ("AUTHMOUNT_MAIL_FROM", "mail.from"),
];

/// The least number of bytes of a configured JWT secret (HS256 keys are at least 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// The whole configuration. Every section and key has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// The AMCR dialect.
    pub amcr: AmcrSection,
    /// The Meldeschein dialect.
    pub meldeschein: MeldescheinSection,
    /// The Oz dialect.
    pub oz: OzSection,
    /// The tDAR dialect.
    pub tdar: TdarSection,
    /// The miniSASS dialect.
    pub minisass: MinisassSection,
    /// The key JWTs are signed with.
    pub jwt: JwtSection,
    /// Session cookies (the cookie-carrying dialects).
    pub cookies: CookiesSection,
    /// Login lockout thresholds.
    pub lockout: LockoutSection,
    /// The HTTP server's limits.
    pub server: ServerSection,
    /// The read cache in front of the stores.
    pub cache: CacheSection,
    /// Where mail goes.
    pub mail: MailSection,
}

/// `[amcr]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmcrSection {
    /// How long a token works after login (default 24 h, fixed).
    pub token_ttl: Seconds,
    /// The AMCR schema version in the XML namespace (default `2.1`; the live system uses `2.2`).
    pub schema_version: String,
    /// The `skupina` of a user without groups (default `Badatel`, the original's role of every
    /// new account): the schema requires at least one.
    pub default_group: String,
    /// The `organizace` `id` of a user without an organisation (default `ORG-000000`).
    pub default_organisation_id: String,
    /// ... and its name (default `Neuvedeno`, "not given").
    pub default_organisation_name: String,
}

impl Default for AmcrSection {
    fn default() -> Self {
        let organisation = authmount::dialect::amcr::AmcrOrganisation::unspecified();
        Self {
            token_ttl: Seconds::from_secs(24 * 60 * 60),
            schema_version: "2.1".to_owned(),
            default_group: authmount::dialect::amcr::DEFAULT_GROUP.to_owned(),
            default_organisation_id: organisation.id,
            default_organisation_name: organisation.name,
        }
    }
}

impl AmcrSection {
    /// The organisation of users without one.
    pub fn default_organisation(&self) -> authmount::dialect::amcr::AmcrOrganisation {
        authmount::dialect::amcr::AmcrOrganisation {
            id: self.default_organisation_id.clone(),
            name: self.default_organisation_name.clone(),
        }
    }
}

/// `[meldeschein]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeldescheinSection {
    /// How long a JWT works (default 5 minutes, as djangorestframework-jwt).
    pub token_lifetime: Seconds,
    /// Accept the token as `?jwt=<token>` too (default off).
    pub query_token: bool,
}

impl Default for MeldescheinSection {
    fn default() -> Self {
        Self { token_lifetime: Seconds::from_secs(300), query_token: false }
    }
}

/// `[oz]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OzSection {
    /// How long an access token works after its last use (default 15 minutes, sliding).
    pub access_idle_ttl: Seconds,
    /// How long a refresh token works after issue (default 30 days).
    pub refresh_ttl: Seconds,
    /// How long after a refresh the same refresh token may come again and get a twin session
    /// instead of ending the session as reused (default 10 seconds; `0` turns it off).
    pub refresh_reuse_grace: Seconds,
}

impl Default for OzSection {
    fn default() -> Self {
        Self {
            access_idle_ttl: Seconds::from_secs(15 * 60),
            refresh_ttl: Seconds::from_secs(30 * 24 * 60 * 60),
            refresh_reuse_grace: Seconds::from_secs(REUSE_GRACE_DEFAULT.as_secs()),
        }
    }
}

/// `[tdar]` (the cookie's `Secure` flag is [`CookiesSection::secure`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TdarSection {
    /// The session cookie's and query parameter's name (default `session.tokenkey`, the seed's;
    /// the live system uses `crowd.token_key`). Letters, digits and `-._~`.
    pub session_key_name: String,
    /// How long a session lives without use (default 30 minutes).
    pub idle_timeout: Seconds,
    /// How long a session lives after its login however often it is used (default 8 hours).
    pub max_session_lifetime: Seconds,
}

impl Default for TdarSection {
    fn default() -> Self {
        Self {
            session_key_name: authmount::dialect::tdar::DEFAULT_SESSION_KEY_NAME.to_owned(),
            idle_timeout: Seconds::from_secs(30 * 60),
            max_session_lifetime: Seconds::from_secs(8 * 60 * 60),
        }
    }
}

/// `[minisass]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MinisassSection {
    /// How long an access JWT works (default 1 hour: the real miniSASS clients never refresh).
    pub access_lifetime: Seconds,
    /// How long a refresh JWT works (default 1 day; each refresh spends it and issues another),
    /// and the `sessionid` cookie session a `login/` opens.
    pub refresh_lifetime: Seconds,
    /// How long after a refresh the same refresh JWT may come again (two tabs, a retry) and get
    /// a new pair of its session instead of ending it as reused (default 10 seconds; `0` turns
    /// it off).
    pub refresh_reuse_grace: Seconds,
    /// Where password-reset links point, `{reset_link_base}{uid}/{token}/` (an `http` or
    /// `https` URL ending with `/`). Default: the server's own
    /// `/authentication/api/verify-password-reset/` at the URL it listens on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_link_base: Option<String>,
    /// The web app's page that reset and activation links redirect to (`?uid=..&token=..`,
    /// `?activation_complete=true`), an `http(s)` URL. Default: none, the links answer JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontend_url: Option<String>,
    /// Registration creates the account inactive and mails an activation link (default off).
    pub require_activation: bool,
    /// The version of a published privacy policy users must accept (default: none, everyone
    /// counts as agreeing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_policy_version: Option<String>,
    /// Where that policy is published (shown by `/privacy-policy/check/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_policy_link: Option<String>,
}

impl Default for MinisassSection {
    fn default() -> Self {
        Self {
            access_lifetime: Seconds::from_secs(60 * 60),
            refresh_lifetime: Seconds::from_secs(24 * 60 * 60),
            refresh_reuse_grace: Seconds::from_secs(REUSE_GRACE_DEFAULT.as_secs()),
            reset_link_base: None,
            frontend_url: None,
            require_activation: false,
            privacy_policy_version: None,
            privacy_policy_link: None,
        }
    }
}

/// `[jwt]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtSection {
    /// The HS256 secret (at least [`MIN_SECRET_BYTES`] bytes). Without it, a random secret is
    /// generated on first start and kept in [`secret_file`](Self::secret_file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Where the generated secret is kept (default: `authmount-demo.secret` beside the SQLite
    /// database, else in the working directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
}

/// `[cookies]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookiesSection {
    /// Set the `Secure` flag on session cookies (default off: the demo serves plain HTTP).
    pub secure: bool,
}

/// `[lockout]`: thresholds for the login lockout (reserved: the mounted dialects do not lock
/// accounts yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutSection {
    /// Failed logins that lock a login (default 5).
    pub max_failures: u32,
    /// The window the failures are counted in (default 15 minutes).
    pub window: Seconds,
}

impl Default for LockoutSection {
    fn default() -> Self {
        Self { max_failures: 5, window: Seconds::from_secs(15 * 60) }
    }
}

/// `[server]`: what a client may hold of the server. The same limits on both frameworks
/// (axum through [`authmount_axum::serve`], actix-web through its own settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// How long a client has to send a whole request header; also how long an idle kept-alive
    /// connection stays open. Past it the connection is closed (default 5 s).
    pub header_read_timeout: Seconds,
    /// How long a request body may take to arrive (default 10 s).
    pub body_read_timeout: Seconds,
    /// Open connections at most (on actix-web, per worker thread); past it new clients wait
    /// until one closes (default 25,000).
    pub max_connections: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        let defaults = authmount_axum::ServeLimits::default();
        Self {
            header_read_timeout: Seconds::from_secs(defaults.header_read_timeout.as_secs()),
            body_read_timeout: Seconds::from_secs(defaults.body_read_timeout.as_secs()),
            max_connections: defaults.max_connections,
        }
    }
}

impl ServerSection {
    /// The limits for [`authmount_axum::serve`].
    pub fn limits(&self) -> authmount_axum::ServeLimits {
        authmount_axum::ServeLimits {
            header_read_timeout: self.header_read_timeout.as_duration(),
            body_read_timeout: self.body_read_timeout.as_duration(),
            max_connections: self.max_connections,
            ..Default::default()
        }
    }
}

/// `[cache]`: the read cache in front of the user and token stores (`authmount::cache`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSection {
    /// Answer what the gate reads on every request (token records, JWT revocation answers,
    /// users) from memory (default on: without it every authenticated request pays one or two
    /// store round trips).
    pub enabled: bool,
    /// Entries each of the three caches holds at most (default 100,000).
    pub capacity: usize,
    /// How long a cached copy is used at most: the bound on how late a change made outside
    /// authmount (SQL run by hand, another program) is seen (default 5 s, at most 5 minutes).
    /// Changes made through authmount are seen at once on this instance, and within
    /// milliseconds on others sharing PostgreSQL or Redis.
    pub max_staleness: Seconds,
}

impl Default for CacheSection {
    fn default() -> Self {
        let defaults = authmount::cache::ReadCacheConfig::default();
        Self {
            enabled: true,
            capacity: defaults.capacity,
            max_staleness: Seconds::from_secs(defaults.max_staleness.as_secs()),
        }
    }
}

impl CacheSection {
    /// The read cache's settings, or `None` when it is off.
    pub fn read_cache(&self) -> Option<authmount::cache::ReadCacheConfig> {
        self.enabled.then(|| authmount::cache::ReadCacheConfig {
            capacity: self.capacity,
            max_staleness: self.max_staleness.as_duration(),
            ..Default::default()
        })
    }
}

/// The default reuse grace period of rotated refresh tokens (Oz, miniSASS).
const REUSE_GRACE_DEFAULT: std::time::Duration = authmount::store::DEFAULT_REUSE_GRACE;

/// The longest reuse grace period accepted, in seconds: past a few minutes the window is a
/// thief's, not a slow tab's.
const MAX_REUSE_GRACE: u64 = 5 * 60;

/// `[mail]`: where the demo's mail goes ([`crate::mail`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSection {
    /// Deliver through the SMTP server at this URL (`smtp://host:25`, `smtp://user:pass@host:587`,
    /// `smtps://...`; printed masked). Default none: each message is a `.eml` file in
    /// [`dir`](Self::dir). `--smtp URL` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Secret>,
    /// Where the `.eml` files go (default: `authmount-demo-mail` beside the SQLite database, else
    /// in the working directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// The sender, `addr@host` or `Name <addr@host>` (default `authmount demo <noreply@example.org>`).
    pub from: String,
}

impl Default for MailSection {
    fn default() -> Self {
        Self { smtp: None, dir: None, from: crate::mail::DEFAULT_FROM.to_owned() }
    }
}

/// The longest `cache.max_staleness` accepted.
const MAX_STALENESS_LIMIT: u64 = 5 * 60;

/// A secret string: never printed. `Debug`, `Display` and serialisation all show `****`.
///
/// ```
/// let secret = authmount_demo::config::Secret::new("correct horse battery staple 1234");
/// assert_eq!(format!("{secret} {secret:?}"), "**** ****");
/// assert_eq!(secret.expose(), "correct horse battery staple 1234");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("****")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// A duration in whole seconds, written `300`, `"300s"`, `"5m"`, `"24h"` or `"1d"`.
///
/// ```
/// use authmount_demo::config::Seconds;
/// assert_eq!("15m".parse::<Seconds>().unwrap().as_duration().as_secs(), 900);
/// assert_eq!(Seconds::from_secs(86_400).to_string(), "1d");
/// assert!("soon".parse::<Seconds>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(u64);

impl Seconds {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// As a [`Duration`].
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl std::str::FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let invalid =
            || format!("{text:?} is not a duration (examples: 300, \"300s\", \"15m\", \"24h\", \"1d\")");
        let number: u64 = number.parse().map_err(|_| invalid())?;
        let factor = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 60 * 60,
            "d" => 24 * 60 * 60,
            _ => return Err(invalid()),
        };
        number.checked_mul(factor).map(Seconds).ok_or_else(invalid)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(24 * 60 * 60, "d"), (60 * 60, "h"), (60, "m")];
        match units.iter().find(|(size, _)| self.0 != 0 && self.0.is_multiple_of(*size)) {
            Some((size, unit)) => write!(f, "{}{unit}", self.0 / size),
            None => write!(f, "{}s", self.0),
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;
        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("whole seconds or a string such as \"15m\", \"24h\", \"1d\"")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Seconds, E> {
                Ok(Seconds(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Seconds, E> {
                u64::try_from(value).map(Seconds).map_err(|_| E::custom("a duration cannot be negative"))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Seconds, E> {
                value.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SecondsVisitor)
    }
}

impl DemoConfig {
    /// Reads the configuration: the defaults, then the TOML file at `path` if given, then the
    /// `AUTHMOUNT_*` variables among `env`. Also returns warnings for `AUTHMOUNT_<SECTION>_*`
    /// variables that name no key (a likely typo).
    ///
    /// ```
    /// use authmount_demo::config::DemoConfig;
    /// let env = [("AUTHMOUNT_AMCR_SCHEMA_VERSION".to_owned(), "2.2".to_owned())];
    /// let (config, warnings) = DemoConfig::load(None, env)?;
    /// assert_eq!(config.amcr.schema_version, "2.2");
    /// assert!(warnings.is_empty());
    /// # Ok::<(), authmount_demo::config::ConfigError>(())
    /// ```
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                Self::from_toml(&text)
                    .map_err(|message| ConfigError::Parse { path: path.to_owned(), message })?
            }
            None => Self::default(),
        };
        let warnings = config.apply_env(env)?;
        config.validate()?;
        Ok((config, warnings))
    }

    /// Parses TOML text (missing keys keep their defaults; unknown keys are an error).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|error| error.to_string().trim_end().to_owned())
    }

    /// Overrides keys from the `AUTHMOUNT_*` variables among `env` ([`ENV_VARS`]). Returns a
    /// warning for each `AUTHMOUNT_<SECTION>_*` variable that names no key.
    pub fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Vec<String>, ConfigError> {
        let mut warnings = Vec::new();
        for (name, value) in env {
            let invalid = |message: String| ConfigError::Env { name: name.clone(), message };
            match name.as_str() {
                "AUTHMOUNT_AMCR_TOKEN_TTL" => self.amcr.token_ttl = value.parse().map_err(invalid)?,
                "AUTHMOUNT_AMCR_SCHEMA_VERSION" => self.amcr.schema_version = value,
                "AUTHMOUNT_AMCR_DEFAULT_GROUP" => self.amcr.default_group = value,
                "AUTHMOUNT_AMCR_DEFAULT_ORGANISATION_ID" => self.amcr.default_organisation_id = value,
                "AUTHMOUNT_AMCR_DEFAULT_ORGANISATION_NAME" => self.amcr.default_organisation_name = value,
                "AUTHMOUNT_MELDESCHEIN_TOKEN_LIFETIME" => {
                    self.meldeschein.token_lifetime = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_MELDESCHEIN_QUERY_TOKEN" => {
                    self.meldeschein.query_token = parse_bool(&value).map_err(invalid)?;
                }
                "AUTHMOUNT_OZ_ACCESS_IDLE_TTL" => self.oz.access_idle_ttl = value.parse().map_err(invalid)?,
                "AUTHMOUNT_OZ_REFRESH_TTL" => self.oz.refresh_ttl = value.parse().map_err(invalid)?,
                "AUTHMOUNT_OZ_REFRESH_REUSE_GRACE" => {
                    self.oz.refresh_reuse_grace = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_TDAR_SESSION_KEY_NAME" => self.tdar.session_key_name = value,
                "AUTHMOUNT_TDAR_IDLE_TIMEOUT" => self.tdar.idle_timeout = value.parse().map_err(invalid)?,
                "AUTHMOUNT_TDAR_MAX_SESSION_LIFETIME" => {
                    self.tdar.max_session_lifetime = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_MINISASS_ACCESS_LIFETIME" => {
                    self.minisass.access_lifetime = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_MINISASS_REFRESH_LIFETIME" => {
                    self.minisass.refresh_lifetime = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_MINISASS_REFRESH_REUSE_GRACE" => {
                    self.minisass.refresh_reuse_grace = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_MINISASS_RESET_LINK_BASE" => self.minisass.reset_link_base = Some(value),
                "AUTHMOUNT_MINISASS_FRONTEND_URL" => self.minisass.frontend_url = Some(value),
                "AUTHMOUNT_MINISASS_REQUIRE_ACTIVATION" => {
                    self.minisass.require_activation = parse_bool(&value).map_err(invalid)?;
                }
                "AUTHMOUNT_MINISASS_PRIVACY_POLICY_VERSION" => {
                    self.minisass.privacy_policy_version = Some(value)
                }
                "AUTHMOUNT_MINISASS_PRIVACY_POLICY_LINK" => self.minisass.privacy_policy_link = Some(value),
                "AUTHMOUNT_JWT_SECRET" => self.jwt.secret = Some(Secret::new(value)),
                "AUTHMOUNT_JWT_SECRET_FILE" => self.jwt.secret_file = Some(PathBuf::from(value)),
                "AUTHMOUNT_COOKIES_SECURE" => self.cookies.secure = parse_bool(&value).map_err(invalid)?,
                "AUTHMOUNT_LOCKOUT_MAX_FAILURES" => {
                    self.lockout.max_failures =
                        value.trim().parse().map_err(|_| invalid(format!("{value:?} is not a count")))?;
                }
                "AUTHMOUNT_LOCKOUT_WINDOW" => self.lockout.window = value.parse().map_err(invalid)?,
                "AUTHMOUNT_SERVER_HEADER_READ_TIMEOUT" => {
                    self.server.header_read_timeout = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_SERVER_BODY_READ_TIMEOUT" => {
                    self.server.body_read_timeout = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_SERVER_MAX_CONNECTIONS" => {
                    self.server.max_connections =
                        value.trim().parse().map_err(|_| invalid(format!("{value:?} is not a count")))?;
                }
                "AUTHMOUNT_CACHE_ENABLED" => self.cache.enabled = parse_bool(&value).map_err(invalid)?,
                "AUTHMOUNT_CACHE_CAPACITY" => {
                    self.cache.capacity =
                        value.trim().parse().map_err(|_| invalid(format!("{value:?} is not a count")))?;
                }
                "AUTHMOUNT_CACHE_MAX_STALENESS" => {
                    self.cache.max_staleness = value.parse().map_err(invalid)?;
                }
                "AUTHMOUNT_MAIL_SMTP" => self.mail.smtp = Some(Secret::new(value)),
                "AUTHMOUNT_MAIL_DIR" => self.mail.dir = Some(PathBuf::from(value)),
                "AUTHMOUNT_MAIL_FROM" => self.mail.from = value,
                other => {
                    let sections = [
                        "AMCR_",
                        "MELDESCHEIN_",
                        "OZ_",
                        "TDAR_",
                        "MINISASS_",
                        "JWT_",
                        "COOKIES_",
                        "LOCKOUT_",
                        "MAIL_",
                    ];
                    let in_a_section = other
                        .strip_prefix("AUTHMOUNT_")
                        .is_some_and(|rest| sections.iter().any(|section| rest.starts_with(section)));
                    if in_a_section {
                        warnings.push(format!("ignored unknown configuration variable {other}"));
                    }
                }
            }
        }
        Ok(warnings)
    }

    /// Checks ranges: positive lifetimes (at most 366 days for tDAR sessions), a schema version
    /// that fits in a URL, a usable tDAR session key name, an `http(s)` reset link base, a long
    /// enough JWT secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.amcr.token_ttl.0 == 0 {
            return invalid("amcr.token_ttl must be positive");
        }
        if self.meldeschein.token_lifetime.0 == 0 {
            return invalid("meldeschein.token_lifetime must be positive");
        }
        if self.lockout.max_failures == 0 || self.lockout.window.0 == 0 {
            return invalid("lockout.max_failures and lockout.window must be positive");
        }
        let positive = [
            (self.oz.access_idle_ttl, "oz.access_idle_ttl"),
            (self.oz.refresh_ttl, "oz.refresh_ttl"),
            (self.tdar.idle_timeout, "tdar.idle_timeout"),
            (self.tdar.max_session_lifetime, "tdar.max_session_lifetime"),
            (self.minisass.access_lifetime, "minisass.access_lifetime"),
            (self.minisass.refresh_lifetime, "minisass.refresh_lifetime"),
        ];
        if let Some((_, key)) = positive.iter().find(|(value, _)| value.0 == 0) {
            return Err(ConfigError::Invalid(format!("{key} must be positive")));
        }
        if self.oz.refresh_reuse_grace.0 > MAX_REUSE_GRACE
            || self.minisass.refresh_reuse_grace.0 > MAX_REUSE_GRACE
        {
            return invalid("oz.refresh_reuse_grace and minisass.refresh_reuse_grace are at most 5m");
        }
        let longest = authmount::dialect::tdar::MAX_SESSION_DURATION.as_secs();
        if self.tdar.idle_timeout.0 > longest || self.tdar.max_session_lifetime.0 > longest {
            return invalid("tDAR sessions are limited to 366 days");
        }
        let name = &self.tdar.session_key_name;
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return invalid(
                "tdar.session_key_name must be letters, digits and -._~ (such as session.tokenkey)",
            );
        }
        if let Some(base) = &self.minisass.reset_link_base {
            let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
            if !scheme_ok || !base.ends_with('/') || base.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return invalid(
                    "minisass.reset_link_base must be an http(s) URL ending with / (such as https://app.example.org/reset/)",
                );
            }
        }
        if let Some(url) = &self.minisass.frontend_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return invalid(
                    "minisass.frontend_url must be an http(s) URL (such as https://app.example.org/)",
                );
            }
        }
        if self.minisass.privacy_policy_version.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return invalid("minisass.privacy_policy_version must not be blank");
        }
        if self.amcr.default_group.trim().is_empty() || self.amcr.default_organisation_id.trim().is_empty() {
            return invalid("amcr.default_group and amcr.default_organisation_id must not be empty");
        }
        let version = &self.amcr.schema_version;
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
            return invalid("amcr.schema_version must be letters, digits, dots and dashes (such as 2.1)");
        }
        if self.server.header_read_timeout.0 == 0
            || self.server.body_read_timeout.0 == 0
            || self.server.max_connections == 0
        {
            return invalid(
                "server.header_read_timeout, server.body_read_timeout and server.max_connections must be positive",
            );
        }
        if self.cache.enabled
            && (self.cache.capacity == 0
                || self.cache.max_staleness.0 == 0
                || self.cache.max_staleness.0 > MAX_STALENESS_LIMIT)
        {
            return invalid("cache.capacity must be positive and cache.max_staleness between 1s and 5m");
        }
        if let Some(smtp) = &self.mail.smtp
            && !(smtp.expose().starts_with("smtp://") || smtp.expose().starts_with("smtps://"))
        {
            return invalid("mail.smtp must be an smtp:// or smtps:// URL (such as smtp://127.0.0.1:25)");
        }
        if self.mail.from.trim().is_empty() {
            return invalid("mail.from must not be empty");
        }
        if self.jwt.secret.as_ref().is_some_and(|secret| secret.expose().len() < MIN_SECRET_BYTES) {
            return Err(ConfigError::Invalid(format!(
                "jwt.secret must be at least {MIN_SECRET_BYTES} bytes (or leave it out to have one generated)"
            )));
        }
        Ok(())
    }

    /// The configuration as TOML, with secrets shown as `****`: what the server prints at start.
    ///
    /// ```
    /// use authmount_demo::config::{DemoConfig, Secret};
    /// let mut config = DemoConfig::default();
    /// config.jwt.secret = Some(Secret::new("a secret of at least thirty-two bytes"));
    /// let text = config.to_masked_toml();
    /// assert!(text.contains("secret = \"****\""));
    /// assert!(!text.contains("thirty-two"));
    /// ```
    pub fn to_masked_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|error| format!("# cannot print the configuration: {error}\n"))
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{value:?} is not a boolean (true/false, 1/0, yes/no, on/off)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_match_the_dialects_documented_defaults() {
        let config = DemoConfig::default();
        assert_eq!(config.amcr.token_ttl.as_duration().as_secs(), 86_400);
        assert_eq!(config.amcr.schema_version, "2.1");
        assert_eq!(config.meldeschein.token_lifetime.as_duration().as_secs(), 300);
        assert!(!config.meldeschein.query_token);
        assert!(config.jwt.secret.is_none());
        assert!(!config.cookies.secure);
        assert_eq!(config.lockout.max_failures, 5);
    }

    #[test]
    fn a_file_sets_some_keys_and_the_rest_keep_their_defaults() {
        let config = DemoConfig::from_toml(
            "[amcr]\nschema_version = \"2.2\"\n[meldeschein]\ntoken_lifetime = 600\nquery_token = true\n",
        )
        .expect("valid");
        assert_eq!(config.amcr.schema_version, "2.2");
        assert_eq!(config.amcr.token_ttl, Seconds::from_secs(86_400));
        assert_eq!(config.meldeschein.token_lifetime, Seconds::from_secs(600));
        assert!(config.meldeschein.query_token);
    }

    #[test]
    fn durations_take_units() {
        let config =
            DemoConfig::from_toml("[amcr]\ntoken_ttl = \"2h\"\n[lockout]\nwindow = \"90s\"\n").expect("ok");
        assert_eq!(config.amcr.token_ttl, Seconds::from_secs(7200));
        assert_eq!(config.lockout.window, Seconds::from_secs(90));
        assert!(DemoConfig::from_toml("[amcr]\ntoken_ttl = \"2 weeks\"\n").is_err());
        assert!(DemoConfig::from_toml("[amcr]\ntoken_ttl = -5\n").is_err());
        assert!("99999999999999999999d".parse::<Seconds>().is_err());
    }

    #[test]
    fn unknown_keys_and_sections_are_errors() {
        let error = DemoConfig::from_toml("[amcr]\ntoken_tll = 5\n").expect_err("typo");
        assert!(error.contains("token_tll"), "{error}");
        assert!(DemoConfig::from_toml("[oauth]\nx = 1\n").is_err());
    }

    #[test]
    fn environment_variables_override_the_file() {
        let mut config = DemoConfig::from_toml("[amcr]\nschema_version = \"2.2\"\n").expect("ok");
        let warnings = config
            .apply_env(env(&[
                ("AUTHMOUNT_AMCR_SCHEMA_VERSION", "2.3"),
                ("AUTHMOUNT_AMCR_TOKEN_TTL", "1h"),
                ("AUTHMOUNT_MELDESCHEIN_TOKEN_LIFETIME", "60"),
                ("AUTHMOUNT_MELDESCHEIN_QUERY_TOKEN", "yes"),
                ("AUTHMOUNT_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("AUTHMOUNT_JWT_SECRET_FILE", "/tmp/x.secret"),
                ("AUTHMOUNT_COOKIES_SECURE", "1"),
                ("AUTHMOUNT_LOCKOUT_MAX_FAILURES", "3"),
                ("AUTHMOUNT_LOCKOUT_WINDOW", "1m"),
                ("AUTHMOUNT_PYTHON", "python3"),
                ("PATH", "/bin"),
            ]))
            .expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.amcr.schema_version, "2.3");
        assert_eq!(config.amcr.token_ttl, Seconds::from_secs(3600));
        assert_eq!(config.meldeschein.token_lifetime, Seconds::from_secs(60));
        assert!(config.meldeschein.query_token);
        assert_eq!(config.jwt.secret.as_ref().map(Secret::expose), Some("0123456789abcdef0123456789abcdef"));
        assert_eq!(config.jwt.secret_file.as_deref(), Some(Path::new("/tmp/x.secret")));
        assert!(config.cookies.secure);
        assert_eq!(config.lockout.max_failures, 3);
        assert_eq!(config.lockout.window, Seconds::from_secs(60));
        config.validate().expect("valid");
    }

    #[test]
    fn every_documented_variable_is_handled() {
        for (name, _) in ENV_VARS {
            let value = match name {
                _ if name.ends_with("SECRET") => "x".repeat(40),
                // On by default: the variable's effect is to turn it off.
                "AUTHMOUNT_CACHE_ENABLED" => "0".to_owned(),
                "AUTHMOUNT_SERVER_HEADER_READ_TIMEOUT" | "AUTHMOUNT_SERVER_BODY_READ_TIMEOUT" => {
                    "7".to_owned()
                }
                _ => "1".to_owned(),
            };
            let mut config = DemoConfig::default();
            let warnings = config.apply_env([(name.to_owned(), value)]).expect("accepted");
            assert!(warnings.is_empty(), "{name}");
            assert_ne!(config, DemoConfig::default(), "{name} changes nothing");
        }
    }

    #[test]
    fn typos_in_variables_warn_and_bad_values_fail() {
        let mut config = DemoConfig::default();
        let warnings = config.apply_env(env(&[("AUTHMOUNT_AMCR_TOKEN_TLL", "1h")])).expect("only a warning");
        assert_eq!(warnings, ["ignored unknown configuration variable AUTHMOUNT_AMCR_TOKEN_TLL"]);
        let error = config.apply_env(env(&[("AUTHMOUNT_COOKIES_SECURE", "maybe")])).expect_err("bad bool");
        assert!(error.to_string().contains("AUTHMOUNT_COOKIES_SECURE"), "{error}");
        assert!(config.apply_env(env(&[("AUTHMOUNT_LOCKOUT_MAX_FAILURES", "-1")])).is_err());
    }

    #[test]
    fn validation_rejects_short_secrets_zero_lifetimes_and_odd_versions() {
        let mut config = DemoConfig::default();
        config.jwt.secret = Some(Secret::new("short"));
        let error = config.validate().expect_err("short secret").to_string();
        assert!(error.contains("at least 32 bytes") && !error.contains("short\""), "{error}");
        let mut config = DemoConfig::default();
        config.amcr.token_ttl = Seconds::from_secs(0);
        assert!(config.validate().is_err());
        let mut config = DemoConfig::default();
        config.amcr.schema_version = "2.1/../\"x".into();
        assert!(config.validate().is_err());
        let mut config = DemoConfig::default();
        config.amcr.default_group = " ".into();
        assert!(config.validate().is_err());
        let mut config = DemoConfig::default();
        config.mail.smtp = Some(Secret::new("http://mail.example.org"));
        let error = config.validate().expect_err("not SMTP").to_string();
        assert!(error.contains("mail.smtp"), "{error}");
    }

    #[test]
    fn the_printed_configuration_masks_the_secret_and_round_trips_otherwise() {
        let mut config = DemoConfig::default();
        config.jwt.secret = Some(Secret::new("super-secret-value-of-enough-length!"));
        let text = config.to_masked_toml();
        assert!(!text.contains("super-secret"), "{text}");
        assert!(text.contains("secret = \"****\""), "{text}");
        assert!(text.contains("token_ttl = \"1d\""), "{text}");
        let mut reread = DemoConfig::from_toml(&text).expect("printed config parses");
        reread.jwt.secret = config.jwt.secret.clone();
        assert_eq!(reread, config);
        assert_eq!(format!("{config:?}").matches("super-secret").count(), 0);
    }

    #[test]
    fn load_reports_missing_and_invalid_files() {
        let missing =
            DemoConfig::load(Some(Path::new("/nonexistent/demo.toml")), Vec::new()).expect_err("missing");
        assert!(matches!(missing, ConfigError::Read { .. }));
        let dir = std::env::temp_dir().join(format!("authmount-demo-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[amcr]\nunknown = 1\n").expect("written");
        let error = DemoConfig::load(Some(&path), Vec::new()).expect_err("unknown key");
        assert!(matches!(error, ConfigError::Parse { .. }), "{error}");
        std::fs::write(&path, "[meldeschein]\nquery_token = true\n").expect("written");
        let (config, _) = DemoConfig::load(Some(&path), Vec::new()).expect("valid");
        assert!(config.meldeschein.query_token);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
