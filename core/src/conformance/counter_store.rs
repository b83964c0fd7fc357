//! The [`CounterStore`] cases. Each takes the store under test and the [`ManualClock`] it reads
//! time from; see the [`counter_store_conformance!`](crate::counter_store_conformance) macro.

use std::sync::Arc;
use std::time::Duration;

use super::unique;
use crate::clock::{Clock, ManualClock};
use crate::store::CounterStore;

/// The store under test.
pub type Store = Arc<dyn CounterStore>;

const WINDOW: Duration = Duration::from_secs(60);

/// Increments count up from 1 within one window, which opens at the first increment.
pub async fn increments_count_within_a_window(store: Store, clock: ManualClock) {
    let key = unique("counter");
    let opened = clock.now();
    for expected in 1..=3 {
        clock.advance(Duration::from_secs(10));
        let counter = store.increment(&key, WINDOW).await.expect("increment works");
        assert_eq!(counter.count, expected);
    }
    let counter = store.peek(&key).await.expect("peek works").expect("counter exists");
    assert_eq!(counter.count, 3);
    let expires = crate::clock::unix_seconds(counter.expires_at);
    assert_eq!(
        expires,
        crate::clock::unix_seconds(opened + Duration::from_secs(10) + WINDOW),
        "later increments do not extend the window"
    );
}

/// After its window closes a counter is gone and starts again from 1.
pub async fn a_closed_window_starts_again(store: Store, clock: ManualClock) {
    let key = unique("counter");
    store.increment(&key, WINDOW).await.expect("increment works");
    store.increment(&key, WINDOW).await.expect("increment works");
    clock.advance(WINDOW);
    assert!(store.peek(&key).await.expect("peek works").is_none(), "closed window");
    assert_eq!(store.increment(&key, WINDOW).await.expect("increment works").count, 1);
}

/// Clearing removes a counter; other counters are untouched.
pub async fn clear_removes_one_counter(store: Store, clock: ManualClock) {
    let (key, other) = (unique("counter"), unique("counter"));
    store.increment(&key, WINDOW).await.expect("increment works");
    store.increment(&other, WINDOW).await.expect("increment works");
    store.clear(&key).await.expect("clear works");
    assert!(store.peek(&key).await.expect("peek works").is_none());
    assert_eq!(store.peek(&other).await.expect("peek works").map(|c| c.count), Some(1));
    store.clear(&unique("never-set")).await.expect("clearing a missing counter is fine");
    let _ = clock;
}

/// 50 concurrent increments count 50.
pub async fn concurrent_increments_are_all_counted(store: Store, clock: ManualClock) {
    let key = unique("counter");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move { store.increment(&key, WINDOW).await })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("task completes").expect("increment works").count);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=50).collect::<Vec<u64>>(), "every increment saw a distinct count");
    let _ = clock;
}
