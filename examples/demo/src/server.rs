//! Serving: open the stores, find the JWT secret, mount the dialects, create the demo user on
//! first start, print the banner, serve until SIGINT/SIGTERM.

use std::fmt::Write as _;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use authmount::cache::ReadCache;
use authmount::dialect::Dialects;
use authmount::services::Services;
use authmount::store::StoreError;
use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
use authmount::user::NewUser;
use serde_json::json;

use crate::DemoError;
use crate::app::{BOOKING_PATH, DemoApp, WHOAMI_PATH};
use crate::cli::Framework;
use crate::config::DemoConfig;
use crate::dialects::{self, Credentials, LoginRequest};
use crate::mail::{DemoMail, default_mail_dir};
use crate::secret::{JwtSecret, SECRET_FILE_NAME, SecretSource};
use crate::stores::{StoreSpec, Stores};

/// The demo user's username.
pub const DEMO_USERNAME: &str = "demo";
/// The demo user's e-mail address.
pub const DEMO_EMAIL: &str = "demo@example.org";
/// The last line of the start banner: the server accepts requests from here on.
pub const READY_LINE: &str = "Ready. Stop with Ctrl-C (in-flight requests finish first).";

/// What `serve` needs from the command line.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--addr`.
    pub addr: String,
    /// `--framework`.
    pub framework: Framework,
    /// `--users`.
    pub users: StoreSpec,
    /// `--tokens`.
    pub tokens: StoreSpec,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--smtp` (overrides `mail.smtp`).
    pub smtp: Option<crate::config::Secret>,
}

/// A server ready to run: bound, mounted, banner printed.
#[derive(Debug)]
pub struct Prepared {
    /// The bound socket.
    pub listener: TcpListener,
    /// What to serve.
    pub app: DemoApp,
    /// The server's limits (`[server]`).
    pub server: crate::config::ServerSection,
}

/// The `AUTHMOUNT_*` (and other) environment variables that are valid UTF-8.
fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// Where a generated JWT secret is kept: beside the SQLite database of the tokens (or else the
/// users), else in the working directory; nowhere when tokens do not survive a restart.
fn default_secret_file(users: &StoreSpec, tokens: &StoreSpec) -> Option<PathBuf> {
    if !tokens.is_persistent() {
        return None;
    }
    Some(StoreSpec::folder_beside_database(tokens, users).join(SECRET_FILE_NAME))
}

/// The URL clients use for a bound address (`0.0.0.0` and `::` become the loopback address).
pub fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// `text` quoted for a POSIX shell.
///
/// ```
/// assert_eq!(authmount_demo::server::shell_quote("it's"), r#"'it'\''s'"#);
/// ```
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The ready-to-paste curl line of a login (with `-c <jar>` when the login sets a cookie).
///
/// ```
/// use authmount_demo::dialects::LoginRequest;
/// let login = LoginRequest { path: "/api/token/", content_type: "application/json", body: r#"{"username":"demo"}"#.into(), cookie_jar: None };
/// assert_eq!(
///     authmount_demo::server::curl_line("http://127.0.0.1:8080", &login),
///     r#"curl -sS -X POST 'http://127.0.0.1:8080/api/token/' -H 'Content-Type: application/json' -d '{"username":"demo"}'"#
/// );
/// ```
pub fn curl_line(base: &str, login: &LoginRequest) -> String {
    let jar = login.cookie_jar.map(|jar| format!("-c {} ", shell_quote(jar))).unwrap_or_default();
    format!(
        "curl -sS {jar}-X POST {} -H {} -d {}",
        shell_quote(&format!("{base}{}", login.path)),
        shell_quote(&format!("Content-Type: {}", login.content_type)),
        shell_quote(&login.body)
    )
}

/// Everything the start banner shows.
#[derive(Debug)]
pub struct Banner<'a> {
    /// The framework.
    pub framework: Framework,
    /// The server's URL.
    pub base: String,
    /// `--users`.
    pub users: &'a StoreSpec,
    /// `--tokens`.
    pub tokens: &'a StoreSpec,
    /// The effective configuration.
    pub config: &'a DemoConfig,
    /// Where the JWT secret came from.
    pub secret: &'a SecretSource,
    /// The demo user's password, when this start created it.
    pub demo_password: Option<&'a str>,
    /// The mounted dialects.
    pub dialects: &'a Dialects,
    /// Where mail goes ([`DemoMail::describe`](crate::mail::DemoMail::describe)).
    pub mail: String,
}

impl Banner<'_> {
    /// The banner's text: stores, effective configuration (secrets masked), the demo
    /// credentials (only when just created) with a curl line per dialect, the routes, and
    /// [`READY_LINE`] last.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let base = &self.base;
        let _ = writeln!(out, "authmount-demo {} on {}", env!("CARGO_PKG_VERSION"), self.framework);
        let _ = writeln!(out, "listening on {base}");
        let _ = writeln!(out, "users:  {}", self.users);
        let _ = writeln!(out, "tokens: {}", self.tokens);
        let cache = match self.config.cache.enabled {
            true => format!(
                "on, {} entries per cache, max staleness {} ({})",
                self.config.cache.capacity,
                self.config.cache.max_staleness,
                crate::stores::invalidation_description(self.users, self.tokens)
            ),
            false => "off (every authenticated request reads the stores)".to_owned(),
        };
        let _ = writeln!(out, "read cache: {cache}");
        let _ = writeln!(out, "JWT secret: {}", self.secret);
        let _ = writeln!(out, "\neffective configuration (secrets masked):");
        for line in self.config.to_masked_toml().lines() {
            let _ = writeln!(out, "  {line}");
        }
        match self.demo_password {
            Some(password) => {
                let _ = writeln!(out, "\ncreated the demo user (the password is shown only now):");
                let _ = writeln!(out, "  username: {DEMO_USERNAME}\n  password: {password}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "\nthe user store has users: log in as one of them (the demo user's password was printed when it was created)"
                );
            }
        }
        let _ = writeln!(out, "\ndialects:");
        for dialect in self.dialects.iter() {
            let Some(hint) = dialects::hint(dialect.name()) else {
                let api = dialect.api();
                let first = api.routes().first().map(|route| route.pattern().to_owned()).unwrap_or_default();
                let _ = writeln!(out, "  {:<12} {base}{first}", dialect.name());
                continue;
            };
            let who = Credentials {
                username: DEMO_USERNAME,
                email: DEMO_EMAIL,
                password: self.demo_password.unwrap_or_default(),
            };
            let login = (hint.login)(&who);
            let _ = writeln!(out, "  {:<12} {base}{}", dialect.name(), login.path);
            if self.demo_password.is_some() {
                let _ = writeln!(out, "    {}", curl_line(base, &login));
            }
            for line in hint.usage.replace("{base}", base).lines() {
                // Ready-to-paste lines only when the demo user's password was printed too.
                if self.demo_password.is_some() || !line.starts_with("curl ") {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let _ = writeln!(out, "\npages (log in with a browser):");
        let _ = writeln!(
            out,
            "  {base}{}  a cookie session (tDAR login form, /api/whoami, logout)",
            crate::pages::LOGIN_PAGE_PATH
        );
        let _ = writeln!(
            out,
            "  {base}{}  miniSASS JWTs from JavaScript (token/, refresh, check-auth-status/, logout/)",
            crate::pages::MINISASS_PAGE_PATH
        );
        let _ = writeln!(
            out,
            "\nAPI documents (OpenAPI 3.1, every dialect and the app routes below):\n  {base}{}  the document\n  {base}{}  rendered (Swagger UI)",
            crate::openapi::OPENAPI_PATH,
            crate::pages::DOCS_PAGE_PATH
        );
        let _ = writeln!(out, "\napp routes:");
        let _ = writeln!(
            out,
            "  GET  {base}{WHOAMI_PATH}  with any dialect's token: {{\"id\", \"username\", \"email\"}}"
        );
        let _ = writeln!(
            out,
            "  GET  {base}{}  with an admin's token of any dialect (useradd --admin): the admin API",
            authmount::admin::USERS_PATH
        );
        let _ = writeln!(
            out,
            "  POST {base}{BOOKING_PATH}  with a Meldeschein JWT and {{\"meta\": {{\"gemeinde\", \"vermieter\", \"objekt\"}}, ...}}: 201"
        );
        let _ = writeln!(out, "\nmail (password-reset links): {}", self.mail);
        let _ = writeln!(out, "\n{READY_LINE}");
        out
    }
}

/// Creates the demo user (random password, Meldeschein grants for municipality, landlord and
/// property 1) when the user store is empty; returns the password when it did.
pub async fn ensure_demo_user(stores: &Stores, services: &Services) -> Result<Option<String>, DemoError> {
    if !stores.users_empty().await? {
        return Ok(None);
    }
    let password = authmount::token::random_id()
        .map_err(|error| DemoError::Other(format!("cannot generate the demo password: {error}")))?;
    let hash = services.passwords.hash_new_password(&password).await.map_err(DemoError::Password)?;
    let user = NewUser::new(DEMO_USERNAME, SystemTime::now())
        .with_email(DEMO_EMAIL)
        .with_names("Demo", "User")
        .with_password_hash(hash)
        .with_attribute(
            authmount::dialect::meldeschein::GRANTS_ATTRIBUTE,
            json!({"gemeinden": [1], "vermieter": [1], "objekte": [1]}),
        );
    match services.users.create(user).await {
        Ok(_) => Ok(Some(password)),
        // Another instance created it at the same moment.
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(error) => Err(DemoError::store("cannot create the demo user", error)),
    }
}

/// Prepares the server: configuration, stores, secret, dialects, listening socket, demo user;
/// writes the banner to `out`.
pub async fn prepare(options: &ServeOptions, out: &mut dyn Write) -> Result<Prepared, DemoError> {
    let (mut config, warnings) = DemoConfig::load(options.config.as_deref(), environment())?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if let Some(smtp) = &options.smtp {
        config.mail.smtp = Some(smtp.clone());
        config.validate()?;
    }
    let mail = DemoMail::from_config(&config.mail, &default_mail_dir(&options.users, &options.tokens))?;
    let stores = Stores::open(&options.users, &options.tokens).await?;
    let default_file = default_secret_file(&options.users, &options.tokens);
    let secret = JwtSecret::resolve(&config.jwt, default_file.as_deref())?;
    match &secret.source {
        SecretSource::Ephemeral => {
            tracing::warn!(
                "the JWT secret is ephemeral (tokens are in memory): JWTs stop working at restart"
            );
        }
        source => tracing::info!(%source, "JWT secret"),
    }
    let key = JwtKey::hs256(secret.bytes())
        .map_err(|error| DemoError::Usage(format!("unusable JWT secret: {error}")))?;
    let ring =
        KeyRing::new("demo", key).map_err(|error| DemoError::Other(format!("JWT key ring: {error}")))?;
    let lockout = authmount::abuse::AccountLockout {
        threshold: u64::from(config.lockout.max_failures),
        window: config.lockout.window.as_duration(),
        ..Default::default()
    };
    let limits = authmount::abuse::LoginLimits { account: Some(lockout), ..Default::default() };
    let services = Services::new(stores.users.clone(), stores.tokens.clone(), stores.counters.clone())
        .map_err(DemoError::Password)?
        .with_limits(limits);
    let services = match config.cache.read_cache() {
        Some(settings) => {
            let cache = ReadCache::new(settings);
            if let Some(bus) = crate::stores::invalidation_bus(&options.users, &options.tokens).await? {
                cache.attach(bus);
            }
            services.with_read_cache(&cache)
        }
        None => services,
    };
    let jwt = JwtService::new(ring, services.clock.clone());

    // Bound before the demo user exists: its password is printed only if the server starts.
    let listener = TcpListener::bind(&options.addr).map_err(|source| DemoError::Io {
        what: "cannot listen on",
        path: options.addr.clone().into(),
        source,
    })?;
    let local = listener.local_addr().map_err(|source| DemoError::Io {
        what: "cannot read the bound address of",
        path: options.addr.clone().into(),
        source,
    })?;
    let base = base_url(local);
    if config.minisass.reset_link_base.is_none() {
        config.minisass.reset_link_base = Some(format!("{base}{}", reset_verify_base()));
    }
    let dialects = dialects::build(&services, &jwt, &config, mail.mailer())?;
    let booking = dialects
        .get("meldeschein")
        .map(|meldeschein| meldeschein.gate())
        .ok_or_else(|| DemoError::Other("the Meldeschein dialect is not mounted".to_owned()))?;
    let any_gate = dialects.any_gate(services.users.clone());
    let mut apis = dialects.apis();
    // The administration API: admins only, with a token of any dialect.
    apis.push(authmount::admin::AdminApi::new(services.clone(), any_gate.clone()).api());
    let openapi = crate::openapi::document(&dialects, &any_gate, &booking).to_json().into();
    let app = DemoApp { apis, whoami: any_gate, booking, openapi };

    let demo_password = ensure_demo_user(&stores, &services).await?;
    if demo_password.is_some() {
        tracing::info!(username = DEMO_USERNAME, "created the demo user");
    }
    let banner = Banner {
        framework: options.framework,
        base,
        users: &options.users,
        tokens: &options.tokens,
        config: &config,
        secret: &secret.source,
        demo_password: demo_password.as_deref(),
        dialects: &dialects,
        mail: mail.describe().to_owned(),
    };
    let _ = out.write_all(banner.render().as_bytes());
    let _ = out.flush();
    tracing::info!(address = %local, framework = %options.framework, "serving");
    Ok(Prepared { listener, app, server: config.server.clone() })
}

/// The path reset links point at by default: miniSASS's own verify endpoint, without its
/// `{uid}/{token}/` parameters.
fn reset_verify_base() -> &'static str {
    authmount::dialect::minisass::VERIFY_RESET_PATH.trim_end_matches("{uid}/{token}/")
}

/// SIGINT (Ctrl-C) and SIGTERM handlers, installed before the banner announces the server, so
/// a signal that arrives right after the banner stops the server gracefully instead of killing
/// it.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Installs the handlers (inside a Tokio runtime).
    fn install() -> Result<Self, DemoError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let failed = |error: std::io::Error| DemoError::Other(format!("cannot handle signals: {error}"));
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).map_err(failed)?,
                terminate: signal(SignalKind::terminate()).map_err(failed)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for either signal.
    async fn received(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => tracing::info!("SIGINT: finishing in-flight requests, then stopping"),
            _ = self.terminate.recv() => tracing::info!("SIGTERM: finishing in-flight requests, then stopping"),
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C: finishing in-flight requests, then stopping");
            }
        }
    }
}

/// Serves until SIGINT or SIGTERM, on the framework `options` names.
pub fn serve(options: &ServeOptions) -> Result<(), DemoError> {
    match options.framework {
        Framework::Axum => serve_axum(options),
        Framework::Actix => serve_actix(options),
    }
}

fn serve_axum(options: &ServeOptions) -> Result<(), DemoError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| DemoError::Other(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let signals = ShutdownSignals::install()?;
        let prepared = prepare(options, &mut std::io::stdout()).await?;
        let io =
            |source| DemoError::Io { what: "cannot serve on", path: options.addr.clone().into(), source };
        prepared.listener.set_nonblocking(true).map_err(io)?;
        let listener = tokio::net::TcpListener::from_std(prepared.listener).map_err(io)?;
        // The header and body timeouts and the connection limit of `[server]`; handlers see the
        // peer address, so login limits and audit events know the client.
        let app = crate::app::axum_router(prepared.app);
        authmount_axum::serve(listener, app, prepared.server.limits(), signals.received())
            .await
            .map_err(io)?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn serve_actix(options: &ServeOptions) -> Result<(), DemoError> {
    actix_web::rt::System::new().block_on(async {
        let signals = ShutdownSignals::install()?;
        let prepared = prepare(options, &mut std::io::stdout()).await?;
        let io =
            |source| DemoError::Io { what: "cannot serve on", path: options.addr.clone().into(), source };
        let server_limits = prepared.server.clone();
        let configure = crate::app::actix_configure(prepared.app);
        // The signals are handled here, as for axum (actix's own handlers would be installed
        // only once the server runs, after the banner).
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(actix_web::middleware::from_fn(crate::app::actix_access_log))
                .configure(configure.clone())
        })
        .disable_signals()
        // The same limits as on axum (`[server]`): the request head must arrive in time, idle
        // kept-alive connections close after as long, and at most so many connections per worker.
        // Request bodies are bounded by the authmount endpoints' own body timeout.
        .client_request_timeout(server_limits.header_read_timeout.as_duration())
        .keep_alive(server_limits.header_read_timeout.as_duration())
        .max_connections(server_limits.max_connections)
        .shutdown_timeout(30)
        .listen(prepared.listener)
        .map_err(io)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            signals.received().await;
            // Stops accepting, lets in-flight requests finish (up to 30 s), then `server` ends.
            handle.stop(true).await;
        });
        server.await.map_err(io)?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Runs `useradd` against `users`, reading the password from `stdin` when asked to.
pub fn useradd(
    users: &StoreSpec,
    args: &crate::cli::UserAddArgs,
    stdin: &mut dyn std::io::BufRead,
) -> Result<(), DemoError> {
    if !users.is_persistent() {
        return Err(DemoError::Usage(format!(
            "useradd needs a persistent user store, not {users}: give --users sqlite:PATH or postgres://..."
        )));
    }
    let password = crate::useradd::read_password(args, stdin)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| DemoError::Other(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let store = Stores::open_users(users).await?;
        let hasher = authmount::password::Argon2idHasher::new(authmount::password::Argon2Params::default())
            .map_err(DemoError::Password)?;
        let passwords = authmount::password::PasswordService::new(Arc::new(hasher));
        let user = crate::useradd::create_user(&*store, &passwords, args, password).await?;
        println!("created user {} (id {}) in {users}", user.username, user.id.0);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_shown_as_loopback() {
        assert_eq!(base_url("0.0.0.0:8080".parse().expect("addr")), "http://127.0.0.1:8080");
        assert_eq!(base_url("[::]:80".parse().expect("addr")), "http://[::1]:80");
        assert_eq!(base_url("192.0.2.1:9".parse().expect("addr")), "http://192.0.2.1:9");
    }

    #[test]
    fn the_secret_file_sits_beside_the_token_database() {
        let spec = |s: &str| s.parse::<StoreSpec>().expect("spec");
        assert_eq!(
            default_secret_file(&spec("sqlite:u/users.db"), &spec("sqlite:t/tokens.db")),
            Some(PathBuf::from("t").join(SECRET_FILE_NAME))
        );
        assert_eq!(
            default_secret_file(&spec("sqlite:u/users.db"), &spec("redis://cache")),
            Some(PathBuf::from("u").join(SECRET_FILE_NAME))
        );
        assert_eq!(
            default_secret_file(&spec("postgres://db/a"), &spec("postgres://db/a")),
            Some(PathBuf::from(SECRET_FILE_NAME))
        );
        assert_eq!(default_secret_file(&spec("sqlite:u.db"), &spec("memory")), None);
    }

    #[test]
    fn curl_lines_quote_what_the_shell_would_expand() {
        let login = LoginRequest {
            path: "/api/token/",
            content_type: "application/json",
            body: r#"{"password":"it's $HOME"}"#.to_owned(),
            cookie_jar: None,
        };
        let line = curl_line("http://127.0.0.1:1", &login);
        assert!(line.ends_with(r#"-d '{"password":"it'\''s $HOME"}'"#), "{line}");
    }

    fn banner_text(password: Option<&str>) -> String {
        let services = Services::in_memory().expect("services");
        let jwt = JwtService::new(
            KeyRing::new("demo", JwtKey::hs256(&[1; 32]).expect("key")).expect("ring"),
            services.clock.clone(),
        );
        let mut config = DemoConfig::default();
        config.jwt.secret = Some(crate::config::Secret::new("never-printed-secret-of-32-bytes!!"));
        let mailer = Arc::new(authmount::mailer::OutboxMailer::new());
        let dialects = dialects::build(&services, &jwt, &config, mailer).expect("dialects");
        let (users, tokens) = (StoreSpec::Memory, "redis://:pw@cache".parse().expect("spec"));
        Banner {
            framework: Framework::Axum,
            base: "http://127.0.0.1:8080".into(),
            users: &users,
            tokens: &tokens,
            config: &config,
            secret: &SecretSource::Configured,
            demo_password: password,
            dialects: &dialects,
            mail: "written as .eml files to authmount-demo-mail (each file's path is logged)".into(),
        }
        .render()
    }

    #[test]
    fn the_first_banner_has_the_credentials_and_a_curl_line_per_dialect() {
        let text = banner_text(Some("Pa55-word_1"));
        assert!(text.contains("listening on http://127.0.0.1:8080\n"), "{text}");
        assert!(text.contains("password: Pa55-word_1"), "{text}");
        let curls: Vec<&str> = text.lines().map(str::trim).filter(|l| l.starts_with("curl ")).collect();
        assert_eq!(curls.len(), 6, "a login per dialect and tDAR's cookie line: {text}");
        assert!(curls[0].contains("/api/token-auth/") && curls[0].contains(r#""password":"Pa55-word_1""#));
        assert!(curls[1].contains("'http://127.0.0.1:8080/api/token/'"));
        assert!(
            curls[2].contains("/api/authorize/auth")
                && curls[2].contains(r#"{"credentials":{"email":"demo@example.org","#)
        );
        assert!(
            curls[3].starts_with("curl -sS -c 'tdar-cookies.txt' -X POST 'http://127.0.0.1:8080/api/login'")
        );
        assert!(curls[3].ends_with("-d 'userLogin.loginUsername=demo&userLogin.loginPassword=Pa55-word_1'"));
        assert_eq!(curls[4], "curl -sS -b tdar-cookies.txt 'http://127.0.0.1:8080/api/whoami'");
        assert!(curls[5].contains("/authentication/api/token/"));
        assert!(text.contains("http://127.0.0.1:8080/minisass.html"), "{text}");
        assert!(
            text.contains("\nmail (password-reset links): written as .eml files to authmount-demo-mail"),
            "{text}"
        );
        assert!(text.contains("http://127.0.0.1:8080/openapi.json  the document"), "{text}");
        assert!(text.contains("http://127.0.0.1:8080/docs  rendered (Swagger UI)"), "{text}");
        assert!(text.trim_end().ends_with(READY_LINE));
        assert!(!text.contains("never-printed") && text.contains("****"), "{text}");
        assert!(!text.contains(":pw@"), "{text}");
    }

    #[test]
    fn later_banners_print_no_password_and_no_curl_line() {
        let text = banner_text(None);
        assert!(!text.contains("password:"), "{text}");
        assert!(!text.lines().any(|l| l.trim().starts_with("curl ")), "{text}");
        assert!(text.contains("/api/token-auth/"), "{text}");
    }

    #[tokio::test]
    async fn the_demo_user_is_created_only_in_an_empty_store() {
        let stores = Stores::open(&StoreSpec::Memory, &StoreSpec::Memory).await.expect("stores");
        let hasher = authmount::password::Argon2idHasher::insecure_for_tests(
            authmount::password::Argon2Params::insecure_fast_for_tests(),
        )
        .expect("params");
        let services = Services::new(stores.users.clone(), stores.tokens.clone(), stores.counters.clone())
            .expect("services")
            .with_passwords(authmount::password::PasswordService::new(Arc::new(hasher)));
        let password = ensure_demo_user(&stores, &services).await.expect("created").expect("a password");
        assert!(password.len() >= 16);
        let user = services.authenticator().authenticate(DEMO_EMAIL, &password).await.expect("logs in");
        assert_eq!(user.username, DEMO_USERNAME);
        let grants = authmount::dialect::meldeschein::Grants::of(&user);
        assert_eq!((grants.gemeinden, grants.vermieter, grants.objekte), (vec![1], vec![1], vec![1]));
        // The memory backend always reads as empty at start; a conflict means it exists.
        assert_eq!(ensure_demo_user(&stores, &services).await.expect("no error"), None);
    }
}
