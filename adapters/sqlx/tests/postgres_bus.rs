//! `PostgresBus` against the bus conformance cases, on a real PostgreSQL. Needs `DATABASE_URL`
//! (skipped without it, except under `CI=true`).

mod support;

use std::sync::Arc;

use authmount::cache::InvalidationBus;
use authmount::conformance::{bus, unique};
use authmount_sqlx::PostgresBus;
use authmount_test_support::{Proxy, through};

/// A channel of this run's own (PostgreSQL channel names are identifiers: no dashes).
fn channel() -> String {
    unique("authmount_test_cache").replace('-', "_")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_instance() {
    let Some(url) = support::database_url() else { return };
    let channel = channel();
    let a: Arc<dyn InvalidationBus> =
        Arc::new(PostgresBus::connect_with(&url, &channel).await.expect("connects"));
    let b: Arc<dyn InvalidationBus> =
        Arc::new(PostgresBus::connect_with(&url, &channel).await.expect("connects"));
    let delays = bus::changes_reach_the_other_instance(a, b).await;
    eprintln!("PostgreSQL LISTEN/NOTIFY propagation delays: {delays:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_listen_connection_bypasses_the_cache() {
    let Some(url) = support::database_url() else { return };
    let channel = channel();
    let (target, _) = through(&url, "127.0.0.1:0".parse().expect("addr"));
    let mut proxy = Proxy::start(target).await;
    let (_, proxied) = through(&url, proxy.addr());
    let a: Arc<dyn InvalidationBus> =
        Arc::new(PostgresBus::connect_with(&url, &channel).await.expect("connects"));
    let b: Arc<dyn InvalidationBus> =
        Arc::new(PostgresBus::connect_with(&proxied, &channel).await.expect("connects through the proxy"));
    bus::a_cut_subscription_bypasses_the_cache(a, b, async |cut| {
        if cut { proxy.stop().await } else { proxy.resume().await }
    })
    .await;
}
