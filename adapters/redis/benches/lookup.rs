//! The cost of an opaque-token lookup (`TokenStore::get`) in Redis over loopback: criterion's
//! median, then p50/p99 of a plain timed loop of sequential lookups.
//!
//! Then, under load (`support/load.rs`, lines starting `load:`): lookups/s with 1, 16 and 64
//! concurrent tasks on a multi-thread runtime and the latency each lookup adds, and logins/s
//! (users in memory, argon2id at the default parameters, the issued token stored in Redis).
//! `AUTHMOUNT_BENCH_LOAD=0` skips this part.
//!
//! Needs `REDIS_URL` (e.g. `redis://127.0.0.1:6379`); without it the bench prints a notice and
//! measures nothing. Keys go under a random prefix and expire within an hour.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo bench -p authmount-redis --bench lookup -- --warm-up-time 1 --measurement-time 3
//! ```

#[path = "../../sqlx/benches/support/load.rs"]
mod load;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use authmount::store::{MemoryUserStore, TokenKind, TokenRecord, TokenStore, UserStore};
use authmount::token::TokenHash;
use authmount::user::UserId;
use authmount_redis::{RedisOptions, RedisStore};
use criterion::{Criterion, criterion_group, criterion_main};

/// Sessions stored before measuring, so lookups hit a populated keyspace.
const RESIDENT_TOKENS: u64 = 10_000;
/// Lookups in the timed loop that yields p50/p99.
const TIMED_LOOKUPS: usize = 20_000;

fn lookups(c: &mut Criterion) {
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("REDIS_URL is not set: skipping the Redis lookup benchmark");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let prefix = format!("{}:", authmount::conformance::unique("authmount-bench"));
    let store = Arc::new(
        runtime
            .block_on(RedisStore::connect_with(&url, RedisOptions::default().prefix(prefix)))
            .expect("Redis at REDIS_URL is reachable"),
    );
    let now = SystemTime::now();
    let hour = Duration::from_secs(3_600);
    runtime.block_on(async {
        for i in 0..RESIDENT_TOKENS {
            let record = TokenRecord::new(TokenKind::Access, UserId(i as i64), "amcr", now, hour)
                .in_family(format!("family-{i}"))
                .with_data("session_id", i);
            store.put(TokenHash::of(&format!("token-{i}")), record).await.expect("stored");
        }
    });
    let hash = TokenHash::of("token-4242");

    c.bench_function("redis store get (hash given, loopback)", |b| {
        b.iter(|| runtime.block_on(store.get(&hash)).expect("lookup").expect("live"))
    });

    let mut samples = Vec::with_capacity(TIMED_LOOKUPS);
    runtime.block_on(async {
        for i in 0..TIMED_LOOKUPS {
            let hash = TokenHash::of(&format!("token-{}", i as u64 % RESIDENT_TOKENS));
            let started = Instant::now();
            let found = store.get(&hash).await.expect("lookup");
            samples.push(started.elapsed());
            assert!(found.is_some());
        }
    });
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "redis store get, {TIMED_LOOKUPS} sequential lookups over {RESIDENT_TOKENS} resident tokens: \
         p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

/// Lookups and logins under load, on a multi-thread runtime with its own connection.
fn under_load(_: &mut Criterion) {
    if std::env::var("AUTHMOUNT_BENCH_LOAD").is_ok_and(|v| v == "0") {
        return;
    }
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("REDIS_URL is not set: skipping the Redis load run");
        return;
    };
    let runtime = load::runtime();
    let prefix = format!("{}:", authmount::conformance::unique("authmount-load"));
    let store = runtime
        .block_on(RedisStore::connect_with(&url, RedisOptions::default().prefix(prefix)))
        .expect("Redis at REDIS_URL is reachable");
    let users: Arc<dyn UserStore> = Arc::new(MemoryUserStore::new());
    load::run("redis", &runtime, users, Arc::new(store), &authmount::conformance::unique("redis"));
}

criterion_group!(benches, lookups, under_load);
criterion_main!(benches);
