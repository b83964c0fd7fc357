//! One call per dialect endpoint, for suites that drive several dialects on several servers
//! (`multi_instance`, `fail_closed`): log in and get the token, use a token on a protected
//! route, refresh, log out. Tokens are marked secret in the client's transcript.
//!
//! The `*_login` helpers return the raw [`Response`] (the fail-closed suite checks refusals);
//! the token helpers assert a 200 and extract the token.
//!
//! ```no_run
//! # async fn example(client: authmount_conformance::Client) {
//! use authmount_conformance::dialect_calls as calls;
//! let token = calls::amcr_token(&client, "ann", authmount_conformance::PASSWORD).await;
//! calls::amcr_user_info(&client, &token).await.assert_status(200);
//! # }
//! ```

use serde_json::{Value, json};

use crate::client::{Client, Response};

/// AMCR's login.
pub const AMCR_LOGIN: &str = "/api/token-auth/";
/// AMCR's protected user document.
pub const AMCR_USER_INFO: &str = "/api/uzivatel-info/";
/// Meldeschein's login.
pub const MELDESCHEIN_LOGIN: &str = "/api/token/";
/// Meldeschein's protected configuration.
pub const MELDESCHEIN_CONFIG: &str = "/api/get-config/";
/// Oz's login.
pub const OZ_LOGIN: &str = "/api/authorize/auth";
/// The app route behind Oz's gate.
pub const OZ_WHOAMI: &str = "/app/oz/whoami";
/// tDAR's login.
pub const TDAR_LOGIN: &str = "/api/login";
/// tDAR's logout.
pub const TDAR_LOGOUT: &str = "/api/logout";
/// The app route behind tDAR's gate.
pub const TDAR_WHOAMI: &str = "/app/tdar/whoami";
/// miniSASS's login (the frontend's).
pub const MINISASS_LOGIN: &str = "/authentication/api/login/";
/// miniSASS's SimpleJWT token pair endpoint.
pub const MINISASS_TOKEN: &str = "/authentication/api/token/";
/// miniSASS's refresh.
pub const MINISASS_REFRESH: &str = "/authentication/api/token/refresh/";
/// miniSASS's protected status.
pub const MINISASS_STATUS: &str = "/authentication/api/check-auth-status/";
/// miniSASS's logout.
pub const MINISASS_LOGOUT: &str = "/authentication/api/logout/";
/// miniSASS's reset request.
pub const MINISASS_REQUEST_RESET: &str = "/authentication/api/request-reset";

fn string_at(client: &Client, response: &Response, key: &str) -> String {
    response.assert_status(200);
    let token =
        response.json()[key].as_str().unwrap_or_else(|| panic!("no {key} in {}", response.text())).to_owned();
    client.secret(&token);
    token
}

/// `POST /api/token-auth/` (JSON).
pub async fn amcr_login(client: &Client, username: &str, password: &str) -> Response {
    client.post(AMCR_LOGIN).json(&json!({"username": username, "password": password})).send().await
}

/// An AMCR token (asserts the login succeeds).
pub async fn amcr_token(client: &Client, username: &str, password: &str) -> String {
    string_at(client, &amcr_login(client, username, password).await, "token")
}

/// `GET /api/uzivatel-info/` with `Authorization: Bearer`.
pub async fn amcr_user_info(client: &Client, token: &str) -> Response {
    client.get(AMCR_USER_INFO).header("authorization", format!("Bearer {token}")).send().await
}

/// `POST /api/token/` (JSON).
pub async fn meldeschein_login(client: &Client, username: &str, password: &str) -> Response {
    client.post(MELDESCHEIN_LOGIN).json(&json!({"username": username, "password": password})).send().await
}

/// A Meldeschein JWT (asserts the login succeeds).
pub async fn meldeschein_token(client: &Client, username: &str, password: &str) -> String {
    string_at(client, &meldeschein_login(client, username, password).await, "token")
}

/// `GET /api/get-config/` with `Authorization: JWT`.
pub async fn meldeschein_config(client: &Client, token: &str) -> Response {
    client.get(MELDESCHEIN_CONFIG).header("authorization", format!("JWT {token}")).send().await
}

/// `POST /api/authorize/auth`.
pub async fn oz_login(client: &Client, login: &str, password: &str) -> Response {
    client.post(OZ_LOGIN).json(&json!({"credentials": {"email": login, "password": password}})).send().await
}

/// An Oz access token (asserts the login succeeds).
pub async fn oz_token(client: &Client, login: &str, password: &str) -> String {
    let response = oz_login(client, login, password).await;
    if response.status == 200 {
        client.secret(response.json()["expire_token"].as_str().unwrap_or_default());
        // A random number per session: the two adapters' transcripts differ in it.
        client.secret(&response.json()["session_id"].to_string());
    }
    string_at(client, &response, "access_token")
}

/// The Oz-protected app route with `X-Forensic-Access-Token`.
pub async fn oz_whoami(client: &Client, token: &str) -> Response {
    client.get(OZ_WHOAMI).header("x-forensic-access-token", token).send().await
}

/// `POST /api/login` (form).
pub async fn tdar_login(client: &Client, username: &str, password: &str) -> Response {
    client
        .post(TDAR_LOGIN)
        .form(&[("userLogin.loginUsername", username), ("userLogin.loginPassword", password)])
        .send()
        .await
}

/// A tDAR session key, the `apiToken` (asserts the login succeeds).
pub async fn tdar_key(client: &Client, username: &str, password: &str) -> String {
    let response = tdar_login(client, username, password).await;
    response.assert_status(200);
    let body = response.text();
    let start = body.find("apiToken=\"").expect("an apiToken") + "apiToken=\"".len();
    let end = body[start..].find('"').expect("closing quote") + start;
    let key = body[start..end].to_owned();
    client.secret(&key);
    key
}

/// The tDAR-protected app route with `?session.tokenkey=`.
pub async fn tdar_whoami(client: &Client, key: &str) -> Response {
    client.get(&format!("{TDAR_WHOAMI}?session.tokenkey={key}")).send().await
}

/// `POST /api/logout?session.tokenkey=`.
pub async fn tdar_logout(client: &Client, key: &str) -> Response {
    client.post(&format!("{TDAR_LOGOUT}?session.tokenkey={key}")).send().await
}

/// `POST login/` with `{"email", "password"}`.
pub async fn minisass_login(client: &Client, login: &str, password: &str) -> Response {
    client.post(MINISASS_LOGIN).json(&json!({"email": login, "password": password})).send().await
}

/// `POST token/` with `{"username", "password"}`.
pub async fn minisass_token_pair(client: &Client, username: &str, password: &str) -> Response {
    client.post(MINISASS_TOKEN).json(&json!({"username": username, "password": password})).send().await
}

/// A miniSASS (access, refresh) pair from `token/` (asserts it succeeds).
pub async fn minisass_pair(client: &Client, username: &str, password: &str) -> (String, String) {
    let response = minisass_token_pair(client, username, password).await;
    (string_at(client, &response, "access"), string_at(client, &response, "refresh"))
}

/// `GET check-auth-status/` with `Authorization: Bearer`.
pub async fn minisass_status(client: &Client, access: &str) -> Response {
    client.get(MINISASS_STATUS).header("authorization", format!("Bearer {access}")).send().await
}

/// `POST token/refresh/`; the new tokens of a 200 are marked secret.
pub async fn minisass_refresh(client: &Client, refresh: &str) -> Response {
    let response = client.post(MINISASS_REFRESH).json(&json!({ "refresh": refresh })).send().await;
    if response.status == 200 {
        let body: Value = response.json();
        for key in ["access", "refresh"] {
            client.secret(body[key].as_str().unwrap_or_default());
        }
    }
    response
}

/// `POST logout/` with the access token and the refresh token.
pub async fn minisass_logout(client: &Client, access: &str, refresh: &str) -> Response {
    client
        .post(MINISASS_LOGOUT)
        .header("authorization", format!("Bearer {access}"))
        .json(&json!({ "refresh": refresh }))
        .send()
        .await
}
