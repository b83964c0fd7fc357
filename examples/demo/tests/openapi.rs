//! The demo's OpenAPI document checked by tools nobody here wrote, on both frameworks:
//! `openapi-spec-validator` validates `GET /openapi.json` as OpenAPI 3.1, then `schemathesis`
//! fuzzes every documented operation with generated requests (valid and invalid) and checks
//! every answer: no 5xx (`not_a_server_error`), only documented statuses
//! (`status_code_conformance`), documented content types (`content_type_conformance`) and
//! bodies that fit the documented schema (`response_schema_conformance`).
//!
//! The protected operations get real tokens of the demo user (the banner's `demo`), one per
//! security scheme, logged in through each dialect before the run (`schemathesis.toml` beside
//! the run, written here). The run is bounded: at most [`MAX_EXAMPLES`] cases per operation and
//! phase, and [`MAX_SECONDS`] in all (schemathesis stops its fuzzing phase there); both frameworks
//! together stay under about four minutes on two cores.
//!
//! The demo runs with its defaults but one, [`FUZZ_CONFIG`]: the account lockout allows a
//! million failures instead of 5. The fuzzer sends the same few generated login names (`"0"`,
//! `""`) thousands of times; with the default they are locked after their fifth failure and
//! every later login is a 429 (documented, so it conforms), which would leave the logic behind
//! the logins untested. The lockout itself is tested elsewhere (`tests/`, the conformance
//! suite); nothing else is changed for the run.
//!
//! The tools live in the Python environment of `AUTHMOUNT_PYTHON` (`scripts/test` creates it and
//! installs pinned versions). Without them the test is skipped with a notice, except under
//! `CI=true`, where that is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ci, scratch, start_demo};
use serde_json::{Value, json};

/// Cases per operation and phase.
const MAX_EXAMPLES: u32 = 25;
/// The time budget of one framework's run, in seconds.
const MAX_SECONDS: u32 = 75;
/// The demo's configuration for the run (see the module docs): only the lockout threshold.
const FUZZ_CONFIG: [(&str, &str); 1] = [("AUTHMOUNT_LOCKOUT_MAX_FAILURES", "1000000")];
/// The checks every answer must pass.
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// The `schemathesis` and `openapi-spec-validator` executables beside `AUTHMOUNT_PYTHON`, when
/// both are installed; under `CI=true` they must be.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let python = std::env::var_os("AUTHMOUNT_PYTHON").map(PathBuf::from);
    let found = python.as_deref().and_then(Path::parent).and_then(|bin| {
        let schemathesis = bin.join("schemathesis");
        let validator = bin.join("openapi-spec-validator");
        (schemathesis.exists() && validator.exists()).then_some((schemathesis, validator))
    });
    if found.is_none() {
        assert!(
            !ci(),
            "schemathesis and openapi-spec-validator must be installed beside AUTHMOUNT_PYTHON under CI=true (scripts/test installs them)"
        );
        eprintln!(
            "NOTICE: schemathesis or openapi-spec-validator is not installed beside AUTHMOUNT_PYTHON: skipping (run scripts/test)"
        );
    }
    found
}

/// POSTs `body` (JSON, or a form when `form`) to `path` and returns the answer's text.
async fn post(http: &reqwest::Client, base: &str, path: &str, body: &str, content_type: &str) -> String {
    let answer = http
        .post(format!("{base}{path}"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.text().await.expect("a body")
}

async fn post_json(http: &reqwest::Client, base: &str, path: &str, body: Value) -> Value {
    let text = post(http, base, path, &body.to_string(), "application/json").await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"))
}

/// The demo user's token in every dialect, as `schemathesis.toml` auth sections: one per
/// security scheme of `document` (the dialects' own, `<dialect>-<carrier>`, and the app
/// routes', `<carrier>`). Every scheme of the document gets one.
async fn auth_config(base: &str, password: &str, document: &Value) -> String {
    let http = reqwest::Client::new();
    let credentials = json!({"username": "demo", "password": password});
    let amcr = post_json(&http, base, "/api/token-auth/", credentials.clone()).await["token"].clone();
    let jwt = post_json(&http, base, "/api/token/", credentials.clone()).await["token"].clone();
    let oz = post_json(
        &http,
        base,
        "/api/authorize/auth",
        json!({"credentials": {"email": "demo@example.org", "password": password}}),
    )
    .await["access_token"]
        .clone();
    let minisass = post_json(&http, base, "/authentication/api/token/", credentials).await["access"].clone();
    let form = format!("userLogin.loginUsername=demo&userLogin.loginPassword={}", urlencode(password));
    let container = post(&http, base, "/api/login", &form, "application/x-www-form-urlencoded").await;
    let tdar = container
        .split("apiToken=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("an apiToken: {container}"))
        .to_owned();
    let (amcr, jwt, oz, minisass) = [amcr, jwt, oz, minisass]
        .map(|token| token.as_str().unwrap_or_else(|| panic!("a token: {token}")).to_owned())
        .into();
    let schemes = [
        ("amcr-bearer", "bearer", amcr.clone()),
        ("minisass-bearer", "bearer", minisass),
        ("meldeschein-authorization-jwt", "api_key", format!("JWT {jwt}")),
        ("oz-header-x-forensic-access-token", "api_key", oz.clone()),
        ("tdar-cookie-session.tokenkey", "api_key", tdar.clone()),
        ("tdar-query-session.tokenkey", "api_key", tdar.clone()),
        // The app routes: /api/whoami (any dialect's token) and /api/meldeschein/ (Meldeschein's).
        ("bearer", "bearer", amcr),
        ("authorization-jwt", "api_key", format!("JWT {jwt}")),
        ("header-x-forensic-access-token", "api_key", oz),
        ("cookie-session.tokenkey", "api_key", tdar.clone()),
        ("query-session.tokenkey", "api_key", tdar),
    ];
    let documented = document["components"]["securitySchemes"].as_object().expect("security schemes");
    for name in documented.keys() {
        assert!(schemes.iter().any(|(scheme, _, _)| scheme == name), "no token for the scheme {name}");
    }
    schemes
        .iter()
        .filter(|(scheme, _, _)| documented.contains_key(*scheme))
        .map(|(scheme, kind, token)| format!("[auth.openapi.\"{scheme}\"]\n{kind} = \"{token}\"\n"))
        .collect()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|error| panic!("{what} runs: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{what}:\n{stdout}{stderr}");
    assert!(output.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", output.status);
}

async fn the_document_holds_under_schemathesis(framework: &str) {
    let Some((schemathesis, validator)) = tools() else { return };
    let dir = scratch("openapi", framework);
    let (_demo, base, password) = start_demo(framework, &dir, &FUZZ_CONFIG);

    let document = reqwest::get(format!("{base}/openapi.json")).await.expect("the document");
    assert_eq!(document.headers()["content-type"], "application/json");
    let document = document.text().await.expect("a body");
    let saved = dir.join("openapi.json");
    std::fs::write(&saved, &document).expect("written");
    run(Command::new(&validator).arg(&saved), "openapi-spec-validator");

    let config = dir.join("schemathesis.toml");
    let parsed: Value = serde_json::from_str(&document).expect("JSON");
    std::fs::write(&config, auth_config(&base, &password, &parsed).await).expect("written");
    let started = std::time::Instant::now();
    run(
        Command::new(&schemathesis)
            .current_dir(&dir)
            .arg("--config-file")
            .arg(&config)
            .arg("--no-color")
            .args(["run", &format!("{base}/openapi.json"), "--checks", CHECKS])
            .args(["--max-examples", &MAX_EXAMPLES.to_string(), "--max-time", &MAX_SECONDS.to_string()])
            .args(["--request-timeout", "10", "--workers", "1"]),
        &format!("schemathesis on {framework}"),
    );
    eprintln!("schemathesis on {framework} took {:.0} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_holds_under_schemathesis_on_axum() {
    the_document_holds_under_schemathesis("axum").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_holds_under_schemathesis_on_actix() {
    the_document_holds_under_schemathesis("actix").await;
}
