//! Hostile request bodies, on both adapters: XML with DTDs, external entities and entity bombs;
//! nesting 10,000 deep in JSON and XML; duplicate keys and fields in every format; invalid UTF-8;
//! unknown content types; broken, file-carrying, over-long and over-full multipart bodies; a
//! body that never finishes. Each is refused (400, 413 or 415; never 5xx) with a message naming
//! what is wrong and no internals, and nothing is stored.

use std::time::{Duration, Instant};

use authmount_conformance::hostile::{
    RawOutcome, assert_no_leak, assert_users_untouched, raw_exchange, token_records,
};
use authmount_conformance::{Adapter, Case, PASSWORD, Response, on_both_adapters};
use serde_json::json;

const AMCR_LOGIN: &str = "/api/token-auth/";
const MELDESCHEIN_TOKEN: &str = "/api/token/";
const OZ_LOGIN: &str = "/api/authorize/auth";
const TDAR_LOGIN: &str = "/api/login";
const REGISTER: &str = "/authentication/api/register/";
const MINISASS_LOGIN: &str = "/authentication/api/login/";

/// Asserts the status, that the body leaks nothing and mentions `what` (case-insensitive).
#[track_caller]
fn refused(response: &Response, status: u16, what: &str) {
    response.assert_status(status);
    assert_no_leak(response);
    let body = response.text().to_lowercase();
    assert!(body.contains(&what.to_lowercase()), "the body should say {what:?}: {}", response.text());
}

/// What every case ends with: no user changed or created, no token stored.
async fn nothing_stored(t: &Case) {
    assert_users_untouched(&t.fixture).await;
    assert!(t.fixture.services.users.find_by_login("admin").await.expect("store").is_none());
    assert_eq!(token_records(&t.fixture).await, 0, "nothing stored");
}

fn xml_login(inner_username: &str) -> String {
    format!("<root><username>{inner_username}</username><password>{PASSWORD}</password></root>")
}

#[tokio::test]
async fn xml_doctypes_external_entities_and_bombs_are_refused() {
    on_both_adapters(|t| async move {
        let billion_laughs = {
            let mut dtd = String::from("<!DOCTYPE root [<!ENTITY lol \"lol\">");
            dtd.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">");
            for i in 2..=9 {
                let previous = format!("&lol{};", i - 1).repeat(10);
                dtd.push_str(&format!("<!ENTITY lol{i} \"{previous}\">"));
            }
            dtd.push(']');
            dtd.push('>');
            format!("<?xml version=\"1.0\"?>{dtd}{}", xml_login("&lol9;"))
        };
        let bodies = [
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE root [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                xml_login("&x;")
            ),
            format!("<!DOCTYPE root [<!ENTITY x SYSTEM \"http://evil.example/x\">]>{}", xml_login("&x;")),
            format!("<!DOCTYPE root SYSTEM \"http://evil.example/root.dtd\">{}", xml_login("ann")),
            format!("<!DOCTYPE root [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>{}", xml_login("ann")),
            billion_laughs,
        ];
        for body in bodies {
            for content_type in ["application/xml", "text/xml"] {
                let started = Instant::now();
                let response = t.client.post(MELDESCHEIN_TOKEN).raw(content_type, body.clone()).send().await;
                assert!(started.elapsed() < Duration::from_secs(2), "refused at once, not expanded");
                refused(&response, 400, "DOCTYPE declarations are not allowed");
                assert!(!response.text().contains("evil.example"));
                assert!(response.header("content-type").contains("xml"), "answered in the request's format");
            }
        }
        // An entity that no DTD declares is an error too, not an empty string.
        let undeclared =
            t.client.post(MELDESCHEIN_TOKEN).raw("application/xml", xml_login("&x;")).send().await;
        refused(&undeclared, 400, "entit");
        nothing_stored(&t).await;
    })
    .await;
}

#[tokio::test]
async fn nesting_10000_deep_is_refused_in_json_and_xml() {
    on_both_adapters(|t| async move {
        let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        for value in [&deep_array, &deep_object] {
            let json = format!("{{\"username\":{value},\"password\":\"{PASSWORD}\"}}");
            for path in [AMCR_LOGIN, MELDESCHEIN_TOKEN, REGISTER, MINISASS_LOGIN] {
                refused(&t.client.post(path).raw("application/json", json.clone()).send().await, 400, "deep");
            }
            let oz = format!("{{\"credentials\":{{\"email\":{value},\"password\":\"{PASSWORD}\"}}}}");
            let response = t.client.post(OZ_LOGIN).raw("application/json", oz).send().await;
            refused(&response, 400, "deep");
            assert_eq!(response.json()["error_code"], 3, "Oz: invalid structure");
        }
        // Top-level nesting, no object at all.
        refused(
            &t.client.post(MELDESCHEIN_TOKEN).raw("application/json", deep_array.clone()).send().await,
            400,
            "deep",
        );
        // XML: 10,000 open elements, and 9,000 balanced ones (the largest that fits in 64 KiB).
        let open = format!("<root>{}", "<a>".repeat(10_000));
        let balanced = format!("<root>{}{}</root>", "<a>".repeat(9_000), "</a>".repeat(9_000));
        for body in [open, balanced] {
            assert!(body.len() < 64 * 1024);
            refused(&t.client.post(MELDESCHEIN_TOKEN).raw("application/xml", body).send().await, 400, "deep");
        }
        nothing_stored(&t).await;
    })
    .await;
}

#[tokio::test]
async fn duplicate_keys_and_fields_are_refused_in_every_format() {
    on_both_adapters(|t| async move {
        // A second `username` must not pick which account is checked (first or last wins
        // differs between parsers: refuse the ambiguity).
        let json = format!(r#"{{"username":"ann","username":"admin","password":"{PASSWORD}"}}"#);
        let form = format!("username=ann&password={}&username=admin", PASSWORD.replace(' ', "+"));
        let form_encoded_name = format!("username=ann&password={}&user%6Eame=admin", PASSWORD.replace(' ', "+"));
        let boundary = "b0undary";
        let part = |name: &str, value: &str| {
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        };
        let multipart = format!(
            "{}{}{}--{boundary}--\r\n",
            part("username", "ann"),
            part("password", PASSWORD),
            part("username", "admin")
        );
        let multipart_type = format!("multipart/form-data; boundary={boundary}");
        for (content_type, body) in [
            ("application/json", json.clone()),
            ("application/x-www-form-urlencoded", form.clone()),
            ("application/x-www-form-urlencoded", form_encoded_name),
            (multipart_type.as_str(), multipart.clone()),
        ] {
            let response = t.client.post(AMCR_LOGIN).raw(content_type, body).send().await;
            refused(&response, 400, "duplicate");
        }
        let xml = format!("<root><username>ann</username><username>admin</username><password>{PASSWORD}</password></root>");
        refused(&t.client.post(MELDESCHEIN_TOKEN).raw("application/xml", xml).send().await, 400, "duplicate");
        refused(&t.client.post(MELDESCHEIN_TOKEN).raw("application/json", json).send().await, 400, "duplicate");
        refused(&t.client.post(MELDESCHEIN_TOKEN).raw("application/x-www-form-urlencoded", form).send().await, 400, "duplicate");
        // tDAR's form fields, and a registration (nothing must be created).
        let tdar = format!("userLogin.loginUsername=ann&userLogin.loginUsername=admin&userLogin.loginPassword={}", PASSWORD.replace(' ', "+"));
        let response = t.client.post(TDAR_LOGIN).raw("application/x-www-form-urlencoded", tdar).send().await;
        response.assert_status(400);
        assert_no_leak(&response);
        let register = r#"{"username":"admin","username":"root","first_name":"a","last_name":"b","email":"admin@example.org","password":"long enough pw","organizationType":"NGO","organizationName":"x","country":"ZA","is_admin":true}"#;
        refused(&t.client.post(REGISTER).raw("application/json", register).send().await, 400, "duplicate");
        let register_multipart = format!(
            "{}{}{}{}--{boundary}--\r\n",
            part("username", "admin"),
            part("email", "admin@example.org"),
            part("email", "root@example.org"),
            part("password", "long enough pw"),
        );
        refused(&t.client.post(REGISTER).raw(&multipart_type, register_multipart).send().await, 400, "duplicate");
        nothing_stored(&t).await;
    })
    .await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_in_every_format() {
    on_both_adapters(|t| async move {
        let json = b"{\"username\":\"ann\xff\",\"password\":\"x\"}".to_vec();
        let form = b"username=ann\xff&password=x".to_vec();
        let form_escaped = b"username=ann%FF&password=x".to_vec();
        let multipart =
            b"--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nann\xff\r\n--b--\r\n".to_vec();
        let multipart_name =
            b"--b\r\nContent-Disposition: form-data; name=\"user\xffname\"\r\n\r\nann\r\n--b--\r\n".to_vec();
        for (content_type, body, what) in [
            ("application/json", json, "utf-8"),
            ("application/x-www-form-urlencoded", form, "utf-8"),
            ("application/x-www-form-urlencoded", form_escaped, "utf-8"),
            ("multipart/form-data; boundary=b", multipart, "utf-8"),
            // An unreadable part name is no name.
            ("multipart/form-data; boundary=b", multipart_name, "a part has no field name"),
        ] {
            let response = t.client.post(AMCR_LOGIN).raw(content_type, body).send().await;
            refused(&response, 400, what);
        }
        let xml = b"<root><username>ann\xff</username><password>x</password></root>".to_vec();
        refused(&t.client.post(MELDESCHEIN_TOKEN).raw("application/xml", xml).send().await, 400, "utf-8");
        let latin1 =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><root><username>\xe9</username></root>".to_vec();
        let response = t.client.post(MELDESCHEIN_TOKEN).raw("application/xml", latin1).send().await;
        response.assert_status(400);
        assert_no_leak(&response);
        nothing_stored(&t).await;
    })
    .await;
}

#[tokio::test]
async fn unknown_and_mislabelled_content_types_are_415() {
    on_both_adapters(|t| async move {
        let json = format!(r#"{{"username":"ann","password":"{PASSWORD}"}}"#);
        for content_type in [
            "text/plain",
            "application/octet-stream",
            "application/json-patch+json",
            "application/jsonx",
            "multipart/mixed; boundary=b",
            "application/json; charset=iso-8859-1",
            "application/json; charset=utf-16",
            "application/x-www-form-urlencoded; charset=windows-1252",
            "application/x-php",
            "*/*",
            "json",
            ";;;",
        ] {
            for path in [AMCR_LOGIN, MELDESCHEIN_TOKEN, MINISASS_LOGIN] {
                let response = t.client.post(path).raw(content_type, json.clone()).send().await;
                let what =
                    if content_type.contains("charset") { "only utf-8 is accepted" } else { "media type" };
                refused(&response, 415, what);
            }
        }
        // No Content-Type at all.
        let bare = t.client.post(AMCR_LOGIN).body(json.clone()).send().await;
        refused(&bare, 415, "media type");
        // XML where the endpoint takes no XML (AMCR), multipart where Meldeschein takes none.
        refused(&t.client.post(AMCR_LOGIN).raw("application/xml", "<root/>").send().await, 415, "media type");
        let multipart = t
            .client
            .post(MELDESCHEIN_TOKEN)
            .multipart(&[("username", "ann"), ("password", PASSWORD)])
            .send()
            .await;
        refused(&multipart, 415, "media type");
        nothing_stored(&t).await;
    })
    .await;
}

#[tokio::test]
async fn broken_file_carrying_and_oversized_multipart_bodies_are_refused() {
    on_both_adapters(|t| async move {
        let part = |name: &str, value: &str| {
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        };
        let login = format!("{}{}--b--\r\n", part("username", "ann"), part("password", PASSWORD));
        // No boundary parameter, an empty one, and a body that never closes.
        for content_type in ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; charset=utf-8"] {
            let response = t.client.post(AMCR_LOGIN).raw(content_type, login.clone()).send().await;
            refused(&response, 400, "boundary");
        }
        let unclosed = format!("{}{}", part("username", "ann"), part("password", PASSWORD));
        let response = t.client.post(AMCR_LOGIN).raw("multipart/form-data; boundary=b", unclosed).send().await;
        response.assert_status(400);
        assert_no_leak(&response);
        // A file part (filename=...): auth endpoints take text fields only.
        let file = format!(
            "--b\r\nContent-Disposition: form-data; name=\"username\"; filename=\"../../etc/passwd\"\r\nContent-Type: application/octet-stream\r\n\r\nann\r\n{}--b--\r\n",
            part("password", PASSWORD)
        );
        let response = t.client.post(AMCR_LOGIN).raw("multipart/form-data; boundary=b", file).send().await;
        refused(&response, 400, "file");
        assert!(!response.text().contains("passwd"));
        // Too many parts, too many form fields.
        let many: String = (0..65).map(|i| part(&format!("f{i}"), "x")).collect::<String>() + "--b--\r\n";
        refused(&t.client.post(AMCR_LOGIN).raw("multipart/form-data; boundary=b", many).send().await, 400, "more than 64 fields");
        let many_form: String = (0..65).map(|i| format!("f{i}=x")).collect::<Vec<_>>().join("&");
        refused(&t.client.post(AMCR_LOGIN).raw("application/x-www-form-urlencoded", many_form).send().await, 400, "more than 64 fields");
        // One field over 16 KiB, and a body over 64 KiB: 413.
        let long = format!("{}{}--b--\r\n", part("username", &"a".repeat(16 * 1024 + 1)), part("password", PASSWORD));
        let response = t.client.post(AMCR_LOGIN).raw("multipart/form-data; boundary=b", long).send().await;
        response.assert_status(413);
        assert_no_leak(&response);
        let form_long = format!("username={}&password=x", "a".repeat(16 * 1024 + 1));
        t.client.post(AMCR_LOGIN).raw("application/x-www-form-urlencoded", form_long).send().await.assert_status(413);
        let huge = format!("{{\"username\":\"{}\",\"password\":\"x\"}}", "a".repeat(64 * 1024));
        for path in [AMCR_LOGIN, MELDESCHEIN_TOKEN, OZ_LOGIN, TDAR_LOGIN, REGISTER] {
            let content_type = if path == TDAR_LOGIN { "application/x-www-form-urlencoded" } else { "application/json" };
            let response = t.client.post(path).raw(content_type, huge.clone()).send().await;
            response.assert_status(413);
            assert_no_leak(&response);
        }
        nothing_stored(&t).await;
    })
    .await;
}

#[tokio::test]
async fn a_body_that_never_finishes_does_not_block_other_requests() {
    let outcomes = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(Adapter, RawOutcome, Duration)>::new()));
    on_both_adapters(|t| {
        let outcomes = outcomes.clone();
        async move {
            let base = t.client.base().to_owned();
            let head = format!(
                "POST {AMCR_LOGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"username\":\"ann\","
            );
            let slow = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let wait = authmount::api::BODY_READ_TIMEOUT + Duration::from_secs(3);
                let outcome = raw_exchange(&base, head.as_bytes(), Duration::ZERO, None, wait);
                (outcome, started.elapsed())
            });
            // Meanwhile the server answers everyone else.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let other = t.client.post(AMCR_LOGIN).json(&json!({"username": "ann", "password": "wrong password"})).send().await;
            other.assert_status(401);
            let (outcome, took) = slow.await.expect("the slow client runs");
            outcomes.lock().expect("not poisoned").push((t.adapter, outcome, took));
            nothing_stored(&t).await;
        }
    })
    .await;
    for (adapter, outcome, took) in outcomes.lock().expect("not poisoned").iter() {
        // The adapters give a body BODY_READ_TIMEOUT to arrive, then answer 400 in the dialect's
        // shape: a dribbling client costs one connection for a bounded time, never a worker.
        assert!(matches!(outcome, RawOutcome::Answered(400, _)), "{adapter:?}: {outcome:?} after {took:?}");
        assert!(
            *took >= authmount::api::BODY_READ_TIMEOUT,
            "{adapter:?} answered before the timeout: {took:?}"
        );
    }
}
