//! The tDAR dialect in process: every documented success and error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use super::*;
use crate::api::{AuthState, RequestBody};
use crate::dialect::Dialect as _;
use crate::dialect::testing::{PASSWORD, add_user, call, header, new_user, request, services, text};
use crate::store::{Rotation, StoreError, UserStore};
use crate::user::ProfileUpdate;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const MINUTE: Duration = Duration::from_secs(60);

fn form(username: &str, password: &str) -> String {
    let enc =
        |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("userLogin.loginUsername={}&userLogin.loginPassword={}", enc(username), enc(password))
}

/// A token store that counts writes, to prove failed requests store nothing.
struct CountingTokens {
    inner: Arc<dyn TokenStore>,
    puts: AtomicUsize,
}

#[async_trait]
impl TokenStore for CountingTokens {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put(hash, record).await
    }
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.get(hash).await
    }
    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.touch(hash).await
    }
    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.inner.revoke(hash).await
    }
    async fn revoke_user(&self, user_id: crate::user::UserId) -> Result<u64, StoreError> {
        self.inner.revoke_user(user_id).await
    }
    async fn revoke_user_except(&self, user_id: crate::user::UserId, keep: &str) -> Result<u64, StoreError> {
        self.inner.revoke_user_except(user_id, keep).await
    }
    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        self.inner.revoke_family(family).await
    }
    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError> {
        self.inner.rotate(old, new, record, reuse_grace).await
    }
    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.consume(hash).await
    }
    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.inner.revoke_jti(jti, expires_at).await
    }
    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
        self.inner.is_jwt_revoked(jti, family).await
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}

struct Fixture {
    services: Services,
    clock: crate::clock::ManualClock,
    tokens: Arc<CountingTokens>,
    tdar: Tdar,
    api: Api,
}

async fn fixture_with(config: TdarConfig) -> Fixture {
    let (mut services, clock) = services();
    let tokens = Arc::new(CountingTokens { inner: services.tokens.clone(), puts: AtomicUsize::new(0) });
    services.tokens = tokens.clone();
    add_user(&services, new_user("admin@tdar.org").with_email("admin@tdar.org")).await;
    let ivan = add_user(&services, new_user("ivan")).await;
    let deactivate = ProfileUpdate { is_active: Some(false), ..Default::default() };
    services.users.update_profile(ivan.id, deactivate).await.expect("deactivated");
    let tdar = Tdar::new(services.clone(), config).expect("valid config");
    let api = tdar.api();
    Fixture { services, clock, tokens, tdar, api }
}

async fn fixture() -> Fixture {
    fixture_with(TdarConfig::default()).await
}

impl Fixture {
    async fn login_with(&self, headers: &[(&str, &str)], body: &str) -> ApiResponse {
        call(&self.api, request("POST", LOGIN_PATH, headers, body)).await
    }

    async fn login(&self, username: &str, password: &str) -> ApiResponse {
        self.login_with(&[FORM], &form(username, password)).await
    }

    /// Logs in as admin@tdar.org and returns the key.
    async fn key(&self) -> String {
        let response = self.login("admin@tdar.org", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        api_token(&response)
    }

    async fn gate(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), (StatusCode, String)> {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let head = builder.body(()).expect("request").into_parts().0;
        match self.tdar.gate().check(&head).await {
            AuthState::Authenticated(_) => Ok(()),
            AuthState::Denied(denial) => {
                let response = denial.to_response();
                Err((response.status(), text(&response)))
            }
        }
    }

    async fn with_cookie(&self, key: &str) -> Result<(), (StatusCode, String)> {
        self.gate("GET", "/app/rss", &[("cookie", &format!("session.tokenkey={key}"))]).await
    }

    async fn with_query(&self, key: &str) -> Result<(), (StatusCode, String)> {
        self.gate("GET", &format!("/app/rss?session.tokenkey={key}"), &[]).await
    }

    async fn logout(&self, uri: &str, headers: &[(&str, &str)]) -> ApiResponse {
        call(&self.api, request("POST", uri, headers, "")).await
    }

    fn puts(&self) -> usize {
        self.tokens.puts.load(Ordering::SeqCst)
    }
}

/// The `apiToken` attribute of a login answer.
fn api_token(response: &ApiResponse) -> String {
    let body = text(response);
    let start = body.find("apiToken=\"").expect("an apiToken") + "apiToken=\"".len();
    let end = body[start..].find('"').expect("closing quote") + start;
    body[start..end].to_owned()
}

fn failure(errors: &[&str], status: u16) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<tdar:resultContainer xsi:schemaLocation=\"http://localhost:8180/schema/current schema.xsd\" xmlns:tdar=\"http://www.tdar.org/namespace\" xmlns:ns3=\"http://archaeologydataservice.ac.uk/tag/schema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n",
    );
    for error in errors {
        let error = error.replace('"', "&quot;").replace('\'', "&apos;");
        out.push_str(&format!("    <tdar:errors>{error}</tdar:errors>\n"));
    }
    out.push_str(&format!("    <tdar:statusCode>{status}</tdar:statusCode>\n</tdar:resultContainer>\n"));
    out
}

fn assert_failure(response: &ApiResponse, status: u16, errors: &[&str]) {
    assert_eq!(response.status().as_u16(), status, "{}", text(response));
    assert_eq!(header(response, "content-type"), "application/xml;charset=UTF-8");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
    assert_eq!(text(response), failure(errors, status));
}

#[tokio::test]
async fn login_answers_the_seeds_result_container_and_sets_a_secure_cookie() {
    let f = fixture().await;
    let response = f.login("admin@tdar.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    let token = api_token(&response);
    assert_eq!(token.len(), 43, "256 bits in base64url");
    assert_eq!(
        text(&response),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <tdar:resultContainer username=\"admin@tdar.org\" sessionKeyName=\"session.tokenkey\" apiToken=\"{token}\" xsi:schemaLocation=\"http://localhost:8180/schema/current schema.xsd\" xmlns:tdar=\"http://www.tdar.org/namespace\" xmlns:ns3=\"http://archaeologydataservice.ac.uk/tag/schema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n    \
             <tdar:message>Please review the Terms of Use at http://www.tdar.org/about/policies/terms-of-use/ </tdar:message>\n    \
             <tdar:statusCode>200</tdar:statusCode>\n\
             </tdar:resultContainer>\n"
        )
    );
    assert_eq!(header(&response, "content-type"), "application/xml;charset=UTF-8");
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(header(&response, "referrer-policy"), "no-referrer");
    assert_eq!(
        header(&response, "set-cookie"),
        format!("session.tokenkey={token}; HttpOnly; SameSite=Lax; Secure; Path=/"),
        "Secure by default"
    );
}

#[tokio::test]
async fn the_session_is_stored_hashed_sliding_and_fresh_on_every_login() {
    let f = fixture().await;
    let first = f.key().await;
    let second = f.key().await;
    assert_ne!(first, second, "every login opens a new session");
    let record = f.services.tokens.get(&TokenHash::of(&first)).await.expect("store").expect("live");
    assert_eq!(record.kind, TokenKind::Session);
    assert_eq!(record.audience, AUDIENCE);
    assert_eq!(record.idle_timeout, Some(30 * MINUTE));
    assert_eq!(record.expires_at, f.services.clock.now() + 30 * MINUTE);
    assert!(f.with_cookie(&first).await.is_ok() && f.with_cookie(&second).await.is_ok());
}

#[tokio::test]
async fn multipart_logins_and_usernames_by_email_work() {
    let f = fixture().await;
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"userLogin.loginUsername\"\r\n\r\nADMIN@tdar.org\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"userLogin.loginPassword\"\r\n\r\n{PASSWORD}\r\n--{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let response = f.login_with(&[("content-type", &content_type)], &body).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert!(text(&response).contains("username=\"ADMIN@tdar.org\""), "the username as specified");
}

#[tokio::test]
async fn missing_or_empty_fields_are_reported_each_and_store_nothing() {
    let f = fixture().await;
    assert_failure(&f.login_with(&[FORM], "").await, 400, &[MISSING_USERNAME, MISSING_PASSWORD]);
    assert_failure(&f.login("", "").await, 400, &[MISSING_USERNAME, MISSING_PASSWORD]);
    assert_failure(&f.login("  ", PASSWORD).await, 400, &[MISSING_USERNAME]);
    assert_failure(&f.login("admin@tdar.org", "").await, 400, &[MISSING_PASSWORD]);
    let only_user = f.login_with(&[FORM], "userLogin.loginUsername=admin%40tdar.org").await;
    assert_failure(&only_user, 400, &[MISSING_PASSWORD]);
    assert_eq!(f.puts(), 0);
}

#[tokio::test]
async fn an_empty_body_without_content_type_is_an_empty_form() {
    let f = fixture().await;
    // What `requests.post(url, data={})` sends: no body, no Content-Type.
    assert_failure(&f.login_with(&[], "").await, 400, &[MISSING_USERNAME, MISSING_PASSWORD]);
    assert!(MISSING_PASSWORD.ends_with("Please enter a password"), "the original's words");
    assert_eq!(f.puts(), 0);
    // A non-empty body without a type stays 415: see other_body_types_are_415_...
}

#[tokio::test]
async fn bad_credentials_are_one_message_and_inactive_needs_the_right_password() {
    let f = fixture().await;
    for (username, password) in [("admin@tdar.org", "wrong password"), ("nobody", PASSWORD), ("ivan", "nope")]
    {
        assert_failure(&f.login(username, password).await, 400, &[AUTHENTICATION_FAILED]);
    }
    assert!(AUTHENTICATION_FAILED.contains("failed.  Please"), "two spaces, as the original");
    assert_failure(&f.login("ivan", PASSWORD).await, 400, &[ACCOUNT_INACTIVE]);
    assert_failure(&f.login("admin@tdar.org", &format!(" {PASSWORD}")).await, 400, &[AUTHENTICATION_FAILED]);
    assert_eq!(f.puts(), 0, "nothing stored when a login fails");
}

#[tokio::test]
async fn the_api_group_is_required_when_configured_after_the_password() {
    let f = fixture_with(TdarConfig { api_group: Some("tdar-api".into()), ..Default::default() }).await;
    assert_failure(&f.login("admin@tdar.org", PASSWORD).await, 400, &[NO_API_ACCESS]);
    assert_failure(&f.login("admin@tdar.org", "wrong password").await, 400, &[AUTHENTICATION_FAILED]);
    assert_failure(&f.login("ivan", PASSWORD).await, 400, &[ACCOUNT_INACTIVE]);
    assert_eq!(f.puts(), 0);
    let mut member = new_user("member");
    member.groups = vec!["tdar-api".into()];
    add_user(&f.services, member).await;
    assert_eq!(f.login("member", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_post_is_allowed_and_errors_are_xml() {
    let f = fixture().await;
    for method in ["GET", "PUT", "DELETE", "OPTIONS", "HEAD"] {
        for path in [LOGIN_PATH, LOGOUT_PATH, "/api/login/"] {
            let response = call(&f.api, request(method, path, &[], "")).await;
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(header(&response, "allow"), "POST", "{method} {path}");
            assert_eq!(header(&response, "content-type"), "application/xml;charset=UTF-8");
            if method != "HEAD" {
                assert_eq!(text(&response), failure(&[&format!("Method {method} not allowed.")], 405));
            }
        }
    }
}

#[tokio::test]
async fn other_body_types_are_415_and_oversized_or_broken_bodies_are_refused() {
    let f = fixture().await;
    let json =
        f.login_with(&[("content-type", "application/json")], r#"{"userLogin.loginUsername": "a"}"#).await;
    assert_failure(&json, 415, &["Unsupported media type \"application/json\" in request."]);
    let none = f.login_with(&[], &form("admin@tdar.org", PASSWORD)).await;
    assert_eq!(none.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (head, _) = request("POST", LOGIN_PATH, &[FORM], "").into_parts();
    let too_large = f.api.call(0, head, RequestBody::TooLarge).await;
    assert_failure(&too_large, 413, &["Request body is larger than the limit of 65536 bytes."]);
    let long_field = form(&"a".repeat(20_000), PASSWORD);
    assert_eq!(f.login_with(&[FORM], &long_field).await.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let twice = format!("{}&userLogin.loginUsername=other", form("admin@tdar.org", PASSWORD));
    let response = f.login_with(&[FORM], &twice).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{}", text(&response));
    assert!(text(&response).contains("<tdar:errors>"));
    assert_eq!(f.puts(), 0);
}

#[tokio::test]
async fn the_key_works_as_cookie_or_query_parameter_and_nothing_else_does() {
    let f = fixture().await;
    let key = f.key().await;
    assert_eq!(f.with_cookie(&key).await, Ok(()));
    assert_eq!(f.with_query(&key).await, Ok(()));
    let authenticated = f.gate("POST", &format!("/app/upload?session.tokenkey={key}"), &[]).await;
    assert_eq!(authenticated, Ok(()), "any method with the query key");

    let none = f.gate("GET", "/app/rss", &[]).await.expect_err("refused");
    assert_eq!(none, (StatusCode::FORBIDDEN, failure(&[NOT_LOGGED_IN], 403)));
    let bearer = f.gate("GET", "/app/rss", &[("authorization", &format!("Bearer {key}"))]).await;
    assert_eq!(bearer.expect_err("not a tDAR carrier").1, failure(&[NOT_LOGGED_IN], 403));
    for bad in ["not-a-key", "a%20b"] {
        let refused = f.with_query(bad).await.expect_err("refused");
        assert_eq!(refused, (StatusCode::FORBIDDEN, failure(&[SESSION_INVALID], 403)), "{bad}");
    }
    let twice = f.gate("GET", &format!("/x?session.tokenkey={key}&session.tokenkey={key}"), &[]).await;
    assert_eq!(twice.expect_err("ambiguous").0, StatusCode::FORBIDDEN);
    let other_name = f.gate("GET", "/x", &[("cookie", &format!("crowd.token_key={key}"))]).await;
    assert_eq!(other_name.expect_err("other name").1, failure(&[NOT_LOGGED_IN], 403));
}

#[tokio::test]
async fn the_query_parameter_decides_when_both_are_sent() {
    let f = fixture().await;
    let key = f.key().await;
    let stale_cookie =
        f.gate("GET", &format!("/x?session.tokenkey={key}"), &[("cookie", "session.tokenkey=stale")]).await;
    assert_eq!(stale_cookie, Ok(()));
    let stale_query =
        f.gate("GET", "/x?session.tokenkey=stale", &[("cookie", &format!("session.tokenkey={key}"))]).await;
    assert_eq!(stale_query.expect_err("the query decides").0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tokens_of_other_dialects_and_kinds_are_refused() {
    let f = fixture().await;
    let user = f.services.users.find_by_login("admin@tdar.org").await.expect("store").expect("exists");
    let now = f.services.clock.now();
    for (name, record) in [
        ("amcr-access", TokenRecord::new(TokenKind::Access, user.id, "amcr", now, MINUTE)),
        ("oz-session", TokenRecord::new(TokenKind::Session, user.id, "oz", now, MINUTE)),
        ("tdar-reset", TokenRecord::new(TokenKind::PasswordReset, user.id, AUDIENCE, now, MINUTE)),
    ] {
        f.services.tokens.put(TokenHash::of(name), record).await.expect("stored");
        assert_eq!(f.with_cookie(name).await.expect_err(name).1, failure(&[SESSION_INVALID], 403));
        assert_eq!(f.with_query(name).await.expect_err(name).0, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn sessions_slide_with_use_and_end_when_idle() {
    let f = fixture().await;
    let key = f.key().await;
    for _ in 0..6 {
        f.clock.advance(25 * MINUTE);
        assert_eq!(f.with_cookie(&key).await, Ok(()), "each use extends the session");
    }
    f.clock.advance(30 * MINUTE);
    assert_eq!(f.with_cookie(&key).await.expect_err("idle").1, failure(&[SESSION_INVALID], 403));
}

#[tokio::test]
async fn sessions_end_at_the_absolute_lifetime_however_busy() {
    let config = TdarConfig { max_session_lifetime: Some(60 * MINUTE), ..Default::default() };
    let f = fixture_with(config).await;
    let key = f.key().await;
    for _ in 0..5 {
        f.clock.advance(11 * MINUTE);
        assert_eq!(f.with_query(&key).await, Ok(()));
    }
    f.clock.advance(5 * MINUTE);
    assert_eq!(f.with_query(&key).await.expect_err("past the cap").1, failure(&[SESSION_INVALID], 403));
    assert!(f.services.tokens.get(&TokenHash::of(&key)).await.expect("store").is_none(), "revoked");

    let uncapped = fixture_with(TdarConfig { max_session_lifetime: None, ..Default::default() }).await;
    let key = uncapped.key().await;
    for _ in 0..40 {
        uncapped.clock.advance(29 * MINUTE);
        assert_eq!(uncapped.with_query(&key).await, Ok(()));
    }
}

#[tokio::test]
async fn a_short_cap_bounds_the_first_expiry_too() {
    let config = TdarConfig { max_session_lifetime: Some(10 * MINUTE), ..Default::default() };
    let f = fixture_with(config).await;
    let key = f.key().await;
    let record = f.services.tokens.get(&TokenHash::of(&key)).await.expect("store").expect("live");
    assert_eq!(record.expires_at, f.services.clock.now() + 10 * MINUTE);
}

#[tokio::test]
async fn deactivated_users_are_refused_by_the_gate() {
    let f = fixture().await;
    let key = f.key().await;
    let user = f.services.users.find_by_login("admin@tdar.org").await.expect("store").expect("exists");
    let update = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(user.id, update).await.expect("updated");
    assert_eq!(f.with_cookie(&key).await.expect_err("inactive").1, failure(&[ACCOUNT_INACTIVE], 403));
}

fn logout_body() -> String {
    failure(&[], 200)
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let f = fixture().await;
    let key = f.key().await;
    let response = f.logout(LOGOUT_PATH, &[("cookie", &format!("session.tokenkey={key}"))]).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(text(&response), logout_body());
    assert_eq!(
        header(&response, "set-cookie"),
        "session.tokenkey=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
    );
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(header(&response, "referrer-policy"), "no-referrer");
    assert!(f.with_cookie(&key).await.is_err());
    assert!(f.with_query(&key).await.is_err());

    let by_query = f.key().await;
    let response = f.logout(&format!("{LOGOUT_PATH}?session.tokenkey={by_query}"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(f.with_query(&by_query).await.is_err() && f.with_cookie(&by_query).await.is_err());
}

#[track_caller]
fn assert_bare_403(response: &ApiResponse) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{}", text(response));
    assert!(response.body().is_empty(), "an empty body: {}", text(response));
    assert!(response.headers().get("content-type").is_none());
    assert!(header(response, "set-cookie").contains("Max-Age=0"), "the dead cookie is cleared");
}

#[tokio::test]
async fn logout_without_a_live_session_is_a_bare_403() {
    let f = fixture().await;
    let key = f.key().await;
    let cookie = format!("session.tokenkey={key}");
    assert_eq!(f.logout(LOGOUT_PATH, &[("cookie", &cookie)]).await.status(), StatusCode::OK, "first");
    let by_query = format!("{LOGOUT_PATH}?session.tokenkey={key}");
    for (uri, headers) in [
        (LOGOUT_PATH, vec![]),
        (LOGOUT_PATH, vec![("cookie", "session.tokenkey=unknown")]),
        (LOGOUT_PATH, vec![("cookie", cookie.as_str())]),
        (by_query.as_str(), vec![]),
    ] {
        assert_bare_403(&f.logout(uri, &headers).await);
    }
    let expiring = f.key().await;
    f.clock.advance(TdarConfig::default().idle_timeout + MINUTE);
    assert_bare_403(&f.logout(LOGOUT_PATH, &[("cookie", &format!("session.tokenkey={expiring}"))]).await);
}

#[tokio::test]
async fn logout_of_a_deactivated_account_still_ends_its_session() {
    let f = fixture().await;
    let key = f.key().await;
    let user = f.services.users.find_by_login("admin@tdar.org").await.expect("store").expect("exists");
    let update = ProfileUpdate { is_active: Some(false), ..Default::default() };
    f.services.users.update_profile(user.id, update).await.expect("updated");
    assert_eq!(f.logout(LOGOUT_PATH, &[("cookie", &format!("session.tokenkey={key}"))]).await.status(), 200);
    assert!(f.services.tokens.get(&TokenHash::of(&key)).await.expect("store").is_none());
}

#[tokio::test]
async fn cross_site_requests_with_the_cookie_are_refused_by_gate_and_logout() {
    let f = fixture().await;
    let key = f.key().await;
    let cookie = format!("session.tokenkey={key}");
    let host = ("host", "tdar.example.org");
    let evil = [("cookie", cookie.as_str()), host, ("origin", "https://evil.example")];
    let refused = f.gate("POST", "/app/upload", &evil).await.expect_err("cross-site");
    assert_eq!(refused, (StatusCode::FORBIDDEN, failure(&[crate::api::CROSS_SITE_REFUSED], 403)));
    let same_site = [("cookie", cookie.as_str()), host, ("sec-fetch-site", "same-site")];
    assert_eq!(
        f.gate("POST", "/app/upload", &same_site).await.expect_err("same-site").0,
        StatusCode::FORBIDDEN
    );
    let own = [("cookie", cookie.as_str()), host, ("origin", "https://tdar.example.org")];
    assert_eq!(f.gate("POST", "/app/upload", &own).await, Ok(()));
    assert_eq!(f.gate("GET", "/app/rss", &evil).await, Ok(()), "safe methods pass");
    let by_query = [host, ("origin", "https://evil.example")];
    assert_eq!(f.gate("POST", &format!("/app/upload?session.tokenkey={key}"), &by_query).await, Ok(()));

    let logout = f.logout(LOGOUT_PATH, &evil).await;
    assert_failure(&logout, 403, &[crate::api::CROSS_SITE_REFUSED]);
    assert_eq!(f.with_cookie(&key).await, Ok(()), "a refused logout ends nothing");
    assert_eq!(f.logout(LOGOUT_PATH, &own).await.status(), StatusCode::OK);
    assert!(f.with_cookie(&key).await.is_err());
}

#[tokio::test]
async fn trusted_origins_and_plain_http_development() {
    let trusted: Origin = "https://portal.example.org".parse().expect("origin");
    let f = fixture_with(TdarConfig { trusted_origins: vec![trusted], ..Default::default() }).await;
    let key = f.key().await;
    let cookie = format!("session.tokenkey={key}");
    let from = |origin| [("cookie", cookie.as_str()), ("host", "tdar.example.org"), ("origin", origin)];
    assert_eq!(f.gate("POST", "/app/upload", &from("https://portal.example.org")).await, Ok(()));
    let plain = f.gate("POST", "/app/upload", &from("http://tdar.example.org")).await;
    assert_eq!(plain.expect_err("https only by default").0, StatusCode::FORBIDDEN);

    let dev = fixture_with(TdarConfig { insecure_cookies: true, ..Default::default() }).await;
    let key = dev.key().await;
    let cookie = format!("session.tokenkey={key}");
    let plain =
        [("cookie", cookie.as_str()), ("host", "localhost:8080"), ("origin", "http://localhost:8080")];
    assert_eq!(dev.gate("POST", "/app/upload", &plain).await, Ok(()));
}

#[tokio::test]
async fn a_login_revokes_the_session_its_cookie_carried() {
    let f = fixture().await;
    let planted = f.key().await;
    let cookie = format!("other=1; session.tokenkey={planted}");
    let response = f.login_with(&[FORM, ("cookie", &cookie)], &form("admin@tdar.org", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fresh = api_token(&response);
    assert_ne!(fresh, planted);
    assert!(f.with_cookie(&planted).await.is_err(), "the cookie from before the login is dead");
    assert_eq!(f.with_cookie(&fresh).await, Ok(()));

    // A failed login ends nothing; another dialect's token under that cookie name is left alone.
    let kept = f.key().await;
    let cookie = format!("session.tokenkey={kept}");
    let failed = f.login_with(&[FORM, ("cookie", &cookie)], &form("admin@tdar.org", "wrong password")).await;
    assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(f.with_cookie(&kept).await, Ok(()));
    let user = f.services.users.find_by_login("admin@tdar.org").await.expect("store").expect("exists");
    let foreign = TokenRecord::new(TokenKind::Access, user.id, "amcr", f.services.clock.now(), MINUTE);
    f.services.tokens.put(TokenHash::of("amcr-token"), foreign).await.expect("stored");
    f.login_with(&[FORM, ("cookie", "session.tokenkey=amcr-token")], &form("admin@tdar.org", PASSWORD)).await;
    assert!(f.services.tokens.get(&TokenHash::of("amcr-token")).await.expect("store").is_some());
}

#[tokio::test]
async fn configuration_names_the_key_schema_message_and_cookie_attributes() {
    let config = TdarConfig {
        session_key_name: "crowd.token_key".into(),
        schema_location: "https://core.tdar.org/schema/current schema.xsd".into(),
        message: "Terms & <conditions>".into(),
        same_site: SameSite::Strict,
        insecure_cookies: true,
        ..Default::default()
    };
    let f = fixture_with(config).await;
    let response = f.login("admin@tdar.org", PASSWORD).await;
    let token = api_token(&response);
    let body = text(&response);
    assert!(body.contains("sessionKeyName=\"crowd.token_key\""), "{body}");
    assert!(body.contains("xsi:schemaLocation=\"https://core.tdar.org/schema/current schema.xsd\""));
    assert!(body.contains("<tdar:message>Terms &amp; &lt;conditions&gt;</tdar:message>"));
    assert_eq!(
        header(&response, "set-cookie"),
        format!("crowd.token_key={token}; HttpOnly; SameSite=Strict; Path=/")
    );
    let ok = f.gate("GET", "/x", &[("cookie", &format!("crowd.token_key={token}"))]).await;
    assert_eq!(ok, Ok(()));
    assert_eq!(f.gate("GET", &format!("/x?crowd.token_key={token}"), &[]).await, Ok(()));
    let logout = f.logout(LOGOUT_PATH, &[]).await;
    assert_eq!(
        header(&logout, "set-cookie"),
        "crowd.token_key=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    );
}

#[tokio::test]
async fn user_supplied_text_is_escaped_and_never_reaches_the_cookie() {
    let f = fixture().await;
    add_user(&f.services, new_user("o\"dd<&>")).await;
    let response = f.login("o\"dd<&>", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert!(text(&response).contains("username=\"o&quot;dd&lt;&amp;&gt;\""));
    let token = api_token(&response);
    assert_eq!(
        header(&response, "set-cookie"),
        format!("session.tokenkey={token}; HttpOnly; SameSite=Lax; Secure; Path=/")
    );
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    let (services, _) = services();
    for name in ["", "a b", "a;b", "a=b", "a&b", "a%2e", "ключ"] {
        let config = TdarConfig { session_key_name: name.into(), ..Default::default() };
        assert_eq!(
            Tdar::new(services.clone(), config).map(drop),
            Err(TdarConfigError::InvalidSessionKeyName(name.into())),
            "{name:?}"
        );
    }
    let none_insecure =
        TdarConfig { same_site: SameSite::None, insecure_cookies: true, ..Default::default() };
    assert_eq!(
        Tdar::new(services.clone(), none_insecure).map(drop),
        Err(TdarConfigError::SameSiteNoneNeedsSecure)
    );
    let zero = TdarConfig { idle_timeout: Duration::ZERO, ..Default::default() };
    assert_eq!(Tdar::new(services.clone(), zero).map(drop), Err(TdarConfigError::ZeroIdleTimeout));
    let year = Duration::from_secs(400 * 24 * 60 * 60);
    let long_idle = TdarConfig { idle_timeout: year, ..Default::default() };
    assert_eq!(Tdar::new(services.clone(), long_idle).map(drop), Err(TdarConfigError::TimeoutTooLong));
    let long_cap = TdarConfig { max_session_lifetime: Some(Duration::MAX), ..Default::default() };
    assert_eq!(Tdar::new(services.clone(), long_cap).map(drop), Err(TdarConfigError::TimeoutTooLong));
    let none_secure = TdarConfig { same_site: SameSite::None, ..Default::default() };
    assert!(Tdar::new(services, none_secure).is_ok());
}

/// A user store whose backend is down.
struct DownUsers;

fn down() -> StoreError {
    StoreError::unavailable(std::io::Error::other("connection refused"))
}

#[async_trait]
impl UserStore for DownUsers {
    async fn find_by_login(&self, _: &str) -> Result<Option<User>, StoreError> {
        Err(down())
    }
    async fn get(&self, _: crate::user::UserId) -> Result<Option<User>, StoreError> {
        Err(down())
    }
    async fn list(&self, _: &crate::store::UserQuery) -> Result<crate::store::UserPage, StoreError> {
        Err(down())
    }
    async fn create(&self, _: crate::user::NewUser) -> Result<User, StoreError> {
        Err(down())
    }
    async fn set_password_hash(&self, _: crate::user::UserId, _: &str) -> Result<(), StoreError> {
        Err(down())
    }
    async fn update_profile(&self, _: crate::user::UserId, _: ProfileUpdate) -> Result<User, StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn a_store_outage_is_503_never_bad_credentials() {
    let f = fixture().await;
    let key = f.key().await;
    let mut services = f.services.clone();
    services.users = Arc::new(DownUsers);
    let tdar = Tdar::new(services, TdarConfig::default()).expect("valid");
    let login =
        call(&tdar.api(), request("POST", LOGIN_PATH, &[FORM], &form("admin@tdar.org", PASSWORD))).await;
    assert_failure(&login, 503, &[SERVICE_UNAVAILABLE]);
    let head =
        http::Request::get("/x").header("cookie", format!("session.tokenkey={key}")).body(()).expect("ok");
    let AuthState::Denied(denial) = tdar.gate().check(&head.into_parts().0).await else {
        panic!("not refused")
    };
    assert_eq!(denial.status(), StatusCode::SERVICE_UNAVAILABLE);
}
