//! The SQLite store.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use authmount::clock::{SharedClock, SystemClock};
use authmount::login_name::normalize_login;
use authmount::store::{
    ConflictField, Counter, CounterStore, Rotation, StoreError, TokenRecord, TokenStore, UserStore,
};
use authmount::token::TokenHash;
use authmount::user::{NewUser, ProfileUpdate, User, UserId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};

use crate::StoreOptions;
use crate::common::{
    PurgeTimer, TOKEN_COLUMNS, TokenColumns, USER_COLUMNS_SQLITE, duration_millis, family_retention_until,
    from_millis, hash_bytes, is_unique_violation, json_text, map_err, to_millis, token_from_row,
    user_from_row,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Write transactions take SQLite's write lock at `BEGIN`, so two writers never both read and
/// then fail to upgrade (`SQLITE_BUSY_SNAPSHOT`); the second waits up to the busy timeout.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// [`UserStore`], [`TokenStore`] and [`CounterStore`] on one SQLite database file.
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
    pool: SqlitePool,
    clock: SharedClock,
    purge: PurgeTimer,
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
        let clock: SharedClock = Arc::new(SystemClock);
        let purge = PurgeTimer::starting_at(clock.now());
        Self { pool, clock, purge }
    }

    /// The store reading time from `clock` (expiry, sliding sessions, counter windows). For tests
    /// with [`ManualClock`](authmount::clock::ManualClock); production uses the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.purge = PurgeTimer::starting_at(clock.now());
        self.clock = clock;
        self
    }

    /// Applies the embedded migrations that have not run yet (idempotent; safe with several
    /// processes: sqlx serialises them).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::Execute(inner) => map_err(inner),
            other => StoreError::backend(other),
        })
    }

    /// The connection pool, for the app's own queries or to close it.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with(BEGIN_WRITE).await.map_err(map_err)
    }

    /// Starts a background sweep of expired rows if one is due (at most once a minute by the
    /// store's clock). The sweep runs on its own task, so the write that triggers it does not
    /// wait; a failed sweep is logged and retried a minute later.
    fn purge_if_due(&self, now: SystemTime) {
        if self.purge.claim(now) {
            let store = self.clone();
            tokio::spawn(async move {
                if let Err(error) = store.purge_at(now).await {
                    tracing::warn!(%error, "authmount-sqlx: sweeping expired rows failed");
                }
            });
        }
    }

    async fn purge_at(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now_ms = to_millis(now);
        let mut removed = 0;
        for sql in [
            "DELETE FROM tokens WHERE expires_at <= ?1",
            "DELETE FROM revoked_jtis WHERE expires_at <= ?1",
            "DELETE FROM revoked_families WHERE expires_at <= ?1",
            "DELETE FROM counters WHERE expires_at <= ?1",
        ] {
            removed +=
                sqlx::query(sql).bind(now_ms).execute(&self.pool).await.map_err(map_err)?.rows_affected();
        }
        Ok(removed)
    }

    async fn select_user(&self, sql_tail: &str, bind: Bind<'_>) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS_SQLITE} {sql_tail}");
        let query = sqlx::query(&sql);
        let query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
        let row = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(user_from_row::<SqliteRow>).transpose()
    }
}

enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

/// Inserts a login key for `user_id`; a taken key is a conflict on `field`.
async fn insert_login(
    tx: &mut Transaction<'static, Sqlite>,
    key: &str,
    user_id: i64,
    field: ConflictField,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO user_logins (login_key, user_id) VALUES (?1, ?2)")
        .bind(key)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map(drop)
        .map_err(
            |error| {
                if is_unique_violation(&error) { StoreError::Conflict(field) } else { map_err(error) }
            },
        )
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let key = normalize_login(login);
        self.select_user(
            "FROM user_logins l JOIN users u ON u.id = l.user_id WHERE l.login_key = ?1",
            Bind::Text(&key),
        )
        .await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.select_user("FROM users u WHERE u.id = ?1", Bind::Int(id.0)).await
    }

    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let username_key = normalize_login(&new.username);
        let email_key = new.email.as_deref().map(normalize_login);
        let groups = json_text(&new.groups)?;
        let attributes = json_text(&new.attributes)?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO users (username, email, first_name, last_name, is_active, is_admin, \
             is_superuser, group_names, created_at, password_hash, attributes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.email)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(new.is_active)
        .bind(new.is_admin)
        .bind(new.is_superuser)
        .bind(&groups)
        .bind(to_millis(new.created_at))
        .bind(&new.password_hash)
        .bind(&attributes)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(StoreError::backend)?;
        insert_login(&mut tx, &username_key, id, ConflictField::Username).await?;
        if let Some(key) = email_key.filter(|key| *key != username_key) {
            insert_login(&mut tx, &key, id, ConflictField::Email).await?;
        }
        tx.commit().await.map_err(map_err)?;
        let mut user = User::from_new(UserId(id), new);
        // What a later read returns: times are stored to the millisecond.
        user.created_at = from_millis(to_millis(user.created_at));
        Ok(user)
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ?1 WHERE id = ?2")
            .bind(phc)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {USER_COLUMNS_SQLITE} FROM users u WHERE u.id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        let mut user = user_from_row(&row)?;
        if let Some(new_email) = &update.email {
            let username_key = normalize_login(&user.username);
            let old_key = user.email.as_deref().map(normalize_login);
            let new_key = new_email.as_deref().map(normalize_login);
            if old_key != new_key {
                if let Some(old) = old_key.filter(|old| *old != username_key) {
                    sqlx::query("DELETE FROM user_logins WHERE login_key = ?1 AND user_id = ?2")
                        .bind(old)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                if let Some(new) = new_key.filter(|new| *new != username_key) {
                    insert_login(&mut tx, &new, id.0, ConflictField::Email).await?;
                }
            }
        }
        user.apply(update);
        sqlx::query(
            "UPDATE users SET email = ?1, first_name = ?2, last_name = ?3, is_active = ?4, \
             is_admin = ?5, is_superuser = ?6, group_names = ?7, attributes = ?8 WHERE id = ?9",
        )
        .bind(&user.email)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(user.is_active)
        .bind(user.is_admin)
        .bind(user.is_superuser)
        .bind(json_text(&user.groups)?)
        .bind(json_text(&user.attributes)?)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(user)
    }
}

/// Inserts a token, replacing an expired record under the same hash; `false` when a record
/// that has not expired holds the hash.
async fn insert_token<'e, E>(
    executor: E,
    hash: &TokenHash,
    columns: &TokenColumns,
    now_ms: i64,
) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let done = sqlx::query(
        "INSERT INTO tokens (hash, kind, user_id, audience, family, issued_at, expires_at, \
         idle_timeout_ms, data, rotated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0) \
         ON CONFLICT (hash) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id, \
         audience = excluded.audience, family = excluded.family, issued_at = excluded.issued_at, \
         expires_at = excluded.expires_at, idle_timeout_ms = excluded.idle_timeout_ms, \
         data = excluded.data, rotated = 0 WHERE tokens.expires_at <= ?10",
    )
    .bind(hash_bytes(hash))
    .bind(columns.kind)
    .bind(columns.user_id)
    .bind(&columns.audience)
    .bind(&columns.family)
    .bind(columns.issued_at)
    .bind(columns.expires_at)
    .bind(columns.idle_timeout_ms)
    .bind(&columns.data)
    .bind(now_ms)
    .execute(executor)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a family's records and puts the family on the revocation list; returns how many of
/// the deleted records were live. `also_expiring` is the latest expiry of records of the family
/// already deleted by the caller.
async fn revoke_family_in(
    tx: &mut Transaction<'static, Sqlite>,
    family: &str,
    now_ms: i64,
    also_expiring: Option<i64>,
) -> Result<u64, StoreError> {
    let rows = sqlx::query("DELETE FROM tokens WHERE family = ?1 RETURNING rotated, expires_at")
        .bind(family)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
    let (live, latest) = tally(&rows, now_ms)?;
    let until = family_retention_until(now_ms, latest.max(also_expiring));
    sqlx::query(
        "INSERT INTO revoked_families (family, expires_at) VALUES (?1, ?2) \
         ON CONFLICT (family) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
    )
    .bind(family)
    .bind(until)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(live)
}

/// How many of the deleted rows (`rotated`, `expires_at`) were live, and the latest expiry.
fn tally(rows: &[SqliteRow], now_ms: i64) -> Result<(u64, Option<i64>), StoreError> {
    let mut live = 0;
    let mut latest = None;
    for row in rows {
        let rotated: bool = row.try_get("rotated").map_err(StoreError::backend)?;
        let expires: i64 = row.try_get("expires_at").map_err(StoreError::backend)?;
        live += u64::from(!rotated && expires > now_ms);
        latest = latest.max(Some(expires));
    }
    Ok((live, latest))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        let now = self.now();
        self.purge_if_due(now);
        let columns = TokenColumns::of(record)?;
        if insert_token(&self.pool, &hash, &columns, to_millis(now)).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict(ConflictField::Token))
        }
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1 AND NOT rotated AND expires_at > ?2");
        let row = sqlx::query(&sql)
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<SqliteRow>).transpose()
    }

    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "UPDATE tokens SET expires_at = CASE WHEN idle_timeout_ms IS NULL THEN expires_at \
             ELSE ?2 + idle_timeout_ms END \
             WHERE hash = ?1 AND NOT rotated AND expires_at > ?2 RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<SqliteRow>).transpose()
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let rows = sqlx::query("DELETE FROM tokens WHERE hash = ?1 RETURNING rotated, expires_at")
            .bind(hash_bytes(hash))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(tally(&rows, to_millis(self.now()))?.0 > 0)
    }

    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let now_ms = to_millis(self.now());
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query("DELETE FROM tokens WHERE user_id = ?1 RETURNING family, rotated, expires_at")
            .bind(user_id.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let (mut live, _) = tally(&rows, now_ms)?;
        let mut families: Vec<(String, i64)> = Vec::new();
        for row in &rows {
            let family: Option<String> = row.try_get("family").map_err(StoreError::backend)?;
            let expires: i64 = row.try_get("expires_at").map_err(StoreError::backend)?;
            if let Some(family) = family {
                match families.iter_mut().find(|(f, _)| *f == family) {
                    Some((_, latest)) => *latest = (*latest).max(expires),
                    None => families.push((family, expires)),
                }
            }
        }
        for (family, latest) in &families {
            live += revoke_family_in(&mut tx, family, now_ms, Some(*latest)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(live)
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let now_ms = to_millis(self.now());
        let mut tx = self.begin_write().await?;
        let live = revoke_family_in(&mut tx, family, now_ms, None).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(live)
    }

    /// One `BEGIN IMMEDIATE` transaction: mark `old` rotated only if it is live (the
    /// compare-and-swap), then insert `new`. SQLite runs one write transaction at a time, so of
    /// concurrent rotations exactly one sees `old` live. A crash before the commit rolls back
    /// both steps: `old` stays live and `new` was never stored, so at most one of the two is ever
    /// valid.
    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
    ) -> Result<Rotation, StoreError> {
        let now = self.now();
        self.purge_if_due(now);
        let now_ms = to_millis(now);
        let columns = TokenColumns::of(record)?;
        let mut tx = self.begin_write().await?;
        let spent =
            sqlx::query("UPDATE tokens SET rotated = 1 WHERE hash = ?1 AND NOT rotated AND expires_at > ?2")
                .bind(hash_bytes(old))
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        if spent.rows_affected() == 1 {
            if !insert_token(&mut *tx, &new, &columns, now_ms).await? {
                return Err(StoreError::Conflict(ConflictField::Token));
            }
            tx.commit().await.map_err(map_err)?;
            return Ok(Rotation::Rotated);
        }
        let row =
            sqlx::query("SELECT user_id, family FROM tokens WHERE hash = ?1 AND rotated AND expires_at > ?2")
                .bind(hash_bytes(old))
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(Rotation::NotFound);
        };
        let user_id = UserId(row.try_get("user_id").map_err(StoreError::backend)?);
        let family: Option<String> = row.try_get("family").map_err(StoreError::backend)?;
        match &family {
            Some(family) => {
                revoke_family_in(&mut tx, family, now_ms, None).await?;
            }
            None => {
                sqlx::query("DELETE FROM tokens WHERE hash = ?1")
                    .bind(hash_bytes(old))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(Rotation::Reused { user_id, family })
    }

    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "DELETE FROM tokens WHERE hash = ?1 AND NOT rotated AND expires_at > ?2 \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<SqliteRow>).transpose()
    }

    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.purge_if_due(self.now());
        sqlx::query(
            "INSERT INTO revoked_jtis (jti, expires_at) VALUES (?1, ?2) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(to_millis(expires_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM revoked_jtis WHERE jti = ?1 AND expires_at > ?3 \
             UNION ALL SELECT 1 FROM revoked_families WHERE family = ?2 AND expires_at > ?3 \
             LIMIT 1",
        )
        .bind(jti)
        .bind(family)
        .bind(to_millis(self.now()))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.is_some())
    }

    /// Deletes expired tokens, revocation entries and counters (counters are kept in the same
    /// database); returns how many rows went.
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.purge_at(self.now()).await
    }
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        let now = self.now();
        self.purge_if_due(now);
        let now_ms = to_millis(now);
        let row = sqlx::query(
            "INSERT INTO counters (key, count, expires_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN counters.expires_at <= ?3 THEN 1 ELSE counters.count + 1 END, \
             expires_at = CASE WHEN counters.expires_at <= ?3 THEN excluded.expires_at \
             ELSE counters.expires_at END \
             RETURNING count, expires_at",
        )
        .bind(key)
        .bind(now_ms.saturating_add(duration_millis(window)))
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        counter_from_row(&row)
    }

    async fn peek(&self, key: &str) -> Result<Option<Counter>, StoreError> {
        let row = sqlx::query("SELECT count, expires_at FROM counters WHERE key = ?1 AND expires_at > ?2")
            .bind(key)
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(counter_from_row).transpose()
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM counters WHERE key = ?1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

fn counter_from_row(row: &SqliteRow) -> Result<Counter, StoreError> {
    let count: i64 = row.try_get("count").map_err(StoreError::backend)?;
    let expires: i64 = row.try_get("expires_at").map_err(StoreError::backend)?;
    Ok(Counter { count: count.unsigned_abs(), expires_at: from_millis(expires) })
}
