//! Meldeschein: `POST /api/token/` in JSON, XML and form, the `JWT` prefix, the meta object,
//! its schema and `get-config`, on both adapters.

use std::time::Duration;

use authmount_conformance::{Case, PASSWORD, on_both_adapters};
use serde_json::json;

const TOKEN: &str = "/api/token/";
const CONFIG: &str = "/api/get-config/";
const BOOKING: &str = "/api/meldeschein/";

async fn login(t: &Case) -> String {
    let response = t.client.post(TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let token = response.json()["token"].as_str().expect("a token").to_owned();
    t.client.secret(&token);
    token
}

#[tokio::test]
async fn token_in_json_form_and_xml_answers_in_kind() {
    on_both_adapters(|t| async move {
        let json_login =
            t.client.post(TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
        json_login.assert_status(200);
        assert_eq!(json_login.header("content-type"), "application/json");
        assert_eq!(json_login.header("cache-control"), "no-store");
        let token = json_login.json()["token"].as_str().expect("token").to_owned();
        t.client.secret(&token);
        assert_eq!(token.split('.').count(), 3, "a JWT");

        let form = t
            .client
            .post(TOKEN)
            .form(&[("username", "ann@example.org"), ("password", PASSWORD)])
            .send()
            .await;
        form.assert_status(200);
        assert_eq!(form.header("content-type"), "application/json");
        t.client.secret(form.json()["token"].as_str().unwrap_or_default());

        let xml_body = format!("<root><username>ann</username><password>{PASSWORD}</password></root>");
        let xml = t.client.post(TOKEN).raw("application/xml", xml_body.clone()).send().await;
        xml.assert_status(200);
        assert_eq!(xml.header("content-type"), "application/xml; charset=utf-8");
        let text = xml.text();
        let token = text
            .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><token>")
            .and_then(|rest| rest.strip_suffix("</token></root>"))
            .unwrap_or_else(|| panic!("DRF XML token document, got {text}"))
            .to_owned();
        t.client.secret(&token);

        let text_xml =
            t.client.post(TOKEN).raw("text/xml", xml_body).header("accept", "application/json").send().await;
        text_xml.assert_status(200);
        assert_eq!(
            text_xml.header("content-type"),
            "application/json",
            "Accept decides over the request format"
        );
        t.client.secret(text_xml.json()["token"].as_str().unwrap_or_default());
    })
    .await;
}

#[tokio::test]
async fn bad_credentials_are_400_non_field_errors_in_json_and_xml() {
    on_both_adapters(|t| async move {
        let json_login = t.client.post(TOKEN).json(&json!({"username": "ann", "password": "nope-nope"})).send().await;
        json_login.assert_status(400);
        assert_eq!(json_login.json(), json!({"non_field_errors": ["Unable to log in with provided credentials."]}));
        let inactive = t.client.post(TOKEN).form(&[("username", "ivan"), ("password", PASSWORD)]).send().await;
        inactive.assert_status(400);
        assert_eq!(inactive.json(), json_login.json());
        let xml = t
            .client
            .post(TOKEN)
            .raw("application/xml", "<root><username>ann</username><password>nope-nope</password></root>")
            .send()
            .await;
        xml.assert_status(400);
        assert_eq!(
            xml.text(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><non_field_errors><list-item>Unable to log in with provided credentials.</list-item></non_field_errors></root>"
        );
        let missing = t.client.post(TOKEN).form(&[("username", "ann")]).send().await;
        missing.assert_status(400);
        assert_eq!(missing.json(), json!({"password": ["This field is required."]}));
        let doctype = t
            .client
            .post(TOKEN)
            .raw("application/xml", "<!DOCTYPE r [<!ENTITY x \"y\">]><root><username>&x;</username></root>")
            .send()
            .await;
        doctype.assert_status(400);
    })
    .await;
}

#[tokio::test]
async fn get_config_with_the_jwt_prefix() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        let config = t.client.get(CONFIG).header("authorization", format!("JWT {token}")).send().await;
        config.assert_status(200);
        let body = config.json();
        assert_eq!(body["gemeinden"], json!([1, 2]));
        assert_eq!(body["vermieter"], json!([1]));
        assert_eq!(body["objekte"], json!([1, 3]));
        assert_eq!(body["user"]["username"], "ann");
        let lowercase = t.client.get(CONFIG).header("authorization", format!("jwt {token}")).send().await;
        lowercase.assert_status(200);
        let bearer = t.client.get(CONFIG).header("authorization", format!("Bearer {token}")).send().await;
        bearer.assert_status(401);
        assert_eq!(bearer.json(), json!({"detail": "Authentication credentials were not provided."}));
        assert_eq!(bearer.header("www-authenticate"), "JWT realm=\"api\"");
    })
    .await;
}

#[tokio::test]
async fn expired_forged_and_revoked_jwts_are_401() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        let call = |token: String| {
            let client = t.client.clone();
            async move { client.get(CONFIG).header("authorization", format!("JWT {token}")).send().await }
        };
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // alg: none, in a casing jsonwebtoken would not even parse.
        let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
        call(format!("{none_header}.{}.", parts[1])).await.assert_status(401);
        // A tampered payload with the original signature.
        parts[1] = parts[1].replacen('e', "f", 1);
        call(parts.join(".")).await.assert_status(401);
        // A stripped signature.
        let stripped: Vec<&str> = token.split('.').take(2).collect();
        call(format!("{}.", stripped.join("."))).await.assert_status(401);

        // 300 s lifetime, plus the 5 s leeway for clock skew between instances.
        t.fixture.advance(Duration::from_secs(304));
        call(token.clone()).await.assert_status(200);
        t.fixture.advance(Duration::from_secs(1));
        let expired = call(token.clone()).await;
        expired.assert_status(401);
        assert_eq!(expired.json(), json!({"detail": "Signature has expired."}));

        let fresh = login(&t).await;
        t.fixture.services.tokens.revoke_user(t.fixture.ann.id).await.expect("revoked");
        call(fresh).await.assert_status(401);
    })
    .await;
}

#[tokio::test]
async fn the_meta_schema_is_served() {
    on_both_adapters(|t| async move {
        let schema = t.client.get("/api/meldeschein/schema/meta/").send().await;
        schema.assert_status(200);
        let body = schema.json();
        assert_eq!(body["type"], "object");
        let required = body["required"].as_array().expect("required list");
        for field in ["gemeinde", "vermieter", "objekt"] {
            assert!(required.contains(&json!(field)), "{field} is required");
        }
    })
    .await;
}

#[tokio::test]
async fn tokens_of_one_dialect_do_not_open_the_other() {
    on_both_adapters(|t| async move {
        let jwt = login(&t).await;
        let amcr = t
            .client
            .post("/api/token-auth/")
            .json(&json!({"username": "ann", "password": PASSWORD}))
            .send()
            .await;
        let opaque = amcr.json()["token"].as_str().unwrap_or_default().to_owned();
        t.client.secret(&opaque);
        t.client
            .get("/api/uzivatel-info/")
            .header("authorization", format!("Bearer {jwt}"))
            .send()
            .await
            .assert_status(401);
        t.client.get(CONFIG).header("authorization", format!("JWT {opaque}")).send().await.assert_status(401);
    })
    .await;
}

#[tokio::test]
async fn bookings_need_a_valid_granted_meta_object() {
    on_both_adapters(|t| async move {
        let token = login(&t).await;
        let auth = format!("JWT {token}");
        let ok = t
            .client
            .post(BOOKING)
            .header("authorization", auth.clone())
            .json(&json!({"meta": {"gemeinde": 1, "vermieter": 1, "objekt": 3, "description": "x"}, "guests": 2}))
            .send()
            .await;
        ok.assert_status(201);
        assert_eq!(ok.json()["meta"], json!({"gemeinde": 1, "vermieter": 1, "objekt": 3, "description": "x"}));

        let missing = t.client.post(BOOKING).header("authorization", auth.clone()).json(&json!({"guests": 2})).send().await;
        missing.assert_status(400);
        assert_eq!(missing.json(), json!({"meta": ["This field is required."]}));

        let mistyped = t
            .client
            .post(BOOKING)
            .header("authorization", auth.clone())
            .json(&json!({"meta": {"gemeinde": "one", "vermieter": 1, "objekt": 1}, "guests": 2}))
            .send()
            .await;
        mistyped.assert_status(400);
        assert_eq!(mistyped.json(), json!({"meta": {"gemeinde": ["A valid integer is required."]}}));

        let alone = t
            .client
            .post(BOOKING)
            .header("authorization", auth.clone())
            .json(&json!({"meta": {"gemeinde": 1, "vermieter": 1, "objekt": 1}}))
            .send()
            .await;
        alone.assert_status(400);

        let forbidden = t
            .client
            .post(BOOKING)
            .header("authorization", auth.clone())
            .json(&json!({"meta": {"gemeinde": 9, "vermieter": 1, "objekt": 1}, "guests": 2}))
            .send()
            .await;
        forbidden.assert_status(403);

        let xml = t
            .client
            .post(BOOKING)
            .header("authorization", auth)
            .raw(
                "application/xml",
                "<root><meta><gemeinde>2</gemeinde><vermieter>1</vermieter><objekt>1</objekt></meta><guests>1</guests></root>",
            )
            .send()
            .await;
        xml.assert_status(201);

        let anonymous = t.client.post(BOOKING).json(&json!({"meta": {}})).send().await;
        anonymous.assert_status(401);
    })
    .await;
}
