//! Brute-force lockout over HTTP, on both adapters: after the threshold of failures even the
//! right password gets 429 with `Retry-After`, in each dialect's own shape; `Alice`/`ALICE`
//! share the counter; the lock ends after its duration.

use std::time::Duration;

use authmount_conformance::{PASSWORD, on_both_adapters};
use serde_json::json;

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_password() {
    on_both_adapters(|t| async move {
        let login = |username: &str, password: &str| {
            t.client.post("/api/token-auth/").json(&json!({"username": username, "password": password}))
        };
        for (i, name) in ["ann", "ANN", "Ann", "ａｎｎ"].iter().enumerate() {
            let failure = login(name, "wrong password").send().await;
            failure.assert_status(401);
            assert!(!failure.has_header("retry-after"), "attempt {i} is an ordinary failure");
        }
        let locking = login("ann", "wrong password").send().await;
        locking.assert_status(429);
        let locked = login("ann", PASSWORD).send().await;
        locked.assert_status(429);
        let retry_after: u64 = locked.header("retry-after").parse().expect("seconds");
        assert!(retry_after > 0, "Retry-After says when to try again");
        assert!(
            locked.json()["detail"].as_str().is_some_and(|d| d.contains("throttled")),
            "{}",
            locked.text()
        );

        // Other dialects refuse the locked login name too (the counter is per account name).
        let oz = t
            .client
            .post("/api/authorize/auth")
            .json(&json!({"credentials": {"email": "ann", "password": PASSWORD}}))
            .send()
            .await;
        oz.assert_status(429);

        t.fixture.advance(Duration::from_secs(retry_after));
        let after = login("ann", PASSWORD).send().await;
        after.assert_status(200);
        t.client.secret(after.json()["token"].as_str().unwrap_or_default());
    })
    .await;
}

#[tokio::test]
async fn unknown_names_are_locked_like_known_ones() {
    on_both_adapters(|t| async move {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let response = t
                .client
                .post("/api/token-auth/")
                .json(&json!({"username": "nobody-at-all", "password": "wrong password"}))
                .send()
                .await;
            statuses.push(response.status);
        }
        assert_eq!(statuses, [401, 401, 401, 401, 429, 429], "the same curve as for a real account");
    })
    .await;
}
