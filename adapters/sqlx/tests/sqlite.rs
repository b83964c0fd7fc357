//! The SQLite store against the conformance suites, plus SQLite-specific behaviour.

mod support;

use std::sync::Arc;

use authmount::clock::ManualClock;
use authmount::store::{CounterStore, TokenStore, UserStore};
use authmount_sqlx::SqliteStore;

async fn store() -> SqliteStore {
    SqliteStore::open(support::temp_db_path()).await.expect("opens a fresh SQLite file")
}

mod user_store {
    use super::*;
    authmount::user_store_conformance!(async { Arc::new(store().await) as Arc<dyn UserStore> });
}

mod token_store {
    use super::*;
    authmount::token_store_conformance!(|clock: ManualClock| async move {
        Arc::new(store().await.with_clock(Arc::new(clock))) as Arc<dyn TokenStore>
    });
}

mod counter_store {
    use super::*;
    authmount::counter_store_conformance!(|clock: ManualClock| async move {
        Arc::new(store().await.with_clock(Arc::new(clock))) as Arc<dyn CounterStore>
    });
}

mod sqlite_specific {
    use std::time::{Duration, SystemTime};

    use authmount::store::{ConflictField, StoreError, TokenKind, TokenRecord};
    use authmount::token::TokenHash;
    use authmount::user::{NewUser, UserId};
    use authmount_sqlx::{SqliteStore, StoreOptions};
    use sqlx::Row;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;

    #[tokio::test]
    async fn migrations_are_idempotent_and_data_survives_reconnecting() {
        let path = support::temp_db_path();
        let first = SqliteStore::open(&path).await.expect("first open migrates");
        let ann = first.create(NewUser::new("Ann", SystemTime::now())).await.expect("create");
        first.migrate().await.expect("migrating again is a no-op");
        first.pool().close().await;

        let url = format!("sqlite:{}", path.display());
        let second =
            SqliteStore::connect(&url).await.expect("reopening runs the migrations again without error");
        let found = second.find_by_login("ann").await.expect("lookup");
        assert_eq!(found.map(|u| u.id), Some(ann.id), "the data survived");
        let third = SqliteStore::connect_without_migrating(&url).await.expect("connects");
        assert!(UserStore::get(&third, ann.id).await.expect("lookup").is_some());
    }

    #[tokio::test]
    async fn without_migrations_a_fresh_file_has_no_tables_and_reports_backend_errors() {
        let url = format!("sqlite:{}", support::temp_db_path().display());
        let store =
            SqliteStore::connect_with(&url, StoreOptions::new().migrate(false)).await.expect("connects");
        match UserStore::get(&store, UserId(1)).await {
            Err(StoreError::Backend(_)) => {}
            other => panic!("expected a backend error (no such table), got {other:?}"),
        }
        store.migrate().await.expect("explicit migration");
        assert!(UserStore::get(&store, UserId(1)).await.expect("lookup").is_none());
    }

    #[tokio::test]
    async fn in_memory_database_is_one_database() {
        let store = SqliteStore::connect("sqlite::memory:").await.expect("connects");
        let ann = store.create(NewUser::new("ann", SystemTime::now())).await.expect("create");
        for _ in 0..5 {
            assert!(UserStore::get(&store, ann.id).await.expect("lookup").is_some());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_registrations_leave_exactly_one_row() {
        let store = Arc::new(SqliteStore::open(support::temp_db_path()).await.expect("open"));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let name = if i % 2 == 0 { "Race" } else { "RACE" };
                    let email = format!("race{i}@example.org");
                    store.create(NewUser::new(name, SystemTime::now()).with_email(email)).await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => won += 1,
                Err(StoreError::Conflict(ConflictField::Username)) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(won, 1);
        let users: i64 =
            sqlx::query("SELECT count(*) FROM users").fetch_one(store.pool()).await.expect("count").get(0);
        let logins: i64 = sqlx::query("SELECT count(*) FROM user_logins")
            .fetch_one(store.pool())
            .await
            .expect("count")
            .get(0);
        assert_eq!((users, logins), (1, 2), "one user, its username and e-mail keys");
    }

    #[tokio::test]
    async fn writes_sweep_expired_rows_at_most_once_a_minute() {
        let clock = ManualClock::starting_now();
        let store = SqliteStore::open(support::temp_db_path())
            .await
            .expect("open")
            .with_clock(Arc::new(clock.clone()));
        let record = |ttl| TokenRecord::new(TokenKind::Access, UserId(1), "t", clock_now(&clock), ttl);
        store.put(TokenHash::of("short"), record(Duration::from_secs(10))).await.expect("put");
        clock.advance(Duration::from_secs(61));
        store.put(TokenHash::of("trigger"), record(Duration::from_secs(600))).await.expect("put");
        let mut left = i64::MAX;
        for _ in 0..50 {
            left = sqlx::query("SELECT count(*) FROM tokens")
                .fetch_one(store.pool())
                .await
                .expect("count")
                .get(0);
            if left == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(left, 1, "the background sweep removed the expired token");
    }

    /// `touch` writes only when a sliding expiry moves by 1/20 of its idle timeout or more: a
    /// fixed-expiry token's touch, and a busy session's touches in between, are reads and work on
    /// a read-only connection (which would refuse any write).
    #[tokio::test]
    async fn touch_writes_only_when_a_sliding_expiry_moves_enough() {
        let path = support::temp_db_path();
        // Whole seconds: the store keeps times to the millisecond.
        let clock = ManualClock::at_unix(authmount::clock::unix_seconds(SystemTime::now()));
        let writer = SqliteStore::open(&path).await.expect("open").with_clock(Arc::new(clock.clone()));
        let idle = Duration::from_secs(600);
        let (fixed, session) = (TokenHash::of("fixed"), TokenHash::of("session"));
        let issued = clock_now(&clock);
        writer
            .put(fixed, TokenRecord::new(TokenKind::Access, UserId(1), "t", issued, idle))
            .await
            .expect("put");
        let sliding = TokenRecord::new(TokenKind::Session, UserId(1), "t", issued, idle).sliding(idle);
        writer.put(session, sliding).await.expect("put");
        let read_only = SqliteStore::connect_with_options(
            SqliteConnectOptions::new().filename(&path).read_only(true),
            StoreOptions::new().migrate(false),
        )
        .await
        .expect("opens read-only")
        .with_clock(Arc::new(clock.clone()));
        let expiry = |record: Option<TokenRecord>| record.expect("live").expires_at;

        for _ in 0..29 {
            clock.advance(Duration::from_secs(1));
            let touched = read_only.touch(&fixed).await.expect("a fixed token's touch does not write");
            assert_eq!(expiry(touched), issued + idle, "a fixed expiry stays");
            let touched = read_only.touch(&session).await.expect("a slide under 30 s of 600 does not write");
            assert_eq!(expiry(touched), issued + idle, "the stored expiry, unmoved");
        }

        clock.advance(Duration::from_secs(1));
        assert!(read_only.touch(&session).await.is_err(), "a 30 s slide is written (and refused here)");
        let touched = writer.touch(&session).await.expect("touch");
        assert_eq!(expiry(touched), clock_now(&clock) + idle, "slid a full idle timeout ahead");
        let touched = read_only.touch(&session).await.expect("just slid: nothing to write");
        assert_eq!(expiry(touched), clock_now(&clock) + idle);
    }

    fn clock_now(clock: &ManualClock) -> SystemTime {
        use authmount::clock::Clock;
        clock.now()
    }
}
