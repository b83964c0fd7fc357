//! Real PostgreSQL and Redis behind the conformance servers: the pieces of the multi-instance
//! and fail-closed suites (`tests/tests/multi_instance.rs`, `tests/tests/fail_closed.rs`).
//!
//! - [`service_urls`] reads `DATABASE_URL` and `REDIS_URL`: unset means skip with a notice,
//!   except under `CI=true`, where it is a failure (CI must not skip these suites silently).
//! - [`Stores`] connects the stores of one deployment: users in PostgreSQL, tokens and counters
//!   in Redis ([`TokenBackend::Redis`]) or in PostgreSQL too ([`TokenBackend::Postgres`]), each
//!   run in a fresh schema and a fresh key prefix ([`Names`]).
//! - [`seed_accounts`] creates an active and a deactivated account with random usernames.
//! - [`Instance`] is one app process: its own [`Services`] (its own password service), its own
//!   dialect values (their own verified-JWT caches), over shared stores.
//! - [`Proxy`] is a TCP proxy the test stops and starts, to cut a store off from the servers
//!   without touching the database or Redis other tests use.
//!
//! ```no_run
//! # async fn example() {
//! use authmount_conformance::shared_stores::{Instance, Names, Stores, TokenBackend, service_urls};
//! let Some(urls) = service_urls() else { return };
//! let names = Names::fresh();
//! let stores = Stores::connect(&urls, &names, TokenBackend::Redis).await;
//! let a = Instance::new(&stores);
//! let b = Instance::new(&stores);
//! # let _ = (a, b);
//! names.drop_schema(&urls.database).await;
//! # }
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::cache::{InvalidationBus, ReadCache, ReadCacheConfig};
use authmount::clock::{SharedClock, SystemClock};
use authmount::dialect::Dialects;
use authmount::dialect::minisass::MinisassConfig;
use authmount::mailer::OutboxMailer;
use authmount::password::{Argon2Params, Argon2idHasher, PasswordHasher, PasswordService};
use authmount::services::Services;
use authmount::store::{CounterStore, TokenStore, UserStore};
use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
use authmount::user::{NewUser, ProfileUpdate, User};
use authmount_redis::{RedisOptions, RedisStore};
use authmount_sqlx::{PostgresStore, StoreOptions};
use serde_json::json;

use crate::fixture::{MINISASS_RESET_BASE, PASSWORD, context};
use crate::servers::TestApp;

/// The TCP proxy that cuts a store off, and the service URL pointed at it (shared with the store
/// crates' own outage tests).
pub use authmount_test_support::{Proxy, through};

/// The secret of the key ring every instance shares (JWTs signed by one verify on another).
const SHARED_JWT_SECRET: &[u8] = b"multi-instance-suite-secret-32-bytes!";

/// The group whose members may use the tDAR API (as in the conformance fixture).
pub use crate::fixture::TDAR_GROUP;

/// Where the two services are.
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    /// `DATABASE_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`.
    pub database: String,
    /// `REDIS_URL`, e.g. `redis://127.0.0.1:6379`.
    pub redis: String,
}

/// `DATABASE_URL` and `REDIS_URL`, or `None` (with a notice) when either is unset. Under
/// `CI=true` an unset URL fails the test instead.
pub fn service_urls() -> Option<ServiceUrls> {
    let read = |name: &str| std::env::var(name).ok().filter(|url| !url.is_empty());
    match (read("DATABASE_URL"), read("REDIS_URL")) {
        (Some(database), Some(redis)) => Some(ServiceUrls { database, redis }),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "DATABASE_URL or REDIS_URL is not set, and CI=true: these tests must run in CI");
            eprintln!("notice: DATABASE_URL or REDIS_URL is not set; skipping this PostgreSQL/Redis test");
            None
        }
    }
}

/// A random lowercase hex string of 16 characters (64 bits): names that never collide.
pub fn random_hex() -> String {
    let id = authmount::token::random_id().expect("the system's random source works");
    let digest = authmount::token::TokenHash::of(&id).to_hex();
    digest[..16].to_owned()
}

/// The PostgreSQL schema and Redis key prefix of one deployment (one test).
#[derive(Debug, Clone)]
pub struct Names {
    /// `authmount_test_<unix seconds>_<random>`; schemas of this form older than an hour are
    /// dropped by the sqlx crate's tests and by [`Names::drop_schema`].
    pub schema: String,
    /// `authmount-test-<random>:`.
    pub prefix: String,
}

impl Names {
    /// Fresh random names.
    pub fn fresh() -> Self {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Self {
            schema: format!("authmount_test_{now}_{}", random_hex()),
            prefix: format!("authmount-test-{}:", random_hex()),
        }
    }

    /// Drops the schema (and stale ones of earlier runs, over an hour old). Best effort.
    pub async fn drop_schema(&self, database_url: &str) {
        use sqlx::{Connection, Row};
        let Ok(mut conn) = sqlx::PgConnection::connect(database_url).await else {
            return;
        };
        let _ =
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema)))
                .execute(&mut conn)
                .await;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let rows = sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'authmount\\_test\\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        for row in rows {
            let name: String = row.get(0);
            let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(now);
            if now.saturating_sub(created) > 3_600 {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")))
                    .execute(&mut conn)
                    .await;
            }
        }
        let _ = conn.close().await;
    }
}

/// Where a deployment keeps tokens, revocations and counters (users are always in PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBackend {
    /// Redis.
    Redis,
    /// PostgreSQL, the same database as the users.
    Postgres,
}

/// The stores one deployment's instances share.
#[derive(Clone)]
pub struct Stores {
    /// Accounts (PostgreSQL).
    pub users: Arc<dyn UserStore>,
    /// Tokens, sessions, revocations.
    pub tokens: Arc<dyn TokenStore>,
    /// Lockout and rate-limit counters.
    pub counters: Arc<dyn CounterStore>,
}

impl Stores {
    /// Connects new pools and connections to the deployment's schema and prefix (a restarted
    /// instance calls this again and finds everything written before).
    pub async fn connect(urls: &ServiceUrls, names: &Names, backend: TokenBackend) -> Self {
        let users = Arc::new(postgres(&urls.database, names, StoreOptions::new()).await);
        match backend {
            TokenBackend::Postgres => Self { users: users.clone(), tokens: users.clone(), counters: users },
            TokenBackend::Redis => {
                let redis = Arc::new(redis(&urls.redis, names, RedisOptions::default()).await);
                Self { users, tokens: redis.clone(), counters: redis }
            }
        }
    }
}

/// A PostgreSQL store in `names.schema` (created and migrated on first use), at most 5
/// connections.
pub async fn postgres(database_url: &str, names: &Names, options: StoreOptions) -> PostgresStore {
    let options = options.max_connections(5).schema(names.schema.clone());
    PostgresStore::connect_with(database_url, options).await.expect("PostgreSQL at DATABASE_URL is reachable")
}

/// A Redis store under `names.prefix`.
pub async fn redis(redis_url: &str, names: &Names, options: RedisOptions) -> RedisStore {
    RedisStore::connect_with(redis_url, options.prefix(names.prefix.clone()))
        .await
        .expect("Redis at REDIS_URL is reachable")
}

/// The accounts a deployment's tests use, with random usernames.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Active, in [`TDAR_GROUP`], with Meldeschein grants; password [`PASSWORD`].
    pub ann: User,
    /// Deactivated; password [`PASSWORD`].
    pub ivan: User,
    /// An administrator (the admin API); password [`PASSWORD`].
    pub admin: User,
}

/// Creates the accounts in `users` (hashing with cheap test parameters).
pub async fn seed_accounts(users: &dyn UserStore) -> Accounts {
    let hasher = test_hasher();
    let hash = hasher.hash(PASSWORD.as_bytes()).expect("hashes");
    let now = SystemTime::now();
    let name = format!("ann-{}", random_hex());
    let ann = NewUser::new(&name, now)
        .with_email(format!("{name}@example.org"))
        .with_names("Ann", "Novák")
        .with_password_hash(hash.clone())
        .with_attribute("osoba", json!({"id": "OS-1", "name": "Novák, Ann"}))
        .with_attribute("meldeschein", json!({"gemeinden": [1, 2], "vermieter": [1], "objekte": [1, 3]}));
    let ann = users.create(ann).await.expect("ann");
    let groups = ProfileUpdate { groups: Some(vec![TDAR_GROUP.into()]), ..Default::default() };
    let ann = users.update_profile(ann.id, groups).await.expect("groups");
    let name = format!("ivan-{}", random_hex());
    let ivan = NewUser::new(&name, now).with_email(format!("{name}@example.org")).with_password_hash(hash);
    let ivan = users.create(ivan).await.expect("ivan");
    let inactive = ProfileUpdate { is_active: Some(false), ..Default::default() };
    let ivan = users.update_profile(ivan.id, inactive).await.expect("deactivated");
    let name = format!("root-{}", random_hex());
    let hash = hasher.hash(PASSWORD.as_bytes()).expect("hashes");
    let mut admin =
        NewUser::new(&name, now).with_email(format!("{name}@example.org")).with_password_hash(hash);
    admin.is_admin = true;
    let admin = users.create(admin).await.expect("admin");
    Accounts { ann, ivan, admin }
}

fn test_hasher() -> Arc<Argon2idHasher> {
    // Cheap hashing parameters: these suites test behaviour; the benchmarks measure cost.
    Arc::new(
        Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).expect("test params"),
    )
}

/// One app process over shared stores: its own services, password service, dialects (and so
/// its own verified-JWT caches) and mail outbox.
#[derive(Clone)]
pub struct Instance {
    /// This instance's services (the stores are the shared ones).
    pub services: Services,
    /// What its servers serve: every dialect and the `/app/<dialect>/whoami` routes.
    pub app: TestApp,
    /// Where its miniSASS reset mails go (links start with [`MINISASS_RESET_BASE`]).
    pub outbox: OutboxMailer,
}

impl Instance {
    /// Builds an instance on `stores`, on the system clock, signing JWTs with the key ring every
    /// instance shares.
    pub fn new(stores: &Stores) -> Self {
        Self::on(
            Services::new(stores.users.clone(), stores.tokens.clone(), stores.counters.clone())
                .expect("services"),
        )
    }

    /// Builds an instance as [`new`](Self::new) does, with a read cache in front of the shared
    /// stores that listens on `bus` (the other instances' changes) and publishes its own there.
    /// Returns the cache too (to see whether it is in use).
    pub fn with_cache(stores: &Stores, bus: Arc<dyn InvalidationBus>) -> (Self, ReadCache) {
        let cache =
            ReadCache::new(ReadCacheConfig { heartbeat: Duration::from_millis(100), ..Default::default() });
        cache.attach(bus);
        let services = Services::new(stores.users.clone(), stores.tokens.clone(), stores.counters.clone())
            .expect("services")
            .with_read_cache(&cache);
        (Self::on(services), cache)
    }

    fn on(services: Services) -> Self {
        let clock: SharedClock = Arc::new(SystemClock);
        let services = services.with_passwords(PasswordService::new(test_hasher()));
        let key = JwtKey::hs256(SHARED_JWT_SECRET).expect("key");
        let jwt = JwtService::new(KeyRing::new("k1", key).expect("ring"), clock);
        let outbox = OutboxMailer::new();
        // No reuse grace period: these suites replay a just-rotated refresh token at once to see
        // the revocation cross instances (the grace period has its own cases, on a manual clock).
        let context = context(&services, jwt, &outbox).with_config(MinisassConfig {
            reset_link_base: MINISASS_RESET_BASE.to_owned(),
            refresh_reuse_grace: Duration::ZERO,
            ..MinisassConfig::default()
        });
        let dialects = Dialects::built_in(&context).expect("dialects");
        let app = TestApp::new(&dialects, &services);
        Self { services, app, outbox }
    }
}

/// How long to wait for a store to come back in the recovery checks.
pub const RECOVERY_DEADLINE: Duration = Duration::from_secs(15);
