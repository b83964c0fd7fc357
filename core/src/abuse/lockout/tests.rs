use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::audit::LockScope;
use crate::clock::ManualClock;
use crate::store::MemoryCounterStore;
use crate::user::NewUser;

const MINUTE: Duration = Duration::from_secs(60);

fn lockout(limits: LoginLimits) -> (Lockout, ManualClock) {
    let clock = ManualClock::at_unix(1_743_153_300);
    let counters = Arc::new(MemoryCounterStore::with_clock(Arc::new(clock.clone())));
    (Lockout::new(counters, Arc::new(clock.clone()), limits), clock)
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().expect("ip"))
}

async fn fail(lockout: &Lockout, login: &str, times: u64) -> Result<(), LockoutError> {
    for _ in 0..times {
        lockout.record_failure(login, None).await?;
    }
    Ok(())
}

fn locked(result: Result<(), LockoutError>) -> Option<(Duration, LockScope, bool)> {
    match result {
        Err(LockoutError::Locked { retry_after, scope, new }) => Some((retry_after, scope, new)),
        _ => None,
    }
}

#[tokio::test]
async fn the_fifth_failure_locks_every_spelling_of_the_name() {
    let (lockout, _) = lockout(LoginLimits::default());
    fail(&lockout, "Alice", 4).await.expect("four failures do not lock");
    lockout.check("alice", None).await.expect("not locked yet");
    let fifth = lockout.record_failure("ALICE", None).await;
    assert_eq!(locked(fifth), Some((15 * MINUTE, LockScope::Account, true)));
    for spelling in ["alice", "Alice", "ａｌｉｃｅ"] {
        assert_eq!(
            locked(lockout.check(spelling, None).await),
            Some((15 * MINUTE, LockScope::Account, false))
        );
    }
    lockout.check("bob", None).await.expect("other names are not affected");
}

#[tokio::test]
async fn failures_outside_the_window_do_not_add_up() {
    let (lockout, clock) = lockout(LoginLimits::default());
    fail(&lockout, "alice", 4).await.expect("not locked");
    clock.advance(15 * MINUTE + Duration::from_secs(1));
    fail(&lockout, "alice", 4).await.expect("a new window");
    lockout.check("alice", None).await.expect("not locked");
}

#[tokio::test]
async fn locks_expire_and_double_on_repeat_up_to_the_cap() {
    let limits = LoginLimits {
        account: Some(AccountLockout { max_lock: 60 * MINUTE, ..Default::default() }),
        ..Default::default()
    };
    let (lockout, clock) = lockout(limits);
    for expected in [15, 30, 60, 60] {
        let outcome = fail(&lockout, "alice", 5).await;
        assert_eq!(locked(outcome), Some((expected * MINUTE, LockScope::Account, true)), "{expected}");
        clock.advance(expected * MINUTE - Duration::from_secs(1));
        let (remaining, _, _) = locked(lockout.check("alice", None).await).expect("still locked");
        assert_eq!(remaining, Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));
        lockout.check("alice", None).await.expect("the lock has ended");
    }
    // A day after the first lock, the escalation starts again.
    clock.advance(24 * 60 * MINUTE);
    assert_eq!(locked(fail(&lockout, "alice", 5).await), Some((15 * MINUTE, LockScope::Account, true)));
}

#[tokio::test]
async fn a_success_clears_the_failure_count() {
    let (lockout, _) = lockout(LoginLimits::default());
    fail(&lockout, "alice", 4).await.expect("not locked");
    lockout.record_success("ALICE").await.expect("cleared");
    fail(&lockout, "alice", 4).await.expect("counting starts again");
}

#[tokio::test]
async fn a_reset_clears_locks_of_username_and_email() {
    let (lockout, _) = lockout(LoginLimits::default());
    assert!(locked(fail(&lockout, "Ann", 5).await).is_some());
    assert!(locked(fail(&lockout, "ann@example.org", 5).await).is_some());
    let ann = NewUser::new("ann", crate::clock::from_unix_seconds(0)).with_email("ANN@example.org");
    let user = crate::store::MemoryUserStore::new();
    let ann = crate::store::UserStore::create(&user, ann).await.expect("created");
    lockout.clear_user(&ann).await.expect("cleared");
    lockout.check("ann", None).await.expect("username unlocked");
    lockout.check("ann@example.org", None).await.expect("e-mail unlocked");
    // The escalation history is gone too: the next lock is the first again.
    assert_eq!(locked(fail(&lockout, "ann", 5).await), Some((15 * MINUTE, LockScope::Account, true)));
}

#[tokio::test]
async fn off_turns_the_account_lockout_off() {
    let (lockout, _) = lockout(LoginLimits { account: None, ..Default::default() });
    fail(&lockout, "alice", 50).await.expect("never locked");
    lockout.check("alice", None).await.expect("never locked");
}

#[tokio::test]
async fn the_per_client_limit_is_off_by_default() {
    let (lockout, _) = lockout(LoginLimits::default());
    for n in 0..200 {
        lockout.record_failure(&format!("user{n}"), ip("192.0.2.1")).await.expect("per name only");
    }
    lockout.check("someone", ip("192.0.2.1")).await.expect("no client limit");
}

#[tokio::test]
async fn the_per_client_limit_blocks_one_address_across_names() {
    let limits = LoginLimits {
        per_client: Some(ClientLimit { threshold: 10, window: 10 * MINUTE }),
        ..Default::default()
    };
    let (lockout, clock) = lockout(limits);
    for n in 0..9 {
        lockout.record_failure(&format!("user{n}"), ip("192.0.2.1")).await.expect("under the limit");
    }
    let tenth = lockout.record_failure("user9", ip("192.0.2.1")).await;
    assert_eq!(locked(tenth), Some((10 * MINUTE, LockScope::Client, true)));
    let blocked = lockout.check("anyone", ip("192.0.2.1")).await;
    assert_eq!(locked(blocked), Some((10 * MINUTE, LockScope::Client, false)));
    lockout.check("anyone", ip("192.0.2.2")).await.expect("other addresses are not blocked");
    lockout.check("anyone", None).await.expect("no address, no client limit");
    clock.advance(10 * MINUTE);
    lockout.check("anyone", ip("192.0.2.1")).await.expect("the window has closed");
}

/// A counter store that is down.
struct Down;

#[async_trait]
impl CounterStore for Down {
    async fn increment(&self, _: &str, _: Duration) -> Result<Counter, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn peek(&self, _: &str) -> Result<Option<Counter>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn clear(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn unreachable_counters_fail_closed() {
    let lockout = Lockout::new(Arc::new(Down), Arc::new(ManualClock::at_unix(0)), LoginLimits::default());
    assert!(matches!(lockout.check("alice", None).await, Err(LockoutError::Unavailable(_))));
    assert!(matches!(lockout.record_failure("alice", None).await, Err(LockoutError::Unavailable(_))));
    assert!(lockout.record_success("alice").await.is_err());
}

#[test]
fn keys_hide_the_login_name() {
    let key = login_key("Alice");
    assert_eq!(key, login_key("ALICE"));
    assert_eq!(key.len(), 64);
    assert!(!key.contains("alice"));
}
