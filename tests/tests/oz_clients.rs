//! The Oz seed document's own client examples, run against both adapters: the Python `requests`
//! snippet verbatim but for the URL, and the curl command.
//!
//! What goes over the wire (checked with a raw socket):
//!
//! - Python: `requests` replaces the snippet's `Content-Length: 91` by the real length of the
//!   body (79 bytes) and sends the explicit `Host: host_address`; the server ignores `Host`.
//! - curl: curl sends the snippet's `Content-Length: 91` as given, but the body as printed is
//!   85 bytes (its LF line breaks as CRLF would make 90: no rendering of it is 91). No HTTP/1.1
//!   server can answer that request: it waits for the 6 bytes the header promises (the vendor's
//!   would too) until the client gives up. The test therefore runs the command without that one
//!   header line, so curl declares the real length, exactly what `requests` does with the same
//!   header in the Python example. Everything else is verbatim.
//!
//! The interpreter is `$AUTHMOUNT_PYTHON`, else `python3` if it has `requests`; `curl` must be on
//! the `PATH`. Without them the tests print a notice and pass on a developer machine, and fail
//! under `CI=true`.

use authmount_conformance::external::{curl, python, run_script};
use authmount_conformance::on_both_adapters;
use serde_json::Value;

const PYTHON_EXAMPLE: &str = include_str!("../clients/oz_authorize.py");
const CURL_EXAMPLE: &str = include_str!("../clients/oz_authorize.sh");
const SEED_URL: &str = "https://host_address";

const SUITE: &str = "the Oz seed client tests";

/// Runs `program script` and returns its stdout.
fn run(program: &str, script: &str, extension: &str) -> String {
    run_script(program, script, extension, "", &[])
}

/// The header line of the curl command that declares a wrong length (see the module docs).
const WRONG_LENGTH_LINE: &str = "  -H 'Content-Length: 91' \\\n";

/// The curl command without its wrong `Content-Length` (see the module docs).
fn with_real_length(script: &str) -> String {
    assert!(script.contains(WRONG_LENGTH_LINE), "the seed's Content-Length line");
    script.replace(WRONG_LENGTH_LINE, "")
}

/// The `-d '...'` body of the curl command.
fn curl_body(script: &str) -> &str {
    let start = script.find("-d '").expect("a -d body") + 4;
    &script[start..start + script[start..].find('\'').expect("the body's closing quote")]
}

/// Creates the seed's example account (`user_email` / `user_password`) in the case's world.
async fn seed_user(t: &authmount_conformance::Case) {
    let hash = t.fixture.services.passwords.hash_new_password("user_password").await.expect("hash");
    let user = authmount::user::NewUser::new("user_email", t.fixture.now()).with_password_hash(hash);
    t.fixture.services.users.create(user).await.expect("created");
}

fn assert_session(printed: &str, family: &str) {
    let session: Value =
        serde_json::from_str(printed.trim()).unwrap_or_else(|e| panic!("JSON session ({e}): {printed}"));
    assert!(session["access_token"].as_str().is_some_and(|t| t.len() == 43), "{session}");
    assert!(session["session_id"].is_u64(), "{session}");
    assert_eq!(session["user"]["user_id"], session["user_id"]);
    assert_eq!(session["device_info"]["device_family"], family);
    assert_eq!(session["device_info"]["app_version"], "7.15.2");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_python_example_logs_in_unchanged() {
    let Some(python) = python(SUITE) else { return };
    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            seed_user(&t).await;
            let script = PYTHON_EXAMPLE.replace(SEED_URL, t.client.base());
            let printed =
                tokio::task::spawn_blocking(move || run(&python, &script, "py")).await.expect("ran");
            assert_session(&printed, "PostmanRuntime");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_curl_example_logs_in() {
    if !curl(SUITE) {
        return;
    }
    on_both_adapters(|t| async move {
        seed_user(&t).await;
        let script = with_real_length(&CURL_EXAMPLE.replace(SEED_URL, t.client.base()));
        let printed = tokio::task::spawn_blocking(move || run("sh", &script, "sh")).await.expect("ran");
        assert_session(&printed, "PostmanRuntime");
    })
    .await;
}

#[test]
fn the_seed_curl_body_is_not_the_91_bytes_its_header_declares() {
    let body = curl_body(CURL_EXAMPLE);
    assert_eq!(body.len(), 85);
    assert_eq!(body.replace('\n', "\r\n").len(), 90);
    assert!(CURL_EXAMPLE.contains(WRONG_LENGTH_LINE));
    let fixed = with_real_length(CURL_EXAMPLE);
    assert!(!fixed.contains("Content-Length"));
    assert_eq!(curl_body(&fixed), body, "the body is sent unchanged");
}
