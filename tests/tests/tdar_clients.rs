//! Python `requests` clients of the tDAR API, run against both adapters: one keeps the session
//! cookie in a `requests.Session` (cookie jar), the other sends the key as the query parameter
//! named by `sessionKeyName`, as the seed's "Using the Authentication Key" describes.
//!
//! The interpreter is `$AUTHMOUNT_PYTHON` (scripts/test sets up a virtualenv with `requests`),
//! else `python3` if it has `requests`. Without one, the tests print a notice and pass on a
//! developer machine, and fail under `CI=true`.

use authmount_conformance::external::{python, run_script};
use authmount_conformance::{PASSWORD, on_both_adapters};

const SESSION_CLIENT: &str = include_str!("../clients/tdar_session.py");
const QUERY_CLIENT: &str = include_str!("../clients/tdar_query.py");
const EMPTY_CLIENT: &str = include_str!("../clients/tdar_empty.py");

const SUITE: &str = "the tDAR client tests";

/// Runs `script` with `args` and returns its stdout.
fn run(python: &str, script: &str, args: &[&str]) -> String {
    run_script(python, script, "py", "", args)
}

/// The script with the server under test's address and the fixture's protected route.
fn localised(script: &str, base: &str) -> String {
    script.replace("http://core.tdar.org", base).replace("/search/rss", "/app/tdar/whoami")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_requests_session_logs_in_uses_the_cookie_and_logs_out() {
    let Some(python) = python(SUITE) else { return };
    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            let script = localised(SESSION_CLIENT, t.client.base());
            let printed =
                tokio::task::spawn_blocking(move || run(&python, &script, &["ann", PASSWORD]))
                    .await
                    .expect("script ran");
            let lines: Vec<&str> = printed.lines().collect();
            assert_eq!(lines.first(), Some(&"login 200 200"), "{printed}");
            assert!(lines[1].starts_with("key session.tokenkey ") && lines[1].len() > 30, "{printed}");
            assert_eq!(lines[2], "cookie True", "the cookie holds the apiToken: {printed}");
            assert!(lines[3].starts_with("call 200 ") && lines[3].contains("\"username\":\"ann\""), "{printed}");
            assert_eq!(
                lines[4],
                "failed 400 ['Could not authenticate: Authentication failed.  Please check that your username and password were entered correctly.']"
            );
            assert_eq!(lines[5], "logout 200 200");
            assert_eq!(lines[6], "cookie after logout False", "the cookie was cleared: {printed}");
            assert_eq!(lines[7], "after 403", "the old key no longer works: {printed}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_token_works_as_a_query_parameter() {
    let Some(python) = python(SUITE) else { return };
    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            let script = localised(QUERY_CLIENT, t.client.base());
            let printed = tokio::task::spawn_blocking(move || run(&python, &script, &["ann", PASSWORD]))
                .await
                .expect("script ran");
            let lines: Vec<&str> = printed.lines().collect();
            assert_eq!(lines.first(), Some(&"login 200"), "{printed}");
            assert!(
                lines[1].starts_with("call 200 ") && lines[1].contains("\"username\":\"ann\""),
                "{printed}"
            );
            assert_eq!(&lines[2..], ["anonymous 403", "logout 200", "after 403"], "{printed}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_requests_post_is_an_empty_form_and_a_sessionless_logout_a_bare_403() {
    let Some(python) = python(SUITE) else { return };
    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            let script = localised(EMPTY_CLIENT, t.client.base());
            let printed =
                tokio::task::spawn_blocking(move || run(&python, &script, &[])).await.expect("script ran");
            let lines: Vec<&str> = printed.lines().collect();
            assert_eq!(lines.first(), Some(&"sent 0 None"), "requests sends no type: {printed}");
            assert_eq!(
                lines[1],
                "empty 400 ['Field Error userLogin.loginUsername: Please enter a username', \
                 'Field Error userLogin.loginPassword: Please enter a password']",
                "{printed}"
            );
            assert_eq!(lines[2], "logout 403 b''", "{printed}");
        }
    })
    .await;
}
