//! tDAR: `POST /api/login`, `POST /api/logout` and the session key on a protected app route, on
//! both adapters.

use std::time::Duration;

use authmount_conformance::{Case, PASSWORD, Response, on_both_adapters};
use serde_json::json;

const LOGIN: &str = "/api/login";
const LOGOUT: &str = "/api/logout";
const WHOAMI: &str = "/app/tdar/whoami";
const XML: &str = "application/xml;charset=UTF-8";
const ROOT_ATTRIBUTES: &str = "xsi:schemaLocation=\"http://localhost:8180/schema/current schema.xsd\" xmlns:tdar=\"http://www.tdar.org/namespace\" xmlns:ns3=\"http://archaeologydataservice.ac.uk/tag/schema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
/// The original's field errors (`tdar-messages.properties`: `loginController.error_missing_username`,
/// `loginController.error_choose_password`), as Struts prefixes them.
const MISSING_USERNAME: &str = "Field Error userLogin.loginUsername: Please enter a username";
const MISSING_PASSWORD: &str = "Field Error userLogin.loginPassword: Please enter a password";
const AUTHENTICATION_FAILED: &str = "Could not authenticate: Authentication failed.  Please check that your username and password were entered correctly.";

fn credentials(username: &str, password: &str) -> [(&'static str, String); 2] {
    [("userLogin.loginUsername", username.to_owned()), ("userLogin.loginPassword", password.to_owned())]
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

/// The container the seed shows for a failure (or, without errors, for logout).
fn container(errors: &[&str], status: u16) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<tdar:resultContainer {ROOT_ATTRIBUTES}>\n"
    );
    for error in errors {
        xml.push_str(&format!("    <tdar:errors>{error}</tdar:errors>\n"));
    }
    xml.push_str(&format!("    <tdar:statusCode>{status}</tdar:statusCode>\n</tdar:resultContainer>\n"));
    xml
}

#[track_caller]
fn assert_container(response: &Response, status: u16, errors: &[&str]) {
    response.assert_status(status);
    assert_eq!(response.header("content-type"), XML);
    assert_eq!(response.header("referrer-policy"), "no-referrer");
    assert_eq!(response.text(), container(errors, status));
}

/// The `apiToken` of a login answer, marked secret in the transcript.
fn api_token(t: &Case, response: &Response) -> String {
    let body = response.text();
    let start = body.find("apiToken=\"").expect("an apiToken") + "apiToken=\"".len();
    let end = body[start..].find('"').expect("closing quote") + start;
    let token = body[start..end].to_owned();
    t.client.secret(&token);
    token
}

/// Logs in as ann and returns the session key.
async fn login(t: &Case) -> String {
    let fields = credentials("ann", PASSWORD);
    let response = t.client.post(LOGIN).form(&pairs(&fields)).send().await;
    response.assert_status(200);
    api_token(t, &response)
}

async fn whoami_with_cookie(t: &Case, key: &str) -> Response {
    t.client.get(WHOAMI).header("cookie", format!("session.tokenkey={key}")).send().await
}

async fn whoami_with_query(t: &Case, key: &str) -> Response {
    t.client.get(&format!("{WHOAMI}?session.tokenkey={key}")).send().await
}

#[tokio::test]
async fn login_answers_the_result_container_and_sets_the_session_cookie() {
    on_both_adapters(|t| async move {
        let fields = credentials("ann", PASSWORD);
        let response = t.client.post(LOGIN).form(&pairs(&fields)).send().await;
        response.assert_status(200);
        let token = api_token(&t, &response);
        assert_eq!(token.len(), 43);
        assert_eq!(
            response.text(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
                 <tdar:resultContainer username=\"ann\" sessionKeyName=\"session.tokenkey\" apiToken=\"{token}\" {ROOT_ATTRIBUTES}>\n    \
                 <tdar:message>Please review the Terms of Use at http://www.tdar.org/about/policies/terms-of-use/ </tdar:message>\n    \
                 <tdar:statusCode>200</tdar:statusCode>\n\
                 </tdar:resultContainer>\n"
            )
        );
        assert_eq!(response.header("content-type"), XML);
        assert_eq!(response.header("cache-control"), "no-store");
        assert_eq!(response.header("referrer-policy"), "no-referrer");
        // The suite's servers are plain HTTP, so the fixture turns `Secure` off.
        assert_eq!(
            response.header("set-cookie"),
            format!("session.tokenkey={token}; HttpOnly; SameSite=Lax; Path=/")
        );
    })
    .await;
}

#[tokio::test]
async fn login_accepts_multipart_the_e_mail_and_a_trailing_slash() {
    on_both_adapters(|t| async move {
        let fields = credentials("ann", PASSWORD);
        let multipart = t.client.post(LOGIN).multipart(&pairs(&fields)).send().await;
        multipart.assert_status(200);
        let key = api_token(&t, &multipart);
        whoami_with_cookie(&t, &key).await.assert_status(200);

        let by_email = credentials("ANN@example.org", PASSWORD);
        let response = t.client.post("/api/login/").form(&pairs(&by_email)).send().await;
        response.assert_status(200);
        api_token(&t, &response);
        assert!(response.text().contains("username=\"ANN@example.org\""), "the username as specified");
    })
    .await;
}

#[tokio::test]
async fn each_login_error_has_the_originals_message() {
    on_both_adapters(|t| async move {
        let none = t.client.post(LOGIN).form(&[]).send().await;
        assert_container(&none, 400, &[MISSING_USERNAME, MISSING_PASSWORD]);
        let no_password = t.client.post(LOGIN).form(&[("userLogin.loginUsername", "ann")]).send().await;
        assert_container(&no_password, 400, &[MISSING_PASSWORD]);
        let blank_user = credentials("  ", PASSWORD);
        let response = t.client.post(LOGIN).form(&pairs(&blank_user)).send().await;
        assert_container(&response, 400, &[MISSING_USERNAME]);

        for (username, password) in
            [("ann", "wrong password"), ("nobody", PASSWORD), ("ivan", "wrong password")]
        {
            let fields = credentials(username, password);
            let response = t.client.post(LOGIN).form(&pairs(&fields)).send().await;
            assert_container(&response, 400, &[AUTHENTICATION_FAILED]);
            assert!(!response.has_header("set-cookie"));
        }
        let inactive = credentials("ivan", PASSWORD);
        let response = t.client.post(LOGIN).form(&pairs(&inactive)).send().await;
        assert_container(&response, 400, &["Could not authenticate: This account is inactive."]);
        // demo has the right password but is not in the API group.
        let outsider = credentials("demo", "demo");
        let response = t.client.post(LOGIN).form(&pairs(&outsider)).send().await;
        assert_container(&response, 400, &["invalid user request, please request API Access"]);
        assert!(!response.has_header("set-cookie"));
    })
    .await;
}

#[tokio::test]
async fn only_post_is_allowed_with_an_xml_405() {
    on_both_adapters(|t| async move {
        for path in [LOGIN, LOGOUT] {
            for method in ["GET", "PUT", "DELETE", "OPTIONS"] {
                let response = t.client.request(method, path).send().await;
                assert_container(&response, 405, &[&format!("Method {method} not allowed.")]);
                assert_eq!(response.header("allow"), "POST");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn other_body_types_are_415_and_oversized_bodies_413() {
    on_both_adapters(|t| async move {
        let json = t
            .client
            .post(LOGIN)
            .json(&json!({"userLogin.loginUsername": "ann", "userLogin.loginPassword": PASSWORD}))
            .send()
            .await;
        assert_container(&json, 415, &["Unsupported media type &quot;application/json&quot; in request."]);
        let xml = t.client.post(LOGIN).raw("text/xml", "<root/>").send().await;
        xml.assert_status(415);
        let untyped = t.client.post(LOGIN).body("userLogin.loginUsername=ann").send().await;
        assert_container(&untyped, 415, &["Unsupported media type &quot;&quot; in request."]);

        let huge = credentials(&"a".repeat(70_000), PASSWORD);
        let oversized = t.client.post(LOGIN).form(&pairs(&huge)).send().await;
        assert_container(&oversized, 413, &["Request body is larger than the limit of 65536 bytes."]);
    })
    .await;
}

#[tokio::test]
async fn the_cookie_and_the_query_parameter_open_protected_routes() {
    on_both_adapters(|t| async move {
        let key = login(&t).await;
        let by_cookie = whoami_with_cookie(&t, &key).await;
        by_cookie.assert_status(200);
        assert_eq!(by_cookie.json(), json!({"id": t.fixture.ann.id.0, "username": "ann"}));
        let by_query = whoami_with_query(&t, &key).await;
        by_query.assert_status(200);
        assert_eq!(by_query.json()["username"], "ann");

        let anonymous = t.client.get(WHOAMI).send().await;
        assert_container(
            &anonymous,
            403,
            &["Authentication required: log in at /api/login and send the session key."],
        );
        let invalid = whoami_with_query(&t, "not-a-session").await;
        assert_container(&invalid, 403, &["The session key is invalid or has expired: log in again."]);
        let invalid_cookie = whoami_with_cookie(&t, "not-a-session").await;
        assert_container(&invalid_cookie, 403, &["The session key is invalid or has expired: log in again."]);
    })
    .await;
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    on_both_adapters(|t| async move {
        let key = login(&t).await;
        let response = t.client.post(LOGOUT).header("cookie", format!("session.tokenkey={key}")).send().await;
        assert_container(&response, 200, &[]);
        assert_eq!(
            response.header("set-cookie"),
            "session.tokenkey=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
        assert_eq!(response.header("cache-control"), "no-store");
        whoami_with_cookie(&t, &key).await.assert_status(403);
        whoami_with_query(&t, &key).await.assert_status(403);

        let by_query = login(&t).await;
        let response = t.client.post(&format!("{LOGOUT}?session.tokenkey={by_query}")).send().await;
        assert_container(&response, 200, &[]);
        whoami_with_query(&t, &by_query).await.assert_status(403);
        whoami_with_cookie(&t, &by_query).await.assert_status(403);
    })
    .await;
}

#[tokio::test]
async fn an_empty_post_without_content_type_is_an_empty_form() {
    on_both_adapters(|t| async move {
        // What `requests.post(url, data={})` sends: `Content-Length: 0`, no Content-Type.
        let empty = t.client.post(LOGIN).header("content-length", "0").send().await;
        assert_container(&empty, 400, &[MISSING_USERNAME, MISSING_PASSWORD]);
        assert!(!empty.has_header("set-cookie"));
    })
    .await;
}

/// The original's logout without a live session: 403, nothing in the body (its authenticated
/// interceptor stack answers before the action runs).
#[track_caller]
fn assert_bare_403(response: &Response) {
    response.assert_status(403);
    assert_eq!(response.text(), "", "an empty body");
    assert!(!response.has_header("content-type"));
}

#[tokio::test]
async fn logout_without_a_live_session_is_a_bare_403() {
    on_both_adapters(|t| async move {
        let key = login(&t).await;
        let cookie = format!("session.tokenkey={key}");
        t.client.post(LOGOUT).header("cookie", cookie.clone()).send().await.assert_status(200);
        let ended = t.client.post(LOGOUT).header("cookie", cookie).send().await;
        assert_bare_403(&ended);
        assert_eq!(
            ended.header("set-cookie"),
            "session.tokenkey=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
        assert_bare_403(&t.client.post(&format!("{LOGOUT}?session.tokenkey={key}")).send().await);
        assert_bare_403(&t.client.post(LOGOUT).header("cookie", "session.tokenkey=unknown").send().await);
        assert_bare_403(&t.client.post(LOGOUT).send().await);
    })
    .await;
}

#[tokio::test]
async fn a_login_revokes_the_session_cookie_it_was_sent_with() {
    on_both_adapters(|t| async move {
        let planted = login(&t).await;
        let fields = credentials("ann", PASSWORD);
        let response = t
            .client
            .post(LOGIN)
            .header("cookie", format!("session.tokenkey={planted}"))
            .form(&pairs(&fields))
            .send()
            .await;
        response.assert_status(200);
        let fresh = api_token(&t, &response);
        assert_ne!(fresh, planted, "a new session id on every login");
        whoami_with_cookie(&t, &planted).await.assert_status(403);
        whoami_with_cookie(&t, &fresh).await.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn a_cross_site_post_with_the_cookie_is_refused_a_same_origin_one_passes() {
    on_both_adapters(|t| async move {
        let key = login(&t).await;
        let cookie = format!("session.tokenkey={key}");
        let own_origin = t.client.base().to_owned();
        let cross = t
            .client
            .post(WHOAMI)
            .header("cookie", cookie.clone())
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .send()
            .await;
        assert_container(
            &cross,
            403,
            &["Cross-site request refused: a session cookie is only accepted from this site and its trusted origins."],
        );
        let same = t.client.post(WHOAMI).header("cookie", cookie.clone()).header("origin", own_origin.clone()).send().await;
        same.assert_status(200);
        let script = t.client.post(WHOAMI).header("cookie", cookie.clone()).send().await;
        script.assert_status(200);
        let by_query = t
            .client
            .post(&format!("{WHOAMI}?session.tokenkey={key}"))
            .header("origin", "https://evil.example")
            .send()
            .await;
        by_query.assert_status(200);

        let forced_logout =
            t.client.post(LOGOUT).header("cookie", cookie.clone()).header("origin", "https://evil.example").send().await;
        forced_logout.assert_status(403);
        whoami_with_cookie(&t, &key).await.assert_status(200);
        let logout = t.client.post(LOGOUT).header("cookie", cookie).header("origin", own_origin).send().await;
        logout.assert_status(200);
        whoami_with_cookie(&t, &key).await.assert_status(403);
    })
    .await;
}

#[tokio::test]
async fn tokens_of_other_dialects_are_refused() {
    on_both_adapters(|t| async move {
        let amcr = t
            .client
            .post("/api/token-auth/")
            .json(&json!({"username": "ann", "password": PASSWORD}))
            .send()
            .await;
        amcr.assert_status(200);
        let token = amcr.json()["token"].as_str().unwrap_or_default().to_owned();
        t.client.secret(&token);
        whoami_with_cookie(&t, &token).await.assert_status(403);
        whoami_with_query(&t, &token).await.assert_status(403);
        let key = login(&t).await;
        let amcr_route =
            t.client.get("/app/amcr/whoami").header("authorization", format!("Bearer {key}")).send().await;
        amcr_route.assert_status(401);
    })
    .await;
}

#[tokio::test]
async fn sessions_slide_with_use_and_expire_when_idle() {
    on_both_adapters(|t| async move {
        let key = login(&t).await;
        for _ in 0..4 {
            t.fixture.advance(Duration::from_secs(25 * 60));
            whoami_with_cookie(&t, &key).await.assert_status(200);
        }
        t.fixture.advance(Duration::from_secs(31 * 60));
        let expired = whoami_with_query(&t, &key).await;
        assert_container(&expired, 403, &["The session key is invalid or has expired: log in again."]);
    })
    .await;
}
