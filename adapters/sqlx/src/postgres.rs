//! The PostgreSQL store.

use std::str::FromStr;

use authmount::clock::SharedClock;
use authmount::store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{AssertSqlSafe, Postgres};

use crate::StoreOptions;
use crate::backend::{Dialect, SqlStore, impl_ports};
use crate::common::{is_unique_violation, map_err};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// [`UserStore`](authmount::store::UserStore), [`TokenStore`](authmount::store::TokenStore) and
/// [`CounterStore`](authmount::store::CounterStore) on a PostgreSQL database shared by every
/// instance of the app.
///
/// For several processes behind a load balancer: a registration, logout, revocation or lockout
/// on one instance holds on all of them at once. Transactions run at PostgreSQL's default
/// `READ COMMITTED` isolation; the compare-and-swap steps are single conditional `UPDATE`s and
/// row locks, which are atomic at that level. No TLS is built in: reach the server on a trusted
/// network, a local socket or through a TLS-terminating proxy.
///
/// One store backs all three ports: clone it (clones share the pool) or put it in an `Arc`.
///
/// ```no_run
/// # async fn run() -> Result<(), authmount::store::StoreError> {
/// use std::sync::Arc;
/// use authmount::store::{CounterStore, TokenStore, UserStore};
/// use authmount_sqlx::PostgresStore;
///
/// let store = Arc::new(PostgresStore::connect("postgres://auth@db.internal/auth").await?);
/// let users: Arc<dyn UserStore> = store.clone();
/// let tokens: Arc<dyn TokenStore> = store.clone();
/// let counters: Arc<dyn CounterStore> = store;
/// # let _ = (users, tokens, counters);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    core: SqlStore<Postgres>,
    schema: Option<String>,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL with the default [`StoreOptions`] (pool of 10, 3 s
    /// acquire timeout) and runs the migrations.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), authmount::store::StoreError> {
    /// let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/auth".into());
    /// let store = authmount_sqlx::PostgresStore::connect(&url).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::new()).await
    }

    /// Like [`connect`](Self::connect), but leaves the schema alone: for apps that apply the
    /// migrations separately (see [`migrate`](Self::migrate)).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), authmount::store::StoreError> {
    /// let store = authmount_sqlx::PostgresStore::connect_without_migrating("postgres://app@db/auth").await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_without_migrating(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::new().migrate(false)).await
    }

    /// Connects with explicit [`StoreOptions`] (pool size, acquire timeout, migrations, schema).
    ///
    /// A server that refuses connections or does not answer within the acquire timeout is
    /// [`StoreError::Unavailable`]; a malformed URL or a failed migration is
    /// [`StoreError::Backend`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), authmount::store::StoreError> {
    /// use std::time::Duration;
    /// use authmount_sqlx::{PostgresStore, StoreOptions};
    /// let options = StoreOptions::new()
    ///     .max_connections(20)
    ///     .acquire_timeout(Duration::from_secs(2))
    ///     .schema("authmount");
    /// let store = PostgresStore::connect_with("postgres://app@db/auth", options).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url).map_err(map_err)?;
        Self::connect_with_options(connect, options).await
    }

    /// Connects with sqlx connection options built by the app (a password from a secret store,
    /// a Unix socket, an application name...) and [`StoreOptions`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), authmount::store::StoreError> {
    /// use authmount_sqlx::sqlx::postgres::PgConnectOptions;
    /// use authmount_sqlx::{PostgresStore, StoreOptions};
    /// let connect = PgConnectOptions::new()
    ///     .host("/run/postgresql")
    ///     .username("auth")
    ///     .database("auth")
    ///     .application_name("my-app");
    /// let store = PostgresStore::connect_with_options(connect, StoreOptions::new()).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with_options(
        mut connect: PgConnectOptions,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let schema = options.schema.as_deref().map(quote_ident);
        if let Some(schema) = &schema {
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(10))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(map_err)?;
        let mut store = Self::from_pool(pool);
        store.schema = schema;
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A store on an existing pool (configured by the app). Does not run the migrations.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { core: SqlStore::new(pool), schema: None }
    }

    /// The store reading time from `clock` (expiry, sliding sessions, counter windows). For tests
    /// with [`ManualClock`](authmount::clock::ManualClock); production uses the system clock.
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { core: self.core.with_clock(clock), ..self }
    }

    /// Applies the embedded migrations that have not run yet (idempotent; safe with several
    /// instances starting at once: sqlx holds an advisory lock while migrating). With
    /// [`StoreOptions::schema`], creates the schema first.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if let Some(schema) = &self.schema {
            let created =
                // `schema` is a quoted identifier (`quote_ident`).
                sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
                    .execute(self.pool())
                    .await;
            // Two instances creating the schema at once: the loser's unique violation is fine.
            match created {
                Err(error) if !is_unique_violation(&error) => return Err(map_err(error)),
                _ => {}
            }
        }
        MIGRATOR.run(self.pool()).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::Execute(inner) => map_err(inner),
            other => StoreError::backend(other),
        })
    }

    /// The connection pool, for the app's own queries or to close it.
    pub fn pool(&self) -> &PgPool {
        self.core.pool()
    }
}

impl_ports!(PostgresStore);

impl Dialect for Postgres {
    /// The jsonb columns cast to text.
    const USER_COLUMNS: &'static str = "u.id, u.username, u.email, u.first_name, u.last_name, \
        u.is_active, u.is_admin, u.is_superuser, u.group_names::text AS group_names, u.created_at, \
        u.password_hash, u.attributes::text AS attributes";
    const INSERT_USER: &'static str = "INSERT INTO users (username, email, first_name, last_name, \
        is_active, is_admin, is_superuser, group_names, created_at, password_hash, attributes) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb) RETURNING id";
    const UPDATE_USER: &'static str = "UPDATE users SET email = $1, first_name = $2, last_name = $3, \
        is_active = $4, is_admin = $5, is_superuser = $6, group_names = $7::jsonb, \
        attributes = $8::jsonb WHERE id = $9";
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const UPSERT_REVOKED_FAMILY: &'static str = "INSERT INTO revoked_families (family, expires_at) \
        VALUES ($1, $2) ON CONFLICT (family) DO UPDATE SET \
        expires_at = GREATEST(revoked_families.expires_at, excluded.expires_at)";
    const UPSERT_REVOKED_JTI: &'static str = "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) \
        ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_jtis.expires_at, excluded.expires_at)";
    /// `READ COMMITTED` (PostgreSQL's default): the compare-and-swap steps are single conditional
    /// `UPDATE`s and row locks, atomic at that level.
    const BEGIN_WRITE: Option<&'static str> = None;

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// `name` as a double-quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
