//! The injectable clock that everything with an expiry reads.
//!
//! Tokens, sessions, lockouts and reset links all expire. Reading time through [`Clock`] instead of
//! calling [`SystemTime::now`] directly lets a test move time forward with [`ManualClock`] and check
//! a 24-hour expiry without waiting 24 hours.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// ```
/// use authmount::clock::{Clock, SystemClock};
/// let now = SystemClock.now();
/// assert!(SystemClock.unix_seconds() > 1_700_000_000);
/// # let _ = now;
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// The current time as whole seconds since the UNIX epoch (the unit of JWT `exp`/`iat`).
    fn unix_seconds(&self) -> i64 {
        unix_seconds(self.now())
    }
}

/// A shared, type-erased clock, as held by stores and services.
pub type SharedClock = Arc<dyn Clock>;

/// Whole seconds since the UNIX epoch; times before the epoch count as 0.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(authmount::clock::unix_seconds(UNIX_EPOCH + Duration::from_millis(2_500)), 2);
/// ```
pub fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// The time `seconds` after the UNIX epoch (negative values clamp to the epoch).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(authmount::clock::from_unix_seconds(60), UNIX_EPOCH + Duration::from_secs(60));
/// ```
pub fn from_unix_seconds(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// The operating system's clock: what production uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to: for tests of expiry, sliding sessions and lockouts.
///
/// Clones share the same time, so a test keeps one handle and gives another to the server.
///
/// ```
/// use std::time::Duration;
/// use authmount::clock::{Clock, ManualClock};
/// let clock = ManualClock::at_unix(1_000);
/// let handle = clock.clone();
/// handle.advance(Duration::from_secs(86_400));
/// assert_eq!(clock.unix_seconds(), 1_000 + 86_400);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock standing at `time`.
    pub fn new(time: SystemTime) -> Self {
        Self { now: Arc::new(Mutex::new(time)) }
    }

    /// A clock standing at `seconds` after the UNIX epoch.
    pub fn at_unix(seconds: i64) -> Self {
        Self::new(from_unix_seconds(seconds))
    }

    /// A clock standing at the operating system's current time.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `time` (which may be earlier than now).
    pub fn set(&self, time: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = time;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix(10);
        assert_eq!(clock.unix_seconds(), 10);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.unix_seconds(), 15);
        clock.set(from_unix_seconds(3));
        assert_eq!(clock.unix_seconds(), 3);
    }

    #[test]
    fn times_before_the_epoch_clamp_to_zero() {
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(10)), 0);
        assert_eq!(from_unix_seconds(-5), UNIX_EPOCH);
    }
}
