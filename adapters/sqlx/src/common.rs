//! What both backends share: time and JSON conversions, row decoding, error mapping, the
//! opportunistic purge timer.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authmount::store::{StoreError, TokenKind, TokenRecord};
use authmount::token::TokenHash;
use authmount::user::{User, UserId};
use serde_json::{Map, Value};
use sqlx::{ColumnIndex, Decode, Row, Type};

/// How long a caller waits for a pooled connection before the store answers
/// [`StoreError::Unavailable`]. See [`StoreOptions::acquire_timeout`](crate::StoreOptions::acquire_timeout).
pub(crate) const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How often writes start a sweep of expired rows (by the store's clock).
pub(crate) const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Milliseconds since the UNIX epoch (negative before it), saturating at the `i64` range.
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => duration_millis(after),
        Err(before) => duration_millis(before.duration()).saturating_neg(),
    }
}

/// The inverse of [`to_millis`].
pub(crate) fn from_millis(ms: i64) -> SystemTime {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 { UNIX_EPOCH + magnitude } else { UNIX_EPOCH - magnitude }
}

/// A duration in whole milliseconds, saturating at `i64::MAX`.
pub(crate) fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A row's text did not decode into the record (a corrupted or foreign row).
#[derive(Debug)]
pub(crate) struct DecodeError(pub(crate) String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for DecodeError {}

fn decode_error(what: impl Into<String>) -> StoreError {
    StoreError::backend(DecodeError(what.into()))
}

pub(crate) fn json_text(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

fn json_map(text: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(text).map_err(StoreError::backend)
}

/// Maps a sqlx error that has no call-site meaning (not an expected unique violation).
///
/// "Cannot reach the database right now" (pool timeout, refused or broken connection, server
/// shutting down or out of connections, SQLite busy beyond its timeout, a serialization failure)
/// is [`StoreError::Unavailable`], so the HTTP layer answers 503 and the next request tries again:
/// sqlx pools drop broken connections and open new ones by themselves. Everything else is
/// [`StoreError::Backend`].
pub(crate) fn map_err(error: sqlx::Error) -> StoreError {
    if is_unavailable(&error) { StoreError::unavailable(error) } else { StoreError::backend(error) }
}

fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| transient_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs and SQLite result codes that mean "try again later".
fn transient_code(code: &str) -> bool {
    if code.len() == 5 {
        // A PostgreSQL SQLSTATE (SQLite's codes have at most 4 digits): connection exceptions
        // (08), insufficient resources (53: too many connections, out of memory or disk), operator
        // intervention (57P01-57P05: shutdown, cannot connect now), transaction rollback (40:
        // serialization failure, deadlock).
        return ["08", "53", "57P", "40"].iter().any(|class| code.starts_with(class));
    }
    // SQLite (extended) result codes: the primary code is the low byte. BUSY (5) and LOCKED (6):
    // another writer held the database past the busy timeout.
    code.parse::<i64>().is_ok_and(|extended| matches!(extended & 0xff, 5 | 6))
}

/// Whether `error` is a unique-constraint violation (the expected "already taken").
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn hash_bytes(hash: &TokenHash) -> &[u8] {
    hash.as_bytes()
}

/// The token columns [`token_from_row`] reads.
pub(crate) const TOKEN_COLUMNS: &str =
    "kind, user_id, audience, family, issued_at, expires_at, idle_timeout_ms, data";

fn get<'r, R, T>(row: &'r R, column: &'static str) -> Result<T, StoreError>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    &'static str: ColumnIndex<R>,
{
    row.try_get(column).map_err(StoreError::backend)
}

/// Decodes a user row selected with a [`SqlFlavor::USER_COLUMNS`](crate::backend::SqlFlavor::USER_COLUMNS) list.
pub(crate) fn user_from_row<R>(row: &R) -> Result<User, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let groups: String = get(row, "group_names")?;
    let attributes: String = get(row, "attributes")?;
    Ok(User {
        id: UserId(get(row, "id")?),
        username: get(row, "username")?,
        email: get(row, "email")?,
        first_name: get(row, "first_name")?,
        last_name: get(row, "last_name")?,
        is_active: get(row, "is_active")?,
        is_admin: get(row, "is_admin")?,
        is_superuser: get(row, "is_superuser")?,
        groups: serde_json::from_str(&groups).map_err(StoreError::backend)?,
        created_at: from_millis(get(row, "created_at")?),
        password_hash: get(row, "password_hash")?,
        attributes: json_map(&attributes)?,
    })
}

/// Decodes a token row selected with [`TOKEN_COLUMNS`].
pub(crate) fn token_from_row<R>(row: &R) -> Result<TokenRecord, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = get(row, "kind")?;
    let idle: Option<i64> = get(row, "idle_timeout_ms")?;
    let data: String = get(row, "data")?;
    Ok(TokenRecord {
        kind: TokenKind::from_name(&kind)
            .ok_or_else(|| decode_error(format!("unknown token kind {kind:?}")))?,
        user_id: UserId(get(row, "user_id")?),
        audience: get(row, "audience")?,
        family: get(row, "family")?,
        issued_at: from_millis(get(row, "issued_at")?),
        expires_at: from_millis(get(row, "expires_at")?),
        idle_timeout: idle.map(|ms| Duration::from_millis(ms.unsigned_abs())),
        data: json_map(&data)?,
    })
}

/// A token record's column values, converted once for binding.
pub(crate) struct TokenColumns {
    pub(crate) kind: &'static str,
    pub(crate) user_id: i64,
    pub(crate) audience: String,
    pub(crate) family: Option<String>,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) idle_timeout_ms: Option<i64>,
    pub(crate) data: String,
}

impl TokenColumns {
    pub(crate) fn of(record: TokenRecord) -> Result<Self, StoreError> {
        Ok(Self {
            kind: record.kind.name(),
            user_id: record.user_id.0,
            data: json_text(&record.data)?,
            audience: record.audience,
            family: record.family,
            issued_at: to_millis(record.issued_at),
            expires_at: to_millis(record.expires_at),
            idle_timeout_ms: record.idle_timeout.map(duration_millis),
        })
    }
}

/// Decides when a write should start a sweep of expired rows: at most once per
/// [`PURGE_INTERVAL`] of the store's clock, and only one caller per interval.
#[derive(Debug, Clone)]
pub(crate) struct PurgeTimer {
    last_ms: Arc<AtomicI64>,
}

impl PurgeTimer {
    pub(crate) fn starting_at(now: SystemTime) -> Self {
        Self { last_ms: Arc::new(AtomicI64::new(to_millis(now))) }
    }

    /// Whether a sweep is due at `now`; if so, this caller owns it (others get `false`).
    pub(crate) fn claim(&self, now: SystemTime) -> bool {
        let now_ms = to_millis(now);
        let last = self.last_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(last) >= duration_millis(PURGE_INTERVAL)
            && self.last_ms.compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }
}

/// The family-revocation list entry's end: the family's last record's expiry, and at least
/// [`FAMILY_RETENTION`](authmount::store::FAMILY_RETENTION) from now.
pub(crate) fn family_retention_until(now_ms: i64, latest_expiry_ms: Option<i64>) -> i64 {
    let floor = now_ms.saturating_add(duration_millis(authmount::store::FAMILY_RETENTION));
    latest_expiry_ms.map_or(floor, |latest| latest.max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_both_sides_of_the_epoch() {
        for ms in [0, 1, 1_700_000_000_123, -1, -86_400_000] {
            assert_eq!(to_millis(from_millis(ms)), ms);
        }
    }

    #[test]
    fn transient_codes() {
        for code in ["08006", "08001", "53300", "57P01", "57P03", "40001", "40P01", "5", "517"] {
            assert!(transient_code(code), "{code}");
        }
        for code in ["23505", "42P01", "2067", "1", "19"] {
            assert!(!transient_code(code), "{code}");
        }
    }

    #[test]
    fn purge_timer_fires_once_per_interval() {
        let start = UNIX_EPOCH + Duration::from_secs(1_000);
        let timer = PurgeTimer::starting_at(start);
        assert!(!timer.claim(start + Duration::from_secs(59)));
        assert!(timer.claim(start + Duration::from_secs(60)));
        assert!(!timer.claim(start + Duration::from_secs(61)));
        assert!(timer.claim(start + Duration::from_secs(120)));
    }
}
