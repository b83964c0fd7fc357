//! authmount's user, token and counter stores on SQLite and PostgreSQL (through sqlx).
//!
//! [`SqliteStore`] and [`PostgresStore`] each implement all three ports of
//! [`authmount::store`]: [`UserStore`](authmount::store::UserStore),
//! [`TokenStore`](authmount::store::TokenStore) and
//! [`CounterStore`](authmount::store::CounterStore). One store value (one connection pool) backs
//! all three; clone it or share it in an `Arc`.
//!
//! # SQLite or PostgreSQL?
//!
//! - **SQLite** when the app runs as **one process**: nothing to install or operate, the database
//!   is a file next to the app, reads take a few microseconds. SQLite allows one writer at a
//!   time (writes queue for up to the busy timeout), which is ample for logins and token writes
//!   of a single server. It cannot be shared by several app instances on different hosts.
//! - **PostgreSQL** when **several processes** serve the app behind a load balancer: every
//!   instance sees the same users, tokens, revocations and lockout counters at once, so a logout
//!   or a lockout on one instance holds on all of them. (Redis, `authmount-redis`, is the other
//!   choice for tokens and counters; users belong in PostgreSQL.)
//!
//! Both pass the same conformance suite, so switching is a change of constructor.
//!
//! `UserStore` and `TokenStore` both have a `get`: on the concrete store, name the port
//! (`UserStore::get(&store, id)`), or hand the store to the app as `Arc<dyn UserStore>` and
//! `Arc<dyn TokenStore>` as the example below does.
//!
//! # Behaviour
//!
//! - **Uniqueness** of logins is enforced by the database: normalised usernames and e-mail
//!   addresses share one `user_logins` table keyed by the normalised name, and a user and its
//!   login keys are inserted in one transaction. Of concurrent registrations of one name exactly
//!   one commits; the others get [`StoreError::Conflict`](authmount::store::StoreError::Conflict)
//!   and leave nothing behind.
//! - **Rotation** is a compare-and-swap in one transaction: the old token is marked rotated only
//!   if it is still live, then the new one is inserted (or, on reuse, the family is revoked). A
//!   crash mid-rotation rolls the whole transaction back, so at most one of the two tokens is
//!   ever valid.
//! - **Time** comes from the store's clock ([`SqliteStore::with_clock`]), never from the database
//!   server, so tests move time with [`ManualClock`](authmount::clock::ManualClock) and servers
//!   with skewed clocks agree with the app. Times are stored as milliseconds since the epoch.
//! - **Sliding sessions**: [`touch`](authmount::store::TokenStore::touch) is a read; it writes
//!   the new expiry only when [`TokenRecord::slid_expiry`](authmount::store::TokenRecord::slid_expiry)
//!   asks for it (a sliding expiry that would move by 1/20 of its idle timeout or more), so
//!   authenticated requests do not queue for SQLite's single writer.
//! - **Expired rows** are invisible at once and deleted by a sweep that writes start at most once
//!   a minute (on a background task, so no request waits for it), or on demand with
//!   [`purge_expired`](authmount::store::TokenStore::purge_expired).
//! - **Errors**: a database that cannot be reached (refused connection, pool timeout, server
//!   shutting down, SQLite busy past its timeout) is
//!   [`StoreError::Unavailable`](authmount::store::StoreError::Unavailable), which the HTTP layer
//!   answers with 503. The pool opens fresh connections on later calls, so the app recovers by
//!   itself when the database is back. Undecodable rows and other database errors are
//!   [`StoreError::Backend`](authmount::store::StoreError::Backend).
//! - **Migrations** are embedded and run on connect (turn off with
//!   [`StoreOptions::migrate`]); `migrate()` runs them on demand and is idempotent.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use authmount::store::{TokenKind, TokenRecord, TokenStore};
//! use authmount::token::TokenHash;
//! use authmount::user::UserId;
//! use authmount_sqlx::SqliteStore;
//!
//! let path = std::env::temp_dir().join(format!("authmount-lib-doc-{}.db", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let store = Arc::new(SqliteStore::open(&path).await?);
//! let hash = TokenHash::of("a presented token");
//! let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", SystemTime::now(), Duration::from_secs(60));
//! store.put(hash, record).await?;
//! assert!(store.get(&hash).await?.is_some());
//! # drop(store);
//! # let _ = std::fs::remove_file(&path);
//! # Ok::<(), authmount::store::StoreError>(())
//! # }).unwrap();
//! ```

mod backend;
mod bus;
mod common;
mod options;
mod ports;
mod postgres;
mod sqlite;

/// The core whose ports these stores implement, re-exported so an app keeps one `authmount`
/// version in step with this adapter.
pub use authmount;
pub use bus::{DEFAULT_CHANNEL, PostgresBus};
pub use options::StoreOptions;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The sqlx crate this adapter is built on, for [`SqliteStore::from_pool`] and
/// [`PostgresStore::from_pool`] with a pool the app configured itself.
pub use sqlx;
