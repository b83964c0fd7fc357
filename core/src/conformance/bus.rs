//! What every [`InvalidationBus`] must do: carry each change made on one instance to the
//! caches of the others, and never let a broken subscription leave a stale copy in use.
//!
//! Each case takes two buses of one deployment (two connections to the same service and
//! channel, as two processes would have), builds an instance's [`ReadCache`] over each and
//! shares in-memory stores between them (the bus is under test, not the stores).
//!
//! ```no_run
//! # async fn run(a: std::sync::Arc<dyn authmount::cache::InvalidationBus>, b: std::sync::Arc<dyn authmount::cache::InvalidationBus>) {
//! let delays = authmount::conformance::bus::changes_reach_the_other_instance(a, b).await;
//! println!("slowest propagation: {:?}", delays.iter().max());
//! # }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::cache::{InvalidationBus, ReadCache, ReadCacheConfig};
use crate::clock::SystemClock;
use crate::store::{MemoryTokenStore, MemoryUserStore, TokenKind, TokenRecord, TokenStore, UserStore};
use crate::token::TokenHash;
use crate::user::{NewUser, ProfileUpdate, UserId};

/// How long a case waits for something that must happen (a cache coming into use, a change
/// arriving) before it fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// Two instances over one bus and shared stores.
struct Pair {
    a: ReadCache,
    b: ReadCache,
    tokens: (Arc<dyn TokenStore>, Arc<dyn TokenStore>),
    users: (Arc<dyn UserStore>, Arc<dyn UserStore>),
}

async fn pair(bus_a: Arc<dyn InvalidationBus>, bus_b: Arc<dyn InvalidationBus>) -> Pair {
    // A short heartbeat, so the outage cases notice a silent subscription quickly.
    let config = ReadCacheConfig { heartbeat: Duration::from_millis(100), ..ReadCacheConfig::default() };
    let (a, b) = (ReadCache::new(config.clone()), ReadCache::new(config));
    a.attach(bus_a);
    b.attach(bus_b);
    let shared_tokens: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let shared_users: Arc<dyn UserStore> = Arc::new(MemoryUserStore::new());
    let tokens: (Arc<dyn TokenStore>, Arc<dyn TokenStore>) = (
        a.tokens(shared_tokens.clone(), Arc::new(SystemClock)),
        b.tokens(shared_tokens, Arc::new(SystemClock)),
    );
    let users: (Arc<dyn UserStore>, Arc<dyn UserStore>) =
        (a.users(shared_users.clone()), b.users(shared_users));
    eventually("both caches come into use", || a.is_in_use() && b.is_in_use()).await;
    Pair { a, b, tokens, users }
}

/// Polls `condition` every millisecond until it holds; panics after [`PATIENCE`]. Returns how
/// long it took.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < PATIENCE, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// Polls an async `condition` likewise.
async fn eventually_async<F: Future<Output = bool>>(
    what: &str,
    mut condition: impl FnMut() -> F,
) -> Duration {
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < PATIENCE, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

fn record(user: i64, family: &str) -> TokenRecord {
    TokenRecord::new(
        TokenKind::Access,
        UserId(user),
        "conformance",
        SystemTime::now(),
        Duration::from_secs(600),
    )
    .in_family(family)
}

async fn live(tokens: &Arc<dyn TokenStore>, hash: &TokenHash) -> bool {
    tokens.touch(hash).await.expect("the store is up").is_some()
}

/// A revocation of a token, of a family, of a user's tokens, a revoked JWT id and a
/// deactivation, each made on instance A after B cached the affected copy, is refused by B
/// within [`PATIENCE`]. Returns how long each took to reach B.
pub async fn changes_reach_the_other_instance(
    bus_a: Arc<dyn InvalidationBus>,
    bus_b: Arc<dyn InvalidationBus>,
) -> Vec<Duration> {
    let p = pair(bus_a, bus_b).await;
    let (ta, tb) = &p.tokens;
    let mut delays = Vec::new();
    let unique = crate::conformance::unique("bus");

    for (i, kind) in ["token", "family", "user"].into_iter().enumerate() {
        let family = format!("{unique}-{kind}");
        let hash = TokenHash::of(&format!("{unique}-{kind}-token"));
        let user = 1_000 + i as i64;
        ta.put(hash, record(user, &family)).await.expect("stored");
        assert!(live(tb, &hash).await, "B reads the token (and caches it)");
        assert!(live(tb, &hash).await);
        match kind {
            "token" => drop(ta.revoke(&hash).await.expect("revoked")),
            "family" => drop(ta.revoke_family(&family).await.expect("revoked")),
            _ => drop(ta.revoke_user(UserId(user)).await.expect("revoked")),
        }
        let delay = eventually_async(&format!("a {kind} revocation on A reaches B"), || async {
            !live(tb, &hash).await
        })
        .await;
        delays.push(delay);
    }

    let jti = format!("{unique}-jti");
    assert!(!tb.is_jwt_revoked(&jti, Some("s")).await.expect("up"));
    ta.revoke_jti(&jti, SystemTime::now() + Duration::from_secs(600)).await.expect("revoked");
    delays.push(
        eventually_async("a JWT revocation on A reaches B", || async {
            tb.is_jwt_revoked(&jti, Some("s")).await.expect("up")
        })
        .await,
    );

    let (ua, ub) = &p.users;
    let user = ua.create(NewUser::new(format!("{unique}-user"), SystemTime::now())).await.expect("created");
    assert!(ub.get_shared(user.id).await.expect("up").expect("exists").is_active);
    ua.update_profile(user.id, ProfileUpdate { is_active: Some(false), ..Default::default() })
        .await
        .expect("up");
    delays.push(
        eventually_async("a deactivation on A reaches B", || async {
            !ub.get_shared(user.id).await.expect("up").expect("exists").is_active
        })
        .await,
    );
    drop(p.a);
    delays
}

/// While B's subscription is cut (`cut(true)`), B stops using its cache (so a change it cannot
/// hear still holds: it reads the store), and once it is restored (`cut(false)`) B uses its
/// cache again, emptied of what it held before.
pub async fn a_cut_subscription_bypasses_the_cache(
    bus_a: Arc<dyn InvalidationBus>,
    bus_b: Arc<dyn InvalidationBus>,
    mut cut: impl AsyncFnMut(bool),
) {
    let p = pair(bus_a, bus_b).await;
    let (ta, tb) = &p.tokens;
    let unique = crate::conformance::unique("outage");
    let hash = TokenHash::of(&unique);
    ta.put(hash, record(7, &unique)).await.expect("stored");
    assert!(live(tb, &hash).await, "cached by B");

    cut(true).await;
    eventually("B notices its subscription is down", || !p.b.is_in_use()).await;
    ta.revoke(&hash).await.expect("A revokes while B cannot hear it");
    assert!(!live(tb, &hash).await, "B reads the store while its subscription is down");

    let other = TokenHash::of(&format!("{unique}-2"));
    ta.put(other, record(8, &format!("{unique}-2"))).await.expect("stored");
    cut(false).await;
    eventually("B uses its cache again", || p.b.is_in_use()).await;
    assert!(live(tb, &other).await);
    ta.revoke(&other).await.expect("revoked");
    eventually_async("changes reach B again", || async { !live(tb, &other).await }).await;
}
