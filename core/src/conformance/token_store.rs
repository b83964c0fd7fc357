//! The [`TokenStore`] cases. Each takes the store under test and the
//! [`ManualClock`] it reads time from; see the
//! [`token_store_conformance!`](crate::token_store_conformance) macro.

use std::sync::Arc;
use std::time::Duration;

use super::unique;
use crate::clock::{Clock, ManualClock};
use crate::store::{ConflictField, Rotation, StoreError, TokenKind, TokenRecord, TokenStore};
use crate::token::TokenHash;
use crate::user::UserId;

/// The store under test.
pub type Store = Arc<dyn TokenStore>;

const MINUTE: Duration = Duration::from_secs(60);

/// No reuse grace period: every repeat of a rotated token is a replay.
const NO_GRACE: Duration = Duration::ZERO;

/// The reuse grace period of the grace cases.
const GRACE: Duration = Duration::from_secs(10);

fn fresh_hash() -> TokenHash {
    TokenHash::of(&unique("token"))
}

/// A user id no other case uses, so cases can share one store.
fn fresh_user() -> UserId {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    UserId(i64::from_le_bytes(bytes).rem_euclid(i64::MAX - 1) + 1)
}

fn record(clock: &ManualClock, kind: TokenKind, user: UserId, ttl: Duration) -> TokenRecord {
    TokenRecord::new(kind, user, "conformance", clock.now(), ttl)
}

async fn put(store: &Store, hash: TokenHash, record: TokenRecord) {
    store.put(hash, record).await.expect("put of a fresh hash succeeds");
}

async fn is_live(store: &Store, hash: &TokenHash) -> bool {
    store.get(hash).await.expect("get works").is_some()
}

/// A stored record comes back unchanged; an unknown hash is `None`.
pub async fn put_then_get(store: Store, clock: ManualClock) {
    let hash = fresh_hash();
    let stored = record(&clock, TokenKind::Access, fresh_user(), MINUTE)
        .in_family(unique("family"))
        .with_data("session_id", 42)
        .with_data("device", serde_json::json!({"os": "ios"}));
    put(&store, hash, stored.clone()).await;
    let got = store.get(&hash).await.expect("get works").expect("record is live");
    assert_eq!(got.kind, stored.kind);
    assert_eq!(got.user_id, stored.user_id);
    assert_eq!(got.audience, stored.audience);
    assert_eq!(got.family, stored.family);
    assert_eq!(got.data, stored.data);
    assert_eq!(crate::clock::unix_seconds(got.expires_at), crate::clock::unix_seconds(stored.expires_at));
    assert!(!is_live(&store, &fresh_hash()).await, "an unknown hash is not live");
}

/// A record stops being live at its expiry, without any purge.
pub async fn expired_records_are_not_live(store: Store, clock: ManualClock) {
    let hash = fresh_hash();
    put(&store, hash, record(&clock, TokenKind::Access, fresh_user(), MINUTE)).await;
    clock.advance(Duration::from_secs(59));
    assert!(is_live(&store, &hash).await, "live one second before expiry");
    clock.advance(Duration::from_secs(1));
    assert!(!is_live(&store, &hash).await, "not live at expiry");
    assert!(
        store.touch(&hash).await.expect("touch works").is_none(),
        "an expired record cannot be touched back to life"
    );
}

/// Touching a sliding record moves its expiry to now + idle timeout; a fixed record keeps its
/// expiry.
pub async fn touch_slides_the_expiry(store: Store, clock: ManualClock) {
    let sliding = fresh_hash();
    let fixed = fresh_hash();
    let user = fresh_user();
    put(&store, sliding, record(&clock, TokenKind::Session, user, MINUTE).sliding(MINUTE)).await;
    put(&store, fixed, record(&clock, TokenKind::Access, user, MINUTE)).await;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(45));
        let touched = store.touch(&sliding).await.expect("touch works").expect("still live");
        assert_eq!(
            crate::clock::unix_seconds(touched.expires_at),
            clock.unix_seconds() + 60,
            "each use moves the expiry a full idle timeout ahead"
        );
    }
    assert!(is_live(&store, &sliding).await, "135 s of activity keeps a 60 s idle session alive");
    assert!(!is_live(&store, &fixed).await, "a fixed token expired after 60 s");
    clock.advance(Duration::from_secs(61));
    assert!(!is_live(&store, &sliding).await, "an idle session expires");
}

/// A session used every two seconds (a busy browser tab) stays alive well past its idle
/// timeout, whether or not the store skips small slides, and its expiry never falls more than
/// 1/20 of the idle timeout behind an exact slide.
pub async fn frequent_touches_keep_the_session_alive(store: Store, clock: ManualClock) {
    let hash = fresh_hash();
    put(&store, hash, record(&clock, TokenKind::Session, fresh_user(), MINUTE).sliding(MINUTE)).await;
    for _ in 0..65 {
        clock.advance(Duration::from_secs(2));
        let touched = store.touch(&hash).await.expect("touch works").expect("still live");
        let behind = clock.unix_seconds() + 60 - crate::clock::unix_seconds(touched.expires_at);
        assert!(behind <= 3, "expiry {behind} s behind an exact slide");
    }
    assert!(is_live(&store, &hash).await, "130 s of activity keeps a 60 s idle session alive");
}

/// Revoking one token leaves the user's other tokens alone.
pub async fn revoke_one(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let (a, b) = (fresh_hash(), fresh_hash());
    put(&store, a, record(&clock, TokenKind::Access, user, MINUTE)).await;
    put(&store, b, record(&clock, TokenKind::Access, user, MINUTE)).await;
    assert!(store.revoke(&a).await.expect("revoke works"), "a live token was revoked");
    assert!(!is_live(&store, &a).await);
    assert!(is_live(&store, &b).await, "the other token stays live");
    assert!(!store.revoke(&a).await.expect("revoke works"), "revoking twice reports nothing live");
}

/// Revoking a user ends every token of theirs and their families' JWTs, and nobody else's.
pub async fn revoke_user_spares_other_users(store: Store, clock: ManualClock) {
    let (victim, bystander) = (fresh_user(), fresh_user());
    let family = unique("family");
    let victim_tokens = [fresh_hash(), fresh_hash(), fresh_hash()];
    put(&store, victim_tokens[0], record(&clock, TokenKind::Access, victim, MINUTE)).await;
    put(&store, victim_tokens[1], record(&clock, TokenKind::Session, victim, MINUTE)).await;
    put(&store, victim_tokens[2], record(&clock, TokenKind::Refresh, victim, MINUTE).in_family(&family))
        .await;
    let other = fresh_hash();
    put(&store, other, record(&clock, TokenKind::Access, bystander, MINUTE)).await;

    let revoked = store.revoke_user(victim).await.expect("revoke_user works");
    assert_eq!(revoked, 3, "three live tokens revoked");
    for hash in &victim_tokens {
        assert!(!is_live(&store, hash).await, "the user's tokens are revoked");
    }
    assert!(is_live(&store, &other).await, "another user's token stays live");
    let jwt_revoked = store.is_jwt_revoked(&unique("jti"), Some(&family)).await.expect("check works");
    assert!(jwt_revoked, "JWTs of the user's families are revoked");
}

/// Revoking a user but one family (a password change) ends the user's other tokens and
/// families, keeps the spared family's tokens and JWTs, and spares other users.
pub async fn revoke_user_except_keeps_one_family(store: Store, clock: ManualClock) {
    let (user, bystander) = (fresh_user(), fresh_user());
    let (kept, ended) = (unique("family"), unique("family"));
    let kept_tokens = [fresh_hash(), fresh_hash()];
    put(&store, kept_tokens[0], record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&kept)).await;
    put(&store, kept_tokens[1], record(&clock, TokenKind::Session, user, MINUTE).in_family(&kept)).await;
    let ended_tokens = [fresh_hash(), fresh_hash()];
    put(&store, ended_tokens[0], record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&ended)).await;
    put(&store, ended_tokens[1], record(&clock, TokenKind::Access, user, MINUTE)).await;
    let other = fresh_hash();
    put(&store, other, record(&clock, TokenKind::Refresh, bystander, MINUTE)).await;

    let revoked = store.revoke_user_except(user, &kept).await.expect("revoke_user_except works");
    assert_eq!(revoked, 2, "the other family's token and the loose token");
    assert!(is_live(&store, &other).await, "another user's token stays live");
    for hash in &kept_tokens {
        assert!(is_live(&store, hash).await, "the spared family's tokens stay live");
    }
    for hash in &ended_tokens {
        assert!(!is_live(&store, hash).await, "the user's other tokens are revoked");
    }
    let check = |family: String| {
        let store = store.clone();
        async move { store.is_jwt_revoked(&unique("jti"), Some(&family)).await.expect("check works") }
    };
    assert!(!check(kept.clone()).await, "JWTs of the spared family still work");
    assert!(check(ended.clone()).await, "JWTs of the user's other families are revoked");
    // A second call finds nothing more to revoke, and the spared family is still intact.
    assert_eq!(store.revoke_user_except(user, &kept).await.expect("works"), 0);
    assert!(is_live(&store, &kept_tokens[0]).await);
}

/// Revoking a family ends all its tokens and its JWTs, and only those.
pub async fn revoke_family_and_its_jwts(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let (family, other_family) = (unique("family"), unique("family"));
    let members = [fresh_hash(), fresh_hash()];
    for hash in members {
        put(&store, hash, record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&family)).await;
    }
    let outsider = fresh_hash();
    put(&store, outsider, record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&other_family)).await;
    assert_eq!(store.revoke_family(&family).await.expect("revoke works"), 2);
    for hash in &members {
        assert!(!is_live(&store, hash).await);
    }
    assert!(is_live(&store, &outsider).await, "another family is untouched");
    let jti = unique("jti");
    assert!(store.is_jwt_revoked(&jti, Some(&family)).await.expect("check"));
    assert!(!store.is_jwt_revoked(&jti, Some(&other_family)).await.expect("check"));
    assert!(!store.is_jwt_revoked(&jti, None).await.expect("check"));
    clock.advance(Duration::from_secs(3_600));
    assert!(
        store.is_jwt_revoked(&jti, Some(&family)).await.expect("check"),
        "the family stays revoked after its records would have expired"
    );
}

/// Rotation spends the old token and stores the new one; replaying the spent token revokes the
/// whole family, including the token that replaced it.
pub async fn rotation_replaces_and_reuse_revokes_the_family(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let family = unique("family");
    let (first, second) = (fresh_hash(), fresh_hash());
    let refresh = |clock: &ManualClock| record(clock, TokenKind::Refresh, user, MINUTE).in_family(&family);
    put(&store, first, refresh(&clock)).await;
    let outcome = store.rotate(&first, second, refresh(&clock), NO_GRACE).await.expect("rotate works");
    assert_eq!(outcome, Rotation::Rotated);
    assert!(!is_live(&store, &first).await, "the rotated token is spent");
    assert!(is_live(&store, &second).await, "its successor is live");

    let third = fresh_hash();
    let replay = store.rotate(&first, third, refresh(&clock), NO_GRACE).await.expect("rotate works");
    assert_eq!(replay, Rotation::Reused { user_id: user, family: Some(family.clone()) });
    assert!(!is_live(&store, &second).await, "reuse revokes the newer token too");
    assert!(!is_live(&store, &third).await, "a replay stores nothing");
    let again = store.rotate(&second, fresh_hash(), refresh(&clock), NO_GRACE).await.expect("rotate works");
    assert_eq!(again, Rotation::NotFound, "a revoked token cannot be rotated");
    let unknown =
        store.rotate(&fresh_hash(), fresh_hash(), refresh(&clock), NO_GRACE).await.expect("rotate works");
    assert_eq!(unknown, Rotation::NotFound);
}

/// Of 50 concurrent rotations of one token exactly one wins.
pub async fn concurrent_rotations_have_one_winner(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let family = unique("family");
    let old = fresh_hash();
    put(&store, old, record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&family)).await;
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let next = record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&family);
            let new = fresh_hash();
            tokio::spawn(async move { (new, store.rotate(&old, new, next, NO_GRACE).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (new, outcome) = attempt.await.expect("task completes");
        match outcome.expect("rotate works") {
            Rotation::Rotated => winners.push(new),
            Rotation::Reused { .. } | Rotation::NotFound => {}
            Rotation::WithinGrace { .. } => panic!("no grace was given, yet a repeat was forgiven"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 50 concurrent rotations wins");
}

/// A repeat of a rotated token within the grace period revokes nothing, stores nothing and
/// hands back the spent record; after the grace period the same repeat revokes the family.
pub async fn repeat_within_the_grace_period_keeps_the_family(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let family = unique("family");
    let (first, second, third) = (fresh_hash(), fresh_hash(), fresh_hash());
    let refresh = |clock: &ManualClock| {
        record(clock, TokenKind::Refresh, user, MINUTE).in_family(&family).with_data("device", "tab")
    };
    let stored = refresh(&clock);
    put(&store, first, stored.clone()).await;
    let outcome = store.rotate(&first, second, refresh(&clock), GRACE).await.expect("rotate works");
    assert_eq!(outcome, Rotation::Rotated);

    clock.advance(GRACE - Duration::from_secs(1));
    match store.rotate(&first, third, refresh(&clock), GRACE).await.expect("rotate works") {
        Rotation::WithinGrace { previous } => {
            assert_eq!(previous.user_id, user);
            assert_eq!(previous.family.as_deref(), Some(family.as_str()));
            assert_eq!(previous.kind, TokenKind::Refresh);
            assert_eq!(previous.data, stored.data, "the spent record comes back with its data");
        }
        other => panic!("a repeat inside the grace period answered {other:?}"),
    }
    assert!(is_live(&store, &second).await, "a repeat inside the grace period revokes nothing");
    assert!(!is_live(&store, &third).await, "and stores nothing");
    assert!(!is_live(&store, &first).await, "the spent token stays spent");

    clock.advance(Duration::from_secs(1));
    let late = store.rotate(&first, third, refresh(&clock), GRACE).await.expect("rotate works");
    assert_eq!(late, Rotation::Reused { user_id: user, family: Some(family.clone()) });
    assert!(!is_live(&store, &second).await, "after the grace period a repeat revokes the family");
    assert!(!is_live(&store, &third).await);
}

/// Two tabs refreshing at once: with a grace period, of 20 concurrent rotations of one token
/// one rotates and every other is forgiven; nothing is revoked.
pub async fn concurrent_repeats_within_the_grace_period_revoke_nothing(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let family = unique("family");
    let old = fresh_hash();
    put(&store, old, record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&family)).await;
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            let next = record(&clock, TokenKind::Refresh, user, MINUTE).in_family(&family);
            let new = fresh_hash();
            tokio::spawn(async move { (new, store.rotate(&old, new, next, GRACE).await) })
        })
        .collect();
    let (mut winners, mut forgiven) = (Vec::new(), 0);
    for attempt in attempts {
        let (new, outcome) = attempt.await.expect("task completes");
        match outcome.expect("rotate works") {
            Rotation::Rotated => winners.push(new),
            Rotation::WithinGrace { .. } => forgiven += 1,
            other => panic!("a concurrent repeat inside the grace period answered {other:?}"),
        }
    }
    assert_eq!((winners.len(), forgiven), (1, 19));
    assert!(is_live(&store, &winners[0]).await, "the winner's token survives its twins");
}

/// A single-use token is handed out once.
pub async fn consume_is_single_use(store: Store, clock: ManualClock) {
    let hash = fresh_hash();
    let reset = record(&clock, TokenKind::PasswordReset, fresh_user(), MINUTE);
    put(&store, hash, reset.clone()).await;
    let taken = store.consume(&hash).await.expect("consume works").expect("first use succeeds");
    assert_eq!(taken.kind, TokenKind::PasswordReset);
    assert!(store.consume(&hash).await.expect("consume works").is_none(), "second use fails");
    assert!(!is_live(&store, &hash).await);

    let late = fresh_hash();
    put(&store, late, reset).await;
    clock.advance(MINUTE);
    assert!(store.consume(&late).await.expect("consume works").is_none(), "an expired token cannot be used");

    // Every kind round-trips, activation links included.
    let activation = fresh_hash();
    put(&store, activation, record(&clock, TokenKind::Activation, fresh_user(), MINUTE)).await;
    let taken = store.consume(&activation).await.expect("consume works").expect("an activation token");
    assert_eq!(taken.kind, TokenKind::Activation);
}

/// JWT ids on the revocation list are refused; others are not.
pub async fn jti_revocation_list(store: Store, clock: ManualClock) {
    let (revoked, other) = (unique("jti"), unique("jti"));
    store.revoke_jti(&revoked, clock.now() + MINUTE).await.expect("revoke works");
    assert!(store.is_jwt_revoked(&revoked, None).await.expect("check"));
    assert!(store.is_jwt_revoked(&revoked, Some(&unique("family"))).await.expect("check"));
    assert!(!store.is_jwt_revoked(&other, None).await.expect("check"));
}

/// Purging removes expired records (and keeps live ones).
pub async fn purge_removes_expired_records(store: Store, clock: ManualClock) {
    let user = fresh_user();
    let short: Vec<_> = (0..5).map(|_| fresh_hash()).collect();
    for hash in &short {
        put(&store, *hash, record(&clock, TokenKind::Access, user, MINUTE)).await;
    }
    let long = fresh_hash();
    put(&store, long, record(&clock, TokenKind::Access, user, MINUTE * 10)).await;
    store.revoke_jti(&unique("jti"), clock.now() + MINUTE).await.expect("revoke works");
    clock.advance(MINUTE * 2);
    let removed = store.purge_expired().await.expect("purge works");
    assert!(removed >= 5, "at least the five expired records were purged, got {removed}");
    assert!(is_live(&store, &long).await, "a live record survives the purge");
    for hash in &short {
        assert!(!store.revoke(hash).await.expect("revoke works"));
    }
}

/// Storing a second record under a live hash is a conflict and keeps the first.
pub async fn duplicate_hash_is_a_conflict(store: Store, clock: ManualClock) {
    let hash = fresh_hash();
    let (owner, intruder) = (fresh_user(), fresh_user());
    put(&store, hash, record(&clock, TokenKind::Access, owner, MINUTE)).await;
    match store.put(hash, record(&clock, TokenKind::Access, intruder, MINUTE)).await {
        Err(StoreError::Conflict(ConflictField::Token)) => {}
        other => panic!("expected a token conflict, got {other:?}"),
    }
    let kept = store.get(&hash).await.expect("get works").expect("live");
    assert_eq!(kept.user_id, owner, "the first record is kept");
}
