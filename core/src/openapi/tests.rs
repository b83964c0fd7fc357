//! The documents against the route table (every mounted path and method, nothing else) and
//! against the spec (`dialects.md`): a few key shapes of each dialect.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{ApiDocument, documented_operations, mounted_operations};
use crate::dialect::{DialectContext, Dialects};
use crate::mailer::OutboxMailer;
use crate::services::Services;
use crate::token::jwt::{JwtKey, JwtService, KeyRing};

fn dialects() -> Dialects {
    let services = Services::in_memory().expect("services");
    let jwt = JwtService::new(
        KeyRing::new("k1", JwtKey::hs256(&[7; 32]).expect("key")).expect("ring"),
        services.clock.clone(),
    );
    let context = DialectContext::new(services, jwt, Arc::new(OutboxMailer::new())).with_config(
        crate::dialect::meldeschein::MeldescheinConfig { query_token: true, ..Default::default() },
    );
    Dialects::built_in(&context).expect("dialects")
}

/// The merged document of every built-in dialect, as JSON.
fn document() -> Value {
    let document = ApiDocument::new("authmount", "0.1.0").with_dialects(&dialects());
    serde_json::from_str(&document.to_json()).expect("JSON")
}

fn as_set(operations: Vec<(String, http::Method)>) -> BTreeSet<(String, String)> {
    operations.into_iter().map(|(path, method)| (path, method.to_string())).collect()
}

#[test]
fn every_mounted_route_is_documented_and_nothing_else() {
    let mut all_mounted = BTreeSet::new();
    for dialect in dialects().iter() {
        let api = dialect.api();
        let mounted = as_set(mounted_operations(&api));
        assert!(mounted.iter().any(|(path, _)| !path.ends_with('/')), "{}: both forms", dialect.name());
        assert_eq!(as_set(documented_operations(&dialect.openapi())), mounted, "{}", dialect.name());
        for route in api.routes() {
            assert!(route.doc().is_some(), "{} {} has no description", dialect.name(), route.pattern());
        }
        all_mounted.extend(mounted);
    }
    let merged = ApiDocument::new("authmount", "0.1.0").with_dialects(&dialects());
    assert_eq!(as_set(documented_operations(merged.openapi())), all_mounted, "the merged document");
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("item").values() {
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(ids.insert(id.to_owned()), "{id} twice");
            assert!(
                operation["responses"]["500"].is_object() && operation["responses"]["503"].is_object(),
                "{id}"
            );
        }
    }
}

/// The content of `status`'s answer of `method path` in `media_type`.
fn answer<'d>(document: &'d Value, path: &str, method: &str, status: &str) -> &'d Value {
    let answer = &document["paths"][path][method]["responses"][status];
    assert!(answer.is_object(), "{method} {path}: no {status}");
    answer
}

fn schema<'d>(answer: &'d Value, media_type: &str) -> &'d Value {
    let schema = &answer["content"][media_type]["schema"];
    assert!(schema.is_object(), "no {media_type} body in {answer}");
    schema
}

fn required(schema: &Value) -> Vec<&str> {
    schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn header<'d>(answer: &'d Value, name: &str) -> &'d str {
    answer["headers"][name]["description"].as_str().unwrap_or_else(|| panic!("no {name} in {answer}"))
}

#[test]
fn amcr_token_auth_takes_json_form_and_multipart_and_answers_a_token_or_a_401() {
    let document = document();
    let body = &document["paths"]["/api/token-auth/"]["post"]["requestBody"]["content"];
    for media_type in ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"] {
        assert_eq!(required(&body[media_type]["schema"]), ["username", "password"], "{media_type}");
    }
    assert!(body["application/xml"].is_null(), "AMCR takes no XML");
    assert_eq!(
        required(schema(answer(&document, "/api/token-auth/", "post", "200"), "application/json")),
        ["token"]
    );
    let refused = answer(&document, "/api/token-auth/", "post", "401");
    assert_eq!(required(schema(refused, "application/json")), ["non_field_errors"]);
    assert!(header(refused, "WWW-Authenticate").contains("Bearer"));
    let info = answer(&document, "/api/uzivatel-info/", "get", "200");
    assert_eq!(schema(info, "application/xml")["xml"]["name"], "amcr:amcr");
    assert_eq!(document["paths"]["/api/uzivatel-info/"]["get"]["security"], json!([{"amcr-bearer": []}]));
    assert_eq!(document["components"]["securitySchemes"]["amcr-bearer"]["scheme"], "bearer");
}

#[test]
fn meldeschein_sends_its_jwt_as_authorization_jwt_and_takes_xml_logins() {
    let document = document();
    let scheme = &document["components"]["securitySchemes"]["meldeschein-authorization-jwt"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["in"].as_str(), scheme["name"].as_str()),
        (Some("apiKey"), Some("header"), Some("Authorization"))
    );
    assert!(scheme["description"].as_str().expect("described").contains("Authorization: JWT <token>"));
    let query = &document["components"]["securitySchemes"]["meldeschein-query-jwt"];
    assert_eq!(
        (query["in"].as_str(), query["name"].as_str()),
        (Some("query"), Some("jwt")),
        "?jwt= when enabled"
    );
    let body = &document["paths"]["/api/token/"]["post"]["requestBody"]["content"];
    for media_type in ["application/json", "application/xml", "text/xml", "application/x-www-form-urlencoded"]
    {
        assert_eq!(required(&body[media_type]["schema"]), ["username", "password"], "{media_type}");
    }
    assert_eq!(body["application/xml"]["schema"]["xml"]["name"], "root");
    let ok = answer(&document, "/api/token/", "post", "200");
    assert_eq!(required(schema(ok, "application/json")), ["token"]);
    assert_eq!(schema(ok, "application/xml")["xml"]["name"], "root", "answers negotiated to XML");
    let refused = answer(&document, "/api/get-config/", "get", "401");
    assert!(header(refused, "WWW-Authenticate").contains("JWT realm=\"api\""));
}

#[test]
fn oz_sends_its_token_in_x_forensic_access_token_and_logs_in_with_a_credentials_envelope() {
    let document = document();
    let body = &document["paths"]["/api/authorize/auth"]["post"]["requestBody"]["content"];
    assert_eq!(
        body.as_object().expect("content").keys().collect::<Vec<_>>(),
        ["application/json"],
        "JSON only"
    );
    let credentials = &body["application/json"]["schema"]["properties"]["credentials"];
    assert_eq!(required(credentials), ["email", "password"]);
    let session = schema(answer(&document, "/api/authorize/auth", "post", "200"), "application/json");
    assert_eq!(
        required(session),
        [
            "technical_meta_data",
            "session_id",
            "user_id",
            "access_token",
            "expire_token",
            "expire_date",
            "device_info",
            "old_access_token",
            "user"
        ]
    );
    let refused = answer(&document, "/api/authorize/refresh/", "post", "401");
    assert_eq!(required(schema(refused, "application/json")), ["error_code", "error_message", "details"]);
    assert!(header(refused, "WWW-Authenticate").contains("X-Forensic-Access-Token"));
    // The gate's carrier, for an app's routes: what `Dialects::any_gate` and the demo document.
    let carrier =
        crate::carrier::Carrier::header(http::HeaderName::from_static(crate::dialect::oz::TOKEN_HEADER));
    let scheme = serde_json::to_value(super::security_scheme(&carrier)).expect("JSON");
    assert!(scheme["name"].as_str().expect("named").eq_ignore_ascii_case("X-Forensic-Access-Token"));
}

#[test]
fn tdar_logs_in_with_form_fields_and_sets_its_session_cookie() {
    let document = document();
    let body = &document["paths"]["/api/login"]["post"]["requestBody"]["content"];
    for media_type in ["application/x-www-form-urlencoded", "multipart/form-data"] {
        assert_eq!(
            required(&body[media_type]["schema"]),
            ["userLogin.loginUsername", "userLogin.loginPassword"]
        );
    }
    let ok = answer(&document, "/api/login", "post", "200");
    assert!(header(ok, "Set-Cookie").contains("session.tokenkey=<apiToken>; HttpOnly"));
    let container = schema(ok, "application/xml");
    assert_eq!(container["xml"]["name"], "tdar:resultContainer");
    for attribute in ["username", "sessionKeyName", "apiToken"] {
        assert_eq!(container["properties"][attribute]["xml"]["attribute"], true, "{attribute}");
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["tdar-cookie-session.tokenkey"]["in"], "cookie");
    assert_eq!(schemes["tdar-query-session.tokenkey"]["in"], "query");
    assert!(answer(&document, "/api/logout", "post", "403").is_object(), "tDAR refuses with 403");
    assert!(document["paths"]["/api/logout"]["post"]["responses"]["401"].is_null(), "never 401");
}

#[test]
fn minisass_login_answers_the_user_with_tokens_or_a_401_error() {
    let document = document();
    let ok = schema(answer(&document, "/authentication/api/login/", "post", "200"), "application/json");
    for key in ["access_token", "refresh_token", "is_authenticated", "user_id", "is_admin"] {
        assert!(required(ok).contains(&key), "{key}");
    }
    let refused = answer(&document, "/authentication/api/login/", "post", "401");
    assert_eq!(required(schema(refused, "application/json")), ["error"]);
    assert!(header(refused, "WWW-Authenticate").contains("Bearer realm=\"api\""));
    let token = schema(answer(&document, "/authentication/api/token/", "post", "200"), "application/json");
    assert_eq!(required(token), ["refresh", "access"]);
    assert!(answer(&document, "/authentication/api/login", "options", "200").is_object(), "DRF's OPTIONS");
    let reset =
        &document["paths"]["/authentication/api/verify-password-reset/{uid}/{token}/"]["get"]["parameters"];
    assert_eq!(reset[0]["in"], "path");
    assert_eq!(reset[1]["name"], "token");
}

#[test]
fn common_failures_carry_retry_after() {
    let document = document();
    let locked = answer(&document, "/authentication/api/token/", "post", "429");
    assert!(!header(locked, "Retry-After").is_empty());
    let busy = answer(&document, "/api/token-auth/", "post", "503");
    assert!(!header(busy, "Retry-After").is_empty());
}
