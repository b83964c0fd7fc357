//! The PostgreSQL store.

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
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::StoreOptions;
use crate::common::{
    PurgeTimer, TOKEN_COLUMNS, TokenColumns, USER_COLUMNS_POSTGRES, duration_millis, family_retention_until,
    from_millis, hash_bytes, is_unique_violation, json_text, map_err, to_millis, token_from_row,
    user_from_row,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// [`UserStore`], [`TokenStore`] and [`CounterStore`] on a PostgreSQL database shared by every
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
    pool: PgPool,
    clock: SharedClock,
    purge: PurgeTimer,
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
        let clock: SharedClock = Arc::new(SystemClock);
        let purge = PurgeTimer::starting_at(clock.now());
        Self { pool, clock, purge, schema: None }
    }

    /// The store reading time from `clock` (expiry, sliding sessions, counter windows). For tests
    /// with [`ManualClock`](authmount::clock::ManualClock); production uses the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.purge = PurgeTimer::starting_at(clock.now());
        self.clock = clock;
        self
    }

    /// Applies the embedded migrations that have not run yet (idempotent; safe with several
    /// instances starting at once: sqlx holds an advisory lock while migrating). With
    /// [`StoreOptions::schema`], creates the schema first.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if let Some(schema) = &self.schema {
            let created =
                sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&self.pool).await;
            // Two instances creating the schema at once: the loser's unique violation is fine.
            match created {
                Err(error) if !is_unique_violation(&error) => return Err(map_err(error)),
                _ => {}
            }
        }
        MIGRATOR.run(&self.pool).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::Execute(inner) => map_err(inner),
            other => StoreError::backend(other),
        })
    }

    /// The connection pool, for the app's own queries or to close it.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(map_err)
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
            "DELETE FROM tokens WHERE expires_at <= $1",
            "DELETE FROM revoked_jtis WHERE expires_at <= $1",
            "DELETE FROM revoked_families WHERE expires_at <= $1",
            "DELETE FROM counters WHERE expires_at <= $1",
        ] {
            removed +=
                sqlx::query(sql).bind(now_ms).execute(&self.pool).await.map_err(map_err)?.rows_affected();
        }
        Ok(removed)
    }

    async fn select_user(&self, sql_tail: &str, bind: Bind<'_>) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS_POSTGRES} {sql_tail}");
        let query = sqlx::query(&sql);
        let query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
        let row = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(user_from_row::<PgRow>).transpose()
    }
}

enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

/// Inserts a login key for `user_id`; a taken key is a conflict on `field`.
async fn insert_login(
    tx: &mut Transaction<'static, Postgres>,
    key: &str,
    user_id: i64,
    field: ConflictField,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO user_logins (login_key, user_id) VALUES ($1, $2)")
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
impl UserStore for PostgresStore {
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let key = normalize_login(login);
        self.select_user(
            "FROM user_logins l JOIN users u ON u.id = l.user_id WHERE l.login_key = $1",
            Bind::Text(&key),
        )
        .await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.select_user("FROM users u WHERE u.id = $1", Bind::Int(id.0)).await
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb) RETURNING id",
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
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
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
        let sql = format!("SELECT {USER_COLUMNS_POSTGRES} FROM users u WHERE u.id = $1 FOR UPDATE");
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
                    sqlx::query("DELETE FROM user_logins WHERE login_key = $1 AND user_id = $2")
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
            "UPDATE users SET email = $1, first_name = $2, last_name = $3, is_active = $4, \
             is_admin = $5, is_superuser = $6, group_names = $7::jsonb, attributes = $8::jsonb \
             WHERE id = $9",
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
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let done = sqlx::query(
        "INSERT INTO tokens (hash, kind, user_id, audience, family, issued_at, expires_at, \
         idle_timeout_ms, data, rotated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE) \
         ON CONFLICT (hash) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id, \
         audience = excluded.audience, family = excluded.family, issued_at = excluded.issued_at, \
         expires_at = excluded.expires_at, idle_timeout_ms = excluded.idle_timeout_ms, \
         data = excluded.data, rotated = FALSE WHERE tokens.expires_at <= $10",
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
    tx: &mut Transaction<'static, Postgres>,
    family: &str,
    now_ms: i64,
    also_expiring: Option<i64>,
) -> Result<u64, StoreError> {
    let rows = sqlx::query("DELETE FROM tokens WHERE family = $1 RETURNING rotated, expires_at")
        .bind(family)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
    let (live, latest) = tally(&rows, now_ms)?;
    let until = family_retention_until(now_ms, latest.max(also_expiring));
    sqlx::query(
        "INSERT INTO revoked_families (family, expires_at) VALUES ($1, $2) \
         ON CONFLICT (family) DO UPDATE SET expires_at = GREATEST(revoked_families.expires_at, excluded.expires_at)",
    )
    .bind(family)
    .bind(until)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(live)
}

/// How many of the deleted rows (`rotated`, `expires_at`) were live, and the latest expiry.
fn tally(rows: &[PgRow], now_ms: i64) -> Result<(u64, Option<i64>), StoreError> {
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
impl TokenStore for PostgresStore {
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
            format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1 AND NOT rotated AND expires_at > $2");
        let row = sqlx::query(&sql)
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<PgRow>).transpose()
    }

    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "UPDATE tokens SET expires_at = CASE WHEN idle_timeout_ms IS NULL THEN expires_at \
             ELSE $2 + idle_timeout_ms END \
             WHERE hash = $1 AND NOT rotated AND expires_at > $2 RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<PgRow>).transpose()
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let rows = sqlx::query("DELETE FROM tokens WHERE hash = $1 RETURNING rotated, expires_at")
            .bind(hash_bytes(hash))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(tally(&rows, to_millis(self.now()))?.0 > 0)
    }

    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let now_ms = to_millis(self.now());
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query("DELETE FROM tokens WHERE user_id = $1 RETURNING family, rotated, expires_at")
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

    /// One transaction: mark `old` rotated only if it is live (the compare-and-swap: a
    /// conditional `UPDATE` whose row lock makes concurrent rotations wait and then re-check the
    /// condition, so exactly one of them sees `old` live), then insert `new`. A crash before the commit rolls back
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
        let spent = sqlx::query(
            "UPDATE tokens SET rotated = TRUE WHERE hash = $1 AND NOT rotated AND expires_at > $2",
        )
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
            sqlx::query("SELECT user_id, family FROM tokens WHERE hash = $1 AND rotated AND expires_at > $2")
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
                sqlx::query("DELETE FROM tokens WHERE hash = $1")
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
            "DELETE FROM tokens WHERE hash = $1 AND NOT rotated AND expires_at > $2 \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<PgRow>).transpose()
    }

    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.purge_if_due(self.now());
        sqlx::query(
            "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_jtis.expires_at, excluded.expires_at)",
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
            "SELECT 1 FROM revoked_jtis WHERE jti = $1 AND expires_at > $3 \
             UNION ALL SELECT 1 FROM revoked_families WHERE family = $2 AND expires_at > $3 \
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
impl CounterStore for PostgresStore {
    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        let now = self.now();
        self.purge_if_due(now);
        let now_ms = to_millis(now);
        let row = sqlx::query(
            "INSERT INTO counters (key, count, expires_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN counters.expires_at <= $3 THEN 1 ELSE counters.count + 1 END, \
             expires_at = CASE WHEN counters.expires_at <= $3 THEN excluded.expires_at \
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
        let row = sqlx::query("SELECT count, expires_at FROM counters WHERE key = $1 AND expires_at > $2")
            .bind(key)
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(counter_from_row).transpose()
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM counters WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

fn counter_from_row(row: &PgRow) -> Result<Counter, StoreError> {
    let count: i64 = row.try_get("count").map_err(StoreError::backend)?;
    let expires: i64 = row.try_get("expires_at").map_err(StoreError::backend)?;
    Ok(Counter { count: count.unsigned_abs(), expires_at: from_millis(expires) })
}

/// `name` as a double-quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
