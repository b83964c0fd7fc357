//! The SQLite store.

use std::path::Path;
use std::str::FromStr;

use authmount::clock::SharedClock;
use authmount::store::StoreError;
use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
};

use crate::StoreOptions;
use crate::backend::{SqlFlavor, SqlStore};
use crate::common::map_err;
use crate::ports::impl_ports;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// [`UserStore`](authmount::store::UserStore), [`TokenStore`](authmount::store::TokenStore) and
/// [`CounterStore`](authmount::store::CounterStore) on one SQLite database file.
///
/// The embedded default: one process, no server to run, data survives restarts. The file is
/// created if missing and opened in WAL mode (readers never wait for the writer) with foreign keys
/// on and a busy timeout, so concurrent writes queue instead of failing. Writes are fully
/// synchronous (a revocation that was acknowledged survives a power cut).
///
/// One store backs all three ports: clone it (clones share the pool) or put it in an `Arc`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::store::{TokenStore, UserStore};
/// use authmount::user::NewUser;
/// use authmount_sqlx::SqliteStore;
///
/// let path = std::env::temp_dir().join(format!("authmount-doc-{}.db", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let store = Arc::new(SqliteStore::open(&path).await?);
/// let users: Arc<dyn UserStore> = store.clone();
/// let tokens: Arc<dyn TokenStore> = store;
/// let ann = users.create(NewUser::new("Ann", std::time::SystemTime::now())).await?;
/// assert_eq!(users.find_by_login("ANN").await?.map(|u| u.id), Some(ann.id));
/// # let _ = tokens;
/// # let _ = std::fs::remove_file(&path);
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    core: SqlStore<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` with the default
    /// [`StoreOptions`], and runs the migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().filename(path.as_ref());
        Self::connect_with_options(options, StoreOptions::new()).await
    }

    /// Connects to a `sqlite:` URL (`sqlite:data/auth.db`, `sqlite:///abs/path.db`,
    /// `sqlite::memory:`) with the default [`StoreOptions`], and runs the migrations. The file is
    /// created if missing.
    ///
    /// An in-memory database lives as long as the store's pool, on a single connection.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use authmount::store::{CounterStore};
    /// let store = authmount_sqlx::SqliteStore::connect("sqlite::memory:").await?;
    /// let counter = store.increment("ip:192.0.2.1", std::time::Duration::from_secs(60)).await?;
    /// assert_eq!(counter.count, 1);
    /// # Ok::<(), authmount::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::new()).await
    }

    /// Like [`connect`](Self::connect), but leaves the schema alone: for apps that apply the
    /// migrations separately (see [`migrate`](Self::migrate)).
    pub async fn connect_without_migrating(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::new().migrate(false)).await
    }

    /// Connects to a `sqlite:` URL with explicit [`StoreOptions`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use authmount_sqlx::{SqliteStore, StoreOptions};
    /// let path = std::env::temp_dir().join(format!("authmount-doc-opts-{}.db", std::process::id()));
    /// let url = format!("sqlite:{}", path.display());
    /// let store = SqliteStore::connect_with(&url, StoreOptions::new().max_connections(4)).await?;
    /// store.migrate().await?; // idempotent
    /// # drop(store);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), authmount::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url).map_err(map_err)?;
        Self::connect_with_options(connect, options).await
    }

    /// Connects with sqlx connection options built by the app and [`StoreOptions`]. The store
    /// still sets what its guarantees rely on: create-if-missing, WAL (for a file), foreign keys
    /// and the busy timeout from `options`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use authmount_sqlx::sqlx::sqlite::SqliteConnectOptions;
    /// use authmount_sqlx::{SqliteStore, StoreOptions};
    /// let path = std::env::temp_dir().join(format!("authmount-doc-connect-{}.db", std::process::id()));
    /// let connect = SqliteConnectOptions::new().filename(&path).statement_cache_capacity(200);
    /// let store = SqliteStore::connect_with_options(connect, StoreOptions::new()).await?;
    /// # drop(store);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), authmount::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect_with_options(
        connect: SqliteConnectOptions,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let in_memory = connect.get_filename().to_string_lossy().contains("in-memory")
            || connect.get_filename() == Path::new(":memory:");
        let connect = connect
            .create_if_missing(true)
            .journal_mode(if in_memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let mut pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(8))
            .acquire_timeout(options.acquire_timeout);
        if in_memory {
            // Every connection to `:memory:` would be its own database: keep exactly one, forever.
            pool = pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        let pool = pool.connect_with(connect).await.map_err(map_err)?;
        let store = Self::from_pool(pool);
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A store on an existing pool (configured by the app). Does not run the migrations.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { core: SqlStore::new(pool) }
    }

    /// The store reading time from `clock` (expiry, sliding sessions, counter windows). For tests
    /// with [`ManualClock`](authmount::clock::ManualClock); production uses the system clock.
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { core: self.core.with_clock(clock) }
    }

    /// Applies the embedded migrations that have not run yet (idempotent; safe with several
    /// processes: sqlx serialises them).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(self.pool()).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::Execute(inner) => map_err(inner),
            other => StoreError::backend(other),
        })
    }

    /// The connection pool, for the app's own queries or to close it.
    pub fn pool(&self) -> &SqlitePool {
        self.core.pool()
    }
}

impl_ports!(SqliteStore);

impl SqlFlavor for Sqlite {
    const USER_COLUMNS: &'static str = "u.id, u.username, u.email, u.first_name, u.last_name, \
        u.is_active, u.is_admin, u.is_superuser, u.group_names, u.created_at, u.password_hash, \
        u.attributes";
    const INSERT_USER: &'static str = "INSERT INTO users (username, email, first_name, last_name, \
        is_active, is_admin, is_superuser, group_names, created_at, password_hash, attributes) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
    const UPDATE_USER: &'static str = "UPDATE users SET email = $1, first_name = $2, last_name = $3, \
        is_active = $4, is_admin = $5, is_superuser = $6, group_names = $7, attributes = $8 WHERE id = $9";
    /// None needed: the profile update runs in a `BEGIN IMMEDIATE` transaction, which already
    /// holds the database's one write lock.
    const LOCK_ROW: &'static str = "";
    const UPSERT_REVOKED_FAMILY: &'static str = "INSERT INTO revoked_families (family, expires_at) \
        VALUES ($1, $2) ON CONFLICT (family) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)";
    const UPSERT_REVOKED_JTI: &'static str = "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) \
        ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)";
    /// Write transactions take SQLite's write lock at `BEGIN`, so two writers never both read
    /// and then fail to upgrade (`SQLITE_BUSY_SNAPSHOT`); the second waits up to the busy
    /// timeout. One write transaction at a time is also what makes rotation's compare-and-swap
    /// exact.
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}
