use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::store::{MemoryTokenStore, MemoryUserStore, Rotation, StoreError, TokenKind, TokenRecord};
use crate::token::TokenHash;
use crate::user::{NewUser, ProfileUpdate, UserId};

const MINUTE: Duration = Duration::from_secs(60);

/// A token store that counts the reads reaching it, and can be changed behind the cache's back.
struct Counting {
    inner: MemoryTokenStore,
    reads: AtomicUsize,
    touches_written: AtomicUsize,
}

#[async_trait]
impl TokenStore for Counting {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        self.inner.put(hash, record).await
    }
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(hash).await
    }
    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let before = self.inner.get(hash).await?;
        let after = self.inner.touch(hash).await?;
        if before.as_ref().map(|r| r.expires_at) != after.as_ref().map(|r| r.expires_at) {
            self.touches_written.fetch_add(1, Ordering::SeqCst);
        }
        Ok(after)
    }
    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.inner.revoke(hash).await
    }
    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.inner.revoke_user(user_id).await
    }
    async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
        self.inner.revoke_user_except(user_id, keep).await
    }
    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        self.inner.revoke_family(family).await
    }
    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError> {
        self.inner.rotate(old, new, record, reuse_grace).await
    }
    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.consume(hash).await
    }
    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.inner.revoke_jti(jti, expires_at).await
    }
    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.is_jwt_revoked(jti, family).await
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}

struct Fixture {
    clock: ManualClock,
    store: Arc<Counting>,
    cache: ReadCache,
    tokens: Arc<CachedTokenStore>,
}

fn fixture_with(config: ReadCacheConfig) -> Fixture {
    let clock = ManualClock::at_unix(1_700_000_000);
    let store = Arc::new(Counting {
        inner: MemoryTokenStore::with_clock(Arc::new(clock.clone())),
        reads: AtomicUsize::new(0),
        touches_written: AtomicUsize::new(0),
    });
    let cache = ReadCache::new(config);
    let tokens = cache.tokens(store.clone(), Arc::new(clock.clone()));
    Fixture { clock, store, cache, tokens }
}

fn fixture() -> Fixture {
    fixture_with(ReadCacheConfig::default())
}

impl Fixture {
    fn record(&self, user: i64, family: Option<&str>) -> TokenRecord {
        let record = TokenRecord::new(TokenKind::Access, UserId(user), "amcr", self.clock.now(), MINUTE);
        match family {
            Some(family) => record.in_family(family),
            None => record,
        }
    }

    async fn issue(&self, token: &str, record: TokenRecord) -> TokenHash {
        let hash = TokenHash::of(token);
        self.tokens.put(hash, record).await.expect("stored");
        hash
    }

    fn reads(&self) -> usize {
        self.store.reads.load(Ordering::SeqCst)
    }

    async fn live(&self, hash: &TokenHash) -> bool {
        self.tokens.touch(hash).await.expect("store up").is_some()
    }
}

#[tokio::test]
async fn repeated_reads_are_answered_from_memory() {
    let f = fixture();
    let hash = f.issue("t1", f.record(1, None)).await;
    for _ in 0..10 {
        assert!(f.live(&hash).await);
        assert!(f.tokens.get(&hash).await.expect("up").is_some());
    }
    assert_eq!(f.reads(), 0, "an issued token is cached at once");
    assert!(!f.live(&TokenHash::of("unknown")).await);
    assert!(!f.live(&TokenHash::of("unknown")).await);
    assert_eq!(f.reads(), 2, "unknown tokens are not cached: each is a store read");
}

#[tokio::test]
async fn every_change_through_the_cache_holds_at_once() {
    let f = fixture();
    let revoked = f.issue("revoked", f.record(1, None)).await;
    let consumed = f.issue("consumed", f.record(1, None)).await;
    let in_family = f.issue("in-family", f.record(2, Some("fam"))).await;
    let of_user = f.issue("of-user", f.record(3, None)).await;
    let bystander = f.issue("bystander", f.record(4, Some("other"))).await;
    for hash in [&revoked, &consumed, &in_family, &of_user, &bystander] {
        assert!(f.live(hash).await);
    }

    f.tokens.revoke(&revoked).await.expect("up");
    f.tokens.consume(&consumed).await.expect("up");
    f.tokens.revoke_family("fam").await.expect("up");
    f.tokens.revoke_user(UserId(3)).await.expect("up");

    for hash in [&revoked, &consumed, &in_family, &of_user] {
        assert!(!f.live(hash).await, "a changed token is refused on the next read");
    }
    assert!(f.live(&bystander).await);
}

#[tokio::test]
async fn a_replayed_rotation_ends_the_cached_family() {
    let f = fixture();
    let old = f.issue("refresh-1", f.record(1, Some("fam"))).await;
    let sibling = f.issue("access-1", f.record(1, Some("fam"))).await;
    assert!(f.live(&sibling).await);
    let new = TokenHash::of("refresh-2");
    assert_eq!(
        f.tokens.rotate(&old, new, f.record(1, Some("fam")), Duration::ZERO).await.expect("up"),
        Rotation::Rotated
    );
    assert!(!f.live(&old).await, "the rotated token is gone");
    assert!(f.live(&new).await);
    let replay =
        f.tokens.rotate(&old, TokenHash::of("refresh-3"), f.record(1, Some("fam")), Duration::ZERO).await;
    assert!(matches!(replay, Ok(Rotation::Reused { .. })));
    assert!(!f.live(&new).await, "reuse revokes the family");
    assert!(!f.live(&sibling).await, "including tokens cached before the replay");
}

#[tokio::test]
async fn a_cached_token_expires_on_time() {
    let f = fixture();
    let hash = f.issue("short", f.record(1, None)).await;
    assert!(f.live(&hash).await);
    f.clock.advance(MINUTE - Duration::from_secs(1));
    assert!(f.live(&hash).await);
    f.clock.advance(Duration::from_secs(1));
    assert!(!f.live(&hash).await, "expired exactly at its expiry, though cached");
}

#[tokio::test]
async fn sliding_sessions_slide_and_write_only_when_the_rule_says() {
    let f = fixture();
    let idle = Duration::from_secs(600);
    let record = TokenRecord::new(TokenKind::Session, UserId(1), "tdar", f.clock.now(), idle).sliding(idle);
    let hash = f.issue("session", record).await;
    // 100 requests a second apart: the expiry must move 30 s (1/20 of 600 s) before a write.
    for _ in 0..100 {
        f.clock.advance(Duration::from_secs(1));
        assert!(f.live(&hash).await);
    }
    let written = f.store.touches_written.load(Ordering::SeqCst);
    assert!((3..=4).contains(&written), "a write every 30 s over 100 s, not per request: {written}");
    // Idle for less than the timeout after the last write: still live; then it expires.
    f.clock.advance(idle - Duration::from_secs(31));
    assert!(f.live(&hash).await, "the slide was stored");
    f.clock.advance(idle);
    assert!(!f.live(&hash).await, "idle past the timeout");
}

#[tokio::test]
async fn a_copy_read_before_a_change_but_cached_after_it_is_never_used() {
    let f = fixture();
    let hash = f.issue("racy", f.record(1, Some("fam"))).await;
    let stale = f.tokens.inner().get(&hash).await.expect("up").expect("live");
    let state = &f.cache.state;
    // A read starts (stamp), the token's family is revoked meanwhile, then the read caches
    // what it saw before the revocation.
    let stamp = state.stamp();
    f.tokens.revoke_family("fam").await.expect("up");
    state.tokens.insert(hash, entries::TokenEntry { record: Arc::new(stale), stamp });
    assert!(!f.live(&hash).await, "the mark is newer than the copy");
}

#[tokio::test]
async fn losing_marks_to_eviction_only_costs_hits() {
    let f = fixture_with(ReadCacheConfig { capacity: 16, ..ReadCacheConfig::default() });
    let hash = f.issue("kept", f.record(1, Some("fam"))).await;
    assert!(f.live(&hash).await);
    let reads = f.reads();
    // Far more family revocations than the marks cache holds.
    for i in 0..1_000 {
        f.tokens.revoke_family(&format!("other-{i}")).await.expect("up");
    }
    assert!(f.live(&hash).await, "still live in the store");
    assert!(f.reads() > reads, "but read again: evicted marks raised the floor");
}

#[tokio::test(start_paused = true)]
async fn changes_behind_the_caches_back_are_seen_after_max_staleness() {
    let f = fixture();
    let hash = f.issue("t", f.record(1, None)).await;
    assert!(f.live(&hash).await);
    f.store.inner.revoke(&hash).await.expect("revoked without telling the cache");
    assert!(f.live(&hash).await, "within the staleness bound the copy may still be used");
    tokio::time::advance(f.cache.config().max_staleness).await;
    assert!(!f.live(&hash).await, "past it, the store is read again");
}

#[tokio::test]
async fn jwt_revocation_answers_are_cached_and_dropped_by_every_kind_of_revocation() {
    let f = fixture();
    let reads = || f.reads();
    assert!(!f.tokens.is_jwt_revoked("j1", Some("s1")).await.expect("up"));
    assert!(!f.tokens.is_jwt_revoked("j1", Some("s1")).await.expect("up"));
    assert_eq!(reads(), 1, "the second answer comes from memory");
    assert!(
        !f.tokens.is_jwt_revoked("j1", Some("s2")).await.expect("up"),
        "another family is another question"
    );
    assert_eq!(reads(), 2);

    f.tokens.revoke_jti("j1", f.clock.now() + MINUTE).await.expect("up");
    assert!(f.tokens.is_jwt_revoked("j1", Some("s1")).await.expect("up"));

    assert!(!f.tokens.is_jwt_revoked("j2", Some("s2")).await.expect("up"));
    f.tokens.revoke_family("s2").await.expect("up");
    assert!(f.tokens.is_jwt_revoked("j2", Some("s2")).await.expect("up"));

    // A user's JWTs name families the cache cannot tie to the user: revoking the user drops
    // every cached answer.
    f.issue("s3-refresh", f.record(7, Some("s3"))).await;
    assert!(!f.tokens.is_jwt_revoked("j3", Some("s3")).await.expect("up"));
    f.tokens.revoke_user(UserId(7)).await.expect("up");
    assert!(f.tokens.is_jwt_revoked("j3", Some("s3")).await.expect("up"));
}

#[tokio::test]
async fn user_changes_are_seen_at_once() {
    let cache = ReadCache::new(ReadCacheConfig::default());
    let users = cache.users(Arc::new(MemoryUserStore::new()));
    let ann = users.create(NewUser::new("ann", SystemTime::now())).await.expect("created");
    assert!(users.get_shared(ann.id).await.expect("up").expect("found").is_active);
    users
        .update_profile(ann.id, ProfileUpdate { is_active: Some(false), ..Default::default() })
        .await
        .expect("up");
    assert!(!users.get_shared(ann.id).await.expect("up").expect("found").is_active);
    users.set_password_hash(ann.id, "$argon2id$new").await.expect("up");
    let ann = users.get(ann.id).await.expect("up").expect("found");
    assert_eq!(ann.password_hash.as_deref(), Some("$argon2id$new"));
}

/// A bus inside the process whose link can be cut, as a Redis or PostgreSQL outage would.
#[derive(Default)]
struct LocalBus {
    sinks: Mutex<Vec<InvalidationSink>>,
    cut: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl InvalidationBus for LocalBus {
    async fn publish(&self, line: &str) -> Result<(), BusError> {
        if self.cut.load(Ordering::SeqCst) {
            return Err(BusError::unavailable(std::io::Error::other("cut")));
        }
        let sinks = self.sinks.lock().expect("lock").clone();
        sinks.iter().for_each(|sink| sink.received(line));
        Ok(())
    }

    fn subscribe(&self, sink: InvalidationSink) {
        sink.connected();
        self.sinks.lock().expect("lock").push(sink);
    }
}

impl LocalBus {
    fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
        let sinks = self.sinks.lock().expect("lock").clone();
        for sink in sinks {
            if cut { sink.disconnected() } else { sink.connected() }
        }
    }
}

/// Waits (on the paused test clock) until the heartbeat has brought `cache` into use.
async fn until_in_use(cache: &ReadCache) {
    for _ in 0..20 {
        if cache.is_in_use() {
            return;
        }
        tokio::time::advance(cache.config().heartbeat).await;
        tokio::task::yield_now().await;
    }
    panic!("the cache never came into use");
}

#[tokio::test(start_paused = true)]
async fn instances_on_one_bus_drop_each_others_copies() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let shared = Arc::new(MemoryTokenStore::with_clock(Arc::new(clock.clone())));
    let bus = Arc::new(LocalBus::default());
    let (a, b) = (ReadCache::new(ReadCacheConfig::default()), ReadCache::new(ReadCacheConfig::default()));
    a.attach(bus.clone());
    b.attach(bus.clone());
    assert!(!a.is_in_use(), "bypassed until the first heartbeat comes back");
    until_in_use(&a).await;
    until_in_use(&b).await;
    let tokens_a = a.tokens(shared.clone(), Arc::new(clock.clone()));
    let tokens_b = b.tokens(shared.clone(), Arc::new(clock.clone()));

    let hash = TokenHash::of("t");
    let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", clock.now(), MINUTE);
    tokens_a.put(hash, record).await.expect("up");
    assert!(tokens_b.touch(&hash).await.expect("up").is_some(), "B caches it");
    tokens_a.revoke(&hash).await.expect("up");
    assert!(tokens_b.touch(&hash).await.expect("up").is_none(), "A's revocation reached B's cache");

    // The bus goes down: B bypasses its cache, so a change it cannot hear still holds.
    let other = TokenHash::of("u");
    let record = TokenRecord::new(TokenKind::Access, UserId(2), "amcr", clock.now(), MINUTE);
    tokens_a.put(other, record).await.expect("up");
    assert!(tokens_b.touch(&other).await.expect("up").is_some());
    bus.set_cut(true);
    assert!(!b.is_in_use());
    tokens_a.revoke(&other).await.expect("the store write succeeds; the publish fails");
    assert!(tokens_b.touch(&other).await.expect("up").is_none(), "read from the store while the bus is down");

    bus.set_cut(false);
    until_in_use(&b).await;
    assert!(tokens_b.touch(&other).await.expect("up").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_subscription_that_dies_silently_is_noticed_by_its_heartbeat() {
    let bus = Arc::new(LocalBus::default());
    let cache = ReadCache::new(ReadCacheConfig::default());
    cache.attach(bus.clone());
    until_in_use(&cache).await;
    // Deliveries stop without a disconnect being reported.
    bus.sinks.lock().expect("lock").clear();
    for _ in 0..5 {
        tokio::time::advance(cache.config().heartbeat).await;
        tokio::task::yield_now().await;
    }
    assert!(!cache.is_in_use(), "no heartbeat came back: bypassed");
}
