//! The server the load benchmarks drive (see BENCHMARKS.md and `bench/`).
//!
//! `authmount-bench-server [axum|actix] [ADDR] [--tokens memory|sqlite:PATH|redis://...]
//! [--prefill N] [--cache CAPACITY] [--hash-permits N] [--hash-niceness N]` serves, on the chosen framework:
//! - `GET /plain`: no authentication (the baseline);
//! - `GET /jwt`: behind the Meldeschein gate (`Authorization: JWT <t>`: signature, claims,
//!   revocation list, active user);
//! - `GET /opaque`: behind the AMCR gate (`Authorization: Bearer <t>`: token store, active user),
//!   on the token store named by `--tokens` (default `memory`);
//! - `POST /api/token-auth/`: AMCR's login (user `bench`, password [`PASSWORD`]; the account
//!   lockout is off so a flood of logins is never refused).
//!
//! Each protected route answers `ok`. On start it prints `VERIFY_MS=<ms>` (one argon2id verify
//! at the default parameters, the median of a few), `JWT=<token>` and `OPAQUE=<token>` for the
//! user it creates, then `READY`. `--prefill N` first stores N more live opaque tokens (for the
//! memory benchmark); `--cache CAPACITY` puts a read cache of that capacity in front of the
//! stores (prefilled tokens then land in it too); `--hash-permits N` lets N password hashes run at once instead of one per
//! core; `--hash-niceness N` runs the hashing threads N below normal priority instead of 19; `authmount-bench-server --measure-hash` only prints `VERIFY_MS=` and exits.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use authmount::abuse::LoginLimits;
use authmount::api::{Api, Gate};
use authmount::dialect::Dialect;
use authmount::dialect::amcr::{Amcr, AmcrConfig};
use authmount::dialect::meldeschein::{Meldeschein, MeldescheinConfig};
use authmount::password::{Argon2Params, Argon2idHasher, PasswordHasher, PasswordService};
use authmount::services::Services;
use authmount::store::{
    MemoryCounterStore, MemoryTokenStore, MemoryUserStore, TokenKind, TokenRecord, TokenStore,
};
use authmount::token::OpaqueToken;
use authmount::token::TokenHash;
use authmount::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
use authmount::user::NewUser;

/// The bench user's password (long enough for the policy, not a common password).
pub const PASSWORD: &str = "bench-correct-horse-battery-staple";

struct Gates {
    jwt: Gate,
    opaque: Gate,
    login: Api,
}

/// The command line after the framework and the address.
struct Options {
    tokens: String,
    prefill: u64,
    /// The read cache's capacity, if one is used.
    cache: Option<usize>,
    /// Password hashes allowed at once (default: one per core).
    hash_permits: Option<usize>,
    /// Nice increment of the hashing threads (default: the service's, +19).
    hash_niceness: Option<u8>,
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn token_store(spec: &str) -> Result<Arc<dyn TokenStore>, AnyError> {
    if spec == "memory" {
        Ok(Arc::new(MemoryTokenStore::new()))
    } else if let Some(path) = spec.strip_prefix("sqlite:") {
        let _ = std::fs::remove_file(path);
        Ok(Arc::new(authmount_sqlx::SqliteStore::open(path).await?))
    } else if spec.starts_with("redis://") {
        Ok(Arc::new(authmount_redis::RedisStore::connect(spec).await?))
    } else {
        Err(format!("unknown token store {spec:?}: memory, sqlite:PATH or redis://...").into())
    }
}

/// Milliseconds of one argon2id verify at the default parameters (median of 15, after 3 warm-ups).
fn measure_verify() -> Result<f64, AnyError> {
    let hasher = Argon2idHasher::new(Argon2Params::default())?;
    let phc = hasher.hash(PASSWORD.as_bytes())?;
    for _ in 0..3 {
        let _warm_up = hasher.verify(PASSWORD.as_bytes(), &phc)?;
    }
    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            let verified = hasher.verify(PASSWORD.as_bytes(), &phc);
            assert!(verified.is_ok_and(|v| v.is_match()));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

async fn set_up(options: &Options) -> Result<Gates, AnyError> {
    println!("VERIFY_MS={:.3}", measure_verify()?);
    let tokens = token_store(&options.tokens).await?;
    let limits = LoginLimits { account: None, per_client: None, ..LoginLimits::default() };
    let services =
        Services::new(Arc::new(MemoryUserStore::new()), tokens, Arc::new(MemoryCounterStore::new()))?
            .with_limits(limits);
    let services =
        match options.cache {
            Some(capacity) => services.with_read_cache(&authmount::cache::ReadCache::new(
                authmount::cache::ReadCacheConfig { capacity, ..Default::default() },
            )),
            None => services,
        };
    let services = if options.hash_permits.is_some() || options.hash_niceness.is_some() {
        let hasher = Arc::new(Argon2idHasher::new(Argon2Params::default())?);
        let mut passwords = PasswordService::builder(hasher);
        if let Some(permits) = options.hash_permits {
            passwords = passwords.max_concurrency(permits);
        }
        if let Some(niceness) = options.hash_niceness {
            passwords = passwords.hashing_niceness(niceness);
        }
        services.with_passwords(passwords.build()?)
    } else {
        services
    };
    let hash = services.passwords.hash_new_password(PASSWORD).await?;
    let user =
        services.users.create(NewUser::new("bench", SystemTime::now()).with_password_hash(hash)).await?;

    let jwt = JwtService::new(KeyRing::new("bench", JwtKey::hs256(&[42; 32])?)?, services.clock.clone());
    let claims = jwt
        .new_claims(user.id, TokenType::Access, std::time::Duration::from_secs(86_400))?
        .with_audience(authmount::dialect::meldeschein::AUDIENCE);
    println!("JWT={}", jwt.sign(&claims)?);

    let opaque = OpaqueToken::generate()?;
    let record = TokenRecord::new(
        TokenKind::Access,
        user.id,
        authmount::dialect::amcr::AUDIENCE,
        SystemTime::now(),
        std::time::Duration::from_secs(86_400),
    );
    services.tokens.put(opaque.hash(), record.clone()).await?;
    println!("OPAQUE={}", opaque.as_str());
    for i in 0..options.prefill {
        services.tokens.put(TokenHash::of(&format!("prefill-{i}")), record.clone()).await?;
    }

    let meldeschein = Meldeschein::new(services.clone(), jwt, MeldescheinConfig::default());
    let amcr = Amcr::new(services, AmcrConfig::default());
    Ok(Gates { jwt: meldeschein.gate(), opaque: amcr.gate(), login: amcr.api() })
}

fn main() -> Result<(), AnyError> {
    let mut args = std::env::args().skip(1);
    let framework = args.next().unwrap_or_else(|| "axum".into());
    if framework == "--measure-hash" {
        println!("VERIFY_MS={:.3}", measure_verify()?);
        return Ok(());
    }
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let mut options =
        Options { tokens: "memory".into(), prefill: 0, cache: None, hash_permits: None, hash_niceness: None };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tokens" => options.tokens = value,
            "--prefill" => options.prefill = value.parse()?,
            "--cache" => options.cache = Some(value.parse()?),
            "--hash-permits" => options.hash_permits = Some(value.parse()?),
            "--hash-niceness" => options.hash_niceness = Some(value.parse()?),
            other => return Err(format!("unknown flag {other:?}").into()),
        }
    }
    match framework.as_str() {
        "axum" => serve_axum(&addr, &options),
        "actix" => serve_actix(&addr, &options),
        other => Err(format!("unknown framework {other:?}: axum or actix").into()),
    }
}

fn serve_axum(addr: &str, options: &Options) -> Result<(), AnyError> {
    use authmount_axum::{AuthLayer, AuthUser};
    use axum::{Router, routing::get};

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let gates = set_up(options).await?;
        let ok = |_user: AuthUser| async { "ok" };
        let app = Router::new()
            .route("/plain", get(|| async { "ok" }))
            .merge(Router::new().route("/jwt", get(ok)).layer(AuthLayer::new(gates.jwt)))
            .merge(Router::new().route("/opaque", get(ok)).layer(AuthLayer::new(gates.opaque)))
            .merge(authmount_axum::router(gates.login));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("READY");
        axum::serve(listener, app).await?;
        Ok(())
    })
}

fn serve_actix(addr: &str, options: &Options) -> Result<(), AnyError> {
    use actix_web::{App, HttpServer, web};
    use authmount_actix::{AuthMiddleware, AuthUser};

    actix_web::rt::System::new().block_on(async {
        let gates = Arc::new(set_up(options).await?);
        let server = HttpServer::new(move || {
            App::new()
                .route("/plain", web::get().to(|| async { "ok" }))
                .service(
                    web::resource("/jwt")
                        .wrap(AuthMiddleware::new(gates.jwt.clone()))
                        .route(web::get().to(|_user: AuthUser| async { "ok" })),
                )
                .service(
                    web::resource("/opaque")
                        .wrap(AuthMiddleware::new(gates.opaque.clone()))
                        .route(web::get().to(|_user: AuthUser| async { "ok" })),
                )
                .configure(authmount_actix::configure(gates.login.clone()))
        })
        .bind(addr)?;
        println!("READY");
        server.run().await?;
        Ok(())
    })
}
