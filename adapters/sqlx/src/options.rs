//! Connection and pool settings shared by both stores.

use std::time::Duration;

use crate::common::DEFAULT_ACQUIRE_TIMEOUT;

/// How a [`SqliteStore`](crate::SqliteStore) or [`PostgresStore`](crate::PostgresStore) connects:
/// pool size, how long a request may wait for a connection, whether migrations run, and a few
/// backend-specific settings (each says which backend reads it).
///
/// ```
/// use std::time::Duration;
/// use authmount_sqlx::StoreOptions;
/// let options = StoreOptions::new()
///     .max_connections(16)
///     .acquire_timeout(Duration::from_secs(2))
///     .migrate(false);
/// assert_eq!(options.get_max_connections(), Some(16));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    pub(crate) max_connections: Option<u32>,
    pub(crate) acquire_timeout: Duration,
    pub(crate) migrate: bool,
    pub(crate) busy_timeout: Duration,
    pub(crate) schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl StoreOptions {
    /// The defaults: the backend's default pool size (SQLite 8, PostgreSQL 10), a 3 s acquire
    /// timeout, migrations on, a 5 s SQLite busy timeout, PostgreSQL's default schema.
    pub fn new() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            migrate: true,
            busy_timeout: Duration::from_secs(5),
            schema: None,
        }
    }

    /// The most connections the pool opens. PostgreSQL's own limit (`max_connections`, 100 by
    /// default) is shared by every instance of the app: keep instances × this below it.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// The configured pool size, `None` for the backend's default.
    pub fn get_max_connections(&self) -> Option<u32> {
        self.max_connections
    }

    /// How long an operation waits for a pooled connection (including opening a new one) before
    /// it fails with [`StoreError::Unavailable`](authmount::store::StoreError::Unavailable).
    ///
    /// The default is 3 s, well under sqlx's 30 s: when the database is down or saturated, a
    /// login should get a prompt 503 rather than hold its socket, its task and the client for
    /// half a minute (clients and load balancers usually give up sooner anyway, and the waiting
    /// requests would pile up in memory). The pool keeps trying to connect on later requests,
    /// so service resumes by itself when the database is back.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Whether connecting runs the embedded migrations (default `true`). Turn it off when the
    /// app applies migrations separately (a deploy step, or a role without DDL rights); the
    /// store's [`migrate`](crate::SqliteStore::migrate) runs them on demand.
    pub fn migrate(mut self, run: bool) -> Self {
        self.migrate = run;
        self
    }

    /// SQLite only: how long a write waits for another connection's write to finish before it
    /// fails with `Unavailable` (default 5 s). SQLite allows one writer at a time.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// PostgreSQL only: keep authmount's tables in this schema (created if missing) instead of
    /// the connection's default (`public`). Every pooled connection uses it as its
    /// `search_path`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}
