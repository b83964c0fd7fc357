//! Two instances behind a load balancer, each with the read cache on, sharing PostgreSQL users
//! and Redis tokens (changes carried by Redis pub/sub) or PostgreSQL for everything (changes
//! carried by LISTEN/NOTIFY): A = axum, B = actix-web. A change made on A is refused by B, which
//! had the copy cached, within the bound; with B's invalidation channel cut, B bypasses its
//! cache and its answers stay correct.
//!
//! Needs `DATABASE_URL` and `REDIS_URL` (`scripts/test` sets them); without them each test
//! prints a notice and passes, except under `CI=true`, where it fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authmount::cache::{InvalidationBus, ReadCache};
use authmount_conformance::dialect_calls as calls;
use authmount_conformance::servers::{self, Adapter};
use authmount_conformance::shared_stores::{
    Instance, Names, ServiceUrls, Stores, TokenBackend, random_hex, seed_accounts, service_urls,
};
use authmount_conformance::{Client, PASSWORD, Response};
use authmount_redis::RedisBus;
use authmount_sqlx::PostgresBus;
use authmount_test_support::{Proxy, through};

/// How long a change may take to reach the other instance before the test fails (the measured
/// figure, well under a millisecond here, is in BENCHMARKS.md; this only bounds a broken bus).
const BOUND: Duration = Duration::from_secs(5);

async fn bus(
    urls: &ServiceUrls,
    backend: TokenBackend,
    channel: &str,
    url: Option<&str>,
) -> Arc<dyn InvalidationBus> {
    match backend {
        TokenBackend::Redis => {
            Arc::new(RedisBus::connect_with(url.unwrap_or(&urls.redis), channel).await.expect("Redis bus"))
        }
        TokenBackend::Postgres => Arc::new(
            PostgresBus::connect_with(url.unwrap_or(&urls.database), channel.replace(['-', ':'], "_"))
                .await
                .expect("PostgreSQL bus"),
        ),
    }
}

/// Polls `call` until it answers something other than 200; fails after [`BOUND`].
async fn refused_within_bound<F, Fut>(what: &str, call: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Response>,
{
    let start = Instant::now();
    loop {
        let response = call().await;
        if response.status != 200 {
            assert!(matches!(response.status, 401 | 403), "{what}: refused with {}", response.status);
            return;
        }
        assert!(start.elapsed() < BOUND, "{what}: still accepted {BOUND:?} after the change");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn until_in_use(cache: &ReadCache) {
    let start = Instant::now();
    while !cache.is_in_use() {
        assert!(start.elapsed() < BOUND, "the cache never came into use");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two cached instances of one fresh deployment on `backend`; B's bus goes through `proxy`.
async fn with_two<F, Fut>(backend: TokenBackend, case: F)
where
    F: FnOnce(Client, Client, authmount_conformance::shared_stores::Accounts, Proxy, ReadCache) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(urls) = service_urls() else { return };
    let names = Names::fresh();
    let channel = format!("authmount-test-cache-{}", random_hex());
    let bus_url = match backend {
        TokenBackend::Redis => urls.redis.clone(),
        TokenBackend::Postgres => urls.database.clone(),
    };
    let (target, _) = through(&bus_url, "127.0.0.1:0".parse().expect("addr"));
    let proxy = Proxy::start(target).await;
    let (_, proxied) = through(&bus_url, proxy.addr());
    let stores_a = Stores::connect(&urls, &names, backend).await;
    let stores_b = Stores::connect(&urls, &names, backend).await;
    let accounts = seed_accounts(stores_a.users.as_ref()).await;
    let (a, cache_a) = Instance::with_cache(&stores_a, bus(&urls, backend, &channel, None).await);
    let (b, cache_b) = Instance::with_cache(&stores_b, bus(&urls, backend, &channel, Some(&proxied)).await);
    until_in_use(&cache_a).await;
    until_in_use(&cache_b).await;
    let server_a = servers::start(Adapter::Axum, a.app.clone()).await;
    let server_b = servers::start(Adapter::Actix, b.app.clone()).await;
    case(server_a.client.clone(), server_b.client.clone(), accounts, proxy, cache_b).await;
    drop((server_a, server_b, cache_a));
    names.drop_schema(&urls.database).await;
}

async fn logouts_and_deactivations_reach_the_other_instance(backend: TokenBackend) {
    with_two(backend, |a, b, accounts, _proxy, _cache_b| async move {
        let ann = accounts.ann.username.clone();
        // tDAR: a cookie session cached by B, logged out on A.
        let key = calls::tdar_key(&a, &ann, PASSWORD).await;
        calls::tdar_whoami(&b, &key).await.assert_status(200);
        calls::tdar_whoami(&b, &key).await.assert_status(200);
        calls::tdar_logout(&a, &key).await.assert_status(200);
        refused_within_bound("a tDAR logout on A, on B", || calls::tdar_whoami(&b, &key)).await;

        // miniSASS: a JWT whose family B has cached as not revoked, logged out on A.
        let (access, refresh) = calls::minisass_pair(&a, &ann, PASSWORD).await;
        calls::minisass_status(&b, &access).await.assert_status(200);
        calls::minisass_logout(&a, &access, &refresh).await.assert_status(200);
        refused_within_bound("a miniSASS logout on A, on B", || calls::minisass_status(&b, &access)).await;

        // A deactivation through A's admin API: B has ann's record cached as active.
        let email = format!("{ann}@example.org");
        let oz = calls::oz_token(&a, &email, PASSWORD).await;
        calls::oz_whoami(&b, &oz).await.assert_status(200);
        let admin = calls::amcr_token(&a, &accounts.admin.username, PASSWORD).await;
        let path = format!("/api/admin/users/{}/deactivate/", accounts.ann.id.0);
        a.post(&path).header("authorization", format!("Bearer {admin}")).send().await.assert_status(200);
        refused_within_bound("a deactivation on A, on B", || calls::oz_whoami(&b, &oz)).await;
    })
    .await;
}

async fn a_cut_channel_leaves_answers_correct(backend: TokenBackend) {
    with_two(backend, |a, b, accounts, mut proxy, cache_b| async move {
        let ann = accounts.ann.username.clone();
        let key = calls::tdar_key(&a, &ann, PASSWORD).await;
        calls::tdar_whoami(&b, &key).await.assert_status(200);
        proxy.stop().await;
        let start = Instant::now();
        while cache_b.is_in_use() {
            assert!(start.elapsed() < BOUND, "B never noticed its channel was cut");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A's change cannot reach B, which answers from the store instead: refused at once.
        calls::tdar_logout(&a, &key).await.assert_status(200);
        assert_ne!(calls::tdar_whoami(&b, &key).await.status, 200, "B answered from a stale copy");
        let other = calls::tdar_key(&a, &ann, PASSWORD).await;
        calls::tdar_whoami(&b, &other).await.assert_status(200);
        proxy.resume().await;
        until_in_use(&cache_b).await;
        calls::tdar_whoami(&b, &other).await.assert_status(200);
        calls::tdar_logout(&a, &other).await.assert_status(200);
        refused_within_bound("a logout after the channel is back", || calls::tdar_whoami(&b, &other)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_pubsub_carries_logouts_and_deactivations() {
    logouts_and_deactivations_reach_the_other_instance(TokenBackend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notify_carries_logouts_and_deactivations() {
    logouts_and_deactivations_reach_the_other_instance(TokenBackend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_redis_channel_leaves_answers_correct() {
    a_cut_channel_leaves_answers_correct(TokenBackend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_postgres_channel_leaves_answers_correct() {
    a_cut_channel_leaves_answers_correct(TokenBackend::Postgres).await;
}
