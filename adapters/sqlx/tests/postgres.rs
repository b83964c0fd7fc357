//! The PostgreSQL store against the conformance suites (from `DATABASE_URL`; skipped with a
//! notice when it is unset, except under `CI=true`), plus PostgreSQL-specific behaviour.
//!
//! The macros evaluate their argument inside the generated test function, so a plain block
//! (not an async block) around [`support::postgres_store`] can `return` from the test to skip it.

mod support;

use std::sync::Arc;

use authmount::clock::ManualClock;
use authmount::store::{CounterStore, TokenStore, UserStore};

mod user_store {
    use super::*;
    authmount::user_store_conformance!({
        let Some(store) = support::postgres_store().await else {
            return;
        };
        async move { Arc::new(store) as Arc<dyn UserStore> }
    });
}

mod token_store {
    use super::*;
    authmount::token_store_conformance!({
        let Some(store) = support::postgres_store().await else {
            return;
        };
        move |clock: ManualClock| async move { Arc::new(store.with_clock(Arc::new(clock))) as Arc<dyn TokenStore> }
    });
}

mod counter_store {
    use super::*;
    authmount::counter_store_conformance!({
        let Some(store) = support::postgres_store().await else {
            return;
        };
        move |clock: ManualClock| async move {
            Arc::new(store.with_clock(Arc::new(clock))) as Arc<dyn CounterStore>
        }
    });
}

mod postgres_specific {
    use std::str::FromStr;
    use std::time::{Duration, SystemTime};

    use authmount::store::{ConflictField, StoreError};
    use authmount::user::{NewUser, UserId};
    use authmount_sqlx::{PostgresStore, StoreOptions};
    use authmount_test_support::Proxy;
    use sqlx::Row;
    use sqlx::postgres::PgConnectOptions;

    use super::*;

    fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
        match result {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("{what}: expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unavailable() {
        let options = StoreOptions::new().acquire_timeout(Duration::from_millis(500));
        let started = std::time::Instant::now();
        assert_unavailable(
            PostgresStore::connect_with("postgres://postgres@127.0.0.1:1/test", options).await,
            "connect",
        );
        assert!(started.elapsed() < Duration::from_secs(5), "the acquire timeout bounds the wait");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recovers_when_the_database_comes_back() {
        let Some(url) = support::database_url() else {
            return;
        };
        let target_options = PgConnectOptions::from_str(&url).expect("DATABASE_URL parses");
        let target =
            tokio::net::lookup_host((target_options.get_host().to_owned(), target_options.get_port()))
                .await
                .expect("resolves")
                .next()
                .expect("an address");
        // A TCP proxy standing in for the database server, so the test can take the "server"
        // away and bring it back on the same port.
        let mut proxy = Proxy::start(target.to_string()).await;
        let schema = format!(
            "authmount_test_{}_{}",
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            authmount::conformance::unique("r").trim_start_matches("r-")
        );
        let connect = target_options.host("127.0.0.1").port(proxy.addr().port());
        let options =
            StoreOptions::new().max_connections(2).acquire_timeout(Duration::from_millis(800)).schema(schema);
        let store =
            PostgresStore::connect_with_options(connect, options).await.expect("connects through the proxy");
        let ann = store
            .create(NewUser::new(authmount::conformance::unique("ann"), SystemTime::now()))
            .await
            .expect("create");

        proxy.stop().await;
        assert_unavailable(UserStore::get(&store, ann.id).await, "get while down");
        assert_unavailable(store.find_by_login(&ann.username).await, "find_by_login while down");
        assert_unavailable(store.create(NewUser::new("x", SystemTime::now())).await, "create while down");

        proxy.resume().await;
        let found = UserStore::get(&store, ann.id).await.expect("works again once the server is back");
        assert_eq!(found.map(|u| u.id), Some(ann.id));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_registrations_leave_exactly_one_row() {
        let Some(store) = support::postgres_store().await else {
            return;
        };
        let store = Arc::new(store);
        let name = authmount::conformance::unique("race");
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (store, name) = (Arc::clone(&store), name.clone());
                tokio::spawn(async move {
                    let name = if i % 2 == 0 { name } else { name.to_uppercase() };
                    store
                        .create(
                            NewUser::new(name, SystemTime::now()).with_email(format!("race{i}@example.org")),
                        )
                        .await
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
        let users: i64 = sqlx::query("SELECT count(*) FROM users WHERE lower(username) = $1")
            .bind(&name)
            .fetch_one(store.pool())
            .await
            .expect("count")
            .get(0);
        let logins: i64 = sqlx::query("SELECT count(*) FROM user_logins")
            .fetch_one(store.pool())
            .await
            .expect("count")
            .get(0);
        assert_eq!((users, logins), (1, 2), "one user, its username and e-mail keys");
        assert!(UserStore::get(&*store, UserId(i64::MAX)).await.expect("lookup").is_none());
    }
}
