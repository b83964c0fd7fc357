//! The AMCR dialect in process: every documented success and error.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::api::AuthState;
use crate::dialect::Dialect as _;
use crate::dialect::testing::{
    PASSWORD, add_user, call, header, json as body_json, new_user, request, services, text,
};
use crate::store::UserStore;
use crate::user::{NewUser, ProfileUpdate, UserId};

const JSON: (&str, &str) = ("content-type", "application/json");

fn login_body(username: &str, password: &str) -> String {
    json!({"username": username, "password": password}).to_string()
}

struct Fixture {
    services: Services,
    clock: crate::clock::ManualClock,
    amcr: Amcr,
    api: Api,
}

async fn fixture_with(config: AmcrConfig) -> Fixture {
    let (services, clock) = services();
    add_user(&services, new_user("ann").with_email("ann@example.org").with_names("Ann", "Novak")).await;
    let amcr = Amcr::new(services.clone(), config);
    let api = amcr.api();
    Fixture { services, clock, amcr, api }
}

async fn fixture() -> Fixture {
    fixture_with(AmcrConfig::default()).await
}

impl Fixture {
    async fn login(&self, username: &str, password: &str) -> ApiResponse {
        call(&self.api, request("POST", TOKEN_AUTH_PATH, &[JSON], &login_body(username, password))).await
    }

    async fn token(&self, username: &str) -> String {
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        body_json(&response)["token"].as_str().expect("token").to_owned()
    }

    async fn info(&self, authorization: Option<&str>) -> ApiResponse {
        let headers: Vec<(&str, &str)> = authorization.map(|a| ("authorization", a)).into_iter().collect();
        call(&self.api, request("GET", USER_INFO_PATH, &headers, "")).await
    }
}

fn assert_unauthorized(response: &ApiResponse, detail: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{}", text(response));
    assert_eq!(header(response, "www-authenticate"), "Bearer");
    assert_eq!(header(response, "content-type"), "application/json");
    assert_eq!(body_json(response), json!({ "detail": detail }));
}

#[tokio::test]
async fn json_login_issues_a_fresh_stored_token_each_time() {
    let f = fixture().await;
    let response = f.login("ann", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body = body_json(&response);
    let token = body["token"].as_str().expect("token");
    assert_eq!(body.as_object().map(serde_json::Map::len), Some(1));
    assert_eq!(token.len(), 43);
    let record = f.services.tokens.get(&TokenHash::of(token)).await.expect("store").expect("stored by hash");
    assert_eq!((record.kind, record.audience.as_str()), (TokenKind::Access, AUDIENCE));
    assert_eq!(record.expires_at, f.services.clock.now() + Duration::from_secs(86_400));
    assert_eq!(record.idle_timeout, None, "fixed, not sliding");
    assert_ne!(f.token("ann").await, token, "a fresh token per login");
}

use crate::token::TokenHash;

#[tokio::test]
async fn form_and_multipart_logins_and_email_and_trimmed_username() {
    let f = fixture().await;
    let form = request(
        "POST",
        TOKEN_AUTH_PATH,
        &[("content-type", "application/x-www-form-urlencoded")],
        "username=ann&password=correct+horse+battery",
    );
    assert_eq!(call(&f.api, form).await.status(), StatusCode::OK);
    let multipart_body = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nann\r\n--XyZ\r\n\
         Content-Disposition: form-data; name=\"password\"\r\n\r\ncorrect horse battery\r\n--XyZ--\r\n";
    let multipart = request(
        "POST",
        TOKEN_AUTH_PATH,
        &[("content-type", "multipart/form-data; boundary=XyZ")],
        multipart_body,
    );
    let response = call(&f.api, multipart).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(f.login("ANN@example.org", PASSWORD).await.status(), StatusCode::OK, "e-mail login");
    assert_eq!(f.login("  ann ", PASSWORD).await.status(), StatusCode::OK, "username is trimmed");
    let padded = f.login("ann", &format!(" {PASSWORD}")).await;
    assert_eq!(padded.status(), StatusCode::UNAUTHORIZED, "password is never trimmed");
    // Served without the trailing slash too.
    let bare = request("POST", "/api/token-auth", &[JSON], &login_body("ann", PASSWORD));
    assert_eq!(call(&f.api, bare).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn missing_and_invalid_fields_are_drf_field_errors() {
    let f = fixture().await;
    let cases = [
        ("{}", r#"{"username":["This field is required."],"password":["This field is required."]}"#),
        (r#"{"username":"ann"}"#, r#"{"password":["This field is required."]}"#),
        (
            r#"{"username":"  ","password":""}"#,
            r#"{"username":["This field may not be blank."],"password":["This field may not be blank."]}"#,
        ),
        (
            r#"{"username":null,"password":["x"]}"#,
            r#"{"username":["This field may not be null."],"password":["Not a valid string."]}"#,
        ),
    ];
    for (body, expected) in cases {
        let response = call(&f.api, request("POST", TOKEN_AUTH_PATH, &[JSON], body)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(text(&response), expected, "{body}");
        assert_eq!(header(&response, "content-type"), "application/json");
    }
    let form = request("POST", TOKEN_AUTH_PATH, &[("content-type", "application/x-www-form-urlencoded")], "");
    assert_eq!(
        text(&call(&f.api, form).await),
        r#"{"username":["This field is required."],"password":["This field is required."]}"#
    );
}

#[tokio::test]
async fn bad_credentials_unknown_users_and_inactive_accounts_look_alike() {
    let f = fixture().await;
    add_user(&f.services, NewUser { is_active: false, ..new_user("inactive") }).await;
    for (username, password) in [("ann", "wrong password"), ("nobody", PASSWORD), ("inactive", PASSWORD)] {
        let response = f.login(username, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{username}");
        assert_eq!(header(&response, "www-authenticate"), "Bearer");
        assert_eq!(
            text(&response),
            r#"{"non_field_errors":["Unable to log in with provided credentials."]}"#
        );
        assert!(response.headers().get("cache-control").is_none());
    }
}

#[tokio::test]
async fn the_originals_400_for_bad_credentials_is_an_option() {
    let f = fixture_with(AmcrConfig {
        invalid_credentials_status: StatusCode::BAD_REQUEST,
        ..Default::default()
    })
    .await;
    let response = f.login("ann", "wrong password").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(
        body_json(&response),
        json!({"non_field_errors": ["Unable to log in with provided credentials."]})
    );
}

#[tokio::test]
async fn body_type_syntax_method_and_options() {
    let f = fixture().await;
    let plain = call(&f.api, request("POST", TOKEN_AUTH_PATH, &[("content-type", "text/plain")], "hi")).await;
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(text(&plain), r#"{"detail":"Unsupported media type \"text/plain\" in request."}"#);
    let xml =
        call(&f.api, request("POST", TOKEN_AUTH_PATH, &[("content-type", "application/xml")], "<r/>")).await;
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "AMCR takes no XML");
    let broken = call(&f.api, request("POST", TOKEN_AUTH_PATH, &[JSON], "{\"username\":")).await;
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert!(body_json(&broken)["detail"].as_str().is_some_and(|d| d.starts_with("JSON parse error - ")));
    let get = call(&f.api, request("GET", TOKEN_AUTH_PATH, &[], "")).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&get, "allow"), "POST, OPTIONS");
    assert_eq!(text(&get), r#"{"detail":"Method \"GET\" not allowed."}"#);
    let options = call(&f.api, request("OPTIONS", TOKEN_AUTH_PATH, &[], "")).await;
    assert_eq!(options.status(), StatusCode::OK);
    assert_eq!(body_json(&options)["name"], "Obtain Auth Token");
    let post_info = call(&f.api, request("POST", USER_INFO_PATH, &[], "")).await;
    assert_eq!(post_info.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&post_info, "allow"), "GET, HEAD");
}

fn full_user() -> NewUser {
    let mut new = new_user("jana")
        .with_email("jana@example.org")
        .with_names("Jana", "Nováková & spol.")
        .with_attribute("ident_cely", "U-000123")
        .with_attribute("osoba", json!({"id": "OS-000042", "name": "Nováková, Jana"}))
        .with_attribute("orcid", "0000-0002-1825-0097")
        .with_attribute("organizace", json!({"id": "ORG-000007", "name": "ARÚP <Praha>", "lang": "cs"}))
        .with_attribute("jazyk", "cs")
        .with_attribute("telefon", "+420 123 456 789")
        .with_attribute("notifikace", json!(["E-A-01", "E-N-02"]))
        .with_attribute(
            "hlidaci_pes",
            json!([{"id": "ruian-1", "name": "Praha"}, {"id": "ruian-2", "name": "Brno", "lang": "en"}]),
        )
        .with_attribute(
            "historie",
            json!([
                {"id": 1, "datum_zmeny": "2024-01-02T10:00:00Z", "uzivatel": {"id": "U-000001", "name": "Admin"},
                 "poznamka": "Registrace \"web\"", "typ_zmeny": "Registrace"},
                {"id": 2, "datum_zmeny": "2024-01-03T10:00:00Z", "uzivatel": "system", "typ_zmeny": "Aktivace"},
            ]),
        );
    new.is_admin = true;
    new.groups = vec!["Archeolog".into(), "Badatel".into()];
    new
}

const FULL_DOCUMENT: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<amcr:amcr xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:amcr="https://api.aiscr.cz/schema/amcr/2.1/" xsi:schemaLocation="https://api.aiscr.cz/schema/amcr/2.1/ https://api.aiscr.cz/schema/amcr/2.1/amcr.xsd">
  <amcr:uzivatel>
    <amcr:ident_cely>U-000123</amcr:ident_cely>
    <amcr:jmeno>Jana</amcr:jmeno>
    <amcr:prijmeni>Nováková &amp; spol.</amcr:prijmeni>
    <amcr:email>jana@example.org</amcr:email>
    <amcr:osoba id="OS-000042">Nováková, Jana</amcr:osoba>
    <amcr:orcid>0000-0002-1825-0097</amcr:orcid>
    <amcr:organizace xml:lang="cs" id="ORG-000007">ARÚP &lt;Praha&gt;</amcr:organizace>
    <amcr:jazyk>cs</amcr:jazyk>
    <amcr:telefon>+420 123 456 789</amcr:telefon>
    <amcr:aktivni>true</amcr:aktivni>
    <amcr:admin>true</amcr:admin>
    <amcr:superadmin>false</amcr:superadmin>
    <amcr:skupina xml:lang="cs">Archeolog</amcr:skupina>
    <amcr:skupina xml:lang="cs">Badatel</amcr:skupina>
    <amcr:notifikace>E-A-01</amcr:notifikace>
    <amcr:notifikace>E-N-02</amcr:notifikace>
    <amcr:hlidaci_pes xml:lang="cs" id="ruian-1">Praha</amcr:hlidaci_pes>
    <amcr:hlidaci_pes xml:lang="en" id="ruian-2">Brno</amcr:hlidaci_pes>
    <amcr:datum_registrace>2025-03-28T09:15:00Z</amcr:datum_registrace>
    <amcr:historie>
      <amcr:id>1</amcr:id>
      <amcr:datum_zmeny>2024-01-02T10:00:00Z</amcr:datum_zmeny>
      <amcr:uzivatel id="U-000001">Admin</amcr:uzivatel>
      <amcr:poznamka>Registrace &quot;web&quot;</amcr:poznamka>
      <amcr:typ_zmeny>Registrace</amcr:typ_zmeny>
    </amcr:historie>
    <amcr:historie>
      <amcr:id>2</amcr:id>
      <amcr:datum_zmeny>2024-01-03T10:00:00Z</amcr:datum_zmeny>
      <amcr:uzivatel id="system">system</amcr:uzivatel>
      <amcr:typ_zmeny>Aktivace</amcr:typ_zmeny>
    </amcr:historie>
  </amcr:uzivatel>
</amcr:amcr>
"#;

#[tokio::test]
async fn user_info_with_every_field() {
    let f = fixture().await;
    add_user(&f.services, full_user()).await;
    let token = f.token("jana").await;
    let response = f.info(Some(&format!("Bearer {token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/xml; charset=utf-8");
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(text(&response), FULL_DOCUMENT);
}

#[tokio::test]
async fn user_info_with_only_the_required_fields() {
    let f = fixture().await;
    add_user(&f.services, new_user("min")).await;
    let token = f.token("min").await;
    let response = f.info(Some(&format!("bEaReR {token}"))).await;
    assert_eq!(response.status(), StatusCode::OK, "keyword in any case");
    let expected = r#"<?xml version='1.0' encoding='utf-8'?>
<amcr:amcr xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:amcr="https://api.aiscr.cz/schema/amcr/2.1/" xsi:schemaLocation="https://api.aiscr.cz/schema/amcr/2.1/ https://api.aiscr.cz/schema/amcr/2.1/amcr.xsd">
  <amcr:uzivatel>
    <amcr:ident_cely>U-000002</amcr:ident_cely>
    <amcr:jmeno></amcr:jmeno>
    <amcr:prijmeni></amcr:prijmeni>
    <amcr:email></amcr:email>
    <amcr:organizace xml:lang="cs" id="ORG-000000">Neuvedeno</amcr:organizace>
    <amcr:aktivni>true</amcr:aktivni>
    <amcr:admin>false</amcr:admin>
    <amcr:superadmin>false</amcr:superadmin>
    <amcr:skupina xml:lang="cs">Badatel</amcr:skupina>
    <amcr:datum_registrace>2025-03-28T09:15:00Z</amcr:datum_registrace>
  </amcr:uzivatel>
</amcr:amcr>
"#;
    assert_eq!(text(&response), expected);
}

#[tokio::test]
async fn schema_version_is_configurable() {
    let f = fixture_with(AmcrConfig { schema_version: "2.2".into(), ..Default::default() }).await;
    let token = f.token("ann").await;
    let body = text(&f.info(Some(&format!("Bearer {token}"))).await);
    assert!(body.contains(r#"xmlns:amcr="https://api.aiscr.cz/schema/amcr/2.2/" xsi:schemaLocation="https://api.aiscr.cz/schema/amcr/2.2/ https://api.aiscr.cz/schema/amcr/2.2/amcr.xsd""#));
}

#[tokio::test]
async fn absent_malformed_and_unknown_tokens_are_401_with_bearer() {
    let f = fixture().await;
    assert_unauthorized(&f.info(None).await, "Authentication credentials were not provided.");
    assert_unauthorized(
        &f.info(Some("Basic YW5uOng=")).await,
        "Authentication credentials were not provided.",
    );
    assert_unauthorized(&f.info(Some("Bearer")).await, "Invalid token header. No credentials provided.");
    assert_unauthorized(
        &f.info(Some("Bearer a b")).await,
        "Invalid token header. Token string should not contain spaces.",
    );
    assert_unauthorized(&f.info(Some("Bearer not-a-token")).await, "Invalid token.");
}

#[tokio::test]
async fn tokens_expire_24_hours_after_issue_whatever_the_use() {
    let f = fixture().await;
    let token = f.token("ann").await;
    let bearer = format!("Bearer {token}");
    f.clock.advance(Duration::from_secs(86_399));
    assert_eq!(f.info(Some(&bearer)).await.status(), StatusCode::OK);
    f.clock.advance(Duration::from_secs(1));
    assert_unauthorized(&f.info(Some(&bearer)).await, "Invalid token.");
}

#[tokio::test]
async fn revoked_tokens_and_deactivated_users_are_refused() {
    let f = fixture().await;
    let ann = f.services.users.find_by_login("ann").await.expect("store").expect("ann");
    let revoked = f.token("ann").await;
    f.services.tokens.revoke_user(ann.id).await.expect("revoked");
    assert_unauthorized(&f.info(Some(&format!("Bearer {revoked}"))).await, "Invalid token.");

    let token = f.token("ann").await;
    let update = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(ann.id, update).await.expect("deactivated");
    assert_unauthorized(&f.info(Some(&format!("Bearer {token}"))).await, "User inactive or deleted.");
}

#[tokio::test]
async fn the_gate_protects_app_routes_with_the_same_tokens() {
    let f = fixture().await;
    let token = f.token("ann").await;
    let head =
        request("GET", "/app/anything", &[("authorization", &format!("Bearer {token}"))], "").into_parts().0;
    let AuthState::Authenticated(authenticated) = f.amcr.gate().check(&head).await else {
        panic!("authenticated");
    };
    assert_eq!(authenticated.user.as_ref().map(|u| u.username.as_str()), Some("ann"));
    let anonymous = request("GET", "/app/anything", &[], "").into_parts().0;
    let AuthState::Denied(denial) = f.amcr.gate().check(&anonymous).await else { panic!("denied") };
    assert!(denial.is_no_credentials());
    assert_unauthorized(&denial.to_response(), "Authentication credentials were not provided.");
}

#[tokio::test]
async fn a_required_group_gates_login_and_user_info() {
    let f = fixture_with(AmcrConfig { required_group: Some("api".into()), ..Default::default() }).await;
    let forbidden = f.login("ann", PASSWORD).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        body_json(&forbidden),
        json!({"detail": "You do not have permission to perform this action."})
    );
    let mut member = new_user("member");
    member.groups = vec!["api".into()];
    let member = add_user(&f.services, member).await;
    let token = f.token("member").await;
    assert_eq!(f.info(Some(&format!("Bearer {token}"))).await.status(), StatusCode::OK);
    let update = ProfileUpdate { groups: Some(Vec::new()), ..Default::default() };
    f.services.users.update_profile(member.id, update).await.expect("updated");
    assert_eq!(f.info(Some(&format!("Bearer {token}"))).await.status(), StatusCode::FORBIDDEN);
}

/// A user store whose backend is down.
struct DownUsers;

fn down() -> crate::store::StoreError {
    crate::store::StoreError::unavailable(std::io::Error::other("connection refused"))
}

#[async_trait]
impl UserStore for DownUsers {
    async fn find_by_login(&self, _: &str) -> Result<Option<User>, crate::store::StoreError> {
        Err(down())
    }
    async fn get(&self, _: UserId) -> Result<Option<User>, crate::store::StoreError> {
        Err(down())
    }
    async fn list(
        &self,
        _: &crate::store::UserQuery,
    ) -> Result<crate::store::UserPage, crate::store::StoreError> {
        Err(down())
    }
    async fn create(&self, _: NewUser) -> Result<User, crate::store::StoreError> {
        Err(down())
    }
    async fn set_password_hash(&self, _: UserId, _: &str) -> Result<(), crate::store::StoreError> {
        Err(down())
    }
    async fn update_profile(&self, _: UserId, _: ProfileUpdate) -> Result<User, crate::store::StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn a_store_outage_is_503_never_bad_credentials() {
    let f = fixture().await;
    let token = f.token("ann").await;
    let mut services = f.services.clone();
    services.users = std::sync::Arc::new(DownUsers);
    let api = Amcr::new(services, AmcrConfig::default()).api();
    let login = call(&api, request("POST", TOKEN_AUTH_PATH, &[JSON], &login_body("ann", PASSWORD))).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(&login), json!({"detail": "Service temporarily unavailable, try again later."}));
    let info =
        call(&api, request("GET", USER_INFO_PATH, &[("authorization", &format!("Bearer {token}"))], ""))
            .await;
    assert_eq!(info.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(info.headers().get("www-authenticate").is_none());
}

#[test]
fn attribute_values_of_the_wrong_shape_are_left_out() {
    let new = new_user("odd")
        .with_attribute("osoba", json!(["not", "an", "object"]))
        .with_attribute("orcid", Value::Null)
        .with_attribute("notifikace", json!("not a list"))
        .with_attribute("telefon", 420_123);
    let user = User::from_new(UserId(42), new);
    let document = user_document(&user, &AmcrConfig::default());
    assert!(!document.contains("amcr:osoba"));
    assert!(!document.contains("amcr:orcid"));
    assert!(!document.contains("amcr:notifikace"));
    assert!(document.contains("<amcr:telefon>420123</amcr:telefon>"));
    assert!(document.contains("<amcr:ident_cely>U-000042</amcr:ident_cely>"));
}

#[test]
fn references_without_an_id_are_left_out_or_replaced_by_the_configured_defaults() {
    let new = new_user("no-ids")
        .with_attribute("osoba", json!({"name": "Nováková, Jana"}))
        .with_attribute("organizace", json!({"name": "ARÚP"}))
        .with_attribute("hlidaci_pes", json!([{"name": "Praha"}, {"id": "ruian-2", "name": "Brno"}]));
    let user = User::from_new(UserId(7), new);
    let config = AmcrConfig {
        default_group: "Anonym".into(),
        default_organisation: AmcrOrganisation { id: "ORG-000999".into(), name: "Demo".into() },
        ..AmcrConfig::default()
    };
    let document = user_document(&user, &config);
    assert!(!document.contains("amcr:osoba"), "{document}");
    assert!(document.contains(r#"<amcr:organizace xml:lang="cs" id="ORG-000999">Demo</amcr:organizace>"#));
    assert!(document.contains(r#"<amcr:skupina xml:lang="cs">Anonym</amcr:skupina>"#));
    assert_eq!(document.matches("amcr:hlidaci_pes ").count(), 1, "{document}");
    assert!(document.contains(r#"id="ruian-2">Brno<"#));

    let mut grouped = user.clone();
    grouped.groups = vec!["Archeolog".into()];
    let document = user_document(&grouped, &config);
    assert!(document.contains(">Archeolog<") && !document.contains(">Anonym<"), "a user's own groups only");
}

#[tokio::test]
async fn carriers_are_the_gates_bearer_and_verifier() {
    let f = fixture().await;
    let carriers = f.amcr.carriers();
    assert_eq!(carriers.len(), 1);
    assert_eq!(carriers[0].0, Carrier::bearer());
    assert_eq!(f.amcr.gate().guard().carriers().collect::<Vec<_>>(), [&carriers[0].0]);
    let token = f.token("ann").await;
    let identity = carriers[0].1.verify(&token, carriers[0].0.kind()).await.expect("an AMCR token");
    assert_eq!(identity.audience(), Some(AUDIENCE));
    assert!(carriers[0].1.verify("not-a-token", carriers[0].0.kind()).await.is_err());
}
