//! The read cache's hit path, and the two cache crates it was chosen between.
//!
//! `cargo bench -p authmount --bench cache` measures the wrappers over the memory stores (the
//! cache's own cost: a hit against a plain in-memory lookup). With `--features compare-moka`
//! it also measures a hit and an insert in `quick_cache` and in `moka`, holding what the token
//! cache holds (a 32-byte hash key, a shared record), 100,000 entries resident.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::cache::{ReadCache, ReadCacheConfig};
use authmount::clock::SystemClock;
use authmount::store::{MemoryTokenStore, MemoryUserStore, TokenKind, TokenRecord, TokenStore, UserStore};
use authmount::token::TokenHash;
use authmount::user::{NewUser, UserId};
use criterion::{Criterion, criterion_group, criterion_main};

const RESIDENT: u64 = 100_000;

fn record(i: u64) -> TokenRecord {
    TokenRecord::new(
        TokenKind::Access,
        UserId(i as i64),
        "amcr",
        SystemTime::now(),
        Duration::from_secs(3_600),
    )
}

fn read_cache_hits(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let memory = Arc::new(MemoryTokenStore::new());
    let cache = ReadCache::new(ReadCacheConfig { capacity: 200_000, ..ReadCacheConfig::default() });
    let cached = cache.tokens(memory.clone(), Arc::new(SystemClock));
    runtime.block_on(async {
        for i in 0..RESIDENT {
            cached.put(TokenHash::of(&format!("token-{i}")), record(i)).await.expect("stored");
        }
    });
    let hash = TokenHash::of("token-4242");
    c.bench_function("token touch: memory store", |b| {
        b.iter(|| runtime.block_on(memory.touch(&hash)).expect("up").expect("live"))
    });
    c.bench_function("token touch: read cache hit", |b| {
        b.iter(|| runtime.block_on(cached.touch(&hash)).expect("up").expect("live"))
    });
    c.bench_function("jwt revoked?: memory store", |b| {
        b.iter(|| runtime.block_on(memory.is_jwt_revoked("jti-1", Some("family-1"))).expect("up"))
    });
    c.bench_function("jwt revoked?: read cache hit", |b| {
        b.iter(|| runtime.block_on(cached.is_jwt_revoked("jti-1", Some("family-1"))).expect("up"))
    });

    let users = Arc::new(MemoryUserStore::new());
    let cached_users = cache.users(users.clone());
    let user = runtime
        .block_on(users.create(NewUser::new("bench", SystemTime::now()).with_email("bench@example.org")))
        .expect("user");
    c.bench_function("user get_shared: memory store", |b| {
        b.iter(|| runtime.block_on(users.get_shared(user.id)).expect("up").expect("exists"))
    });
    c.bench_function("user get_shared: read cache hit", |b| {
        b.iter(|| runtime.block_on(cached_users.get_shared(user.id)).expect("up").expect("exists"))
    });
}

#[cfg(feature = "compare-moka")]
fn cache_crates(c: &mut Criterion) {
    let records: Vec<(TokenHash, Arc<TokenRecord>)> =
        (0..RESIDENT).map(|i| (TokenHash::of(&format!("token-{i}")), Arc::new(record(i)))).collect();
    let quick = quick_cache::sync::Cache::<TokenHash, Arc<TokenRecord>>::new(200_000);
    let moka = moka::sync::Cache::<TokenHash, Arc<TokenRecord>>::new(200_000);
    for (hash, record) in &records {
        quick.insert(*hash, record.clone());
        moka.insert(*hash, record.clone());
    }
    moka.run_pending_tasks();
    let (hash, record) = records[4242].clone();
    c.bench_function("quick_cache hit", |b| b.iter(|| quick.get(&hash).expect("hit")));
    c.bench_function("moka hit", |b| b.iter(|| moka.get(&hash).expect("hit")));
    c.bench_function("quick_cache insert (replace)", |b| b.iter(|| quick.insert(hash, record.clone())));
    c.bench_function("moka insert (replace)", |b| b.iter(|| moka.insert(hash, record.clone())));
}

#[cfg(not(feature = "compare-moka"))]
fn cache_crates(_: &mut Criterion) {}

criterion_group!(benches, read_cache_hits, cache_crates);
criterion_main!(benches);
