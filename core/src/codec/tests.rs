//! End-to-end tests of `decode_body`: status mapping, limits, and a never-panic property test.

use http::{HeaderValue, StatusCode};
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

fn decode(content_type: Option<&str>, body: &[u8]) -> Result<DecodedBody, CodecError> {
    decode_with(content_type, body, &BodyFormat::ALL, &BodyLimits::default())
}

fn decode_with(
    content_type: Option<&str>,
    body: &[u8],
    accepted: &[BodyFormat],
    limits: &BodyLimits,
) -> Result<DecodedBody, CodecError> {
    let header = content_type.map(|ct| HeaderValue::from_str(ct).expect("header"));
    runtime().block_on(decode_body(header.as_ref(), body, accepted, limits))
}

fn status(content_type: Option<&str>, body: &[u8]) -> StatusCode {
    match decode(content_type, body) {
        Ok(_) => StatusCode::OK,
        Err(err) => err.status(),
    }
}

#[test]
fn the_same_login_in_every_format_decodes_to_the_same_map() {
    let want = json!({"username": "alice", "password": "correct horse battery staple"});
    let bodies: [(&str, &[u8], BodyFormat); 5] = [
        (
            "application/json",
            br#"{"username":"alice","password":"correct horse battery staple"}"#,
            BodyFormat::Json,
        ),
        (
            "application/xml",
            b"<root><username>alice</username><password>correct horse battery staple</password></root>",
            BodyFormat::Xml,
        ),
        (
            "text/xml; charset=UTF-8",
            b"<?xml version=\"1.0\"?><root><username>alice</username><password>correct horse battery staple</password></root>",
            BodyFormat::Xml,
        ),
        (
            "application/x-www-form-urlencoded",
            b"username=alice&password=correct+horse+battery+staple",
            BodyFormat::Form,
        ),
        (
            "multipart/form-data; boundary=----b0undary",
            b"------b0undary\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n------b0undary\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\ncorrect horse battery staple\r\n------b0undary--\r\n",
            BodyFormat::Multipart,
        ),
    ];
    for (ct, body, format) in bodies {
        let decoded = decode(Some(ct), body).expect(ct);
        assert_eq!(decoded.format, format, "{ct}");
        assert_eq!(serde_json::Value::Object(decoded.fields), want, "{ct}");
    }
}

#[test]
fn media_type_errors_are_415() {
    assert_eq!(status(None, b"{}"), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(status(Some("text/plain"), b"{}"), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        status(Some("application/json; charset=iso-8859-1"), b"{}"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        status(Some("application/x-www-form-urlencoded; charset=windows-1252"), b"a=1"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let err = decode_with(
        Some("multipart/form-data; boundary=x"),
        b"",
        &[BodyFormat::Json, BodyFormat::Form],
        &BodyLimits::default(),
    )
    .expect_err("not accepted");
    assert_eq!(err.to_string(), "Unsupported media type \"multipart/form-data; boundary=x\" in request.");
    // The media type is judged before the size.
    assert_eq!(status(Some("text/plain"), &vec![b'a'; 100_000]), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn oversized_bodies_are_413_in_every_format() {
    let limits = BodyLimits::default();
    let big = vec![b' '; limits.max_body_bytes + 1];
    for ct in [
        "application/json",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
    ] {
        let err = decode(Some(ct), &big).expect_err(ct);
        assert_eq!(err, CodecError::BodyTooLarge { limit: limits.max_body_bytes }, "{ct}");
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(err.to_string(), "Request body is larger than the limit of 65536 bytes.");
    }
    // Exactly at the limit is fine.
    let mut at_limit = br#"{"a":""#.to_vec();
    at_limit.resize(limits.max_body_bytes - 2, b'x');
    at_limit.extend_from_slice(br#""}"#);
    assert_eq!(status(Some("application/json"), &at_limit), StatusCode::OK);
    // Custom limits apply.
    let small = BodyLimits { max_body_bytes: 10, ..BodyLimits::default() };
    let err = decode_with(Some("application/json"), br#"{"a":"bcdefg"}"#, &BodyFormat::ALL, &small)
        .expect_err("small");
    assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn empty_bodies() {
    assert_eq!(decode(Some("application/x-www-form-urlencoded"), b"").map(|d| d.fields.len()), Ok(0));
    assert_eq!(decode(Some("multipart/form-data; boundary=b"), b"").map(|d| d.fields.len()), Ok(0));
    assert_eq!(status(Some("application/json"), b""), StatusCode::BAD_REQUEST);
    assert_eq!(status(Some("application/xml"), b""), StatusCode::BAD_REQUEST);
    assert_eq!(
        decode(Some("application/json"), b"").map_err(|e| e.to_string()),
        Err("JSON parse error - the body is empty".to_owned())
    );
}

#[test]
fn body_errors_are_400_with_drf_prefixes() {
    let cases: [(&str, &[u8], &str); 6] = [
        ("application/json", b"{", "JSON parse error - "),
        ("application/xml", b"<!DOCTYPE x><x/>", "XML parse error - DOCTYPE declarations are not allowed"),
        ("application/x-www-form-urlencoded", b"a=%ff", "Form parse error - field \"a\" is not valid UTF-8"),
        (
            "multipart/form-data",
            b"--b--",
            "Multipart form parse error - the Content-Type has no boundary parameter",
        ),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
            "Multipart form parse error - the body ends before the document is complete",
        ),
        ("application/json", b"[1]", "JSON parse error - the top level must be an object"),
    ];
    for (ct, body, prefix) in cases {
        let err = decode(Some(ct), body).expect_err(ct);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{ct}");
        assert!(err.to_string().starts_with(prefix), "{ct}: {err}");
    }
}

#[test]
fn error_messages_never_echo_much_input() {
    let name = "n".repeat(5_000);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", format!(r#"{{"{name}":1,"{name}":2}}"#).into_bytes()),
        ("application/xml", format!("<r><{name}/><{name}/></r>").into_bytes()),
        ("application/xml", format!("<r><a>&{name};</a></r>").into_bytes()),
        ("application/xml", format!("<r><{name}></x></r>").into_bytes()),
        ("application/x-www-form-urlencoded", format!("{name}=1&{name}=2").into_bytes()),
        ("application/x-www-form-urlencoded", format!("{name}=%ff").into_bytes()),
        (
            "multipart/form-data; boundary=b",
            format!(
                "--b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\r\nx\r\n--b--\r\n"
            )
            .into_bytes(),
        ),
    ];
    for (ct, body) in bodies {
        let err = decode(Some(ct), &body).expect_err(ct);
        assert!(err.to_string().len() < 300, "{ct}: {} chars", err.to_string().len());
    }
}

#[test]
fn decode_body_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let limits = BodyLimits::default();
    let fut = decode_body(None, b"", &BodyFormat::ALL, &limits);
    assert_send(&fut);
}

const CONTENT_TYPES: [&str; 5] = [
    "application/json",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=b",
    "multipart/form-data",
];

/// Bytes biased towards each format's syntax, so the fuzzing reaches past the first check.
fn syntax_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"<>/!?-[]{}\":,=&%+;#xabu0123456789 \r\n\\\x00\xff\xc3\xa9Content-Disposition: form-data; name=filename"
        .to_vec();
    let token = prop_oneof![
        proptest::sample::select(alphabet).prop_map(|b| vec![b]),
        proptest::sample::select(vec![
            &b"--b\r\n"[..],
            b"--b--\r\n",
            b"\r\n\r\n",
            b"<!DOCTYPE",
            b"<![CDATA[",
            b"]]>",
            b"&amp;",
            b"&#x",
            b"<?xml version=\"1.0\"?>",
            b"<root>",
            b"</root>",
            b"<list-item>",
            b"</list-item>",
            b"{\"a\":",
            b"[",
            b"%C3%A9",
            b"Content-Disposition: form-data; name=\"a\"",
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    proptest::collection::vec(token, 0..64).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), ct in 0..CONTENT_TYPES.len()) {
        let _ = decode(Some(CONTENT_TYPES[ct]), &body);
    }

    #[test]
    fn syntax_shaped_bytes_never_panic(body in syntax_bytes(), ct in 0..CONTENT_TYPES.len()) {
        let limits = BodyLimits { max_depth: 4, max_fields: 4, max_field_bytes: 16, ..BodyLimits::default() };
        if let Err(err) = decode_with(Some(CONTENT_TYPES[ct]), &body, &BodyFormat::ALL, &limits) {
            let status = err.status();
            prop_assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE);
        }
    }

    #[test]
    fn arbitrary_content_types_never_panic(ct in "[ -~]{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(Some(&ct), &body);
    }

    #[test]
    fn arbitrary_accept_headers_never_panic(accept in "[ -~]{0,80}") {
        if let Ok(value) = HeaderValue::from_str(&accept) {
            let _ = negotiate(Some(&value), ResponseFormat::Json);
        }
    }

    #[test]
    fn form_values_round_trip(value in "\\PC{0,40}") {
        let encoded: String = percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC).to_string();
        let decoded = decode(Some("application/x-www-form-urlencoded"), format!("v={encoded}").as_bytes());
        prop_assert_eq!(decoded.map(|d| d.fields["v"].clone()), Ok(json!(value)));
    }
}

// Hostile-input properties: every content type a client may send, arbitrary bytes under each,
// through the codec alone and through the dialects' real endpoints.

/// Content types as clients send them, well-formed or not, with the parameters that change
/// decoding (charset, boundary).
const EVERY_CONTENT_TYPE: [&str; 16] = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin1",
    "application/xml",
    "text/xml; charset=UTF-8",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-16",
    "multipart/form-data; boundary=b",
    "multipart/form-data; boundary=\"b\"",
    "multipart/form-data; boundary=",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
    "*/*",
    "",
    ";;=;",
];

/// Fragments a client must never see in an error message.
const INTERNALS: [&str; 8] = ["panicked", "serde", "quick_xml", "multer", "::", ".rs:", "Error {", "Error("];

/// The first internal `message` names. A message may quote the client's own field name, so
/// only text the client did not send counts.
fn internal_named(message: &str, sent: &[u8]) -> Option<&'static str> {
    let sent = String::from_utf8_lossy(sent);
    INTERNALS.into_iter().find(|internal| message.contains(internal) && !sent.contains(internal))
}

fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), syntax_bytes()]
}

/// The in-process dialects whose endpoints decode bodies, built once for all cases.
struct Endpoints {
    runtime: tokio::runtime::Runtime,
    routes: Vec<(crate::api::Api, &'static str)>,
}

fn endpoints() -> &'static Endpoints {
    static ENDPOINTS: std::sync::OnceLock<Endpoints> = std::sync::OnceLock::new();
    ENDPOINTS.get_or_init(|| {
        use std::sync::Arc;

        use crate::dialect::{Dialect, amcr, meldeschein, minisass, oz, tdar};
        use crate::token::jwt::{JwtKey, JwtService, KeyRing};

        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let clock = crate::clock::ManualClock::at_unix(1_750_000_000);
        let hasher = crate::password::Argon2idHasher::insecure_for_tests(
            crate::password::Argon2Params::insecure_fast_for_tests(),
        )
        .expect("params");
        let services = crate::services::Services::in_memory_with_clock(Arc::new(clock.clone()))
            .expect("services")
            .with_passwords(crate::password::PasswordService::new(Arc::new(hasher)));
        let ring = KeyRing::new("k1", JwtKey::hs256(&[7u8; 32]).expect("key")).expect("ring");
        let jwt = JwtService::new(ring, Arc::new(clock));
        let amcr = amcr::Amcr::new(services.clone(), amcr::AmcrConfig::default()).api();
        let meldeschein = meldeschein::Meldeschein::new(
            services.clone(),
            jwt.clone(),
            meldeschein::MeldescheinConfig::default(),
        )
        .api();
        let oz = oz::Oz::new(services.clone(), oz::OzConfig::default()).api();
        let tdar = tdar::Tdar::new(services.clone(), tdar::TdarConfig::default()).expect("tdar").api();
        let mailer = Arc::new(crate::mailer::OutboxMailer::new());
        let minisass =
            minisass::Minisass::new(services, jwt, mailer, minisass::MinisassConfig::default()).api();
        let routes = vec![
            (amcr, amcr::TOKEN_AUTH_PATH),
            (meldeschein, meldeschein::TOKEN_PATH),
            (oz.clone(), oz::AUTH_PATH),
            (oz, oz::REFRESH_PATH),
            (tdar, tdar::LOGIN_PATH),
            (minisass.clone(), minisass::LOGIN_PATH),
            (minisass.clone(), minisass::REGISTER_PATH),
            (minisass.clone(), minisass::REFRESH_PATH),
            (minisass, minisass::REQUEST_RESET_PATH),
        ];
        Endpoints { runtime, routes }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_refusal_is_a_client_error_naming_no_internals(
        body in hostile_body(),
        ct in 0..EVERY_CONTENT_TYPE.len(),
    ) {
        if let Err(err) = decode(Some(EVERY_CONTENT_TYPE[ct]), &body) {
            prop_assert!(err.status().is_client_error(), "{}", err.status());
            let message = err.to_string();
            let named = internal_named(&message, &body);
            prop_assert!(named.is_none(), "{message:?} names {named:?}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_always_400(depth in 33usize..3000, kind in 0..3usize) {
        let (ct, body) = match kind {
            0 => ("application/json", format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth))),
            1 => ("application/json", format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))),
            // XML counts elements that hold elements: the innermost empty one adds no level.
            _ => ("application/xml", format!("{}{}", "<a>".repeat(depth + 1), "</a>".repeat(depth + 1))),
        };
        let err = decode(Some(ct), body.as_bytes()).expect_err("too deep");
        prop_assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn arbitrary_bodies_never_get_a_server_error_from_any_dialect(
        body in hostile_body(),
        ct in 0..EVERY_CONTENT_TYPE.len(),
        accept in prop_oneof![Just(None), "[ -~]{0,40}".prop_map(Some)],
    ) {
        let endpoints = endpoints();
        for (api, path) in &endpoints.routes {
            let mut builder = http::Request::post(*path).header("content-type", EVERY_CONTENT_TYPE[ct]);
            if let Some(accept) = accept.as_deref().and_then(|a| HeaderValue::from_str(a).ok()) {
                builder = builder.header("accept", accept);
            }
            let request = builder.body(bytes::Bytes::from(body.clone())).expect("request");
            let (head, request_body) = request.into_parts();
            let index = api.routes().iter().position(|route| route.match_path(path).is_some()).expect("a route");
            let response =
                endpoints.runtime.block_on(api.call(index, head, crate::api::RequestBody::Complete(request_body)));
            prop_assert!(!response.status().is_server_error(), "{path}: {}", response.status());
            let text = String::from_utf8_lossy(response.body());
            let named = internal_named(&text, &body);
            prop_assert!(named.is_none(), "{path}: {text:?} names {named:?}");
        }
    }
}
