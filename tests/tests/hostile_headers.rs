//! Hostile request heads, on both adapters: repeated credentials, empty and broken schemes,
//! non-ASCII bytes, oversized headers and too many of them. Refusals are 4xx (never 200, never
//! 5xx), name what is wrong without internals, and store nothing.
//!
//! Oversized heads are refused by the HTTP servers themselves before any authmount code runs,
//! and hyper (axum) and actix-web draw the line in different places; those cases go outside
//! the recorded transcript and assert only "a 4xx on both".

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use authmount_conformance::hostile::{
    RawOutcome, assert_no_leak, assert_refused_401, assert_users_untouched, raw_exchange, token_records,
};
use authmount_conformance::{Adapter, Case, PASSWORD, Response, on_both_adapters};
use serde_json::json;

const AMCR_LOGIN: &str = "/api/token-auth/";
const AMCR_INFO: &str = "/api/uzivatel-info/";
const MELDESCHEIN_WHOAMI: &str = "/app/meldeschein/whoami/";
const MINISASS_STATUS: &str = "/authentication/api/check-auth-status/";
const OZ_WHOAMI: &str = "/app/oz/whoami";
const TDAR_LOGIN: &str = "/api/login";
const TDAR_WHOAMI: &str = "/app/tdar/whoami";

async fn amcr_token(t: &Case) -> String {
    let response =
        t.client.post(AMCR_LOGIN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let token = response.json()["token"].as_str().expect("token").to_owned();
    t.client.secret(&token);
    token
}

async fn tdar_key(t: &Case) -> String {
    let response = t
        .client
        .post(TDAR_LOGIN)
        .form(&[("userLogin.loginUsername", "ann"), ("userLogin.loginPassword", PASSWORD)])
        .send()
        .await;
    response.assert_status(200);
    let body = response.text();
    let start = body.find("apiToken=\"").expect("apiToken") + "apiToken=\"".len();
    let key = body[start..].split('"').next().unwrap_or_default().to_owned();
    t.client.secret(&key);
    key
}

#[track_caller]
fn amcr_refused(response: &Response, detail: &str) {
    assert_refused_401(response);
    assert!(response.header("www-authenticate").starts_with("Bearer"));
    assert_eq!(response.json(), json!({ "detail": detail }));
}

#[tokio::test]
async fn a_credential_given_twice_is_refused_even_if_one_is_valid() {
    on_both_adapters(|t| async move {
        let token = amcr_token(&t).await;
        let repeated = "Invalid token header. The credential is given more than once.";
        for (first, second) in [
            (format!("Bearer {token}"), "Bearer garbage".to_owned()),
            ("Bearer garbage".to_owned(), format!("Bearer {token}")),
            (format!("Bearer {token}"), format!("Bearer {token}")),
            (format!("Bearer {token}"), "Basic YTpi".to_owned()),
        ] {
            let response = t
                .client
                .get(AMCR_INFO)
                .header("authorization", first)
                .header("authorization", second)
                .send()
                .await;
            amcr_refused(&response, repeated);
            let gate = t
                .client
                .get("/app/amcr/whoami")
                .header("authorization", format!("Bearer {token}"))
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await;
            assert_refused_401(&gate);
        }
        // Oz's own header twice.
        let oz = t
            .client
            .get(OZ_WHOAMI)
            .header("x-forensic-access-token", "a")
            .header("x-forensic-access-token", "b")
            .send()
            .await;
        assert_refused_401(&oz);
        assert_eq!(oz.json()["error_code"], 7);
        // tDAR's key twice: in one cookie header, in two, and twice in the query.
        let key = tdar_key(&t).await;
        let cookie = format!("session.tokenkey={key}");
        for response in [
            t.client.get(TDAR_WHOAMI).header("cookie", format!("{cookie}; {cookie}")).send().await,
            t.client
                .get(TDAR_WHOAMI)
                .header("cookie", cookie.clone())
                .header("cookie", "session.tokenkey=forged")
                .send()
                .await,
            t.client
                .get(&format!("{TDAR_WHOAMI}?session.tokenkey={key}&session.tokenkey={key}"))
                .send()
                .await,
        ] {
            response.assert_status(403);
            assert_no_leak(&response);
            assert!(response.text().contains("<tdar:errors>"), "{}", response.text());
        }
        t.client.get(TDAR_WHOAMI).header("cookie", cookie).send().await.assert_status(200);
        t.client
            .get(AMCR_INFO)
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .assert_status(200);
        assert_users_untouched(&t.fixture).await;
        assert_eq!(token_records(&t.fixture).await, 2, "only the two logins' tokens");
    })
    .await;
}

#[tokio::test]
async fn empty_and_broken_schemes() {
    on_both_adapters(|t| async move {
        let not_provided = "Authentication credentials were not provided.";
        for value in [
            "",
            "   ",
            "Bearer",
            "Bearer    ",
            "Bearer a b",
            "Bearerabc",
            "Basic YTpi",
            "Token abc",
            ":abc",
            "Bearer\tabc\tdef",
        ] {
            let response = t.client.get(AMCR_INFO).header("authorization", value).send().await;
            let want = match value.trim() {
                "" | "Bearerabc" | "Basic YTpi" | "Token abc" | ":abc" => not_provided,
                "Bearer" => "Invalid token header. No credentials provided.",
                "Bearer a b" | "Bearer\tabc\tdef" => {
                    "Invalid token header. Token string should not contain spaces."
                }
                other => unreachable!("{other}"),
            };
            amcr_refused(&response, want);
        }
        // Meldeschein: `JWT` with nothing after it, or with spaces in the token, is invalid, in
        // djangorestframework-jwt's words; another scheme is not provided.
        let bare = t.client.get(MELDESCHEIN_WHOAMI).header("authorization", "JWT").send().await;
        assert_refused_401(&bare);
        assert_eq!(bare.json(), json!({"detail": "Invalid Authorization header. No credentials provided."}));
        let spaced = t.client.get(MELDESCHEIN_WHOAMI).header("authorization", "JWT a b").send().await;
        assert_refused_401(&spaced);
        assert_eq!(
            spaced.json(),
            json!({"detail": "Invalid Authorization header. Credentials string should not contain spaces."})
        );
        let bearer = t.client.get(MELDESCHEIN_WHOAMI).header("authorization", "Bearer x").send().await;
        assert_refused_401(&bearer);
        assert_eq!(bearer.json(), json!({"detail": not_provided}));
        // miniSASS' keyword is case-sensitive (SimpleJWT): `BEARER x` is no credentials at all.
        let upper = t.client.get(MINISASS_STATUS).header("authorization", "BEARER x").send().await;
        assert_refused_401(&upper);
        assert_eq!(upper.json(), json!({"detail": not_provided}));
        // Oz: an empty or blank header is no token.
        for value in ["", "  "] {
            let response = t.client.get(OZ_WHOAMI).header("x-forensic-access-token", value).send().await;
            assert_refused_401(&response);
            assert_eq!(response.json()["error_code"], 6);
        }
        // tDAR: empty cookie and query values are no key.
        for response in [
            t.client.get(TDAR_WHOAMI).header("cookie", "session.tokenkey=").send().await,
            t.client.get(&format!("{TDAR_WHOAMI}?session.tokenkey=")).send().await,
            t.client.get(&format!("{TDAR_WHOAMI}?session.tokenkey=%FF%FE")).send().await,
            t.client.get(&format!("{TDAR_WHOAMI}?session.tokenkey=a%0D%0ASet-Cookie:%20x=y")).send().await,
        ] {
            response.assert_status(403);
            assert_no_leak(&response);
            assert!(!response.headers.contains_key("set-cookie") || !response.text().contains("x=y"));
        }
        assert_users_untouched(&t.fixture).await;
        assert_eq!(token_records(&t.fixture).await, 0);
    })
    .await;
}

/// Runs `request` (given the server's base URL) once per adapter outside the transcript and
/// returns what each adapter answered.
async fn per_adapter<F, Fut, T>(request: F) -> Vec<(Adapter, T)>
where
    F: Fn(String) -> Fut + Clone,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    on_both_adapters(|t| {
        let seen = seen.clone();
        let request = request.clone();
        async move {
            let outcome = request(t.client.base().to_owned()).await;
            seen.lock().unwrap_or_else(PoisonError::into_inner).push((t.adapter, outcome));
            assert_eq!(token_records(&t.fixture).await, 0, "nothing stored");
        }
    })
    .await;
    Arc::try_unwrap(seen).ok().expect("the case is over").into_inner().unwrap_or_else(PoisonError::into_inner)
}

async fn status_of(base: String, path: &str, headers: Vec<(String, String)>) -> u16 {
    let client = reqwest::Client::new();
    let mut request = client.get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) => response.status().as_u16(),
        // A server may also just close the connection on an oversized head.
        Err(error) => {
            assert!(!error.is_builder(), "{error}");
            0
        }
    }
}

#[tokio::test]
async fn a_64_kib_header_is_a_4xx_on_both_adapters() {
    for (name, value) in [
        ("authorization", format!("Bearer {}", "a".repeat(64 * 1024))),
        ("x-forensic-access-token", "a".repeat(64 * 1024)),
        ("cookie", format!("session.tokenkey={}", "a".repeat(64 * 1024))),
        ("x-padding", "a".repeat(64 * 1024)),
    ] {
        for path in [AMCR_INFO, OZ_WHOAMI, TDAR_WHOAMI] {
            let seen = per_adapter(|base| {
                let headers = vec![(name.to_owned(), value.clone())];
                async move { status_of(base, path, headers).await }
            })
            .await;
            for (adapter, status) in &seen {
                assert!(
                    *status == 0 || (400..500).contains(status),
                    "{adapter:?} answered {status} to a 64 KiB {name} at {path}"
                );
            }
            // Both servers take a 64 KiB head, so authmount decides: the same answer on both
            // (401 at AMCR and Oz, tDAR's 403).
            assert_eq!(seen[0].1, seen[1].1, "{name} at {path}: {seen:?}");
        }
    }
}

#[tokio::test]
async fn a_1_mib_head_is_refused_by_the_http_server() {
    for (name, value) in [
        ("authorization", format!("Bearer {}", "a".repeat(1024 * 1024))),
        ("x-padding", "a".repeat(1024 * 1024)),
    ] {
        let seen = per_adapter(|base| {
            let headers = vec![(name.to_owned(), value.clone())];
            async move { status_of(base, AMCR_INFO, headers).await }
        })
        .await;
        for (adapter, status) in &seen {
            // 431 or a closed connection (0): the limit belongs to hyper and actix-http.
            assert!(*status == 0 || (400..500).contains(status), "{adapter:?} answered {status}");
        }
    }
}

#[tokio::test]
async fn a_token_just_over_8_kib_is_refused_by_authmount_itself() {
    on_both_adapters(|t| async move {
        let long = "a".repeat(8 * 1024 + 1);
        let response = t.client.get(AMCR_INFO).header("authorization", format!("Bearer {long}")).send().await;
        amcr_refused(&response, "Invalid token header. Token string is too long.");
        let oz = t.client.get(OZ_WHOAMI).header("x-forensic-access-token", long.clone()).send().await;
        assert_refused_401(&oz);
        let tdar =
            t.client.get(TDAR_WHOAMI).header("cookie", format!("session.tokenkey={long}")).send().await;
        tdar.assert_status(403);
        assert_no_leak(&tdar);
        assert_eq!(token_records(&t.fixture).await, 0);
    })
    .await;
}

#[tokio::test]
async fn two_hundred_headers_are_a_4xx_or_ignored_never_a_5xx() {
    let seen = per_adapter(|base| async move {
        let headers = (0..200).map(|i| (format!("x-h{i}"), "v".to_owned())).collect();
        status_of(base, AMCR_INFO, headers).await
    })
    .await;
    for (adapter, status) in seen {
        // 431 from the HTTP server, or 401 (no credentials) if it accepts that many.
        assert!(status == 0 || (400..500).contains(&status), "{adapter:?} answered {status}");
    }
}

#[tokio::test]
async fn non_ascii_bytes_in_credentials_are_invalid_not_a_crash() {
    let seen = per_adapter(|base| async move {
        let mut outcomes = Vec::new();
        for head in [
            &b"Authorization: Bearer t\xc3\xb6ken\r\n"[..],
            b"Authorization: Bearer \xff\xfe\r\n",
            b"Authorization: \xffBearer abc\r\n",
            b"X-Forensic-Access-Token: \xff\r\n",
            b"Cookie: session.tokenkey=\xff\r\n",
        ] {
            for path in [AMCR_INFO, OZ_WHOAMI, TDAR_WHOAMI] {
                let mut request =
                    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n").into_bytes();
                request.extend_from_slice(head);
                request.extend_from_slice(b"\r\n");
                let base = base.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    raw_exchange(&base, &request, Duration::ZERO, None, Duration::from_secs(5))
                })
                .await
                .expect("the exchange runs");
                let status = match outcome {
                    RawOutcome::Answered(status, text) => {
                        for leak in authmount_conformance::hostile::LEAKS {
                            assert!(!text.contains(leak), "{leak}: {text}");
                        }
                        status
                    }
                    other => panic!("{path}: {other:?}"),
                };
                outcomes.push((path, String::from_utf8_lossy(head).into_owned(), status));
            }
        }
        outcomes
    })
    .await;
    let (first, reference) = &seen[0];
    for (adapter, outcomes) in &seen {
        for (path, head, status) in outcomes {
            assert!((400..500).contains(status), "{adapter:?} {path} {head:?}: {status}");
        }
        assert_eq!(outcomes, reference, "{adapter:?} and {first:?} differ");
    }
}
