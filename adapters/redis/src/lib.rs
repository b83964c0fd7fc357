//! # authmount-redis
//!
//! authmount's [`TokenStore`](authmount::store::TokenStore) (opaque tokens, sessions, refresh
//! families, the JWT revocation list) and [`CounterStore`](authmount::store::CounterStore)
//! (lockouts, rate limits) on Redis, in one type: [`RedisStore`].
//!
//! ## When to use it
//!
//! When the app runs as many instances behind a load balancer. The memory stores keep state in
//! one process, so a logout, a refresh-token reuse revocation or a brute-force lockout on one
//! instance would not be seen by the others. With every instance on one Redis they all see it at
//! once: a revoked token or JWT is refused everywhere on the next request, and failed logins are
//! counted across instances. (PostgreSQL via `authmount-sqlx` works too; Redis is the lighter
//! choice for short-lived, high-traffic state, and it expires keys by itself.) One process needs
//! none of this: use the memory stores or SQLite.
//!
//! ## Behaviour
//!
//! - Every key is written with its TTL in the same atomic step (`SET … PX`, or inside a Lua
//!   script), so Redis drops expired state by itself; [`purge_expired`] only tidies the indexes.
//! - Each value also holds its expiry, compared with the store's clock on read, so a record is
//!   never live past its expiry, and tests can drive a `ManualClock`.
//! - Rotation (compare-and-swap, reuse detection revoking the family), consumption of single-use
//!   tokens, sliding expiry, revocation of a user or family and counter increments are each one
//!   Lua script: atomic across all instances.
//! - A JWT revocation check is one round trip (`MGET` of the `jti` and family entries).
//! - Redis down or unreachable: operations fail within about the configured timeouts (1 s by
//!   default) with [`StoreError::Unavailable`](authmount::store::StoreError::Unavailable), which
//!   the HTTP layer answers with 503; the connection is re-established by itself when Redis
//!   returns.
//!
//! ## Key layout (prefix `authmount:` by default, see [`RedisOptions::prefix`])
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}t:{sha256 hex}` | hash | a token record: `exp`, `uid`, `fam`, `idle`, `rot`, `rec` (JSON) |
//! | `{prefix}u:{user id}` | sorted set | the user's token hashes, scored by expiry |
//! | `{prefix}f:{family}` | sorted set | the family's token hashes, scored by expiry |
//! | `{prefix}rf:{family}` | string | a revoked family: until when (ms since the epoch) |
//! | `{prefix}j:{jti}` | string | a revoked JWT id: until when (ms) |
//! | `{prefix}c:{counter}` | string | a counter: `{count}:{window end ms}` |
//!
//! Needs Redis ≥ 6.0, standalone or behind Sentinel (not Cluster).
//!
//! ```no_run
//! # async fn demo() -> Result<(), authmount::store::StoreError> {
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use authmount::store::{CounterStore, TokenKind, TokenRecord, TokenStore};
//! use authmount::token::TokenHash;
//! use authmount::user::UserId;
//! use authmount_redis::{RedisOptions, RedisStore};
//!
//! let store = Arc::new(
//!     RedisStore::connect_with("redis://127.0.0.1:6379", RedisOptions::default().prefix("shop:"))
//!         .await?,
//! );
//! let hash = TokenHash::of("a presented token");
//! let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", SystemTime::now(), Duration::from_secs(3600));
//! store.put(hash, record).await?;
//! assert!(store.get(&hash).await?.is_some());
//!
//! let failures = store.increment("login-failures:alice", Duration::from_secs(900)).await?;
//! assert!(failures.count >= 1);
//! # Ok(()) }
//! ```
//!
//! [`purge_expired`]: authmount::store::TokenStore::purge_expired

mod bus;
mod counters;
mod error;
mod record;
mod scripts;
mod store;
mod tokens;

/// The core whose ports this store implements, re-exported so an app keeps one `authmount`
/// version in step with this adapter.
pub use authmount;
pub use bus::{DEFAULT_CHANNEL, RedisBus};
pub use store::{DEFAULT_PREFIX, RedisOptions, RedisStore};
