//! `RedisBus` against the bus conformance cases, on a real Redis. Needs `REDIS_URL` (skipped
//! without it, except under `CI=true`).

use std::sync::Arc;

use authmount::cache::InvalidationBus;
use authmount::conformance::{bus, unique};
use authmount_redis::RedisBus;
use authmount_test_support::{Proxy, through};

fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("REDIS_URL is not set, and under CI=true the Redis tests must run")
        }
        Err(_) => {
            eprintln!("REDIS_URL is not set: skipping the Redis bus tests");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_instance() {
    let Some(url) = redis_url() else { return };
    let channel = unique("authmount-test-cache");
    let a: Arc<dyn InvalidationBus> =
        Arc::new(RedisBus::connect_with(&url, &channel).await.expect("connects"));
    let b: Arc<dyn InvalidationBus> =
        Arc::new(RedisBus::connect_with(&url, &channel).await.expect("connects"));
    let delays = bus::changes_reach_the_other_instance(a, b).await;
    eprintln!("Redis pub/sub propagation delays: {delays:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_subscription_bypasses_the_cache() {
    let Some(url) = redis_url() else { return };
    let channel = unique("authmount-test-cache");
    let (target, _) = through(&url, "127.0.0.1:0".parse().expect("addr"));
    let mut proxy = Proxy::start(target).await;
    let (_, proxied) = through(&url, proxy.addr());
    let a: Arc<dyn InvalidationBus> =
        Arc::new(RedisBus::connect_with(&url, &channel).await.expect("connects"));
    let b: Arc<dyn InvalidationBus> =
        Arc::new(RedisBus::connect_with(&proxied, &channel).await.expect("connects through the proxy"));
    bus::a_cut_subscription_bypasses_the_cache(a, b, async |cut| {
        if cut { proxy.stop().await } else { proxy.resume().await }
    })
    .await;
}
