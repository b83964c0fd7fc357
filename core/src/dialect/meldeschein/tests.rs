//! The Meldeschein dialect in process: every documented success and error.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::*;
use crate::api::AuthState;
use crate::clock::ManualClock;
use crate::dialect::Dialect as _;
use crate::dialect::amcr::{self, Amcr, AmcrConfig};
use crate::dialect::testing::{
    PASSWORD, add_user, call, header, json as body_json, new_user, request, services, text,
};
use crate::token::jwt::{JwtKey, KeyRing};
use crate::user::ProfileUpdate;

const SECRET: [u8; 32] = [42; 32];
const JSON: (&str, &str) = ("content-type", "application/json");
const XML: (&str, &str) = ("content-type", "application/xml");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
const CHALLENGE: &str = "JWT realm=\"api\"";

struct Fixture {
    services: Services,
    clock: ManualClock,
    jwt: JwtService,
    meldeschein: Meldeschein,
    api: Api,
}

fn jwt_service(clock: &ManualClock) -> JwtService {
    let ring = KeyRing::new("k1", JwtKey::hs256(&SECRET).expect("key")).expect("ring");
    JwtService::new(ring, Arc::new(clock.clone()))
}

async fn fixture_with(config: MeldescheinConfig) -> Fixture {
    let (services, clock) = services();
    let grants = json!({"gemeinden": [1, 2], "vermieter": [10], "objekte": [100, "101"]});
    let ann = new_user("m.mustermann")
        .with_email("max@example.org")
        .with_names("Max", "Mustermann")
        .with_attribute(GRANTS_ATTRIBUTE, grants);
    add_user(&services, ann).await;
    let jwt = jwt_service(&clock);
    let meldeschein = Meldeschein::new(services.clone(), jwt.clone(), config);
    let api = meldeschein.api();
    Fixture { services, clock, jwt: jwt.with_audience(AUDIENCE), meldeschein, api }
}

async fn fixture() -> Fixture {
    fixture_with(MeldescheinConfig::default()).await
}

impl Fixture {
    async fn login(&self, headers: &[(&str, &str)], body: &str) -> ApiResponse {
        call(&self.api, request("POST", TOKEN_PATH, headers, body)).await
    }

    async fn token(&self) -> String {
        let body = json!({"username": "m.mustermann", "password": PASSWORD}).to_string();
        let response = self.login(&[JSON], &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        body_json(&response)["token"].as_str().expect("token").to_owned()
    }

    async fn get_config(&self, headers: &[(&str, &str)]) -> ApiResponse {
        call(&self.api, request("GET", GET_CONFIG_PATH, headers, "")).await
    }

    async fn authenticated(&self, token: &str) -> Authenticated {
        let head = request("POST", "/api/meldeschein/", &[("authorization", &format!("JWT {token}"))], "")
            .into_parts()
            .0;
        match self.meldeschein.gate().check(&head).await {
            AuthState::Authenticated(authenticated) => (*authenticated).clone(),
            AuthState::Denied(denial) => panic!("denied: {}", text(&denial.to_response())),
        }
    }
}

fn assert_unauthorized(response: &ApiResponse, detail: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{}", text(response));
    assert_eq!(header(response, "www-authenticate"), CHALLENGE);
    assert_eq!(body_json(response), json!({ "detail": detail }));
}

#[tokio::test]
async fn json_login_returns_a_jwt_with_the_documented_claims_and_a_session() {
    let f = fixture().await;
    let body = json!({"username": "m.mustermann", "password": PASSWORD}).to_string();
    let response = f.login(&[JSON], &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let token = body_json(&response)["token"].as_str().expect("token").to_owned();
    let claims = f.jwt.verify(&token, TokenType::Access).expect("valid");
    assert_eq!(claims.user_id, crate::user::UserId(1));
    assert_eq!(claims.audience.as_deref(), Some(AUDIENCE));
    assert_eq!(claims.expires_at - claims.issued_at, 300);
    assert_eq!(claims.extra["username"], "m.mustermann");
    assert_eq!(claims.extra["email"], "max@example.org");
    assert_eq!(claims.extra["orig_iat"], claims.issued_at);
    let sid = claims.extra[SESSION_CLAIM].as_str().expect("sid");
    let key = TokenHash::of(&format!("meldeschein-session:{sid}"));
    let session = f.services.tokens.get(&key).await.expect("store").expect("session record");
    assert_eq!((session.kind, session.family.as_deref()), (TokenKind::Session, Some(sid)));
    // Usable at once.
    assert_eq!(f.get_config(&[("authorization", &format!("JWT {token}"))]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn xml_login_is_answered_in_xml_and_form_login_in_json() {
    let f = fixture().await;
    let xml_body = format!("<root><username>m.mustermann</username><password>{PASSWORD}</password></root>");
    for content_type in ["application/xml", "text/xml; charset=utf-8"] {
        let response = f.login(&[("content-type", content_type)], &xml_body).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        assert_eq!(header(&response, "content-type"), "application/xml; charset=utf-8");
        assert_eq!(header(&response, "cache-control"), "no-store");
        let body = text(&response);
        let token = body
            .strip_prefix(&format!("{XML_DECL}<root><token>"))
            .and_then(|rest| rest.strip_suffix("</token></root>"))
            .unwrap_or_else(|| panic!("DRF XML: {body}"));
        f.jwt.verify(token, TokenType::Access).expect("valid JWT");
    }
    let form = f.login(&[FORM], "username=MAX%40example.org&password=correct+horse+battery").await;
    assert_eq!(form.status(), StatusCode::OK, "form login by e-mail");
    assert_eq!(header(&form, "content-type"), "application/json");
}

#[tokio::test]
async fn accept_decides_the_answer_format() {
    let f = fixture().await;
    let json_body = json!({"username": "m.mustermann", "password": PASSWORD}).to_string();
    let as_xml = f.login(&[JSON, ("accept", "application/xml")], &json_body).await;
    assert_eq!(header(&as_xml, "content-type"), "application/xml; charset=utf-8");
    assert!(text(&as_xml).starts_with(&format!("{XML_DECL}<root><token>")));
    let xml_body = format!("<root><username>m.mustermann</username><password>{PASSWORD}</password></root>");
    let as_json = f.login(&[XML, ("accept", "application/json")], &xml_body).await;
    assert_eq!(header(&as_json, "content-type"), "application/json");
    let any = f.login(&[XML, ("accept", "*/*")], &xml_body).await;
    assert_eq!(header(&any, "content-type"), "application/xml; charset=utf-8", "wildcard: request's format");
}

#[tokio::test]
async fn bad_credentials_are_400_non_field_errors_in_the_negotiated_format() {
    let f = fixture().await;
    add_user(&f.services, inactive_user("inactive")).await;
    for (username, password) in
        [("m.mustermann", "wrong password"), ("nobody", PASSWORD), ("inactive", PASSWORD)]
    {
        let body = json!({"username": username, "password": password}).to_string();
        let response = f.login(&[JSON], &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{username}");
        assert_eq!(
            text(&response),
            r#"{"non_field_errors":["Unable to log in with provided credentials."]}"#
        );
        assert!(response.headers().get("www-authenticate").is_none());
    }
    let xml =
        f.login(&[XML], "<root><username>m.mustermann</username><password>nope</password></root>").await;
    assert_eq!(xml.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&xml),
        format!(
            "{XML_DECL}<root><non_field_errors><list-item>Unable to log in with provided credentials.</list-item></non_field_errors></root>"
        )
    );
}

/// An inactive user named `name`.
fn inactive_user(name: &str) -> crate::user::NewUser {
    crate::user::NewUser { is_active: false, ..new_user(name) }
}

#[tokio::test]
async fn missing_fields_and_unsupported_bodies() {
    let f = fixture().await;
    let missing = f.login(&[JSON], "{}").await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&missing),
        r#"{"username":["This field is required."],"password":["This field is required."]}"#
    );
    let xml = f.login(&[XML], "<root><username>m.mustermann</username></root>").await;
    assert_eq!(xml.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&xml),
        format!("{XML_DECL}<root><password><list-item>This field is required.</list-item></password></root>")
    );
    let empty = f.login(&[XML], "<root><username/><password>x</password></root>").await;
    assert_eq!(body_json_or_xml(&empty), "username: This field may not be null.");
    for content_type in ["text/plain", "multipart/form-data; boundary=x"] {
        let response = f.login(&[("content-type", content_type)], "x").await;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
        assert_eq!(
            body_json(&response),
            json!({"detail": format!("Unsupported media type \"{content_type}\" in request.")})
        );
    }
    let bad_xml = f.login(&[XML], "<root><username>a</root>").await;
    assert_eq!(bad_xml.status(), StatusCode::BAD_REQUEST);
    assert!(
        text(&bad_xml).starts_with(&format!("{XML_DECL}<root><detail>XML parse error - ")),
        "{}",
        text(&bad_xml)
    );
    let get = call(&f.api, request("GET", TOKEN_PATH, &[], "")).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&get, "allow"), "POST, OPTIONS");
    let options = call(&f.api, request("OPTIONS", TOKEN_PATH, &[], "")).await;
    assert_eq!(options.status(), StatusCode::OK);
    assert_eq!(body_json(&options)["name"], "Obtain Json Web Token");
}

/// `field: message` of a one-error XML field-error body.
fn body_json_or_xml(response: &ApiResponse) -> String {
    let body = text(response);
    let inner = body.trim_start_matches(XML_DECL).trim_start_matches("<root><").trim_end_matches("</root>");
    let (field, rest) = inner.split_once('>').unwrap_or_default();
    let message = rest.trim_start_matches("<list-item>").split("</list-item>").next().unwrap_or_default();
    format!("{field}: {message}")
}

#[tokio::test]
async fn get_config_lists_the_user_and_the_granted_ids() {
    let f = fixture().await;
    let token = f.token().await;
    let auth = format!("JWT {token}");
    let response = f.get_config(&[("authorization", &auth)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(
        text(&response),
        r#"{"user":{"id":1,"username":"m.mustermann","email":"max@example.org","first_name":"Max","last_name":"Mustermann"},"gemeinden":[1,2],"vermieter":[10],"objekte":[100,101]}"#
    );
    let xml = f.get_config(&[("authorization", &auth), ("accept", "text/xml")]).await;
    assert_eq!(
        text(&xml),
        format!(
            "{XML_DECL}<root><user><id>1</id><username>m.mustermann</username><email>max@example.org</email>\
             <first_name>Max</first_name><last_name>Mustermann</last_name></user>\
             <gemeinden><list-item>1</list-item><list-item>2</list-item></gemeinden>\
             <vermieter><list-item>10</list-item></vermieter>\
             <objekte><list-item>100</list-item><list-item>101</list-item></objekte></root>"
        )
    );
    // A user without grants gets empty lists.
    add_user(&f.services, new_user("nogrants")).await;
    let body = json!({"username": "nogrants", "password": PASSWORD}).to_string();
    let other = body_json(&f.login(&[JSON], &body).await)["token"].as_str().expect("token").to_owned();
    let response = f.get_config(&[("authorization", &format!("JWT {other}"))]).await;
    let config = body_json(&response);
    assert_eq!(
        (&config["gemeinden"], &config["vermieter"], &config["objekte"]),
        (&json!([]), &json!([]), &json!([]))
    );
}

#[tokio::test]
async fn header_forms_absent_malformed_and_other_schemes() {
    let f = fixture().await;
    let token = f.token().await;
    assert_eq!(f.get_config(&[("authorization", &format!("jwt {token}"))]).await.status(), StatusCode::OK);
    assert_unauthorized(&f.get_config(&[]).await, "Authentication credentials were not provided.");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("Bearer {token}"))]).await,
        "Authentication credentials were not provided.",
    );
    assert_unauthorized(
        &f.get_config(&[("authorization", "JWT")]).await,
        "Invalid Authorization header. No credentials provided.",
    );
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {token} extra"))]).await,
        "Invalid Authorization header. Credentials string should not contain spaces.",
    );
    assert_unauthorized(
        &f.get_config(&[("authorization", "JWT garbage")]).await,
        "Error decoding signature.",
    );
    // 401s follow Accept too.
    let xml = f.get_config(&[("accept", "application/xml")]).await;
    assert_eq!(xml.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&xml, "www-authenticate"), CHALLENGE);
    assert_eq!(
        text(&xml),
        format!("{XML_DECL}<root><detail>Authentication credentials were not provided.</detail></root>")
    );
}

#[tokio::test]
async fn tokens_expire_after_300_seconds() {
    let f = fixture().await;
    let token = f.token().await;
    let auth = format!("JWT {token}");
    f.clock.advance(Duration::from_secs(299));
    assert_eq!(f.get_config(&[("authorization", &auth)]).await.status(), StatusCode::OK);
    f.clock.advance(Duration::from_secs(1) + f.jwt.leeway());
    assert_unauthorized(&f.get_config(&[("authorization", &auth)]).await, "Signature has expired.");
}

#[tokio::test]
async fn revoked_sessions_and_deactivated_users_are_refused_at_once() {
    let f = fixture().await;
    let user = f.services.users.find_by_login("m.mustermann").await.expect("store").expect("user");
    let token = f.token().await;
    let other = f.token().await;
    let sid = f.jwt.verify(&other, TokenType::Access).expect("valid").extra[SESSION_CLAIM].clone();
    f.services.tokens.revoke_family(sid.as_str().expect("sid")).await.expect("revoked");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {other}"))]).await,
        "Incorrect authentication credentials.",
    );
    assert_eq!(f.get_config(&[("authorization", &format!("JWT {token}"))]).await.status(), StatusCode::OK);
    f.services.tokens.revoke_user(user.id).await.expect("revoked");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {token}"))]).await,
        "Incorrect authentication credentials.",
    );
    let fresh = f.token().await;
    let update = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(user.id, update).await.expect("deactivated");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {fresh}"))]).await,
        "User inactive or deleted.",
    );
}

#[tokio::test]
async fn unsigned_and_tampered_tokens_are_refused() {
    let f = fixture().await;
    let token = f.token().await;
    let mut segments = token.split('.');
    let (_, payload) = (segments.next(), segments.next().expect("payload"));
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{payload}.");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {unsigned}"))]).await,
        "Error decoding signature.",
    );
    claims["user_id"] = json!(2);
    let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let header_b64 = token.split('.').next().expect("header");
    let signature = token.rsplit('.').next().expect("signature");
    let tampered = format!("{header_b64}.{forged_payload}.{signature}");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {tampered}"))]).await,
        "Error decoding signature.",
    );
}

#[tokio::test]
async fn one_dialects_tokens_are_refused_by_the_other() {
    let f = fixture().await;
    let amcr = Amcr::new(f.services.clone(), AmcrConfig::default());
    let amcr_api = amcr.api();
    let body = json!({"username": "m.mustermann", "password": PASSWORD}).to_string();
    let amcr_login = call(&amcr_api, request("POST", amcr::TOKEN_AUTH_PATH, &[JSON], &body)).await;
    let opaque = body_json(&amcr_login)["token"].as_str().expect("token").to_owned();
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {opaque}"))]).await,
        "Error decoding signature.",
    );

    let jwt = f.token().await;
    let info = call(
        &amcr_api,
        request("GET", amcr::USER_INFO_PATH, &[("authorization", &format!("Bearer {jwt}"))], ""),
    )
    .await;
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(&info), json!({"detail": "Invalid token."}));

    // A JWT signed with the same key for another audience (e.g. miniSASS) is refused too.
    let other = jwt_service(&f.clock).with_audience("minisass");
    let claims = other
        .new_claims(crate::user::UserId(1), TokenType::Access, Duration::from_secs(300))
        .expect("claims");
    let foreign = other.sign(&claims).expect("signed");
    assert_unauthorized(
        &f.get_config(&[("authorization", &format!("JWT {foreign}"))]).await,
        "Incorrect authentication credentials.",
    );
}

#[tokio::test]
async fn the_query_token_is_opt_in() {
    let off = fixture().await;
    let token = off.token().await;
    let path = format!("{GET_CONFIG_PATH}?jwt={token}");
    let refused = call(&off.api, request("GET", &path, &[], "")).await;
    assert_unauthorized(&refused, "Authentication credentials were not provided.");
    let on = fixture_with(MeldescheinConfig { query_token: true, ..Default::default() }).await;
    let token = on.token().await;
    let path = format!("{GET_CONFIG_PATH}?jwt={token}");
    assert_eq!(call(&on.api, request("GET", &path, &[], "")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_meta_schema_is_public() {
    let f = fixture().await;
    let response = call(&f.api, request("GET", META_SCHEMA_PATH, &[], "")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/schema+json");
    let schema = body_json(&response);
    assert_eq!(schema, meta_schema());
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["description"]["type"], "string");
    let bare = call(&f.api, request("GET", "/api/meldeschein/schema/meta", &[], "")).await;
    assert_eq!(bare.status(), StatusCode::OK);
}

async fn meta(f: &Fixture, headers: &[(&str, &str)], body: &str) -> Result<MetaRequest, ApiResponse> {
    let token = f.token().await;
    let authenticated = f.authenticated(&token).await;
    let head = request("POST", "/api/meldeschein/", headers, "").into_parts().0;
    let body = crate::api::RequestBody::Complete(bytes::Bytes::copy_from_slice(body.as_bytes()));
    extract_meta(&authenticated, &head, &body).await
}

fn refused(result: Result<MetaRequest, ApiResponse>) -> ApiResponse {
    match result {
        Ok(request) => panic!("expected a refusal, got {request:?}"),
        Err(response) => response,
    }
}

#[tokio::test]
async fn meta_in_json_xml_and_form_bodies() {
    let f = fixture().await;
    let json_body = r#"{"meta": {"description": "An example posting", "vermieter": 10, "objekt": 101, "gemeinde": 1}, "gaeste": [{"name": "A"}]}"#;
    let request = meta(&f, &[JSON], json_body).await.expect("valid");
    let expected =
        Meta { gemeinde: 1, vermieter: 10, objekt: 101, description: Some("An example posting".into()) };
    assert_eq!(request.meta, expected);
    assert_eq!(Value::Object(request.data), json!({"gaeste": [{"name": "A"}]}));
    assert_eq!(request.format, ResponseFormat::Json);

    let xml_child = "<root><meta><gemeinde>1</gemeinde><vermieter>10</vermieter><objekt>101</objekt>\
                     <description>An example posting</description></meta><gast>A</gast></root>";
    let request = meta(&f, &[XML], xml_child).await.expect("valid");
    assert_eq!((request.meta, request.format), (expected.clone(), ResponseFormat::Xml));
    assert_eq!(Value::Object(request.data), json!({"gast": "A"}));

    let xml_root = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<meta>\n <description>An example posting</description>\n \
                    <vermieter>10</vermieter>\n <objekt>101</objekt>\n <gemeinde>1</gemeinde>\n <gast>A</gast>\n</meta>";
    let request = meta(&f, &[XML, ("accept", "application/json")], xml_root).await.expect("valid");
    assert_eq!((request.meta, request.format), (expected.clone(), ResponseFormat::Json));
    assert_eq!(Value::Object(request.data), json!({"gast": "A"}));

    let form_json = "meta=%7B%22gemeinde%22%3A1%2C%22vermieter%22%3A10%2C%22objekt%22%3A100%7D&gast=A";
    let request = meta(&f, &[FORM], form_json).await.expect("valid");
    assert_eq!(request.meta, Meta { gemeinde: 1, vermieter: 10, objekt: 100, description: None });
    let form_dotted = "meta.gemeinde=2&meta%5Bvermieter%5D=10&meta.objekt=100&gast=A";
    let request = meta(&f, &[FORM], form_dotted).await.expect("valid");
    assert_eq!(request.meta, Meta { gemeinde: 2, vermieter: 10, objekt: 100, description: None });
    assert_eq!(Value::Object(request.data), json!({"gast": "A"}));
}

#[tokio::test]
async fn missing_mistyped_and_lonely_meta_are_400() {
    let f = fixture().await;
    let missing = refused(meta(&f, &[JSON], r#"{"gaeste": []}"#).await);
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(text(&missing), r#"{"meta":["This field is required."]}"#);

    let mistyped =
        refused(meta(&f, &[JSON], r#"{"meta": {"gemeinde": "eins", "objekt": 1.5}, "x": 1}"#).await);
    assert_eq!(mistyped.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&mistyped),
        r#"{"meta":{"gemeinde":["A valid integer is required."],"vermieter":["This field is required."],"objekt":["A valid integer is required."]}}"#
    );

    let not_object = refused(meta(&f, &[JSON], r#"{"meta": "1,10,100", "x": 1}"#).await);
    assert_eq!(
        body_json(&not_object),
        json!({"meta": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}})
    );
    let null = refused(meta(&f, &[JSON], r#"{"meta": null, "x": 1}"#).await);
    assert_eq!(body_json(&null), json!({"meta": ["This field may not be null."]}));

    let alone =
        refused(meta(&f, &[JSON], r#"{"meta": {"gemeinde": 1, "vermieter": 10, "objekt": 100}}"#).await);
    assert_eq!(alone.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&alone), json!({"non_field_errors": [META_ALONE]}));
    let alone_xml = "<meta><gemeinde>1</gemeinde><vermieter>10</vermieter><objekt>100</objekt></meta>";
    let alone_xml = refused(meta(&f, &[XML], alone_xml).await);
    assert_eq!(alone_xml.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&alone_xml),
        format!(
            "{XML_DECL}<root><non_field_errors><list-item>{META_ALONE}</list-item></non_field_errors></root>"
        )
    );

    let xml_errors = refused(meta(&f, &[XML], "<root><meta><gemeinde>x</gemeinde><vermieter>10</vermieter><objekt>100</objekt></meta><a>1</a></root>").await);
    assert_eq!(
        text(&xml_errors),
        format!(
            "{XML_DECL}<root><meta><gemeinde><list-item>A valid integer is required.</list-item></gemeinde></meta></root>"
        )
    );
    let unsupported = refused(meta(&f, &[("content-type", "text/plain")], "meta").await);
    assert_eq!(unsupported.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn meta_ids_must_be_granted() {
    let f = fixture().await;
    for body in [
        r#"{"meta": {"gemeinde": 3, "vermieter": 10, "objekt": 100}, "x": 1}"#,
        r#"{"meta": {"gemeinde": 1, "vermieter": 11, "objekt": 100}, "x": 1}"#,
        r#"{"meta": {"gemeinde": 1, "vermieter": 10, "objekt": 102}, "x": 1}"#,
    ] {
        let response = refused(meta(&f, &[JSON], body).await);
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{body}");
        assert_eq!(text(&response), r#"{"detail":"You do not have permission to perform this action."}"#);
    }
    let ok =
        meta(&f, &[JSON], r#"{"meta": {"gemeinde": "2", "vermieter": 10, "objekt": 101}, "x": 1}"#).await;
    assert_eq!(ok.expect("granted").meta.gemeinde, 2);
}

#[tokio::test]
async fn carriers_follow_the_configuration_and_verify_its_jwts() {
    let f = fixture().await;
    let carriers = f.meldeschein.carriers();
    assert_eq!(
        carriers.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        [Carrier::authorization("JWT", false)]
    );
    let token = f.token().await;
    let identity = carriers[0].1.verify(&token, carriers[0].0.kind()).await.expect("a Meldeschein JWT");
    assert_eq!(identity.audience(), Some(AUDIENCE));

    let with_query =
        fixture_with(MeldescheinConfig { query_token: true, ..MeldescheinConfig::default() }).await;
    let carriers: Vec<Carrier> = with_query.meldeschein.carriers().into_iter().map(|(c, _)| c).collect();
    assert_eq!(carriers, [Carrier::authorization("JWT", false), Carrier::query(QUERY_PARAMETER)]);
    let gate_carriers: Vec<Carrier> = with_query.meldeschein.gate().guard().carriers().cloned().collect();
    assert_eq!(gate_carriers, carriers, "the gate tries the same carriers in the same order");
}
