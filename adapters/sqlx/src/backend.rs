//! The store logic both backends share, written once over sqlx's database types: every port
//! operation's SQL and control flow. A backend supplies, through [`SqlFlavor`], the few statements
//! whose text differs (JSON casts, `GREATEST` or `max`, a row lock, how a write transaction
//! begins); [`SqliteStore`](crate::SqliteStore) and [`PostgresStore`](crate::PostgresStore) wrap
//! a [`SqlStore`] and add their connection set-up and migrations.
//!
//! Statements use `$N` placeholders on both backends: sqlx's SQLite driver binds `$N` by number
//! just as PostgreSQL does.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::clock::{SharedClock, SystemClock};
use authmount::login_name::normalize_login;
use authmount::store::{ConflictField, Counter, Rotation, StoreError, TokenRecord, UserPage, UserQuery};
use authmount::token::TokenHash;
use authmount::user::{NewUser, ProfileUpdate, User, UserId};
use sqlx::{
    AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction,
    Type,
};

use crate::common::{
    PurgeTimer, TOKEN_COLUMNS, TokenColumns, duration_millis, family_retention_until, from_millis,
    hash_bytes, is_unique_violation, json_text, map_err, to_millis, token_from_row, user_from_row,
};

/// What a backend's SQL says differently. Implemented for [`sqlx::Sqlite`] and
/// [`sqlx::Postgres`]; statements use `$N` placeholders.
pub(crate) trait SqlFlavor: Database {
    /// The user columns, in the names [`user_from_row`] reads (JSON columns as text).
    const USER_COLUMNS: &'static str;
    /// Inserts a user (`$1`..`$11`: username, email, first and last name, active, admin,
    /// superuser, groups JSON, created at, password hash, attributes JSON), returning `id`.
    const INSERT_USER: &'static str;
    /// Rewrites a user's profile (`$1`..`$8`: email, first and last name, active, admin,
    /// superuser, groups JSON, attributes JSON) where `id = $9`.
    const UPDATE_USER: &'static str;
    /// Appended to the `SELECT` of the user row a profile update rewrites: a row lock where the
    /// database has them, so concurrent updates of one user apply one after the other.
    const LOCK_ROW: &'static str;
    /// Puts family `$1` on the revocation list until `$2`, keeping a later end already there.
    const UPSERT_REVOKED_FAMILY: &'static str;
    /// Puts JWT id `$1` on the revocation list until `$2`, keeping a later end already there.
    const UPSERT_REVOKED_JTI: &'static str;
    /// The statement that starts a write transaction, `None` for the driver's plain `BEGIN`.
    const BEGIN_WRITE: Option<&'static str>;

    /// How many rows a statement changed (sqlx has no backend-independent accessor).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// A user row is selected by a text key (the login) or an integer (the id).
enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

/// The pool, clock and purge timer behind a store, and every port operation on them.
#[derive(Debug)]
pub(crate) struct SqlStore<DB: Database> {
    pool: Pool<DB>,
    clock: SharedClock,
    purge: PurgeTimer,
}

// Not derived: `DB` (a marker type) is not `Clone`, and need not be.
impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone(), clock: Arc::clone(&self.clock), purge: self.purge.clone() }
    }
}

impl<DB> SqlStore<DB>
where
    DB: SqlFlavor,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    &'static str: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    /// A store on `pool`, on the system clock.
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        let clock: SharedClock = Arc::new(SystemClock);
        let purge = PurgeTimer::starting_at(clock.now());
        Self { pool, clock, purge }
    }

    /// The store reading time from `clock`; the purge timer starts again at its time.
    pub(crate) fn with_clock(mut self, clock: SharedClock) -> Self {
        self.purge = PurgeTimer::starting_at(clock.now());
        self.clock = clock;
        self
    }

    /// The connection pool.
    pub(crate) fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The store clock's time.
    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Starts a write transaction ([`SqlFlavor::BEGIN_WRITE`]).
    async fn begin_write(&self) -> Result<Transaction<'static, DB>, StoreError> {
        let begun = match DB::BEGIN_WRITE {
            Some(statement) => self.pool.begin_with(statement).await,
            None => self.pool.begin().await,
        };
        begun.map_err(map_err)
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
            let done = sqlx::query(sql).bind(now_ms).execute(&self.pool).await.map_err(map_err)?;
            removed += DB::rows_affected(&done);
        }
        Ok(removed)
    }

    async fn select_user(&self, sql_tail: &str, bind: Bind<'_>) -> Result<Option<User>, StoreError> {
        // Only constants are interpolated: the column list and the callers' literal tails.
        let sql = format!("SELECT {} {sql_tail}", DB::USER_COLUMNS);
        let query = sqlx::query(AssertSqlSafe(sql));
        let query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
        let row = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(user_from_row::<DB::Row>).transpose()
    }

    /// Inserts a login key for `user_id`; a taken key is a conflict on `field`.
    async fn insert_login(
        tx: &mut Transaction<'static, DB>,
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

    pub(crate) async fn find_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let key = normalize_login(login);
        self.select_user(
            "FROM user_logins l JOIN users u ON u.id = l.user_id WHERE l.login_key = $1",
            Bind::Text(&key),
        )
        .await
    }

    pub(crate) async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.select_user("FROM users u WHERE u.id = $1", Bind::Int(id.0)).await
    }

    pub(crate) async fn list_users(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        // `LIKE` with `\` escaping, so `%`, `_` and `\` in the search are plain text.
        let pattern = query.normalized_search().map(|search| {
            let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        const MATCHES: &str = "($1 IS NULL OR EXISTS (SELECT 1 FROM user_logins l \
             WHERE l.user_id = u.id AND l.login_key LIKE $1 ESCAPE '\\'))";
        let total: i64 =
            sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS total FROM users u WHERE {MATCHES}")))
                .bind(pattern.as_deref())
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?
                .try_get("total")
                .map_err(StoreError::backend)?;
        // Only constants are interpolated: the column list and the condition above.
        let sql = format!(
            "SELECT {} FROM users u WHERE {MATCHES} ORDER BY u.id LIMIT $2 OFFSET $3",
            DB::USER_COLUMNS
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(pattern.as_deref())
            .bind(i64::from(query.limit))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let users = rows.iter().map(user_from_row::<DB::Row>).collect::<Result<_, _>>()?;
        Ok(UserPage { users, total: u64::try_from(total).unwrap_or(0) })
    }

    pub(crate) async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let username_key = normalize_login(&new.username);
        let email_key = new.email.as_deref().map(normalize_login);
        let groups = json_text(&new.groups)?;
        let attributes = json_text(&new.attributes)?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(DB::INSERT_USER)
            .bind(new.username.as_str())
            .bind(new.email.as_deref())
            .bind(new.first_name.as_str())
            .bind(new.last_name.as_str())
            .bind(new.is_active)
            .bind(new.is_admin)
            .bind(new.is_superuser)
            .bind(groups.as_str())
            .bind(to_millis(new.created_at))
            .bind(new.password_hash.as_deref())
            .bind(attributes.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?
            .try_get("id")
            .map_err(StoreError::backend)?;
        Self::insert_login(&mut tx, &username_key, id, ConflictField::Username).await?;
        if let Some(key) = email_key.filter(|key| *key != username_key) {
            Self::insert_login(&mut tx, &key, id, ConflictField::Email).await?;
        }
        tx.commit().await.map_err(map_err)?;
        let mut user = User::from_new(UserId(id), new);
        // What a later read returns: times are stored to the millisecond.
        user.created_at = from_millis(to_millis(user.created_at));
        Ok(user)
    }

    pub(crate) async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(phc)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {} FROM users u WHERE u.id = $1{}", DB::USER_COLUMNS, DB::LOCK_ROW);
        let row = sqlx::query(AssertSqlSafe(sql))
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
                        .bind(old.as_str())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                if let Some(new) = new_key.filter(|new| *new != username_key) {
                    Self::insert_login(&mut tx, &new, id.0, ConflictField::Email).await?;
                }
            }
        }
        user.apply(update);
        let groups = json_text(&user.groups)?;
        let attributes = json_text(&user.attributes)?;
        sqlx::query(DB::UPDATE_USER)
            .bind(user.email.as_deref())
            .bind(user.first_name.as_str())
            .bind(user.last_name.as_str())
            .bind(user.is_active)
            .bind(user.is_admin)
            .bind(user.is_superuser)
            .bind(groups.as_str())
            .bind(attributes.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(user)
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
        E: Executor<'e, Database = DB>,
    {
        let done = sqlx::query(
            "INSERT INTO tokens (hash, kind, user_id, audience, family, issued_at, expires_at, \
             idle_timeout_ms, data, rotated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE) \
             ON CONFLICT (hash) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id, \
             audience = excluded.audience, family = excluded.family, issued_at = excluded.issued_at, \
             expires_at = excluded.expires_at, idle_timeout_ms = excluded.idle_timeout_ms, \
             data = excluded.data, rotated = FALSE, rotated_at = NULL WHERE tokens.expires_at <= $10",
        )
        .bind(hash_bytes(hash))
        .bind(columns.kind)
        .bind(columns.user_id)
        .bind(columns.audience.as_str())
        .bind(columns.family.as_deref())
        .bind(columns.issued_at)
        .bind(columns.expires_at)
        .bind(columns.idle_timeout_ms)
        .bind(columns.data.as_str())
        .bind(now_ms)
        .execute(executor)
        .await
        .map_err(map_err)?;
        Ok(DB::rows_affected(&done) == 1)
    }

    /// Deletes a family's records and puts the family on the revocation list; returns how many
    /// of the deleted records were live. `also_expiring` is the latest expiry of records of the
    /// family already deleted by the caller.
    async fn revoke_family_in(
        tx: &mut Transaction<'static, DB>,
        family: &str,
        now_ms: i64,
        also_expiring: Option<i64>,
    ) -> Result<u64, StoreError> {
        let rows = sqlx::query("DELETE FROM tokens WHERE family = $1 RETURNING rotated, expires_at")
            .bind(family)
            .fetch_all(&mut **tx)
            .await
            .map_err(map_err)?;
        let (live, latest) = Self::tally(&rows, now_ms)?;
        let until = family_retention_until(now_ms, latest.max(also_expiring));
        sqlx::query(DB::UPSERT_REVOKED_FAMILY)
            .bind(family)
            .bind(until)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(live)
    }

    /// How many of the deleted rows (`rotated`, `expires_at`) were live, and the latest expiry.
    fn tally(rows: &[DB::Row], now_ms: i64) -> Result<(u64, Option<i64>), StoreError> {
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

    pub(crate) async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        let now = self.now();
        self.purge_if_due(now);
        let columns = TokenColumns::of(record)?;
        if Self::insert_token(&self.pool, &hash, &columns, to_millis(now)).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict(ConflictField::Token))
        }
    }

    pub(crate) async fn get_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.live_token(hash, self.now()).await
    }

    /// The record with this hash that is live at `now`.
    async fn live_token(&self, hash: &TokenHash, now: SystemTime) -> Result<Option<TokenRecord>, StoreError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1 AND NOT rotated AND expires_at > $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(hash_bytes(hash))
            .bind(to_millis(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<DB::Row>).transpose()
    }

    /// A read, and a write only when [`TokenRecord::slid_expiry`] asks for one: most requests
    /// (every request with a fixed-expiry token, and a busy session's requests between slides of
    /// 1/20 of its idle timeout) then never take SQLite's single write lock. The write is
    /// conditional on the record still being live; when it matches no row, the record was
    /// revoked, rotated or expired since the read, and the touch finds nothing.
    pub(crate) async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.now();
        let Some(mut record) = self.live_token(hash, now).await? else {
            return Ok(None);
        };
        let Some(slid) = record.slid_expiry(now) else {
            return Ok(Some(record));
        };
        let expires_ms = to_millis(slid);
        let done = sqlx::query(
            "UPDATE tokens SET expires_at = $1 WHERE hash = $2 AND NOT rotated AND expires_at > $3",
        )
        .bind(expires_ms)
        .bind(hash_bytes(hash))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if DB::rows_affected(&done) == 0 {
            return Ok(None);
        }
        // What a later read returns: times are stored to the millisecond.
        record.expires_at = from_millis(expires_ms);
        Ok(Some(record))
    }

    pub(crate) async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let rows = sqlx::query("DELETE FROM tokens WHERE hash = $1 RETURNING rotated, expires_at")
            .bind(hash_bytes(hash))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(Self::tally(&rows, to_millis(self.now()))?.0 > 0)
    }

    pub(crate) async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.revoke_user_sparing(user_id, None).await
    }

    pub(crate) async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
        self.revoke_user_sparing(user_id, Some(keep)).await
    }

    /// Deletes the user's records except those of the family `keep` and revokes the families
    /// they belonged to, in one write transaction.
    async fn revoke_user_sparing(&self, user_id: UserId, keep: Option<&str>) -> Result<u64, StoreError> {
        let now_ms = to_millis(self.now());
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "DELETE FROM tokens WHERE user_id = $1 AND ($2 IS NULL OR family IS NULL OR family <> $2) \
             RETURNING family, rotated, expires_at",
        )
        .bind(user_id.0)
        .bind(keep)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let (mut live, _) = Self::tally(&rows, now_ms)?;
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
            live += Self::revoke_family_in(&mut tx, family, now_ms, Some(*latest)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(live)
    }

    pub(crate) async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let now_ms = to_millis(self.now());
        let mut tx = self.begin_write().await?;
        let live = Self::revoke_family_in(&mut tx, family, now_ms, None).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(live)
    }

    /// One write transaction: mark `old` rotated only if it is live (the compare-and-swap), then
    /// insert `new`. Of concurrent rotations exactly one sees `old` live: SQLite runs one write
    /// transaction at a time (`BEGIN IMMEDIATE`); on PostgreSQL the conditional `UPDATE`'s row
    /// lock makes the others wait and then re-check the condition. A crash before the commit
    /// rolls back both steps: `old` stays live and `new` was never stored, so at most one of the
    /// two is ever valid. A spent `old` rotated less than `reuse_grace` ago changes nothing.
    pub(crate) async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError> {
        let now = self.now();
        self.purge_if_due(now);
        let now_ms = to_millis(now);
        let columns = TokenColumns::of(record)?;
        let mut tx = self.begin_write().await?;
        let spent = sqlx::query(
            "UPDATE tokens SET rotated = TRUE, rotated_at = $2 WHERE hash = $1 AND NOT rotated \
             AND expires_at > $2",
        )
        .bind(hash_bytes(old))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if DB::rows_affected(&spent) == 1 {
            if !Self::insert_token(&mut *tx, &new, &columns, now_ms).await? {
                return Err(StoreError::Conflict(ConflictField::Token));
            }
            tx.commit().await.map_err(map_err)?;
            return Ok(Rotation::Rotated);
        }
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, rotated_at FROM tokens WHERE hash = $1 AND rotated AND expires_at > $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(hash_bytes(old))
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(Rotation::NotFound);
        };
        let previous = token_from_row::<DB::Row>(&row)?;
        let rotated_at: Option<i64> = row.try_get("rotated_at").map_err(StoreError::backend)?;
        if rotated_at.is_some_and(|at| now_ms.saturating_sub(at) < duration_millis(reuse_grace)) {
            return Ok(Rotation::WithinGrace { previous });
        }
        let user_id = previous.user_id;
        let family = previous.family;
        match &family {
            Some(family) => {
                Self::revoke_family_in(&mut tx, family, now_ms, None).await?;
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

    pub(crate) async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!(
            "DELETE FROM tokens WHERE hash = $1 AND NOT rotated AND expires_at > $2 \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(hash_bytes(hash))
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from_row::<DB::Row>).transpose()
    }

    pub(crate) async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.purge_if_due(self.now());
        sqlx::query(DB::UPSERT_REVOKED_JTI)
            .bind(jti)
            .bind(to_millis(expires_at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
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

    pub(crate) async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.purge_at(self.now()).await
    }

    pub(crate) async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
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
        Self::counter_from_row(&row)
    }

    pub(crate) async fn peek(&self, key: &str) -> Result<Option<Counter>, StoreError> {
        let row = sqlx::query("SELECT count, expires_at FROM counters WHERE key = $1 AND expires_at > $2")
            .bind(key)
            .bind(to_millis(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(Self::counter_from_row).transpose()
    }

    pub(crate) async fn clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM counters WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    fn counter_from_row(row: &DB::Row) -> Result<Counter, StoreError> {
        let count: i64 = row.try_get("count").map_err(StoreError::backend)?;
        let expires: i64 = row.try_get("expires_at").map_err(StoreError::backend)?;
        Ok(Counter { count: count.unsigned_abs(), expires_at: from_millis(expires) })
    }
}
