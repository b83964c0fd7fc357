//! The storage ports and their in-memory implementations.
//!
//! [`UserStore`] holds accounts, [`TokenStore`] holds everything with a lifetime: opaque tokens,
//! sessions, refresh-token families, reset tokens and the JWT revocation list. [`CounterStore`]
//! holds the windowed counters behind lockouts and rate limits. The in-memory
//! stores here serve one process and the tests; `authmount-sqlx` and `authmount-redis` provide
//! stores shared by many processes. Every implementation is held to the same behaviour by the
//! conformance suite in [`crate::conformance`] (feature `conformance`).

mod counter_store;
mod error;
mod memory_counter_store;
mod memory_token_store;
mod memory_user_store;
mod token_store;
mod user_store;

pub use counter_store::{Counter, CounterStore};
pub use error::{ConflictField, StoreError};
pub use memory_counter_store::MemoryCounterStore;
pub use memory_token_store::MemoryTokenStore;
pub use memory_user_store::MemoryUserStore;
pub use token_store::{
    DEFAULT_REUSE_GRACE, FAMILY_RETENTION, Rotation, TOUCH_GRANULARITY, TokenKind, TokenRecord, TokenStore,
};
pub use user_store::{UserPage, UserQuery, UserStore};
