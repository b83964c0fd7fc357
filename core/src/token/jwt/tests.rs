//! Behaviour of [`JwtService`]: round trips, rotation, and every rejection.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::key::test_keys::*;
use super::*;
use crate::clock::ManualClock;
use crate::user::UserId;

const NOW: i64 = 1_700_000_000;
const TTL: Duration = Duration::from_secs(300);

fn rs_key() -> JwtKey {
    static KEY: OnceLock<JwtKey> = OnceLock::new();
    KEY.get_or_init(|| JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC).unwrap()).clone()
}

fn ed_key() -> JwtKey {
    JwtKey::eddsa_pem(ED_PRIVATE, ED_PUBLIC).unwrap()
}

/// A service whose current key is HS256 `hs`, with EdDSA `ed` and RS256 `rs` for verification.
fn service() -> (JwtService, ManualClock) {
    let ring = KeyRing::new("hs", JwtKey::hs256(SECRET).unwrap())
        .unwrap()
        .with_verification_key("ed", ed_key())
        .unwrap()
        .with_verification_key("rs", rs_key())
        .unwrap();
    service_with(ring)
}

fn service_with(ring: KeyRing) -> (JwtService, ManualClock) {
    let clock = ManualClock::at_unix(NOW);
    (JwtService::new(ring, Arc::new(clock.clone())), clock)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn valid_payload() -> Value {
    json!({"user_id": 7, "token_type": "access", "jti": "j1", "iat": NOW, "exp": NOW + 300})
}

fn hs_header() -> Value {
    json!({"typ": "JWT", "alg": "HS256", "kid": "hs"})
}

/// `header.payload.signature` with an HS256 signature over the encoded segments by `secret`.
fn forge_hs(header: &str, payload: &str, secret: &[u8]) -> String {
    let message = format!("{header}.{payload}");
    let key = EncodingKey::from_secret(secret).unwrap();
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{message}.{signature}")
}

/// A correctly HS256-signed token (key `hs`) with this header and payload.
fn signed(header: &Value, payload: &Value) -> String {
    forge_hs(&b64(header), &b64(payload), SECRET)
}

fn verify(token: &str) -> Result<Claims, JwtError> {
    service().0.verify(token, TokenType::Access)
}

// ---- round trips ------------------------------------------------------------------------------

fn round_trip(ring: KeyRing) {
    let (jwt, _clock) = service_with(ring);
    let claims = jwt
        .new_claims(UserId(7), TokenType::Access, TTL)
        .unwrap()
        .with_claim("username", "ann")
        .with_claim("email", "ann@example.org")
        .with_claim("orig_iat", NOW);
    let token = jwt.sign(&claims).unwrap();
    assert_eq!(jwt.verify(&token, TokenType::Access).unwrap(), claims);
}

#[test]
fn hs256_signs_and_verifies() {
    round_trip(KeyRing::new("hs", JwtKey::hs256(SECRET).unwrap()).unwrap());
}

#[test]
fn eddsa_signs_and_verifies() {
    round_trip(KeyRing::new("ed", ed_key()).unwrap());
}

#[test]
fn rs256_signs_and_verifies() {
    round_trip(KeyRing::new("rs", rs_key()).unwrap());
}

#[test]
fn the_header_names_type_algorithm_and_kid() {
    for (kid, key, alg) in [
        ("ed", ed_key(), "EdDSA"),
        ("rs", rs_key(), "RS256"),
        ("hs", JwtKey::hs256(SECRET).unwrap(), "HS256"),
    ] {
        let (jwt, _) = service_with(KeyRing::new(kid, key).unwrap());
        let token = jwt.sign(&jwt.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();
        let header_b64 = token.split('.').next().unwrap();
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
        assert_eq!(header, json!({"typ": "JWT", "alg": alg, "kid": kid}));
    }
}

#[test]
fn new_claims_read_the_injected_clock_and_settings() {
    let (jwt, clock) = service();
    let jwt = jwt.with_audience("api").with_issuer("me");
    clock.advance(Duration::from_secs(10));
    let claims = jwt.new_claims(UserId(3), TokenType::Refresh, TTL).unwrap();
    assert_eq!((claims.issued_at, claims.expires_at), (NOW + 10, NOW + 310));
    assert_eq!(claims.audience.as_deref(), Some("api"));
    assert_eq!(claims.issuer.as_deref(), Some("me"));
    assert_eq!(claims.jti.len(), 22);
}

#[test]
fn time_comes_from_the_injected_clock_not_the_system() {
    // A token that expired in 2001 by the system clock is valid on a clock standing in 2000.
    let clock = ManualClock::at_unix(946_684_800);
    let jwt =
        JwtService::new(KeyRing::new("hs", JwtKey::hs256(SECRET).unwrap()).unwrap(), Arc::new(clock.clone()));
    let claims = jwt.new_claims(UserId(1), TokenType::Access, Duration::from_secs(86_400)).unwrap();
    let token = jwt.sign(&claims).unwrap();
    assert_eq!(jwt.verify(&token, TokenType::Access).unwrap(), claims);
}

#[test]
fn a_hand_made_token_with_the_documented_claims_verifies() {
    let claims = verify(&signed(&hs_header(), &valid_payload())).unwrap();
    assert_eq!(claims.user_id, UserId(7));
    assert_eq!(claims.jti, "j1");
    assert!(claims.extra.is_empty());
}

#[test]
fn a_token_without_kid_is_checked_against_the_current_key() {
    let token = signed(&json!({"alg": "HS256"}), &valid_payload());
    assert!(verify(&token).is_ok());
    // ... and only the current one: an EdDSA token without kid meets the HS256 current key.
    let (ed_jwt, _) = service_with(KeyRing::new("ed", ed_key()).unwrap());
    let claims = ed_jwt.new_claims(UserId(1), TokenType::Access, TTL).unwrap();
    let ed_token = ed_jwt.sign(&claims).unwrap();
    let mut parts: Vec<String> = ed_token.split('.').map(str::to_owned).collect();
    parts[0] = b64(&json!({"typ": "JWT", "alg": "EdDSA"}));
    assert_eq!(verify(&parts.join(".")), Err(JwtError::AlgorithmMismatch { expected: JwtAlgorithm::Hs256 }));
}

#[test]
fn rotation_keeps_retired_keys_verifiable() {
    let old_secret = b"the previous secret, 32 bytes long";
    let (old, _) = service_with(KeyRing::new("2024", JwtKey::hs256(old_secret).unwrap()).unwrap());
    let old_token = old.sign(&old.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();

    let ring = KeyRing::new("2025", JwtKey::hs256(SECRET).unwrap())
        .unwrap()
        .with_verification_key("2024", JwtKey::hs256(old_secret).unwrap())
        .unwrap();
    let (new, _) = service_with(ring);
    assert!(new.verify(&old_token, TokenType::Access).is_ok());
    let new_token = new.sign(&new.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();
    let header_b64 = new_token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
    assert_eq!(header["kid"], "2025");
    // Once retired keys are dropped, their tokens are unknown.
    let (newest, _) = service_with(KeyRing::new("2025", JwtKey::hs256(SECRET).unwrap()).unwrap());
    assert_eq!(newest.verify(&old_token, TokenType::Access), Err(JwtError::UnknownKid));
}

#[test]
fn eddsa_and_rs256_verification_keys_in_a_ring_verify() {
    for (kid, key) in [("ed", ed_key()), ("rs", rs_key())] {
        let (signer, _) = service_with(KeyRing::new(kid, key).unwrap());
        let claims = signer.new_claims(UserId(2), TokenType::Refresh, TTL).unwrap();
        let token = signer.sign(&claims).unwrap();
        assert_eq!(service().0.verify(&token, TokenType::Refresh).unwrap(), claims);
    }
}

// ---- rejections: header -----------------------------------------------------------------------

#[test]
fn alg_none_is_rejected_in_every_casing() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({"typ": "JWT", "alg": alg}));
        let payload = b64(&valid_payload());
        assert_eq!(verify(&format!("{header}.{payload}.")), Err(JwtError::AlgNone), "{alg}");
        assert_eq!(verify(&format!("{header}.{payload}")), Err(JwtError::AlgNone), "{alg}");
        // Even with a kid and a (meaningless) signature.
        let with_kid = b64(&json!({"alg": alg, "kid": "hs"}));
        assert_eq!(verify(&forge_hs(&with_kid, &payload, SECRET)), Err(JwtError::AlgNone));
    }
}

#[test]
fn another_algorithm_than_the_keys_is_rejected() {
    let token = signed(&json!({"alg": "HS256", "kid": "ed"}), &valid_payload());
    assert_eq!(verify(&token), Err(JwtError::AlgorithmMismatch { expected: JwtAlgorithm::EdDsa }));
}

#[test]
fn hs_rs_confusion_is_rejected() {
    // The classic attack: HMAC-sign with the RSA *public* key (which is public) as the secret.
    let header = b64(&json!({"typ": "JWT", "alg": "HS256", "kid": "rs"}));
    let token = forge_hs(&header, &b64(&valid_payload()), RSA_PUBLIC);
    assert_eq!(verify(&token), Err(JwtError::AlgorithmMismatch { expected: JwtAlgorithm::Rs256 }));
    // Also where the RS256 key is the current one and the token has no kid.
    let (jwt, _) = service_with(KeyRing::new("rs", rs_key()).unwrap());
    let header = b64(&json!({"alg": "HS256"}));
    let token = forge_hs(&header, &b64(&valid_payload()), RSA_PUBLIC);
    assert_eq!(
        jwt.verify(&token, TokenType::Access),
        Err(JwtError::AlgorithmMismatch { expected: JwtAlgorithm::Rs256 })
    );
}

#[test]
fn a_sibling_or_differently_cased_algorithm_is_rejected() {
    for alg in ["HS512", "HS384", "hs256", "RS256", "ES256", "PS256", ""] {
        let token = signed(&json!({"alg": alg, "kid": "hs"}), &valid_payload());
        assert_eq!(
            verify(&token),
            Err(JwtError::AlgorithmMismatch { expected: JwtAlgorithm::Hs256 }),
            "{alg}"
        );
    }
}

#[test]
fn an_unknown_kid_is_rejected() {
    let token = signed(&json!({"alg": "HS256", "kid": "nope"}), &valid_payload());
    assert_eq!(verify(&token), Err(JwtError::UnknownKid));
}

#[test]
fn an_oversized_kid_is_rejected() {
    let token = signed(&json!({"alg": "HS256", "kid": "k".repeat(257)}), &valid_payload());
    assert_eq!(verify(&token), Err(JwtError::KidTooLong));
}

#[test]
fn a_path_in_the_kid_is_rejected() {
    let token = signed(&json!({"alg": "HS256", "kid": "../../etc/passwd"}), &valid_payload());
    assert_eq!(verify(&token), Err(JwtError::InvalidKid));
}

#[test]
fn sql_in_the_kid_is_rejected() {
    for kid in ["hs' OR '1'='1", "x'; DROP TABLE keys; --", "hs\u{0}", "hs\n"] {
        let token = signed(&json!({"alg": "HS256", "kid": kid}), &valid_payload());
        assert_eq!(verify(&token), Err(JwtError::InvalidKid), "{kid:?}");
    }
}

#[test]
fn key_carrying_header_parameters_are_rejected() {
    let cases = [
        ("jku", json!("https://evil.example/jwks.json")),
        ("jwk", json!({"kty": "oct", "k": "AAAA"})),
        ("x5u", json!("https://evil.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
    ];
    for (name, value) in cases {
        let mut header = hs_header();
        header[name] = value;
        assert_eq!(verify(&signed(&header, &valid_payload())), Err(JwtError::ForbiddenHeader(name)));
        // Present at all is enough, even null.
        header[name] = Value::Null;
        assert_eq!(verify(&signed(&header, &valid_payload())), Err(JwtError::ForbiddenHeader(name)));
    }
}

#[test]
fn an_unexpected_typ_is_rejected() {
    let mut header = hs_header();
    header["typ"] = json!("at+jwt");
    assert_eq!(verify(&signed(&header, &valid_payload())), Err(JwtError::UnexpectedTyp));
}

// ---- rejections: signature --------------------------------------------------------------------

#[test]
fn a_signature_by_another_secret_is_rejected() {
    let token = forge_hs(&b64(&hs_header()), &b64(&valid_payload()), b"another secret, 32 bytes or more");
    assert_eq!(verify(&token), Err(JwtError::BadSignature));
}

#[test]
fn an_eddsa_signature_by_another_key_is_rejected() {
    let ring = KeyRing::new("hs", JwtKey::hs256(SECRET).unwrap())
        .unwrap()
        .with_verification_key("ed", JwtKey::eddsa_public_pem(ED_OTHER_PUBLIC).unwrap())
        .unwrap();
    let (signer, _) = service_with(KeyRing::new("ed", ed_key()).unwrap());
    let token = signer.sign(&signer.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();
    assert_eq!(service_with(ring).0.verify(&token, TokenType::Access), Err(JwtError::BadSignature));
}

#[test]
fn a_stripped_signature_is_rejected() {
    let token = signed(&hs_header(), &valid_payload());
    let (message, _) = token.rsplit_once('.').unwrap();
    assert_eq!(verify(&format!("{message}.")), Err(JwtError::MissingSignature));
    assert_eq!(verify(message), Err(JwtError::MissingSignature));
}

#[test]
fn a_garbage_signature_is_rejected() {
    let token = signed(&hs_header(), &valid_payload());
    let (message, _) = token.rsplit_once('.').unwrap();
    assert_eq!(verify(&format!("{message}.AAAA")), Err(JwtError::BadSignature));
}

#[test]
fn a_tampered_payload_is_rejected() {
    let token = signed(&hs_header(), &valid_payload());
    let signature = token.rsplit('.').next().unwrap();
    let mut payload = valid_payload();
    payload["user_id"] = json!(1);
    let tampered = format!("{}.{}.{signature}", b64(&hs_header()), b64(&payload));
    assert_eq!(verify(&tampered), Err(JwtError::BadSignature));
}

#[test]
fn a_tampered_header_is_rejected() {
    let token = signed(&hs_header(), &valid_payload());
    let (_, rest) = token.split_once('.').unwrap();
    let mut header = hs_header();
    header["cty"] = json!("JWT");
    assert_eq!(verify(&format!("{}.{rest}", b64(&header))), Err(JwtError::BadSignature));
}

#[test]
fn an_rs256_signature_by_another_key_is_rejected() {
    // An EdDSA-signed token relabelled as RS256 for the `rs` key.
    let (signer, _) = service_with(KeyRing::new("ed", ed_key()).unwrap());
    let token = signer.sign(&signer.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();
    let (_, rest) = token.split_once('.').unwrap();
    let header = b64(&json!({"alg": "RS256", "kid": "rs"}));
    assert_eq!(verify(&format!("{header}.{rest}")), Err(JwtError::BadSignature));
}

// ---- rejections: shape ------------------------------------------------------------------------

#[test]
fn too_few_or_too_many_segments_are_malformed() {
    let token = signed(&hs_header(), &valid_payload());
    for bad in ["", "abc", &format!("{token}.x"), &format!("{token}.")] {
        assert_eq!(verify(bad), Err(JwtError::Malformed(Malformed::Segments)), "{bad:?}");
    }
}

#[test]
fn bad_base64_is_malformed() {
    let token = signed(&hs_header(), &valid_payload());
    let (_, rest) = token.split_once('.').unwrap();
    assert_eq!(verify(&format!("!!!.{rest}")), Err(JwtError::Malformed(Malformed::Base64)));
    // Padding is not part of JWT base64.
    assert_eq!(
        verify(&format!("{}=.{rest}", b64(&hs_header()))),
        Err(JwtError::Malformed(Malformed::Base64))
    );
    // A signed payload that is not base64.
    assert_eq!(
        verify(&forge_hs(&b64(&hs_header()), "@@@", SECRET)),
        Err(JwtError::Malformed(Malformed::Base64))
    );
}

#[test]
fn a_header_that_is_not_json_is_malformed() {
    for header in
        ["not json", "[]", "{\"kid\":\"hs\"}", "{\"alg\":256}", "{\"alg\":\"HS256\",\"alg\":\"HS256\"}"]
    {
        let header = URL_SAFE_NO_PAD.encode(header);
        let token = forge_hs(&header, &b64(&valid_payload()), SECRET);
        assert_eq!(verify(&token), Err(JwtError::Malformed(Malformed::Header)), "{header}");
    }
}

#[test]
fn a_signed_payload_that_is_not_a_json_object_is_malformed() {
    for payload in ["not json", "[1]", "42"] {
        let token = forge_hs(&b64(&hs_header()), &URL_SAFE_NO_PAD.encode(payload), SECRET);
        assert_eq!(verify(&token), Err(JwtError::Malformed(Malformed::Payload)), "{payload}");
    }
}

#[test]
fn an_oversized_token_is_rejected_before_parsing() {
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(verify(&huge), Err(JwtError::TooLarge { max: MAX_TOKEN_LEN }));
    // A valid token padded past the limit with a large claim.
    let mut payload = valid_payload();
    payload["pad"] = json!("x".repeat(MAX_TOKEN_LEN));
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::TooLarge { max: MAX_TOKEN_LEN }));
    // Just under the limit is parsed.
    payload["pad"] = json!("x".repeat(5_000));
    assert!(verify(&signed(&hs_header(), &payload)).is_ok());
}

// ---- rejections: claims -----------------------------------------------------------------------

#[test]
fn a_string_exp_is_rejected() {
    let mut payload = valid_payload();
    payload["exp"] = json!((NOW + 300).to_string());
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::InvalidExp));
}

#[test]
fn a_fractional_or_null_exp_is_rejected() {
    for exp in [json!(1.7e9 + 0.5), Value::Null, json!(true), json!([NOW + 300])] {
        let mut payload = valid_payload();
        payload["exp"] = exp;
        assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::InvalidExp));
    }
}

#[test]
fn a_missing_exp_is_rejected() {
    let mut payload = valid_payload();
    payload.as_object_mut().unwrap().remove("exp");
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::MissingExp));
}

#[test]
fn missing_or_mistyped_claims_are_rejected() {
    for (name, value) in [
        ("user_id", None),
        ("user_id", Some(json!("7"))),
        ("token_type", None),
        ("token_type", Some(json!("id"))),
        ("jti", None),
        ("iat", None),
        ("iat", Some(json!("now"))),
        ("nbf", Some(json!("later"))),
        ("aud", Some(json!(["api"]))),
        ("iss", Some(json!(1))),
    ] {
        let mut payload = valid_payload();
        match value {
            Some(value) => payload[name] = value,
            None => drop(payload.as_object_mut().unwrap().remove(name)),
        }
        assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::InvalidClaims), "{name}");
    }
}

#[test]
fn a_duplicated_claim_is_rejected() {
    let payload = format!(
        r#"{{"user_id":7,"user_id":1,"token_type":"access","jti":"j","iat":{NOW},"exp":{}}}"#,
        NOW + 300
    );
    let token = forge_hs(&b64(&hs_header()), &URL_SAFE_NO_PAD.encode(payload), SECRET);
    assert_eq!(verify(&token), Err(JwtError::InvalidClaims));
}

#[test]
fn an_expired_token_is_rejected_beyond_the_leeway() {
    let (jwt, clock) = service();
    let jwt = jwt.with_leeway(Duration::from_secs(2)).unwrap();
    let token = signed(&hs_header(), &valid_payload());
    clock.advance(Duration::from_secs(301)); // 1 s past exp: inside the leeway
    assert!(jwt.verify(&token, TokenType::Access).is_ok());
    clock.advance(Duration::from_secs(1)); // exp + 2 s
    assert_eq!(jwt.verify(&token, TokenType::Access), Err(JwtError::Expired));
}

#[test]
fn a_token_is_invalid_from_its_exp_second_without_leeway() {
    let (jwt, clock) = service();
    let jwt = jwt.with_leeway(Duration::ZERO).unwrap();
    let token = signed(&hs_header(), &valid_payload());
    clock.advance(Duration::from_secs(299));
    assert!(jwt.verify(&token, TokenType::Access).is_ok());
    clock.advance(Duration::from_secs(1));
    assert_eq!(jwt.verify(&token, TokenType::Access), Err(JwtError::Expired));
}

#[test]
fn a_future_nbf_is_rejected_beyond_the_leeway() {
    let (jwt, _) = service();
    let jwt = jwt.with_leeway(Duration::from_secs(3)).unwrap();
    let mut payload = valid_payload();
    payload["nbf"] = json!(NOW + 3);
    assert!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access).is_ok());
    payload["nbf"] = json!(NOW + 4);
    assert_eq!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access), Err(JwtError::NotYetValid));
}

#[test]
fn a_future_iat_is_rejected_beyond_the_leeway() {
    let mut payload = valid_payload();
    payload["iat"] = json!(NOW + 60);
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::NotYetValid));
}

#[test]
fn a_huge_exp_does_not_overflow() {
    let mut payload = valid_payload();
    payload["exp"] = json!(i64::MAX);
    assert!(verify(&signed(&hs_header(), &payload)).is_ok());
    payload["exp"] = json!(i64::MIN);
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::Expired));
    payload["exp"] = json!(u64::MAX);
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::InvalidExp));
}

#[test]
fn a_refresh_token_is_not_an_access_token() {
    let (jwt, _) = service();
    let token = jwt.sign(&jwt.new_claims(UserId(1), TokenType::Refresh, TTL).unwrap()).unwrap();
    assert_eq!(
        jwt.verify(&token, TokenType::Access),
        Err(JwtError::WrongTokenType { expected: TokenType::Access, found: TokenType::Refresh })
    );
}

#[test]
fn an_access_token_is_not_a_refresh_token() {
    let (jwt, _) = service();
    let token = jwt.sign(&jwt.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();
    assert_eq!(
        jwt.verify(&token, TokenType::Refresh),
        Err(JwtError::WrongTokenType { expected: TokenType::Refresh, found: TokenType::Access })
    );
}

#[test]
fn a_wrong_audience_is_rejected() {
    let (jwt, _) = service();
    let jwt = jwt.with_audience("api");
    let mut payload = valid_payload();
    payload["aud"] = json!("other");
    assert_eq!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access), Err(JwtError::WrongAudience));
    payload["aud"] = json!("api");
    assert!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access).is_ok());
}

#[test]
fn a_missing_audience_is_rejected_when_one_is_expected() {
    let (jwt, _) = service();
    let jwt = jwt.with_audience("api");
    assert_eq!(
        jwt.verify(&signed(&hs_header(), &valid_payload()), TokenType::Access),
        Err(JwtError::WrongAudience)
    );
}

#[test]
fn an_audience_is_rejected_when_none_is_expected() {
    let mut payload = valid_payload();
    payload["aud"] = json!("api");
    assert_eq!(verify(&signed(&hs_header(), &payload)), Err(JwtError::WrongAudience));
}

#[test]
fn a_wrong_or_missing_issuer_is_rejected() {
    let (jwt, _) = service();
    let jwt = jwt.with_issuer("authmount");
    let mut payload = valid_payload();
    assert_eq!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access), Err(JwtError::WrongIssuer));
    payload["iss"] = json!("evil");
    assert_eq!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access), Err(JwtError::WrongIssuer));
    payload["iss"] = json!("authmount");
    assert!(jwt.verify(&signed(&hs_header(), &payload), TokenType::Access).is_ok());
}

#[test]
fn any_issuer_is_accepted_when_none_is_expected() {
    let mut payload = valid_payload();
    payload["iss"] = json!("someone");
    assert!(verify(&signed(&hs_header(), &payload)).is_ok());
}

// ---- configuration and signing ----------------------------------------------------------------

#[test]
fn leeway_above_five_seconds_is_a_configuration_error() {
    let (jwt, _) = service();
    assert_eq!(jwt.leeway(), DEFAULT_LEEWAY);
    assert!(DEFAULT_LEEWAY <= Duration::from_secs(5));
    assert_eq!(
        jwt.clone().with_leeway(Duration::from_millis(5_001)).unwrap_err(),
        KeyError::LeewayTooLarge { max_seconds: 5 }
    );
    assert_eq!(jwt.with_leeway(Duration::from_secs(5)).unwrap().leeway(), Duration::from_secs(5));
}

#[test]
fn signing_refuses_registered_names_in_extra() {
    let (jwt, _) = service();
    for name in REGISTERED_CLAIMS {
        let claims = jwt.new_claims(UserId(1), TokenType::Access, TTL).unwrap().with_claim(name, 1);
        assert_eq!(jwt.sign(&claims), Err(JwtError::ReservedClaim(name.to_owned())));
    }
}

#[test]
fn error_messages_never_contain_the_token() {
    let (jwt, clock) = service();
    let token = jwt.sign(&jwt.new_claims(UserId(1), TokenType::Access, TTL).unwrap()).unwrap();
    let signature = token.rsplit('.').next().unwrap().to_owned();
    let errors = [
        jwt.verify(&token, TokenType::Refresh).unwrap_err(),
        jwt.verify(&format!("{token}x"), TokenType::Access).unwrap_err(),
        jwt.verify(&token[1..], TokenType::Access).unwrap_err(),
        {
            clock.advance(Duration::from_secs(3_600));
            jwt.verify(&token, TokenType::Access).unwrap_err()
        },
    ];
    for error in errors {
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(&signature) && !shown.contains(&token[..20]), "{shown}");
    }
}

#[test]
fn the_service_never_shows_keys_in_debug() {
    let shown = format!("{:?}", service().0);
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
}

// ---- fuzzing ----------------------------------------------------------------------------------

fn segment() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic_and_never_verify(input in any::<String>()) {
        prop_assert!(verify(&input).is_err());
    }

    #[test]
    fn arbitrary_jwt_shaped_strings_never_verify(
        header in segment(),
        payload in segment(),
        signature in segment(),
        alg in prop::sample::select(vec!["HS256", "EdDSA", "RS256", "none", "HS512"]),
        kid in prop::option::of(prop::sample::select(vec!["hs", "ed", "rs", "x"])),
    ) {
        prop_assert!(verify(&[header, payload, signature.clone()].join(".")).is_err());
        let mut json_header = json!({"alg": alg});
        if let Some(kid) = kid {
            json_header["kid"] = json!(kid);
        }
        let token = [b64(&json_header), b64(&valid_payload()), signature].join(".");
        prop_assert!(verify(&token).is_err());
    }
}
