//! AMCR: `POST /api/token-auth/` and `GET /api/uzivatel-info/`, on both adapters.

use std::time::Duration;

use authmount::user::ProfileUpdate;
use authmount_conformance::external::{python_with, run_script};
use authmount_conformance::{Case, PASSWORD, on_both_adapters};
use serde_json::json;

const TOKEN_AUTH: &str = "/api/token-auth/";
const USER_INFO: &str = "/api/uzivatel-info/";

/// Logs in as ann and returns the token (marked secret in the transcript).
async fn login(t: &Case) -> String {
    let response =
        t.client.post(TOKEN_AUTH).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let token = response.json()["token"].as_str().expect("a token").to_owned();
    t.client.secret(&token);
    token
}

async fn user_info(t: &Case, authorization: &str) -> authmount_conformance::Response {
    t.client.get(USER_INFO).header("authorization", authorization).send().await
}

#[tokio::test]
async fn token_auth_issues_an_opaque_token_in_json() {
    on_both_adapters(|t| async move {
        let response =
            t.client.post(TOKEN_AUTH).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
        response.assert_status(200);
        assert_eq!(response.header("content-type"), "application/json");
        assert_eq!(response.header("cache-control"), "no-store");
        let body = response.json();
        let token = body["token"].as_str().expect("token is a string");
        t.client.secret(token);
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only the token: {body}");
        assert!(token.len() >= 22, "at least 128 bits");
    })
    .await;
}

#[tokio::test]
async fn token_auth_accepts_form_multipart_email_and_no_trailing_slash() {
    on_both_adapters(|t| async move {
        let form =
            t.client.post(TOKEN_AUTH).form(&[("username", "ann"), ("password", PASSWORD)]).send().await;
        form.assert_status(200);
        t.client.secret(form.json()["token"].as_str().unwrap_or_default());
        let multipart =
            t.client.post(TOKEN_AUTH).multipart(&[("username", "ann"), ("password", PASSWORD)]).send().await;
        multipart.assert_status(200);
        t.client.secret(multipart.json()["token"].as_str().unwrap_or_default());
        let by_email = t
            .client
            .post("/api/token-auth")
            .json(&json!({"username": "ANN@example.org", "password": PASSWORD}))
            .send()
            .await;
        by_email.assert_status(200);
        let token = by_email.json()["token"].as_str().unwrap_or_default().to_owned();
        t.client.secret(&token);
        user_info(&t, &format!("Bearer {token}")).await.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn token_auth_missing_fields_are_field_errors() {
    on_both_adapters(|t| async move {
        let response = t.client.post(TOKEN_AUTH).json(&json!({})).send().await;
        response.assert_status(400);
        assert_eq!(
            response.json(),
            json!({"username": ["This field is required."], "password": ["This field is required."]})
        );
        let blank =
            t.client.post(TOKEN_AUTH).json(&json!({"username": "  ", "password": PASSWORD})).send().await;
        blank.assert_status(400);
        assert_eq!(blank.json(), json!({"username": ["This field may not be blank."]}));
    })
    .await;
}

#[tokio::test]
async fn bad_credentials_and_inactive_accounts_get_the_same_401() {
    on_both_adapters(|t| async move {
        let expected = json!({"non_field_errors": ["Unable to log in with provided credentials."]});
        for (username, password) in [("ann", "wrong password"), ("nobody", PASSWORD), ("ivan", PASSWORD)] {
            let response = t
                .client
                .post(TOKEN_AUTH)
                .json(&json!({"username": username, "password": password}))
                .send()
                .await;
            response.assert_status(401);
            assert_eq!(response.json(), expected, "{username}");
            assert!(response.has_header("www-authenticate"), "every 401 says how to authenticate");
        }
    })
    .await;
}

#[tokio::test]
async fn token_auth_refuses_wrong_methods_types_broken_and_oversized_bodies() {
    on_both_adapters(|t| async move {
        let get = t.client.get(TOKEN_AUTH).send().await;
        get.assert_status(405);
        assert_eq!(get.header("allow"), "POST, OPTIONS");
        assert_eq!(get.json(), json!({"detail": "Method \"GET\" not allowed."}));

        let text = t.client.post(TOKEN_AUTH).raw("text/plain", "username=ann").send().await;
        text.assert_status(415);
        assert_eq!(text.json(), json!({"detail": "Unsupported media type \"text/plain\" in request."}));

        let broken = t.client.post(TOKEN_AUTH).raw("application/json", "{\"username\": ").send().await;
        broken.assert_status(400);
        assert!(broken.json()["detail"].as_str().is_some_and(|d| d.starts_with("JSON parse error")));

        let huge = format!("{{\"username\": \"{}\", \"password\": \"x\"}}", "a".repeat(70_000));
        let oversized = t.client.post(TOKEN_AUTH).raw("application/json", huge).send().await;
        oversized.assert_status(413);
        assert!(oversized.json()["detail"].is_string());

        let options = t.client.request("OPTIONS", TOKEN_AUTH).send().await;
        options.assert_status(200);
        assert_eq!(options.json()["name"], "Obtain Auth Token");
    })
    .await;
}

#[tokio::test]
async fn user_info_answers_the_documented_xml() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        let response = user_info(&t, &format!("Bearer {token}")).await;
        response.assert_status(200);
        assert_eq!(response.header("content-type"), "application/xml; charset=utf-8");
        assert_eq!(response.header("cache-control"), "no-store");
        let xml = response.text();
        assert!(xml.starts_with("<?xml version='1.0' encoding='utf-8'?>"), "{xml}");
        for expected in [
            r#"xmlns:amcr="https://api.aiscr.cz/schema/amcr/2.1/""#,
            r#"xsi:schemaLocation="https://api.aiscr.cz/schema/amcr/2.1/ https://api.aiscr.cz/schema/amcr/2.1/amcr.xsd""#,
            "<amcr:ident_cely>U-000042</amcr:ident_cely>",
            "<amcr:jmeno>Ann</amcr:jmeno>",
            "<amcr:prijmeni>Novák</amcr:prijmeni>",
            "<amcr:email>ann@example.org</amcr:email>",
            r#"<amcr:osoba id="OS-1">Novák, Ann</amcr:osoba>"#,
            "Archeologický ústav &lt;AV&gt;</amcr:organizace>",
            "<amcr:aktivni>true</amcr:aktivni>",
            "<amcr:admin>false</amcr:admin>",
            "<amcr:superadmin>false</amcr:superadmin>",
            r#"<amcr:skupina xml:lang="cs">Badatel</amcr:skupina>"#,
        ] {
            assert!(xml.contains(expected), "missing {expected} in {xml}");
        }
        let order = ["ident_cely", "jmeno", "prijmeni", "email", "osoba", "organizace", "aktivni", "skupina"];
        let positions: Vec<usize> =
            order.iter().map(|e| xml.find(&format!("<amcr:{e}")).expect("element present")).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "documented element order");
        let lowercase = user_info(&t, &format!("bearer {token}")).await;
        lowercase.assert_status(200);
        let no_slash = t.client.get("/api/uzivatel-info").header("authorization", format!("Bearer {token}")).send().await;
        no_slash.assert_status(200);
    })
    .await;
}

#[tokio::test]
async fn user_info_without_or_with_broken_credentials_is_401() {
    on_both_adapters(|t| async move {
        let anonymous = t.client.get(USER_INFO).send().await;
        anonymous.assert_status(401);
        assert_eq!(anonymous.json(), json!({"detail": "Authentication credentials were not provided."}));
        assert!(anonymous.header("www-authenticate").starts_with("Bearer"));

        let other_scheme = user_info(&t, "Basic YW5uOnB3").await;
        other_scheme.assert_status(401);
        assert_eq!(other_scheme.json(), json!({"detail": "Authentication credentials were not provided."}));

        let unknown = user_info(&t, "Bearer not-a-token").await;
        unknown.assert_status(401);
        assert_eq!(unknown.json(), json!({"detail": "Invalid token."}));

        let empty = user_info(&t, "Bearer").await;
        empty.assert_status(401);
        assert_eq!(empty.json(), json!({"detail": "Invalid token header. No credentials provided."}));

        let spaces = user_info(&t, "Bearer a b").await;
        spaces.assert_status(401);
        assert_eq!(
            spaces.json(),
            json!({"detail": "Invalid token header. Token string should not contain spaces."})
        );

        let post = t.client.post(USER_INFO).send().await;
        post.assert_status(405);
        assert_eq!(post.header("allow"), "GET, HEAD");
    })
    .await;
}

#[tokio::test]
async fn tokens_expire_after_24_hours() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        t.fixture.advance(Duration::from_secs(24 * 3_600 - 1));
        user_info(&t, &format!("Bearer {token}")).await.assert_status(200);
        t.fixture.advance(Duration::from_secs(1));
        let expired = user_info(&t, &format!("Bearer {token}")).await;
        expired.assert_status(401);
        assert_eq!(expired.json(), json!({"detail": "Invalid token."}));
    })
    .await;
}

#[tokio::test]
async fn revoked_tokens_and_deactivated_users_are_refused_at_once() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        let ann = t.fixture.ann.id;
        t.fixture.services.tokens.revoke_user(ann).await.expect("revoked");
        user_info(&t, &format!("Bearer {token}")).await.assert_status(401);

        let token = login(&t).await;
        let deactivate = authmount::user::ProfileUpdate { is_active: Some(false), ..Default::default() };
        t.fixture.services.users.update_profile(ann, deactivate).await.expect("deactivated");
        let refused = user_info(&t, &format!("Bearer {token}")).await;
        refused.assert_status(401);
        assert_eq!(refused.json(), json!({"detail": "User inactive or deleted."}));
    })
    .await;
}

#[tokio::test]
async fn the_amcr_gate_protects_app_routes() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        let me =
            t.client.get("/app/amcr/whoami").header("authorization", format!("Bearer {token}")).send().await;
        me.assert_status(200);
        assert_eq!(me.json(), json!({"id": t.fixture.ann.id.0, "username": "ann"}));
        let anonymous = t.client.get("/app/amcr/whoami").send().await;
        anonymous.assert_status(401);
        assert_eq!(anonymous.json(), json!({"detail": "Authentication credentials were not provided."}));
    })
    .await;
}

/// The original's `uzivatelType` and the types it uses (tests/schemas/amcr-uzivatel.xsd notes
/// the source), in the original's namespace.
const USER_SCHEMA: &str = include_str!("../schemas/amcr-uzivatel.xsd");
const SCHEMA_NAMESPACE: &str = "https://api.aiscr.cz/schema/amcr/2.2/";
const VALIDATOR: &str = include_str!("../clients/xsd_validate.py");
const SCHEMA_SUITE: &str = "the AMCR schema validation";

/// What the validator says of `document` against [`USER_SCHEMA`] moved to the namespace the
/// suite's dialect writes (its default, schema version 2.1): `valid`, or `invalid` and the
/// reasons.
fn validate(python: &str, document: &str) -> String {
    let namespace = "https://api.aiscr.cz/schema/amcr/2.1/";
    assert!(document.contains(&format!("xmlns:amcr=\"{namespace}\"")), "{document}");
    let schema = USER_SCHEMA.replace(SCHEMA_NAMESPACE, namespace);
    let dir = std::env::temp_dir().join(format!("authmount-amcr-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("uzivatel-{}.xsd", authmount_conformance::client::unique_suffix()));
    std::fs::write(&path, schema).expect("schema written");
    let verdict = run_script(python, VALIDATOR, "py", document, &[path.to_str().expect("UTF-8 path")]);
    let _ = std::fs::remove_file(&path);
    verdict
}

async fn user_info_of(t: &Case, username: &str, password: &str) -> String {
    let response =
        t.client.post(TOKEN_AUTH).json(&json!({"username": username, "password": password})).send().await;
    response.assert_status(200);
    let token = response.json()["token"].as_str().expect("a token").to_owned();
    t.client.secret(&token);
    let info = user_info(t, &format!("Bearer {token}")).await;
    info.assert_status(200);
    info.text()
}

#[tokio::test(flavor = "multi_thread")]
async fn user_info_is_valid_against_the_originals_schema() {
    let Some(python) = python_with(SCHEMA_SUITE, "xmlschema") else { return };
    // The validator refuses what the schema forbids: a user without a group, as before the
    // default group.
    let before = r#"<amcr:amcr xmlns:amcr="https://api.aiscr.cz/schema/amcr/2.1/"><amcr:uzivatel><amcr:ident_cely>U-1</amcr:ident_cely><amcr:jmeno/><amcr:prijmeni/><amcr:email/><amcr:organizace xml:lang="cs"/><amcr:aktivni>true</amcr:aktivni><amcr:admin>false</amcr:admin><amcr:superadmin>false</amcr:superadmin><amcr:datum_registrace>2025-03-28T09:15:00Z</amcr:datum_registrace></amcr:uzivatel></amcr:amcr>"#;
    let verdict = validate(&python, before);
    assert!(
        verdict.starts_with("invalid") && verdict.contains("'id'") && verdict.contains("skupina"),
        "{verdict}"
    );

    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            // demo: no groups, no organisation (the configured defaults fill both).
            let bare = user_info_of(&t, "demo", "demo").await;
            assert!(bare.contains(r#"<amcr:skupina xml:lang="cs">Badatel</amcr:skupina>"#), "{bare}");
            assert!(
                bare.contains(
                    r#"<amcr:organizace xml:lang="cs" id="ORG-000000">Neuvedeno</amcr:organizace>"#
                ),
                "{bare}"
            );
            // ann: an organisation with an id, a person, one group; then several groups.
            let with_organisation = user_info_of(&t, "ann", PASSWORD).await;
            assert!(
                with_organisation.contains(r#"id="ORG-7">Archeologický ústav &lt;AV&gt;"#),
                "{with_organisation}"
            );
            let groups = vec!["Badatel".to_owned(), "Archeolog".to_owned(), "Archivář".to_owned()];
            let update = ProfileUpdate { groups: Some(groups), ..Default::default() };
            t.fixture.services.users.update_profile(t.fixture.ann.id, update).await.expect("groups set");
            let several_groups = user_info_of(&t, "ann", PASSWORD).await;
            assert_eq!(several_groups.matches("<amcr:skupina ").count(), 3, "{several_groups}");
            let verdicts = tokio::task::spawn_blocking(move || {
                [bare, with_organisation, several_groups].map(|document| validate(&python, &document))
            })
            .await
            .expect("validated");
            for verdict in verdicts {
                assert_eq!(verdict, "valid\n");
            }
        }
    })
    .await;
}
