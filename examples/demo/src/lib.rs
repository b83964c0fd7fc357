//! # authmount-demo
//!
//! One binary that serves every authmount dialect on one server, on axum (default) or
//! actix-web, on the stores you choose, plus two protected demo routes.
//!
//! ```text
//! authmount-demo [--addr 127.0.0.1:8080] [--framework axum|actix]
//!                [--users STORE] [--tokens STORE] [--config FILE] [--smtp URL]
//! authmount-demo useradd --username NAME (--password PW | --password-stdin)
//!                [--email E] [--first-name F] [--last-name L] [--admin] [--group NAME]...
//!                [--attr KEY=JSON]...
//! ```
//!
//! ## Flags
//!
//! | flag | env | default | meaning |
//! |---|---|---|---|
//! | `--addr` | `AUTHMOUNT_ADDR` | `127.0.0.1:8080` | where to listen; port `0` picks a free port (the banner prints the bound address) |
//! | `--framework` | `AUTHMOUNT_FRAMEWORK` | `axum` | `axum` or `actix` |
//! | `--users` | `AUTHMOUNT_USERS` | `sqlite:authmount-demo.db` | `sqlite:PATH`, `postgres://...` or `memory` (Redis is refused: exit code 2) |
//! | `--tokens` | `AUTHMOUNT_TOKENS` | `sqlite:authmount-demo.db` | `sqlite:PATH`, `postgres://...`, `redis://...` or `memory`; lockout counters live here too |
//! | `--config` | `AUTHMOUNT_CONFIG` | none | a TOML file, see [`config`] |
//! | `--smtp` | `AUTHMOUNT_MAIL_SMTP` | none: `.eml` files | deliver mail through this SMTP server (`smtp://host:25`, `smtp://user:pass@host:587`, `smtps://...`), see [`mail`] |
//!
//! The same store named by both flags is opened once. `--tokens redis://... --users sqlite:...`
//! is the shape of a multi-instance deployment with SQLite replaced by PostgreSQL.
//!
//! ## Configuration
//!
//! Defaults, then the TOML file, then environment variables (the [`config`] module shows the
//! file with every key and its default):
//!
//! | variable | key |
//! |---|---|
//! | `AUTHMOUNT_AMCR_TOKEN_TTL` | `amcr.token_ttl` (`24h`) |
//! | `AUTHMOUNT_AMCR_SCHEMA_VERSION` | `amcr.schema_version` (`2.1`) |
//! | `AUTHMOUNT_AMCR_DEFAULT_GROUP` | `amcr.default_group` (`Badatel`: the `skupina` of a user without groups) |
//! | `AUTHMOUNT_AMCR_DEFAULT_ORGANISATION_ID` | `amcr.default_organisation_id` (`ORG-000000`: the `organizace` of a user without one) |
//! | `AUTHMOUNT_AMCR_DEFAULT_ORGANISATION_NAME` | `amcr.default_organisation_name` (`Neuvedeno`) |
//! | `AUTHMOUNT_MELDESCHEIN_TOKEN_LIFETIME` | `meldeschein.token_lifetime` (`5m`) |
//! | `AUTHMOUNT_MELDESCHEIN_QUERY_TOKEN` | `meldeschein.query_token` (`false`) |
//! | `AUTHMOUNT_OZ_ACCESS_IDLE_TTL` | `oz.access_idle_ttl` (`15m`) |
//! | `AUTHMOUNT_OZ_REFRESH_TTL` | `oz.refresh_ttl` (`30d`) |
//! | `AUTHMOUNT_OZ_REFRESH_REUSE_GRACE` | `oz.refresh_reuse_grace` (`10s`) |
//! | `AUTHMOUNT_TDAR_SESSION_KEY_NAME` | `tdar.session_key_name` (`session.tokenkey`) |
//! | `AUTHMOUNT_TDAR_IDLE_TIMEOUT` | `tdar.idle_timeout` (`30m`) |
//! | `AUTHMOUNT_TDAR_MAX_SESSION_LIFETIME` | `tdar.max_session_lifetime` (`8h`) |
//! | `AUTHMOUNT_MINISASS_ACCESS_LIFETIME` | `minisass.access_lifetime` (`1h`) |
//! | `AUTHMOUNT_MINISASS_REFRESH_LIFETIME` | `minisass.refresh_lifetime` (`1d`) |
//! | `AUTHMOUNT_MINISASS_REFRESH_REUSE_GRACE` | `minisass.refresh_reuse_grace` (`10s`) |
//! | `AUTHMOUNT_MINISASS_RESET_LINK_BASE` | `minisass.reset_link_base` (the server's own verify endpoint) |
//! | `AUTHMOUNT_MINISASS_FRONTEND_URL` | `minisass.frontend_url` (none: reset and activation links answer JSON) |
//! | `AUTHMOUNT_MINISASS_REQUIRE_ACTIVATION` | `minisass.require_activation` (`false`) |
//! | `AUTHMOUNT_MINISASS_PRIVACY_POLICY_VERSION` | `minisass.privacy_policy_version` (none: no policy to accept) |
//! | `AUTHMOUNT_MINISASS_PRIVACY_POLICY_LINK` | `minisass.privacy_policy_link` (none) |
//! | `AUTHMOUNT_JWT_SECRET` | `jwt.secret` (none: generated) |
//! | `AUTHMOUNT_JWT_SECRET_FILE` | `jwt.secret_file` (beside the SQLite database) |
//! | `AUTHMOUNT_COOKIES_SECURE` | `cookies.secure` (`false`: the tDAR and miniSASS cookies work over plain HTTP) |
//! | `AUTHMOUNT_LOCKOUT_MAX_FAILURES` | `lockout.max_failures` (`5`) |
//! | `AUTHMOUNT_LOCKOUT_WINDOW` | `lockout.window` (`15m`) |
//! | `AUTHMOUNT_SERVER_HEADER_READ_TIMEOUT` | `server.header_read_timeout` (`5s`: then a half-sent request, or an idle kept-alive connection, is closed) |
//! | `AUTHMOUNT_SERVER_BODY_READ_TIMEOUT` | `server.body_read_timeout` (`10s`) |
//! | `AUTHMOUNT_SERVER_MAX_CONNECTIONS` | `server.max_connections` (`25000`; per worker on actix-web) |
//! | `AUTHMOUNT_CACHE_ENABLED` | `cache.enabled` (`true`: the read cache in front of the stores) |
//! | `AUTHMOUNT_CACHE_CAPACITY` | `cache.capacity` (`100000` entries per cache) |
//! | `AUTHMOUNT_CACHE_MAX_STALENESS` | `cache.max_staleness` (`5s`: how late a change made outside authmount is seen) |
//! | `AUTHMOUNT_MAIL_SMTP` | `mail.smtp` (none: each message is a `.eml` file) |
//! | `AUTHMOUNT_MAIL_DIR` | `mail.dir` (`authmount-demo-mail` beside the SQLite database) |
//! | `AUTHMOUNT_MAIL_FROM` | `mail.from` (`authmount demo <noreply@example.org>`) |
//!
//! The effective configuration is printed at start with secrets as `****`. Without a configured
//! JWT secret, 32 random bytes are generated on first start and kept in `authmount-demo.secret`
//! (mode 0600) beside the SQLite database (or in the working directory), and reused on every
//! later start, so JWTs survive restarts. With `--tokens memory` the secret lives only as long as
//! the process (the log says so), as do the tokens.
//!
//! ## First start
//!
//! With an empty user store the server creates the user `demo` (e-mail `demo@example.org`, a
//! random password, Meldeschein grants for municipality, landlord and property 1) and prints its
//! credentials once, each dialect's URL and a ready-to-paste curl line that logs in (for tDAR,
//! a form login keeping the session cookie in `tdar-cookies.txt` and a second line that uses
//! it on `/api/whoami`). Later starts print the URLs only. Mail (miniSASS password-reset links)
//! is written as `.eml` files to `authmount-demo-mail/` beside the SQLite database, each file's
//! path logged, or delivered by SMTP with `--smtp URL` ([`mail`]).
//!
//! ## Routes
//!
//! Every dialect's endpoints ([`dialects`]), and:
//! - `GET /api/whoami`: `{"id", "username", "email"}` for a token of any mounted dialect, in any
//!   way that dialect carries it (`Authorization: Bearer` for AMCR and miniSASS,
//!   `Authorization: JWT` and `?jwt=` when enabled for Meldeschein, `X-Forensic-Access-Token`
//!   for Oz, the `session.tokenkey` cookie or query parameter for tDAR) — see [`whoami`];
//! - `POST /api/meldeschein/`: needs a Meldeschein JWT and a valid, granted `meta` object;
//!   answers 201 with the `meta` object echoed;
//! - `GET /`: a login page (tDAR form login, cookie session) and `GET /minisass.html`: miniSASS
//!   JWTs from JavaScript — see [`pages`];
//! - `GET /openapi.json`: the OpenAPI 3.1 document of every mounted dialect and the routes above
//!   ([`openapi`]), rendered at `GET /docs` by the vendored Swagger UI.
//!
//! ## Logs and shutdown
//!
//! Logs go to stderr through `tracing` (filter with `RUST_LOG`, default `info`). The access log
//! writes method, path, status and duration: never the query string (tokens may travel there),
//! and nothing logs tokens or passwords. SIGINT (Ctrl-C) and SIGTERM stop the server after
//! in-flight requests finish; the exit code is then 0.
//!
//! ## Exit codes
//!
//! 0 success, 1 runtime failure (store down, duplicate user, port taken), 2 usage or
//! configuration error ([`DemoError::exit_code`]).
//!
//! ```
//! use clap::Parser;
//! use authmount_demo::cli::Cli;
//! // What `main` does:
//! let cli = Cli::try_parse_from(["authmount-demo", "--users", "memory", "--tokens", "memory", "--addr", "127.0.0.1:0"])?;
//! # if false {
//! authmount_demo::init_logging();
//! authmount_demo::run(cli)?; // serves until Ctrl-C / SIGTERM
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod accounts;
pub mod app;
pub mod cli;
pub mod config;
pub mod dialects;
mod error;
pub mod mail;
pub mod openapi;
pub mod pages;
pub mod secret;
pub mod server;
pub mod stores;
pub mod useradd;
pub mod whoami;

pub use error::DemoError;

use cli::{Cli, Command};
use server::ServeOptions;

/// Sets up logging to stderr, filtered by `RUST_LOG` (default `info`; SQL statements only at
/// `sqlx=debug`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs what the command line asks for: serve, or `useradd`.
pub fn run(cli: Cli) -> Result<(), DemoError> {
    match &cli.command {
        Some(Command::Useradd(args)) => server::useradd(&cli.users, args, &mut std::io::stdin().lock()),
        Some(Command::Users(args)) => {
            accounts::run(&cli.users, &cli.tokens, &args.action, &mut std::io::stdout().lock())
        }
        None => server::serve(&ServeOptions {
            addr: cli.addr,
            framework: cli.framework,
            users: cli.users,
            tokens: cli.tokens,
            config: cli.config,
            smtp: cli.smtp,
        }),
    }
}
