//! Helpers shared by the integration tests: temporary SQLite files and the PostgreSQL test
//! database.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, SystemTime};

use authmount_sqlx::{PostgresStore, StoreOptions};

/// A fresh database path under the system temp dir (`authmount-sqlx-tests/<random>.db`). Files
/// older than an hour, left by earlier runs, are deleted on first use.
pub fn temp_db_path() -> PathBuf {
    static CLEAN: Once = Once::new();
    let dir = std::env::temp_dir().join("authmount-sqlx-tests");
    CLEAN.call_once(|| {
        let _ = std::fs::create_dir_all(&dir);
        let cutoff = SystemTime::now() - Duration::from_secs(3_600);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|modified| modified < cutoff);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
    dir.join(format!("{}.db", authmount::conformance::unique("t")))
}

/// `DATABASE_URL`, or `None` (with a notice) when it is unset. Under `CI=true` an unset
/// `DATABASE_URL` fails the test instead: CI must not silently skip the PostgreSQL suite.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "DATABASE_URL is not set, and CI=true: the PostgreSQL tests must run in CI");
            eprintln!("notice: DATABASE_URL is not set; skipping this PostgreSQL test");
            None
        }
    }
}

/// A PostgreSQL store in a schema of its own (`authmount_test_<unix seconds>_<random>`), or
/// `None` when `DATABASE_URL` is unset (see [`database_url`]).
///
/// Why a schema per test: cases that move their clock ahead and then purge (or write, which may
/// start the minute sweep) delete rows that are expired *by their clock*, which would include
/// other concurrently running cases' rows in a shared table. Schemas from earlier runs older than
/// an hour are dropped.
pub async fn postgres_store() -> Option<PostgresStore> {
    let url = database_url()?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    drop_stale_schemas(&url, now).await;
    let schema =
        format!("authmount_test_{now}_{}", authmount::conformance::unique("s").trim_start_matches("s-"));
    let options = StoreOptions::new().max_connections(5).schema(schema);
    Some(PostgresStore::connect_with(&url, options).await.expect("connects to DATABASE_URL"))
}

async fn drop_stale_schemas(url: &str, now: u64) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        use sqlx::{Connection, Row};
        let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
            return;
        };
        let rows = sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'authmount\\_test\\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        for row in rows {
            let name: String = row.get(0);
            let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(now);
            if now.saturating_sub(created) > 3_600 {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")))
                    .execute(&mut conn)
                    .await;
            }
        }
    })
    .await;
}
