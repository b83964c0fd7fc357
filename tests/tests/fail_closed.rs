//! Failing closed: when Redis (tokens, counters) or PostgreSQL (users) cannot be reached, every
//! request that needs them gets 503 in its dialect's shape — never 200, never a 401 or 403
//! that sends the user back to log in, never a failed-login count — and the server serves again
//! by itself when the service returns, without a restart.
//!
//! The server under test (axum, then actix-web) reaches Redis and PostgreSQL through TCP
//! proxies the test stops and resumes, so the shared services other tests use stay up. Needs
//! `DATABASE_URL` and `REDIS_URL`; skips with a notice without them, fails under `CI=true`.

use std::future::Future;
use std::time::{Duration, Instant};

use authmount_conformance::dialect_calls as calls;
use authmount_conformance::servers::{self, Adapter};
use authmount_conformance::shared_stores::{
    self, Accounts, Instance, Names, Proxy, RECOVERY_DEADLINE, ServiceUrls, Stores, TokenBackend,
    seed_accounts, service_urls, through,
};
use authmount_conformance::{Client, PASSWORD, Response};
use authmount_redis::RedisOptions;
use authmount_sqlx::StoreOptions;
use serde_json::json;

/// The server of one adapter, its stores behind proxies, and the world they hold.
struct Setup {
    client: Client,
    redis: Proxy,
    postgres: Proxy,
    accounts: Accounts,
    names: Names,
    urls: ServiceUrls,
    _server: servers::Running,
}

async fn setup(urls: &ServiceUrls, adapter: Adapter) -> Setup {
    let names = Names::fresh();
    // Migrate and seed directly, then serve through the proxies.
    let direct = Stores::connect(urls, &names, TokenBackend::Postgres).await;
    let accounts = seed_accounts(direct.users.as_ref()).await;
    drop(direct);

    let (pg_target, _) = through(&urls.database, "127.0.0.1:0".parse().expect("address"));
    let postgres = Proxy::start(pg_target).await;
    let (_, pg_url) = through(&urls.database, postgres.addr());
    let (redis_target, _) = through(&urls.redis, "127.0.0.1:0".parse().expect("address"));
    let redis = Proxy::start(redis_target).await;
    let (_, redis_url) = through(&urls.redis, redis.addr());

    let pg_options = StoreOptions::new().acquire_timeout(PG_ACQUIRE_TIMEOUT).migrate(false);
    let users = std::sync::Arc::new(shared_stores::postgres(&pg_url, &names, pg_options).await);
    let tokens = std::sync::Arc::new(shared_stores::redis(&redis_url, &names, RedisOptions::default()).await);
    let stores = Stores { users, tokens: tokens.clone(), counters: tokens };
    let instance = Instance::new(&stores);
    let server = servers::start(adapter, instance.app).await;
    Setup {
        client: server.client.clone(),
        redis,
        postgres,
        accounts,
        names,
        urls: urls.clone(),
        _server: server,
    }
}

/// A token of every dialect, issued while everything is up.
struct Issued {
    amcr: String,
    meldeschein: String,
    oz: String,
    tdar: String,
    minisass: String,
}

async fn issue(client: &Client, name: &str) -> Issued {
    Issued {
        amcr: calls::amcr_token(client, name, PASSWORD).await,
        meldeschein: calls::meldeschein_token(client, name, PASSWORD).await,
        oz: calls::oz_token(client, name, PASSWORD).await,
        tdar: calls::tdar_key(client, name, PASSWORD).await,
        minisass: calls::minisass_pair(client, name, PASSWORD).await.0,
    }
}

/// The dialects, for messages and for the shape of their 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Amcr,
    Meldeschein,
    Oz,
    Tdar,
    Minisass,
}

/// One request's outcome: which dialect answered, what was asked, the answer and its latency.
type Outcome = (Dialect, &'static str, Response, Duration);

/// Every login of every dialect, with the right password.
async fn logins(client: &Client, name: &str) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let (r, d) = timed(calls::amcr_login(client, name, PASSWORD)).await;
    outcomes.push((Dialect::Amcr, "AMCR login", r, d));
    let (r, d) = timed(calls::meldeschein_login(client, name, PASSWORD)).await;
    outcomes.push((Dialect::Meldeschein, "Meldeschein login", r, d));
    let (r, d) = timed(calls::oz_login(client, name, PASSWORD)).await;
    outcomes.push((Dialect::Oz, "Oz login", r, d));
    let (r, d) = timed(calls::tdar_login(client, name, PASSWORD)).await;
    outcomes.push((Dialect::Tdar, "tDAR login", r, d));
    let (r, d) = timed(calls::minisass_login(client, name, PASSWORD)).await;
    outcomes.push((Dialect::Minisass, "miniSASS login/", r, d));
    let (r, d) = timed(calls::minisass_token_pair(client, name, PASSWORD)).await;
    outcomes.push((Dialect::Minisass, "miniSASS token/", r, d));
    outcomes
}

/// Every protected route, with the tokens issued before the outage.
async fn protected(client: &Client, issued: &Issued) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let (r, d) = timed(calls::amcr_user_info(client, &issued.amcr)).await;
    outcomes.push((Dialect::Amcr, "AMCR uzivatel-info", r, d));
    let (r, d) = timed(calls::meldeschein_config(client, &issued.meldeschein)).await;
    outcomes.push((Dialect::Meldeschein, "Meldeschein get-config", r, d));
    let (r, d) = timed(calls::oz_whoami(client, &issued.oz)).await;
    outcomes.push((Dialect::Oz, "Oz gate", r, d));
    let (r, d) = timed(calls::tdar_whoami(client, &issued.tdar)).await;
    outcomes.push((Dialect::Tdar, "tDAR gate", r, d));
    let (r, d) = timed(calls::minisass_status(client, &issued.minisass)).await;
    outcomes.push((Dialect::Minisass, "miniSASS check-auth-status", r, d));
    outcomes
}

/// What every DRF-based dialect (AMCR, Meldeschein, miniSASS) answers when a store is down.
const DRF_UNAVAILABLE: &str = "Service temporarily unavailable, try again later.";

/// 503 in the dialect's shape, saying the service is unavailable, and no way back to a login
/// form (no `WWW-Authenticate` challenge, no cookie change). `Retry-After` is only sent for a
/// busy password hasher, not for a store outage; if a dialect sends it, it must be seconds.
#[track_caller]
fn assert_unavailable(dialect: Dialect, what: &str, response: &Response) {
    assert_eq!(response.status, 503, "{what}: expected 503, got {} {}", response.status, response.text());
    assert!(!response.has_header("www-authenticate"), "{what}: a 503 must not challenge for credentials");
    assert!(!response.has_header("set-cookie"), "{what}: a 503 must not touch the session cookie");
    if response.has_header("retry-after") {
        let seconds = response.header("retry-after").parse::<u32>();
        assert!(seconds.is_ok_and(|s| s > 0), "{what}: Retry-After {:?}", response.header("retry-after"));
    }
    match dialect {
        Dialect::Amcr | Dialect::Meldeschein | Dialect::Minisass => {
            assert_eq!(response.header("content-type"), "application/json", "{what}");
            assert_eq!(response.json(), json!({ "detail": DRF_UNAVAILABLE }), "{what}");
        }
        Dialect::Oz => {
            assert_eq!(response.header("content-type"), "application/json", "{what}");
            let expected = json!({
                "error_code": 0,
                "error_message": "Service temporarily unavailable, try again later",
                "details": null,
            });
            assert_eq!(response.json(), expected, "{what}");
        }
        Dialect::Tdar => {
            assert_eq!(response.header("content-type"), "application/xml;charset=UTF-8", "{what}");
            assert_eq!(response.header("referrer-policy"), "no-referrer", "{what}");
            let body = response.text();
            assert!(
                body.contains(&format!("    <tdar:errors>{DRF_UNAVAILABLE}</tdar:errors>\n")),
                "{what}: {body}"
            );
            assert!(body.contains("<tdar:statusCode>503</tdar:statusCode>"), "{what}: {body}");
        }
    }
}

/// Runs `request`, returning its answer and how long it took.
async fn timed<F: Future<Output = Response>>(request: F) -> (Response, Duration) {
    let started = Instant::now();
    let response = request.await;
    (response, started.elapsed())
}

/// Polls `probe` until it answers 200 (the store is back), failing after [`RECOVERY_DEADLINE`].
async fn until_recovered(what: &str, probe: impl AsyncFn() -> Response) -> Duration {
    let started = Instant::now();
    loop {
        let response = probe().await;
        match response.status {
            200 => return started.elapsed(),
            503 if started.elapsed() < RECOVERY_DEADLINE => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("{what}: did not recover: {other} {}", response.text()),
        }
    }
}

/// The counter keys under the deployment's prefix (failed-login counts would be here).
async fn counter_keys(urls: &ServiceUrls, names: &Names) -> Vec<String> {
    let client = redis::Client::open(urls.redis.as_str()).expect("valid URL");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connects");
    redis::cmd("KEYS").arg(format!("{}c:*", names.prefix)).query_async(&mut conn).await.expect("KEYS")
}

/// How long the PostgreSQL pool waits for a connection before the store answers
/// `Unavailable` (a short one here, so the suite is quick; the default is 3 s).
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);

/// Asserts each outcome is the dialect's 503, arriving within `limit`; returns the slowest.
#[track_caller]
fn assert_all_unavailable(outcomes: &[Outcome], context: &str, limit: Duration) -> Duration {
    let mut slowest = Duration::ZERO;
    for (dialect, what, response, took) in outcomes {
        let what = format!("{what} ({context})");
        assert_unavailable(*dialect, &what, response);
        assert!(*took <= limit, "{what}: the 503 took {took:?}, over {limit:?}");
        slowest = slowest.max(*took);
    }
    slowest
}

#[track_caller]
fn assert_all_ok(outcomes: &[Outcome], context: &str) {
    for (_, what, response, _) in outcomes {
        assert_eq!(response.status, 200, "{what} ({context}): {}", response.text());
    }
}

async fn redis_outage(urls: &ServiceUrls, adapter: Adapter) {
    let mut s = setup(urls, adapter).await;
    let name = s.accounts.ann.username.clone();
    let issued = issue(&s.client, &name).await;

    s.redis.stop().await;
    // Refused connections fail at once; the limit leaves room for a slow CI machine.
    let limit = Duration::from_secs(2);
    let mut slowest = Duration::ZERO;
    for round in 0..2 {
        let context = format!("Redis down, round {round}");
        slowest = slowest.max(assert_all_unavailable(&logins(&s.client, &name).await, &context, limit));
        slowest = slowest.max(assert_all_unavailable(&protected(&s.client, &issued).await, &context, limit));
    }
    // Logging out needs the token store too: 503, not a 200 that pretends the session ended.
    let (logout, took) = timed(calls::tdar_logout(&s.client, &issued.tdar)).await;
    assert_all_unavailable(&[(Dialect::Tdar, "tDAR logout", logout, took)], "Redis down", limit);
    eprintln!("{adapter:?}: slowest 503 with Redis down: {slowest:?}");

    s.redis.resume().await;
    let took = until_recovered("AMCR uzivatel-info after Redis returned", || {
        calls::amcr_user_info(&s.client, &issued.amcr)
    })
    .await;
    eprintln!("{adapter:?}: serving again {took:?} after Redis returned");
    // The tokens issued before the outage work again, logins work, nothing was counted.
    assert_all_ok(&protected(&s.client, &issued).await, "after Redis returned");
    assert_all_ok(&logins(&s.client, &name).await, "after Redis returned");
    assert!(counter_keys(&s.urls, &s.names).await.is_empty(), "no failed-login counts");
    // The logout refused during the outage did nothing: the session is still live; now it ends.
    calls::tdar_logout(&s.client, &issued.tdar).await.assert_status(200);
    calls::tdar_whoami(&s.client, &issued.tdar).await.assert_status(403);
    finish(s).await;
}

async fn postgres_outage(urls: &ServiceUrls, adapter: Adapter) {
    let mut s = setup(urls, adapter).await;
    let name = s.accounts.ann.username.clone();
    let issued = issue(&s.client, &name).await;

    s.postgres.stop().await;
    // Each request waits for the pool's acquire timeout before its 503.
    let limit = PG_ACQUIRE_TIMEOUT + Duration::from_secs(2);
    let mut slowest = Duration::ZERO;
    for round in 0..2 {
        let context = format!("PostgreSQL down, round {round}");
        slowest = slowest.max(assert_all_unavailable(&logins(&s.client, &name).await, &context, limit));
        // A wrong password cannot be checked either: 503 as well, not "bad credentials".
        let (wrong, took) = timed(calls::amcr_login(&s.client, &name, "not the password")).await;
        assert_all_unavailable(
            &[(Dialect::Amcr, "AMCR login, wrong password", wrong, took)],
            &context,
            limit,
        );
        // Every gate loads the user (is the account still active?): 503, never 401/403.
        slowest = slowest.max(assert_all_unavailable(&protected(&s.client, &issued).await, &context, limit));
    }
    eprintln!("{adapter:?}: slowest 503 with PostgreSQL down: {slowest:?}");

    s.postgres.resume().await;
    let took = until_recovered("AMCR login after PostgreSQL returned", || {
        calls::amcr_login(&s.client, &name, PASSWORD)
    })
    .await;
    eprintln!("{adapter:?}: serving again {took:?} after PostgreSQL returned");
    // No lockout: every login works at once, and nothing was counted.
    assert_all_ok(&logins(&s.client, &name).await, "after PostgreSQL returned");
    assert_all_ok(&protected(&s.client, &issued).await, "after PostgreSQL returned");
    assert!(counter_keys(&s.urls, &s.names).await.is_empty(), "no failed-login counts");
    finish(s).await;
}

async fn finish(mut s: Setup) {
    s.redis.stop().await;
    s.postgres.stop().await;
    s.names.drop_schema(&s.urls.database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_on_axum_and_recovers() {
    let Some(urls) = service_urls() else {
        return;
    };
    redis_outage(&urls, Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_on_actix_and_recovers() {
    let Some(urls) = service_urls() else {
        return;
    };
    redis_outage(&urls, Adapter::Actix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_is_503_on_axum_and_recovers() {
    let Some(urls) = service_urls() else {
        return;
    };
    postgres_outage(&urls, Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_is_503_on_actix_and_recovers() {
    let Some(urls) = service_urls() else {
        return;
    };
    postgres_outage(&urls, Adapter::Actix).await;
}
