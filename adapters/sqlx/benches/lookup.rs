//! The hot-path lookups of the SQL stores: an opaque token `get` (every request carrying an
//! opaque token) and the login-path `find_by_login`, on SQLite (a file) and PostgreSQL
//! (`DATABASE_URL`; skipped when unset).
//!
//! Criterion reports the mean/median; after each criterion group a plain timed loop prints
//! percentiles (p50, p99, p99.9), since tail latency is what a login or API call feels.
//!
//! Then, under load (`support/load.rs`, lines starting `load:`): token lookups/s with 1, 16
//! and 64 concurrent tasks and the latency each lookup adds, and logins/s with real argon2id,
//! on the memory stores, a SQLite file and PostgreSQL (`AUTHMOUNT_BENCH_LOAD=0` skips this).
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p authmount-sqlx --bench lookup -- --warm-up-time 1 --measurement-time 3
//! ```

#[path = "support/load.rs"]
mod load;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use authmount::clock::Clock;
use authmount::store::{MemoryTokenStore, MemoryUserStore, TokenKind, TokenRecord, TokenStore, UserStore};
use authmount::token::TokenHash;
use authmount::user::{NewUser, UserId};
use authmount_sqlx::{PostgresStore, SqliteStore, StoreOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Rows already in the tables when measuring: lookups in populated indexes, not empty ones.
const RESIDENT_TOKENS: i64 = 100_000;
const RESIDENT_USERS: i64 = 10_000;
/// Iterations of the percentile loop.
const SAMPLES: usize = 20_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn now_ms() -> i64 {
    let now = authmount::clock::SystemClock.now();
    i64::try_from(now.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_millis()).expect("fits")
}

/// The known token and login the benchmark looks up, stored through the port.
async fn seed_known<S: TokenStore + UserStore>(store: &S) -> (TokenHash, String) {
    let hash = TokenHash::of(&authmount::conformance::unique("bench-token"));
    let record = TokenRecord::new(
        TokenKind::Access,
        UserId(4242),
        "amcr",
        SystemTime::now(),
        Duration::from_secs(3_600),
    );
    store.put(hash, record).await.expect("put");
    let login = authmount::conformance::unique("Bench-User");
    store
        .create(
            NewUser::new(&login, SystemTime::now())
                .with_email(format!("{login}@example.org"))
                .with_attribute("osoba", serde_json::json!({"id": "OS-1"})),
        )
        .await
        .expect("create");
    (hash, login.to_uppercase())
}

fn percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index]
    };
    println!(
        "{label:<40} n={} p50={:?} p99={:?} p99.9={:?} max={:?}",
        samples.len(),
        at(0.50),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

fn measure<S: TokenStore + UserStore>(
    c: &mut Criterion,
    runtime: &Runtime,
    backend: &str,
    store: &S,
    hash: TokenHash,
    login: &str,
) {
    c.bench_function(&format!("{backend} token get"), |b| {
        b.iter(|| runtime.block_on(TokenStore::get(store, &hash)).expect("lookup").expect("live"))
    });
    c.bench_function(&format!("{backend} find_by_login"), |b| {
        b.iter(|| runtime.block_on(store.find_by_login(login)).expect("lookup").expect("found"))
    });
    let mut token_samples = Vec::with_capacity(SAMPLES);
    let mut login_samples = Vec::with_capacity(SAMPLES);
    runtime.block_on(async {
        for _ in 0..SAMPLES {
            let started = Instant::now();
            TokenStore::get(store, &hash).await.expect("lookup");
            token_samples.push(started.elapsed());
            let started = Instant::now();
            store.find_by_login(login).await.expect("lookup");
            login_samples.push(started.elapsed());
        }
    });
    percentiles(&format!("{backend} token get"), token_samples);
    percentiles(&format!("{backend} find_by_login"), login_samples);
}

/// A SQLite file store holding the resident tokens and users.
async fn sqlite_store(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path).await.expect("open");
    let (now, later) = (now_ms(), now_ms() + 3_600_000);
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO tokens (hash, kind, user_id, audience, issued_at, expires_at, data) \
         SELECT randomblob(32), 'access', i, 'amcr', ?2, ?3, '{}' FROM n",
    )
    .bind(RESIDENT_TOKENS)
    .bind(now)
    .bind(later)
    .execute(store.pool())
    .await
    .expect("resident tokens");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO users (username, email, created_at) \
         SELECT 'resident-' || i, 'resident-' || i || '@example.org', ?2 FROM n",
    )
    .bind(RESIDENT_USERS)
    .bind(now)
    .execute(store.pool())
    .await
    .expect("resident users");
    sqlx::query(
        "INSERT INTO user_logins (login_key, user_id) \
         SELECT username, id FROM users WHERE username LIKE 'resident-%' \
         UNION ALL SELECT email, id FROM users WHERE username LIKE 'resident-%'",
    )
    .execute(store.pool())
    .await
    .expect("resident logins");
    store
}

fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

fn sqlite(c: &mut Criterion) {
    let runtime = runtime();
    let path = std::env::temp_dir().join(format!("{}.db", authmount::conformance::unique("authmount-bench")));
    let store = runtime.block_on(sqlite_store(&path));
    let (hash, login) = runtime.block_on(seed_known(&store));
    measure(c, &runtime, "sqlite", &store, hash, &login);
    runtime.block_on(store.pool().close());
    remove_sqlite_files(&path);
}

/// A PostgreSQL store in `schema` holding the resident tokens and users.
async fn postgres_store(url: &str, schema: &str) -> PostgresStore {
    let options = StoreOptions::new().schema(schema);
    let store = PostgresStore::connect_with(url, options).await.expect("connect");
    let (now, later) = (now_ms(), now_ms() + 3_600_000);
    sqlx::query(
        "INSERT INTO tokens (hash, kind, user_id, audience, issued_at, expires_at, data) \
         SELECT sha256(convert_to($4 || i, 'UTF8')), 'access', i, 'amcr', $2, $3, '{}' \
         FROM generate_series(1, $1::bigint) AS i",
    )
    .bind(RESIDENT_TOKENS)
    .bind(now)
    .bind(later)
    .bind(schema)
    .execute(store.pool())
    .await
    .expect("resident tokens");
    sqlx::query(
        "INSERT INTO users (username, email, created_at) \
         SELECT 'resident-' || i, 'resident-' || i || '@example.org', $2 \
         FROM generate_series(1, $1::bigint) AS i",
    )
    .bind(RESIDENT_USERS)
    .bind(now)
    .execute(store.pool())
    .await
    .expect("resident users");
    sqlx::query(
        "INSERT INTO user_logins (login_key, user_id) \
         SELECT username, id FROM users WHERE username LIKE 'resident-%' \
         UNION ALL SELECT email, id FROM users WHERE username LIKE 'resident-%'",
    )
    .execute(store.pool())
    .await
    .expect("resident logins");
    sqlx::query("ANALYZE").execute(store.pool()).await.expect("analyze");
    store
}

async fn drop_postgres(store: &PostgresStore, schema: &str) {
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .execute(store.pool())
        .await;
    store.pool().close().await;
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set: skipping the PostgreSQL benchmarks");
        return;
    };
    let runtime = runtime();
    let schema = authmount::conformance::unique("authmount_bench").replace('-', "_");
    let store = runtime.block_on(postgres_store(&url, &schema));
    let (hash, login) = runtime.block_on(seed_known(&store));
    measure(c, &runtime, "postgres", &store, hash, &login);
    runtime.block_on(drop_postgres(&store, &schema));
}

/// Under load (timed loops, not criterion): token lookups/s with 1, 16 and 64 concurrent tasks
/// and the latency each adds, and logins/s with real argon2id, on the memory stores (the
/// baseline), a SQLite file and PostgreSQL, each on a multi-thread runtime as in a server.
/// Lines start with `load:`. `AUTHMOUNT_BENCH_LOAD=0` skips them.
fn under_load(_: &mut Criterion) {
    if std::env::var("AUTHMOUNT_BENCH_LOAD").is_ok_and(|v| v == "0") {
        return;
    }
    let runtime = load::runtime();
    let users: Arc<dyn UserStore> = Arc::new(MemoryUserStore::new());
    let tokens: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    load::run("memory", &runtime, users, tokens, &authmount::conformance::unique("memory"));

    let path = std::env::temp_dir().join(format!("{}.db", authmount::conformance::unique("authmount-load")));
    let store = runtime.block_on(sqlite_store(&path));
    let shared = Arc::new(store.clone());
    load::run("sqlite", &runtime, shared.clone(), shared, &authmount::conformance::unique("sqlite"));
    runtime.block_on(store.pool().close());
    remove_sqlite_files(&path);

    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set: skipping the PostgreSQL load run");
        return;
    };
    let schema = authmount::conformance::unique("authmount_load").replace('-', "_");
    let store = runtime.block_on(postgres_store(&url, &schema));
    let shared = Arc::new(store.clone());
    load::run("postgres", &runtime, shared.clone(), shared, &authmount::conformance::unique("postgres"));
    runtime.block_on(drop_postgres(&store, &schema));
}

criterion_group!(benches, sqlite, postgres, under_load);
criterion_main!(benches);
