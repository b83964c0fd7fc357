//! Hostile tokens, on both adapters: forged and malformed JWTs (alg none, wrong keys, stripped
//! signatures, HS/RS confusion, injected and oversized `kid`, key-fetching headers, time claims,
//! token types and audiences) and opaque tokens carried to the wrong dialect. Every refusal is a
//! 401 with the dialect's challenge, names what was wrong without internals, and stores nothing.
//!
//! Each JWT case starts from a real token and first re-signs it unchanged with the fixture's
//! secret (a control that must pass), so each forgery fails for its own reason, not for a
//! signature the forger could not have made anyway.

use std::time::Duration;

use authmount_conformance::hostile::{
    FIXTURE_JWT_SECRET, Jwt, RSA_PUBLIC_PEM, assert_no_leak, assert_refused_401, assert_users_untouched,
    token_records,
};
use authmount_conformance::{Case, PASSWORD, Response, START, on_both_adapters};
use serde_json::{Value, json};

const MELDESCHEIN_TOKEN: &str = "/api/token/";
const MELDESCHEIN_WHOAMI: &str = "/app/meldeschein/whoami/";
const MELDESCHEIN_CONFIG: &str = "/api/get-config/";
const MINISASS_TOKEN: &str = "/authentication/api/token/";
const MINISASS_REFRESH: &str = "/authentication/api/refresh/";
const MINISASS_STATUS: &str = "/authentication/api/check-auth-status/";
const MINISASS_WHOAMI: &str = "/app/minisass/whoami";

/// A Meldeschein JWT for ann, by logging in (Meldeschein stores nothing for it).
async fn meldeschein_token(t: &Case) -> String {
    let response =
        t.client.post(MELDESCHEIN_TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let token = response.json()["token"].as_str().expect("a token").to_owned();
    t.client.secret(&token);
    token
}

/// A miniSASS pair for ann: (access, refresh). Stores one session record.
async fn minisass_pair(t: &Case) -> (String, String) {
    let response =
        t.client.post(MINISASS_TOKEN).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    let body = response.json();
    let access = body["access"].as_str().expect("access").to_owned();
    let refresh = body["refresh"].as_str().expect("refresh").to_owned();
    t.client.secret(&access);
    t.client.secret(&refresh);
    (access, refresh)
}

async fn at_meldeschein(t: &Case, token: &str) -> Response {
    t.client.get(MELDESCHEIN_WHOAMI).header("authorization", format!("JWT {token}")).send().await
}

async fn at_minisass(t: &Case, token: &str) -> Response {
    t.client.get(MINISASS_STATUS).header("authorization", format!("Bearer {token}")).send().await
}

/// `token` as a bearer token at miniSASS' gate (the app route it protects).
async fn at_minisass_gate(t: &Case, token: &str) -> Response {
    t.client.get(MINISASS_WHOAMI).header("authorization", format!("Bearer {token}")).send().await
}

/// A Meldeschein refusal: 401, `WWW-Authenticate: JWT realm="api"`, `{"detail": ...}`.
#[track_caller]
fn meldeschein_refused(response: &Response) -> String {
    assert_refused_401(response);
    assert_eq!(response.header("www-authenticate"), "JWT realm=\"api\"");
    let body = response.json();
    let detail = body["detail"].as_str().expect("a detail").to_owned();
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only the detail: {body}");
    detail
}

/// A miniSASS refusal of an access token: SimpleJWT's `token_not_valid` shape.
#[track_caller]
fn minisass_refused(response: &Response) {
    minisass_refused_as(response, "Token is invalid or expired");
}

/// The same, with SimpleJWT's `message` for the access-token class ("Token has wrong type" for a
/// refresh token).
#[track_caller]
fn minisass_refused_as(response: &Response, message: &str) {
    assert_refused_401(response);
    assert_eq!(response.header("www-authenticate"), "Bearer realm=\"api\"");
    assert_eq!(
        response.json(),
        json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
        })
    );
}

/// Refuses `token` at both Meldeschein routes with the same detail; returns it.
async fn refused_by_meldeschein(t: &Case, token: &str) -> String {
    let detail = meldeschein_refused(&at_meldeschein(t, token).await);
    let config =
        t.client.get(MELDESCHEIN_CONFIG).header("authorization", format!("JWT {token}")).send().await;
    assert_eq!(meldeschein_refused(&config), detail);
    detail
}

/// The control: the real token re-signed unchanged with the fixture's secret is accepted.
async fn control(t: &Case, token: &str) -> Jwt {
    let jwt = Jwt::parse(token).expect("a JWT");
    let resigned = jwt.signed(FIXTURE_JWT_SECRET);
    assert_eq!(resigned, token, "the fixture signs with FIXTURE_JWT_SECRET and compact JSON");
    at_meldeschein(t, &resigned).await.assert_status(200);
    jwt
}

#[tokio::test]
async fn alg_none_in_every_casing_is_refused() {
    on_both_adapters(|t| async move {
        let token = meldeschein_token(&t).await;
        let jwt = control(&t, &token).await;
        let signature = token.rsplit('.').next().unwrap_or_default().to_owned();
        for alg in ["none", "None", "NONE", "nOnE"] {
            let forged = jwt.with_header("alg", alg);
            for variant in [forged.unsigned(), forged.message(), format!("{}.{signature}", forged.message())]
            {
                let detail = refused_by_meldeschein(&t, &variant).await;
                assert_eq!(detail, "Error decoding signature.", "{alg}");
            }
            // Without `kid` (the key the ring would pick by default) too.
            let bare = Jwt::new(json!({"alg": alg, "typ": "JWT"}), jwt.payload.clone());
            refused_by_meldeschein(&t, &bare.unsigned()).await;
        }
        // miniSASS' case-sensitive Bearer route.
        let (access, _) = minisass_pair(&t).await;
        let minisass = Jwt::parse(&access).expect("a JWT");
        for alg in ["none", "None", "NONE", "nOnE"] {
            minisass_refused(&at_minisass(&t, &minisass.with_header("alg", alg).unsigned()).await);
        }
        // The control goes to the gate-protected route: check-auth-status, which hands out a
        // fresh token pair (a stored refresh record), would change the count below.
        at_minisass_gate(&t, &access).await.assert_status(200);
        assert_users_untouched(&t.fixture).await;
        assert_eq!(token_records(&t.fixture).await, 2, "only the sessions of the two logins");
    })
    .await;
}

#[tokio::test]
async fn wrong_key_stripped_signature_and_hs_rs_confusion_are_refused() {
    on_both_adapters(|t| async move {
        let token = meldeschein_token(&t).await;
        let jwt = control(&t, &token).await;
        let message = jwt.message();
        let wrong_key = jwt.signed(b"another-secret-of-thirty-two-bytes!!");
        let hs_rs = jwt.signed(RSA_PUBLIC_PEM);
        let rs_header_hs_signed = jwt.with_header("alg", "RS256").signed(RSA_PUBLIC_PEM);
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        for (forged, want) in [
            (wrong_key, "Error decoding signature."),
            (hs_rs, "Error decoding signature."),
            (rs_header_hs_signed, "Error decoding signature."),
            (flipped, "Error decoding signature."),
            (format!("{message}."), "Error decoding signature."),
            (message.clone(), "Error decoding signature."),
            (format!("{message}.{}", "A".repeat(43)), "Error decoding signature."),
            (format!("{message}.!!!notbase64!!!"), "Error decoding signature."),
            (format!("{message}.sig.extra"), "Error decoding signature."),
            ("not-a-jwt".to_owned(), "Error decoding signature."),
            ("e30.e30.".to_owned(), "Error decoding signature."),
            ("..".to_owned(), "Error decoding signature."),
        ] {
            t.client.secret(&forged);
            assert_eq!(refused_by_meldeschein(&t, &forged).await, want, "{forged}");
        }
        // The payload is never read before the signature checks out: a forged payload with the
        // real signature is refused as a bad signature, not as "user 999 unknown".
        let signature = token.rsplit('.').next().unwrap_or_default();
        let elevated = jwt.with_claim("user_id", 999).with_claim("is_admin", true);
        refused_by_meldeschein(&t, &format!("{}.{signature}", elevated.message())).await;
        assert_users_untouched(&t.fixture).await;
        assert_eq!(token_records(&t.fixture).await, 1, "only the session of the login");
    })
    .await;
}

#[tokio::test]
async fn injected_oversized_and_unknown_kids_are_refused() {
    on_both_adapters(|t| async move {
        let token = meldeschein_token(&t).await;
        let jwt = control(&t, &token).await;
        for kid in [
            json!("../../etc/passwd"),
            json!("' OR 1=1 --"),
            json!("k1\u{0000}"),
            json!("k2"),
            json!(""),
            json!("k".repeat(257)),
            json!(42),
        ] {
            let forged = jwt.with_header("kid", kid.clone()).signed(FIXTURE_JWT_SECRET);
            t.client.secret(&forged);
            let response = at_meldeschein(&t, &forged).await;
            assert_eq!(response.status, 401, "kid {kid}");
            meldeschein_refused(&response);
            assert!(!response.text().contains("passwd") && !response.text().contains("OR 1=1"), "{kid}");
        }
        // `kid: null` is read as no `kid` (the ring's current key): with the real signature that
        // is the real token, so it passes.
        let null_kid = jwt.with_header("kid", json!(null)).signed(FIXTURE_JWT_SECRET);
        t.client.secret(&null_kid);
        at_meldeschein(&t, &null_kid).await.assert_status(200);
        // A kid past 8 KiB makes the whole header too long for the carrier.
        let huge = jwt.with_header("kid", "k".repeat(9 * 1024)).signed(FIXTURE_JWT_SECRET);
        t.client.secret(&huge);
        assert_eq!(
            meldeschein_refused(&at_meldeschein(&t, &huge).await),
            "Invalid token header. Token string is too long."
        );
        // So does a payload padded past 8 KiB, validly signed.
        let padded = jwt.with_claim("padding", "p".repeat(9 * 1024)).signed(FIXTURE_JWT_SECRET);
        t.client.secret(&padded);
        meldeschein_refused(&at_meldeschein(&t, &padded).await);
        assert_users_untouched(&t.fixture).await;
        assert_eq!(token_records(&t.fixture).await, 1, "only the session of the login");
    })
    .await;
}

#[tokio::test]
async fn key_fetching_and_critical_headers_are_refused() {
    on_both_adapters(|t| async move {
        let token = meldeschein_token(&t).await;
        let jwt = control(&t, &token).await;
        let jwk = json!({"kty": "oct", "k": "YXR0YWNrZXI"});
        for (name, value) in [
            ("jku", json!("https://evil.example/jwks.json")),
            ("jwk", jwk),
            ("x5u", json!("https://evil.example/cert.pem")),
            ("x5c", json!(["MIIB"])),
            ("crit", json!(["exp"])),
            ("jku", Value::Null),
            ("typ", json!("at+jwt")),
        ] {
            let forged = jwt.with_header(name, value).signed(FIXTURE_JWT_SECRET);
            t.client.secret(&forged);
            let response = at_meldeschein(&t, &forged).await;
            meldeschein_refused(&response);
            assert!(!response.text().contains("evil.example"), "{name}");
        }
        assert_eq!(token_records(&t.fixture).await, 1, "only the session of the login");
    })
    .await;
}

#[tokio::test]
async fn expired_not_yet_valid_and_mistyped_time_claims_are_refused() {
    on_both_adapters(|t| async move {
        let token = meldeschein_token(&t).await;
        let jwt = control(&t, &token).await;
        let expired = "Signature has expired.";
        for (forged, want) in [
            (jwt.with_claim("exp", START - 60), Some(expired)),
            // Just past the 5 s leeway.
            (jwt.with_claim("exp", START - 5), Some(expired)),
            (jwt.with_claim("nbf", START + 3600), None),
            (jwt.with_claim("iat", START + 3600), None),
            (jwt.with_claim("exp", "9999999999"), None),
            (jwt.with_claim("exp", 9.9e12), None),
            (jwt.with_claim("exp", json!(null)), None),
            (jwt.without_claim("exp"), None),
            (jwt.with_claim("user_id", "1"), None),
            (jwt.with_claim("token_type", "ACCESS"), None),
        ] {
            let signed = forged.signed(FIXTURE_JWT_SECRET);
            t.client.secret(&signed);
            assert_eq!(at_meldeschein(&t, &signed).await.status, 401, "{}", forged.payload);
            let detail = refused_by_meldeschein(&t, &signed).await;
            if let Some(want) = want {
                assert_eq!(detail, want, "{}", forged.payload);
            } else {
                assert_ne!(detail, expired, "{}", forged.payload);
            }
        }
        // The real token, once its own `exp` (plus leeway) has passed.
        t.fixture.advance(Duration::from_secs(3 * 86_400));
        assert_eq!(refused_by_meldeschein(&t, &token).await, expired);
        assert_eq!(token_records(&t.fixture).await, 1, "only the session of the login");
    })
    .await;
}

#[tokio::test]
async fn refresh_and_access_tokens_are_not_interchangeable() {
    on_both_adapters(|t| async move {
        let (access, refresh) = minisass_pair(&t).await;
        minisass_refused_as(&at_minisass(&t, &refresh).await, "Token has wrong type");
        let whoami =
            t.client.get(MINISASS_WHOAMI).header("authorization", format!("Bearer {refresh}")).send().await;
        minisass_refused_as(&whoami, "Token has wrong type");
        let as_refresh = t.client.post(MINISASS_REFRESH).json(&json!({ "refresh": access })).send().await;
        assert_refused_401(&as_refresh);
        assert_eq!(as_refresh.json(), json!({"detail": "Token has wrong type", "code": "token_not_valid"}));
        // Re-typing the refresh token as an access token needs the secret: refused.
        let retyped = Jwt::parse(&refresh).expect("a JWT").with_claim("token_type", "access");
        let signature = refresh.rsplit('.').next().unwrap_or_default();
        minisass_refused(&at_minisass(&t, &format!("{}.{signature}", retyped.message())).await);
        // Both still work for what they are.
        // The control goes to the gate-protected route: check-auth-status, which hands out a
        // fresh token pair (a stored refresh record), would change the count below.
        at_minisass_gate(&t, &access).await.assert_status(200);
        let rotated = t.client.post(MINISASS_REFRESH).json(&json!({ "refresh": refresh })).send().await;
        rotated.assert_status(200);
        for key in ["access", "refresh"] {
            t.client.secret(rotated.json()[key].as_str().unwrap_or_default());
        }
        assert_users_untouched(&t.fixture).await;
    })
    .await;
}

#[tokio::test]
async fn tokens_for_another_audience_are_refused() {
    on_both_adapters(|t| async move {
        let meldeschein = meldeschein_token(&t).await;
        let (access, refresh) = minisass_pair(&t).await;
        // Same key ring, different audience: each dialect refuses the other's tokens.
        minisass_refused(&at_minisass(&t, &meldeschein).await);
        let whoami = t
            .client
            .get(MINISASS_WHOAMI)
            .header("authorization", format!("Bearer {meldeschein}"))
            .send()
            .await;
        minisass_refused(&whoami);
        let as_refresh =
            t.client.post(MINISASS_REFRESH).json(&json!({ "refresh": meldeschein })).send().await;
        assert_refused_401(&as_refresh);
        for token in [&access, &refresh] {
            refused_by_meldeschein(&t, token).await;
        }
        // A Meldeschein token without `aud`, or with a list, is not any dialect's.
        let jwt = control(&t, &meldeschein).await;
        for forged in [jwt.without_claim("aud"), jwt.with_claim("aud", json!(["meldeschein", "minisass"]))] {
            let signed = forged.signed(FIXTURE_JWT_SECRET);
            t.client.secret(&signed);
            refused_by_meldeschein(&t, &signed).await;
            minisass_refused(&at_minisass(&t, &signed).await);
        }
        // The control goes to the gate-protected route: check-auth-status, which hands out a
        // fresh token pair (a stored refresh record), would change the count below.
        at_minisass_gate(&t, &access).await.assert_status(200);
        assert_eq!(token_records(&t.fixture).await, 2, "only the sessions of the two logins");
    })
    .await;
}

#[tokio::test]
async fn opaque_tokens_are_refused_by_other_dialects_and_when_made_up() {
    on_both_adapters(|t| async move {
        let amcr = t
            .client
            .post("/api/token-auth/")
            .json(&json!({"username": "ann", "password": PASSWORD}))
            .send()
            .await;
        amcr.assert_status(200);
        let amcr = amcr.json()["token"].as_str().expect("token").to_owned();
        t.client.secret(&amcr);
        let oz = t
            .client
            .post("/api/authorize/auth")
            .json(&json!({"credentials": {"email": "ann@example.org", "password": PASSWORD}}))
            .send()
            .await;
        oz.assert_status(200);
        let oz_body = oz.json();
        let oz_access = oz_body["access_token"].as_str().expect("access").to_owned();
        t.client.secret(&oz_access);
        t.client.secret(oz_body["expire_token"].as_str().unwrap_or_default());
        t.client.secret(&oz_body["session_id"].to_string());
        let at_amcr = |token: String| {
            let client = t.client.clone();
            async move {
                client
                    .get("/api/uzivatel-info/")
                    .header("authorization", format!("Bearer {token}"))
                    .send()
                    .await
            }
        };
        let at_oz = |token: String| {
            let client = t.client.clone();
            async move { client.get("/app/oz/whoami").header("x-forensic-access-token", token).send().await }
        };
        let at_amcr_refused = at_amcr(oz_access.clone()).await;
        assert_refused_401(&at_amcr_refused);
        assert_eq!(at_amcr_refused.json(), json!({"detail": "Invalid token."}));
        let at_oz_refused = at_oz(amcr.clone()).await;
        assert_refused_401(&at_oz_refused);
        assert_eq!(at_oz_refused.json()["error_code"], 7);
        // Made-up values: near misses of a real token, SQL, paths, a JWT.
        let mut near = amcr.clone().into_bytes();
        near[0] = if near[0] == b'a' { b'b' } else { b'a' };
        let near = String::from_utf8(near).expect("ascii");
        let jwt = meldeschein_token(&t).await;
        for forged in
            [near, "' OR 1=1 --".replace(' ', ""), "../../etc/passwd".to_owned(), jwt, "0".to_owned()]
        {
            let response = at_amcr(forged.clone()).await;
            assert_refused_401(&response);
            assert_eq!(response.json(), json!({"detail": "Invalid token."}), "{forged}");
            assert_refused_401(&at_oz(forged).await);
        }
        at_amcr(amcr).await.assert_status(200);
        at_oz(oz_access).await.assert_status(200);
        assert_users_untouched(&t.fixture).await;
    })
    .await;
}

#[tokio::test]
async fn every_refusal_leaks_nothing_even_for_garbage() {
    on_both_adapters(|t| async move {
        for garbage in ["\u{1}", "%00", "eyJ", "eyJhbGciOiJub25lIn0", "a.b.c.d.e", "%F0%9F%A6%80.x.y"] {
            let response = t
                .client
                .get(MELDESCHEIN_WHOAMI)
                .header("authorization", format!("JWT {}", garbage.replace('\u{1}', "\t")))
                .send()
                .await;
            assert_no_leak(&response);
            assert_eq!(response.status, 401, "{garbage}");
            let garbage = garbage.replace('\u{1}', "\t");
            let response = t
                .client
                .get(MINISASS_STATUS)
                .header("authorization", format!("Bearer {garbage}"))
                .send()
                .await;
            assert_no_leak(&response);
            assert_eq!(response.status, 401, "{garbage}");
        }
        assert_eq!(token_records(&t.fixture).await, 0);
    })
    .await;
}
