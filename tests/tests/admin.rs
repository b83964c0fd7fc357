//! Authorization on app routes (issue 16): admin-only routes of every dialect, as a middleware
//! policy (`{path}/layer`) and as an `Authorized<Admin>` extractor (`{path}/extractor`), and the
//! administration API under `/api/admin/`. Every case on both adapters.

use std::time::Duration;

use authmount::user::{NewUser, User};
use authmount_conformance::dialect_calls as calls;
use authmount_conformance::fixture::TDAR_GROUP;
use authmount_conformance::{Case, Client, PASSWORD, Response, on_both_adapters};
use serde_json::{Value, json};

const ADMIN: &str = "root";
const USERS: &str = "/api/admin/users/";
const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";

/// Creates the administrator `root` (in tDAR's API group, so it may use tDAR too).
async fn create_admin(t: &Case) -> User {
    let hash = t.fixture.services.passwords.hash_new_password(PASSWORD).await.expect("hashes");
    let mut root =
        NewUser::new(ADMIN, t.fixture.now()).with_email("root@example.org").with_password_hash(hash);
    root.is_admin = true;
    root.groups = vec![TDAR_GROUP.to_owned()];
    t.fixture.services.users.create(root).await.expect("root")
}

/// How a dialect's token travels, for a request to `path`.
struct Credential {
    path_suffix: String,
    header: Option<(&'static str, String)>,
}

async fn credential(client: &Client, dialect: &str, login: &str) -> Credential {
    let header = |name, value| Credential { path_suffix: String::new(), header: Some((name, value)) };
    match dialect {
        "amcr" => {
            header("authorization", format!("Bearer {}", calls::amcr_token(client, login, PASSWORD).await))
        }
        "meldeschein" => header(
            "authorization",
            format!("JWT {}", calls::meldeschein_token(client, login, PASSWORD).await),
        ),
        "oz" => {
            let email = format!("{login}@example.org");
            header("x-forensic-access-token", calls::oz_token(client, &email, PASSWORD).await)
        }
        "tdar" => Credential {
            path_suffix: format!("?session.tokenkey={}", calls::tdar_key(client, login, PASSWORD).await),
            header: None,
        },
        "minisass" => {
            let (access, _) = calls::minisass_pair(client, login, PASSWORD).await;
            header("authorization", format!("Bearer {access}"))
        }
        other => panic!("no credential for {other}"),
    }
}

async fn get_with(client: &Client, path: &str, credential: Option<&Credential>) -> Response {
    let Some(credential) = credential else { return client.get(path).send().await };
    let request = client.get(&format!("{path}{}", credential.path_suffix));
    match &credential.header {
        Some((name, value)) => request.header(name, value.clone()).send().await,
        None => request.send().await,
    }
}

const DIALECTS: [&str; 5] = ["amcr", "meldeschein", "oz", "tdar", "minisass"];

/// The 403 a dialect gives a user its policy refuses: in the dialect's own shape.
fn assert_forbidden_in_shape(dialect: &str, response: &Response) {
    response.assert_status(403);
    match dialect {
        "oz" => {
            assert_eq!(response.json()["error_code"], 9, "{}", response.text());
            assert_eq!(response.json()["error_message"], PERMISSION_DENIED);
        }
        "tdar" => {
            let body = response.text();
            assert!(body.contains("tdar:resultContainer"), "{body}");
            assert!(
                body.contains(PERMISSION_DENIED) && body.contains("<tdar:statusCode>403</tdar:statusCode>")
            );
        }
        _ => assert_eq!(response.json(), json!({ "detail": PERMISSION_DENIED }), "{dialect}"),
    }
}

#[tokio::test]
async fn admin_only_routes_answer_401_403_200_in_each_dialects_shape() {
    on_both_adapters(|t| async move {
        let root = create_admin(&t).await;
        for dialect in DIALECTS {
            let base = format!("/app/{dialect}/admin");
            let anonymous_whoami = get_with(&t.client, &format!("/app/{dialect}/whoami"), None).await;
            let ann = credential(&t.client, dialect, "ann").await;
            let admin = credential(&t.client, dialect, ADMIN).await;
            for form in ["layer", "extractor"] {
                let path = format!("{base}/{form}");
                let anonymous = get_with(&t.client, &path, None).await;
                assert_eq!(anonymous.status, anonymous_whoami.status, "{path}: the gate's own refusal");
                assert_eq!(anonymous.text(), anonymous_whoami.text(), "{path}");
                assert_forbidden_in_shape(dialect, &get_with(&t.client, &path, Some(&ann)).await);
                let allowed = get_with(&t.client, &path, Some(&admin)).await;
                allowed.assert_status(200);
                assert_eq!(allowed.json()["id"], root.id.0, "{path}");
            }
        }
    })
    .await;
}

async fn admin_token(t: &Case) -> String {
    create_admin(t).await;
    calls::amcr_token(&t.client, ADMIN, PASSWORD).await
}

async fn admin_get(t: &Case, token: &str, path: &str) -> Response {
    t.client.get(path).header("authorization", format!("Bearer {token}")).send().await
}

async fn admin_post(t: &Case, token: &str, path: &str, body: Option<Value>) -> Response {
    let request = t.client.post(path).header("authorization", format!("Bearer {token}"));
    match body {
        Some(body) => request.json(&body).send().await,
        None => request.send().await,
    }
}

#[tokio::test]
async fn the_admin_api_is_for_admins_only_with_any_dialects_token() {
    on_both_adapters(|t| async move {
        create_admin(&t).await;
        let anonymous = t.client.get(USERS).send().await;
        anonymous.assert_status(401);
        assert!(anonymous.has_header("www-authenticate"));
        let ann = calls::amcr_token(&t.client, "ann", PASSWORD).await;
        let refused = admin_get(&t, &ann, USERS).await;
        refused.assert_status(403);
        assert_eq!(refused.json(), json!({ "detail": PERMISSION_DENIED }));
        let ann_id = t.fixture.ann.id.0;
        let refused = admin_post(&t, &ann, &format!("{USERS}{ann_id}/deactivate/"), None).await;
        refused.assert_status(403);
        assert!(t.fixture.services.users.get(t.fixture.ann.id).await.expect("up").expect("ann").is_active);

        // A Meldeschein JWT and a miniSASS access token of the admin work too.
        let jwt = calls::meldeschein_token(&t.client, ADMIN, PASSWORD).await;
        t.client.get(USERS).header("authorization", format!("JWT {jwt}")).send().await.assert_status(200);
        let (access, _) = calls::minisass_pair(&t.client, ADMIN, PASSWORD).await;
        admin_get(&t, &access, USERS).await.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn users_are_listed_in_pages_searched_and_shown_without_secrets() {
    on_both_adapters(|t| async move {
        let token = admin_token(&t).await;
        let page = admin_get(&t, &token, &format!("{USERS}?per_page=2")).await;
        page.assert_status(200);
        let body = page.json();
        assert_eq!(body["count"], 4, "ann, ivan, demo, root");
        assert_eq!(body["results"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["results"][0]["username"], "ann");
        assert_eq!(body["previous"], Value::Null);
        assert_eq!(body["next"], "/api/admin/users/?page=2&per_page=2");
        let text = page.text();
        assert!(
            !text.contains("argon2") && !text.contains("password") && !text.contains("attributes"),
            "{text}"
        );
        let last = admin_get(&t, &token, &format!("{USERS}?page=2&per_page=2")).await;
        assert_eq!(last.json()["results"][1]["username"], ADMIN);
        assert_eq!(last.json()["next"], Value::Null);

        let search = admin_get(&t, &token, &format!("{USERS}?q=IVAN%40example")).await;
        assert_eq!(search.json()["count"], 1);
        assert_eq!(search.json()["results"][0]["username"], "ivan");
        assert_eq!(search.json()["results"][0]["is_active"], false);

        admin_get(&t, &token, &format!("{USERS}?page=3&per_page=2")).await.assert_status(404);
        for bad in ["?page=0", "?page=x", "?per_page=0", "?per_page=101", "?per_page=-1"] {
            let refused = admin_get(&t, &token, &format!("{USERS}{bad}")).await;
            refused.assert_status(400);
        }
        let detail = admin_get(&t, &token, &format!("{USERS}{}/", t.fixture.ann.id.0)).await;
        detail.assert_status(200);
        assert_eq!(detail.json()["email"], "ann@example.org");
        assert_eq!(detail.json()["groups"], json!([TDAR_GROUP]));
        for bad in ["abc", "0", "-3", "1.5", "99999999999999999999"] {
            admin_get(&t, &token, &format!("{USERS}{bad}/")).await.assert_status(400);
        }
        admin_get(&t, &token, &format!("{USERS}999/")).await.assert_status(404);
        admin_post(&t, &token, &format!("{USERS}999/deactivate/"), None).await.assert_status(404);
        t.client
            .post(USERS)
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .assert_status(405);
    })
    .await;
}

#[tokio::test]
async fn a_deactivated_users_live_tokens_are_refused_in_every_dialect() {
    on_both_adapters(|t| async move {
        let token = admin_token(&t).await;
        let mut live = Vec::new();
        for dialect in DIALECTS {
            let ann = credential(&t.client, dialect, "ann").await;
            get_with(&t.client, &format!("/app/{dialect}/whoami"), Some(&ann)).await.assert_status(200);
            live.push((dialect, ann));
        }
        let id = t.fixture.ann.id.0;
        let deactivated = admin_post(&t, &token, &format!("{USERS}{id}/deactivate/"), None).await;
        deactivated.assert_status(200);
        assert_eq!(deactivated.json()["is_active"], false);
        for (dialect, ann) in &live {
            let refused = get_with(&t.client, &format!("/app/{dialect}/whoami"), Some(ann)).await;
            assert!(matches!(refused.status, 401 | 403), "{dialect}: {}", refused.status);
        }
        calls::amcr_login(&t.client, "ann", PASSWORD).await.assert_status(401);

        admin_post(&t, &token, &format!("{USERS}{id}/activate/"), None).await.assert_status(200);
        calls::amcr_token(&t.client, "ann", PASSWORD).await;
    })
    .await;
}

#[tokio::test]
async fn revoking_sessions_ends_a_tdar_cookie_session_and_a_minisass_refresh_family() {
    on_both_adapters(|t| async move {
        let token = admin_token(&t).await;
        let key = calls::tdar_key(&t.client, "ann", PASSWORD).await;
        calls::tdar_whoami(&t.client, &key).await.assert_status(200);
        let (access, refresh) = calls::minisass_pair(&t.client, "ann", PASSWORD).await;
        calls::minisass_status(&t.client, &access).await.assert_status(200);

        let id = t.fixture.ann.id.0;
        let revoked = admin_post(&t, &token, &format!("{USERS}{id}/sessions/revoke/"), None).await;
        revoked.assert_status(200);
        assert!(revoked.json()["revoked"].as_u64().is_some_and(|n| n >= 2), "{}", revoked.text());

        assert_ne!(calls::tdar_whoami(&t.client, &key).await.status, 200, "the tDAR session ended");
        calls::minisass_status(&t.client, &access).await.assert_status(401);
        calls::minisass_refresh(&t.client, &refresh).await.assert_status(401);
        // The admin's own session is untouched.
        admin_get(&t, &token, USERS).await.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn unlock_lets_a_locked_account_log_in_with_its_right_password() {
    on_both_adapters(|t| async move {
        let token = admin_token(&t).await;
        let mut locked = false;
        for _ in 0..20 {
            if calls::amcr_login(&t.client, "ann", "a wrong password").await.status == 429 {
                locked = true;
                break;
            }
        }
        assert!(locked, "failed logins lock the account");
        calls::amcr_login(&t.client, "ann", PASSWORD).await.assert_status(429);
        let id = t.fixture.ann.id.0;
        admin_post(&t, &token, &format!("{USERS}{id}/unlock/"), None).await.assert_status(200);
        calls::amcr_token(&t.client, "ann", PASSWORD).await;
        t.fixture.advance(Duration::from_secs(1));
    })
    .await;
}

#[tokio::test]
async fn groups_are_set_and_a_malformed_request_changes_nothing() {
    on_both_adapters(|t| async move {
        let token = admin_token(&t).await;
        let id = t.fixture.ann.id.0;
        let path = format!("{USERS}{id}/groups/");
        for bad in
            [json!({}), json!({"groups": "editors"}), json!({"groups": [1]}), json!({"groups": ["", "a"]})]
        {
            let refused = admin_post(&t, &token, &path, Some(bad.clone())).await;
            refused.assert_status(400);
            assert!(refused.json()["groups"].is_array(), "{bad}: {}", refused.text());
        }
        let not_json = t
            .client
            .post(&path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "text/plain")
            .body("groups=a")
            .send()
            .await;
        not_json.assert_status(415);
        let ann = t.fixture.services.users.get(t.fixture.ann.id).await.expect("up").expect("ann");
        assert_eq!(ann.groups, vec![TDAR_GROUP.to_owned()], "nothing changed");

        let set =
            admin_post(&t, &token, &path, Some(json!({"groups": ["editors", TDAR_GROUP, "editors"]}))).await;
        set.assert_status(200);
        assert_eq!(set.json()["groups"], json!(["editors", TDAR_GROUP]));
        let ann = t.fixture.services.users.get(t.fixture.ann.id).await.expect("up").expect("ann");
        assert_eq!(ann.groups, vec!["editors".to_owned(), TDAR_GROUP.to_owned()]);
    })
    .await;
}
