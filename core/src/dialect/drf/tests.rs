//! DRF field rules, credentials and the renderer's wording.

use serde_json::json;

use super::*;
use crate::carrier::MalformedCredentials;
use crate::codec::{BodyFormat, MalformedReason};

fn check(body: Value, run: impl FnOnce(&mut Fields<'_>)) -> Value {
    let map = body.as_object().cloned().unwrap_or_default();
    let mut fields = Fields::new(&map);
    run(&mut fields);
    fields.finish().map_or_else(FieldErrors::into_value, |()| json!({}))
}

#[test]
fn char_field_rules() {
    let errors = check(
        json!({"a": null, "b": "", "c": "   ", "d": true, "e": {}, "f": [], "g": 1.5, "h": " x "}),
        |f| {
            for name in ["a", "b", "c", "d", "e", "f", "missing"] {
                assert_eq!(f.char(name, CharRules::TRIMMED), None, "{name}");
            }
            assert_eq!(f.char("g", CharRules::TRIMMED).as_deref(), Some("1.5"));
            assert_eq!(f.char("h", CharRules::TRIMMED).as_deref(), Some("x"));
            assert_eq!(f.char("h", CharRules::PASSWORD).as_deref(), Some(" x "));
            assert_eq!(f.char("c", CharRules::PASSWORD).as_deref(), Some("   "));
        },
    );
    assert_eq!(
        errors,
        json!({
            "a": [NULL], "b": [BLANK], "c": [BLANK], "d": [NOT_A_STRING], "e": [NOT_A_STRING],
            "f": [NOT_A_STRING], "missing": [REQUIRED]
        })
    );
    // Insertion order, not alphabetical.
    let keys: Vec<String> = errors.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "missing"]);
    let order = check(json!({}), |f| {
        f.char("username", CharRules::TRIMMED);
        f.char("password", CharRules::PASSWORD);
    });
    assert_eq!(
        order.to_string(),
        r#"{"username":["This field is required."],"password":["This field is required."]}"#
    );
}

#[test]
fn credentials_trim_the_username_only_and_hide_the_password() {
    let body = json!({"username": "\tann\n", "password": "  pw  ", "extra": 1});
    let read = credentials(body.as_object().expect("object")).expect("valid");
    assert_eq!(read, Credentials { username: "ann".into(), password: "  pw  ".into() });
    assert!(!format!("{read:?}").contains("pw"), "{read:?}");
    let body = json!({"username": ["ann"], "password": null});
    assert_eq!(
        credentials(body.as_object().expect("object")).expect_err("invalid").into_value().to_string(),
        r#"{"username":["Not a valid string."],"password":["This field may not be null."]}"#
    );
}

#[test]
fn optional_char_and_blank() {
    let errors = check(json!({"n": null, "blank": " "}), |f| {
        assert_eq!(f.optional_char("absent", CharRules::TRIMMED), None);
        assert_eq!(f.optional_char("n", CharRules::TRIMMED), None);
        let blank = CharRules { trim: true, allow_blank: true };
        assert_eq!(f.optional_char("blank", blank).as_deref(), Some(""));
    });
    assert_eq!(errors, json!({"n": [NULL]}));
}

#[test]
fn integer_field_rules() {
    let long = "1".repeat(1001);
    let body = json!({
        "a": 5, "b": "7", "c": " -3 ", "d": "4.00", "e": 2.0, "f": "x", "g": 1.5, "h": true,
        "i": "", "j": null, "k": "99999999999999999999", "l": [1], "m": long, "n": "+8", "o": "1e3",
    });
    let errors = check(body, |f| {
        assert_eq!(f.integer("a"), Some(5));
        assert_eq!(f.integer("b"), Some(7));
        assert_eq!(f.integer("c"), Some(-3));
        assert_eq!(f.integer("d"), Some(4));
        assert_eq!(f.integer("e"), Some(2));
        assert_eq!(f.integer("n"), Some(8));
        for name in ["f", "g", "h", "i", "j", "k", "l", "m", "o", "missing"] {
            assert_eq!(f.integer(name), None, "{name}");
        }
    });
    assert_eq!(
        errors,
        json!({
            "f": [NOT_AN_INTEGER], "g": [NOT_AN_INTEGER], "h": [NOT_AN_INTEGER], "i": [NOT_AN_INTEGER],
            "j": [NULL], "k": [NOT_AN_INTEGER], "l": [NOT_AN_INTEGER], "m": [STRING_TOO_LARGE],
            "o": [NOT_AN_INTEGER], "missing": [REQUIRED],
        })
    );
}

fn head(accept: Option<&str>, content_type: Option<&str>) -> Parts {
    let mut builder = http::Request::post("/x");
    if let Some(accept) = accept {
        builder = builder.header("accept", accept);
    }
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(()).expect("request").into_parts().0
}

fn render(renderer: &DrfRenderer, error: ApiError, head: &Parts) -> (StatusCode, String, ApiResponse) {
    let response = renderer.respond(&error, head);
    let body = String::from_utf8(response.body().to_vec()).expect("utf-8");
    (response.status(), body, response)
}

#[test]
fn renders_every_error_with_drf_wording() {
    let r = DrfRenderer::new(HeaderValue::from_static("Bearer"));
    let h = head(None, None);
    let cases: Vec<(ApiError, u16, &str)> = vec![
        (
            ApiError::MethodNotAllowed { method: http::Method::GET, allow: HeaderValue::from_static("POST") },
            405,
            r#"Method \"GET\" not allowed."#,
        ),
        (
            ApiError::Codec(CodecError::UnsupportedMediaType { media_type: "text/plain".into() }),
            415,
            r#"Unsupported media type \"text/plain\" in request."#,
        ),
        (
            ApiError::Codec(CodecError::Malformed {
                format: BodyFormat::Json,
                reason: MalformedReason::Empty,
            }),
            400,
            "JSON parse error - the body is empty",
        ),
        (ApiError::BodyTooLarge { limit: 10 }, 413, "Request body is larger than the limit of 10 bytes."),
        (ApiError::IncompleteBody, 400, INCOMPLETE_BODY),
        (ApiError::Rejected(Rejection::NotProvided), 401, NOT_AUTHENTICATED),
        (
            ApiError::Rejected(Rejection::Malformed(MalformedCredentials::MissingToken)),
            401,
            "Invalid token header. No credentials provided.",
        ),
        (ApiError::Rejected(Rejection::Invalid(InvalidToken::Unknown)), 401, INVALID_TOKEN),
        (ApiError::Rejected(Rejection::Expired), 401, INVALID_TOKEN),
        (ApiError::Rejected(Rejection::Invalid(InvalidToken::InactiveUser)), 401, USER_INACTIVE),
        (ApiError::Forbidden(PERMISSION_DENIED), 403, PERMISSION_DENIED),
        (ApiError::Unavailable, 503, SERVICE_UNAVAILABLE),
        (ApiError::Busy, 503, SERVICE_UNAVAILABLE),
        (ApiError::Internal, 500, SERVER_ERROR),
    ];
    for (error, status, message) in cases {
        let busy = matches!(error, ApiError::Busy);
        let (got, body, response) = render(&r, error, &h);
        assert_eq!(got.as_u16(), status, "{message}");
        assert_eq!(body, format!(r#"{{"detail":"{message}"}}"#));
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers().contains_key("www-authenticate"), status == 401, "{message}");
        assert_eq!(response.headers().contains_key("retry-after"), busy, "{message}");
    }
    let (_, _, busy) = render(&r, ApiError::Busy, &h);
    assert_eq!(busy.headers()["retry-after"], "1");
}

#[test]
fn jwt_wording() {
    let r = DrfRenderer::new(HeaderValue::from_static("JWT realm=\"api\"")).with_wording(AuthWording::Jwt);
    let h = head(None, None);
    let cases = [
        (Rejection::Expired, JWT_EXPIRED),
        (Rejection::Invalid(InvalidToken::Jwt(JwtError::BadSignature)), JWT_DECODE_ERROR),
        (Rejection::Invalid(InvalidToken::Jwt(JwtError::AlgNone)), JWT_DECODE_ERROR),
        (Rejection::Invalid(InvalidToken::Jwt(JwtError::WrongAudience)), AUTHENTICATION_FAILED),
        (Rejection::Invalid(InvalidToken::Revoked), AUTHENTICATION_FAILED),
        (Rejection::Invalid(InvalidToken::InactiveUser), USER_INACTIVE),
        (Rejection::Malformed(MalformedCredentials::MissingToken), JWT_NO_CREDENTIALS),
        (Rejection::Malformed(MalformedCredentials::ContainsSpaces), JWT_CONTAINS_SPACES),
    ];
    for (rejection, message) in cases {
        let (status, body, response) = render(&r, ApiError::Rejected(rejection), &h);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, format!(r#"{{"detail":"{message}"}}"#));
        assert_eq!(response.headers()["www-authenticate"], "JWT realm=\"api\"");
    }
}

#[test]
fn negotiated_errors_follow_accept_then_the_request_format() {
    let r =
        DrfRenderer::new(HeaderValue::from_static("JWT realm=\"api\"")).with_format(DrfFormat::Negotiated);
    let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><detail>Service temporarily unavailable, try again later.</detail></root>";
    for (accept, content_type, is_xml) in [
        (None, None, false),
        (None, Some("text/xml; charset=utf-8"), true),
        (Some("application/xml"), Some("application/json"), true),
        (Some("application/json"), Some("application/xml"), false),
        (Some("*/*"), Some("application/xml"), true),
    ] {
        let (_, body, response) = render(&r, ApiError::Unavailable, &head(accept, content_type));
        if is_xml {
            assert_eq!(body, xml);
            assert_eq!(response.headers()["content-type"], "application/xml; charset=utf-8");
        } else {
            assert_eq!(body, format!(r#"{{"detail":"{SERVICE_UNAVAILABLE}"}}"#));
        }
    }
}

#[test]
fn python_type_names() {
    assert_eq!(python_type_name(&json!("x")), "str");
    assert_eq!(python_type_name(&json!(1)), "int");
    assert_eq!(python_type_name(&json!(1.5)), "float");
    assert_eq!(python_type_name(&json!([])), "list");
    assert_eq!(python_type_name(&json!(true)), "bool");
}
