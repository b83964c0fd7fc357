//! Attaching a bus: the subscription, and the heartbeat that proves it still delivers.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::state::State;
use super::{InvalidationBus, InvalidationMessage, InvalidationSink};

/// How many heartbeat intervals may pass without our heartbeat coming back before the cache is
/// bypassed.
const LATE_AFTER_BEATS: u32 = 3;

pub(super) fn attach(state: &Arc<State>, bus: Arc<dyn InvalidationBus>) {
    if state.bus.set(bus.clone()).is_err() {
        tracing::warn!("a bus is already attached to this read cache; the second one is ignored");
        return;
    }
    // Bypassed until the subscription is up and our first heartbeat has come back.
    state.health.attached.store(true, Ordering::Release);
    bus.subscribe(InvalidationSink::new(state));
    tokio::spawn(heartbeat(Arc::downgrade(state), bus));
}

/// Sends a heartbeat every interval and bypasses the cache when they stop coming back. Ends
/// when the cache is dropped.
async fn heartbeat(state: Weak<State>, bus: Arc<dyn InvalidationBus>) {
    let Some(interval) = state.upgrade().map(|s| s.config.heartbeat) else { return };
    let limit_ms = u64::try_from((interval * LATE_AFTER_BEATS).as_millis()).unwrap_or(u64::MAX);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for beat in 0u64.. {
        ticks.tick().await;
        let Some(state) = state.upgrade() else { return };
        state.heartbeat_late(limit_ms);
        let line = InvalidationMessage::Heartbeat { sender: state.instance, beat }.to_string();
        drop(state);
        // A publish that hangs must not stop the watchdog: give it one interval.
        match tokio::time::timeout(interval, bus.publish(&line)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "could not publish a cache heartbeat"),
            Err(_) => tracing::debug!("publishing a cache heartbeat timed out"),
        }
    }
}
