//! The store conformance suite: the behaviour every [`UserStore`](crate::store::UserStore) and
//! [`TokenStore`](crate::store::TokenStore) must show, as functions any implementation can run
//! against itself (feature `conformance`).
//!
//! The memory stores run it in this crate's tests; the SQL and Redis stores, and your own, run
//! the same cases. The macros generate one `#[tokio::test]` per case:
//!
//! ```
//! use std::sync::Arc;
//! use authmount::store::{MemoryTokenStore, MemoryUserStore};
//!
//! authmount::user_store_conformance!(async { Arc::new(MemoryUserStore::new()) });
//! authmount::token_store_conformance!(|clock| async move {
//!     Arc::new(MemoryTokenStore::with_clock(Arc::new(clock)))
//! });
//! authmount::counter_store_conformance!(|clock| async move {
//!     Arc::new(authmount::store::MemoryCounterStore::with_clock(Arc::new(clock)))
//! });
//! # fn main() {}
//! ```
//!
//! Cases use fresh, random login names and token hashes, so a suite can run repeatedly against
//! one shared database. Each case panics (fails the test) with a message on a violation.

pub mod bus;
pub mod counter_store;
pub mod token_store;
pub mod user_store;

#[doc(hidden)]
pub mod __private {
    pub use tokio;
}

/// A name no earlier run can have used: `prefix` plus 16 random hex digits.
///
/// ```
/// let a = authmount::conformance::unique("ann");
/// assert!(a.starts_with("ann-") && a != authmount::conformance::unique("ann"));
/// ```
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// Generates one `#[tokio::test]` per user-store case. The argument is an expression that
/// evaluates to a future yielding an `Arc` of the store under test (a new store or a shared one).
#[macro_export]
macro_rules! user_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            user_store, $make, ();
            create_then_find_by_username_email_and_id,
            login_lookup_is_normalised,
            duplicate_username_is_a_conflict_and_stores_nothing,
            duplicate_email_is_a_conflict,
            usernames_and_emails_share_one_namespace,
            concurrent_creates_of_one_name_have_one_winner,
            password_hash_is_replaced,
            profile_update_merges_and_keeps_emails_unique,
            unknown_ids_and_logins,
            record_fields_round_trip,
            list_pages_and_searches,
        );
    };
}

/// Generates one `#[tokio::test]` per token-store case. The argument is a closure taking a
/// [`ManualClock`](crate::clock::ManualClock) and returning a future that yields an `Arc` of a
/// store reading time from that clock.
#[macro_export]
macro_rules! token_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            token_store, $make, ($crate::clock::ManualClock::starting_now());
            put_then_get,
            expired_records_are_not_live,
            touch_slides_the_expiry,
            frequent_touches_keep_the_session_alive,
            revoke_one,
            revoke_user_spares_other_users,
            revoke_user_except_keeps_one_family,
            revoke_family_and_its_jwts,
            rotation_replaces_and_reuse_revokes_the_family,
            concurrent_rotations_have_one_winner,
            repeat_within_the_grace_period_keeps_the_family,
            concurrent_repeats_within_the_grace_period_revoke_nothing,
            consume_is_single_use,
            jti_revocation_list,
            purge_removes_expired_records,
            duplicate_hash_is_a_conflict,
        );
    };
}

/// Generates one `#[tokio::test]` per counter-store case. The argument is a closure taking a
/// [`ManualClock`](crate::clock::ManualClock) and returning a future that yields an `Arc` of a
/// store reading time from that clock.
#[macro_export]
macro_rules! counter_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            counter_store, $make, ($crate::clock::ManualClock::starting_now());
            increments_count_within_a_window,
            a_closed_window_starts_again,
            clear_removes_one_counter,
            concurrent_increments_are_all_counted,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $make:expr, $clock:tt; $($case:ident),+ $(,)?) => {
        $(
            #[$crate::conformance::__private::tokio::test(
                flavor = "multi_thread",
                worker_threads = 4,
                crate = "authmount::conformance::__private::tokio"
            )]
            async fn $case() {
                $crate::__conformance_call!($module, $case, $make, $clock);
            }
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_call {
    ($module:ident, $case:ident, $make:expr, ()) => {{
        let store = $make.await;
        $crate::conformance::$module::$case(store).await;
    }};
    ($module:ident, $case:ident, $make:expr, ($clock:expr)) => {{
        let clock = $clock;
        let store = ($make)(clock.clone()).await;
        $crate::conformance::$module::$case(store, clock).await;
    }};
}
