//! What each miniSASS endpoint says about itself in the OpenAPI document
//! ([`crate::openapi`]): a function per route, named after its handler. A new endpoint gets one
//! here and `.with_doc(docs::<name>())` on its route (see CONTRIBUTING.md).

use http::StatusCode;

use super::BODY_FORMATS;
use super::account::REGISTER_FIELDS;
use crate::dialect::drf;
use crate::openapi::model::schema::Schema;
use crate::openapi::schema::{
    any, any_object, any_of, boolean, constant, field_errors, integer, map_of, object, string, string_list,
    text,
};
use crate::openapi::{Answer, Endpoint};

/// `{"message": "..."}`.
fn message() -> Schema {
    object(&[("message", string())], &[])
}

/// `{"error": "..."}` (the login's and the reset link's 401).
fn error() -> Schema {
    object(&[("error", string())], &[])
}

fn ok(description: &str, body: Schema) -> Answer {
    Answer::new(StatusCode::OK, description).json(body)
}

fn invalid_fields() -> Answer {
    Answer::new(StatusCode::BAD_REQUEST, "Missing or invalid fields (DRF field errors).").json(field_errors())
}

/// A 401 with `body` and `WWW-Authenticate: Bearer realm="api"`.
fn unauthorized(description: &str, body: Schema) -> Answer {
    Answer::new(StatusCode::UNAUTHORIZED, description)
        .json(body)
        .header("WWW-Authenticate", "`Bearer realm=\"api\"`")
}

/// SimpleJWT's `{"detail", "code"}`.
fn simplejwt_error() -> Schema {
    object(&[("detail", string())], &[("code", string())])
}

/// DRF field errors, plus the original's `error` string beside them (registration, password
/// change).
fn field_errors_with_message() -> Schema {
    map_of(any_of([string_list(), any_object(), string()]))
}

/// `Set-Cookie` of the `sessionid` cookie.
const SESSION_COOKIE: &str = "`sessionid=...; HttpOnly; SameSite=Lax; Path=/` (`Secure` unless turned off): the Django session the web app keeps.";

/// A 302 to the web app's page (with [`MinisassConfig::frontend_url`](super::MinisassConfig::frontend_url)).
fn redirect(description: &str) -> Answer {
    Answer::new(StatusCode::FOUND, description)
        .header("Location", "The web app's page, with the link's query parameters.")
}

/// The login's answer and `check-auth-status/`'s: the user with a fresh token pair.
fn signed_in() -> Schema {
    object(
        &[
            ("username", string()),
            ("email", string()),
            ("access_token", string()),
            ("refresh_token", string()),
            ("is_authenticated", constant(true)),
            ("user_id", integer()),
            ("is_admin", boolean()),
            ("is_profile_updated", boolean()),
            ("is_agreed_to_privacy_policy", boolean()),
            ("accepted_privacy_policy_version", any()),
        ],
        &[],
    )
}

/// The `user/update/` answer.
fn profile() -> Schema {
    object(
        &[
            ("user_id", string()),
            ("username", string()),
            ("email", string()),
            ("name", string()),
            ("surname", string()),
            ("organisation_type", any()),
            ("organisation_name", any()),
            ("country", any()),
            ("is_expert", boolean()),
            ("upload_preference", any()),
        ],
        &[],
    )
}

pub(super) fn login() -> Endpoint {
    let body =
        object(&[("password", string())], &[("email", string()), ("usernameForEmailRetrieval", string())]);
    Endpoint::new("Log in by e-mail address (or username)")
        .description("The login name comes from `email`, or from `usernameForEmailRetrieval` when `email` is empty or absent. The answer also opens a cookie session (`sessionid`) in the same session as the tokens.")
        .body(&BODY_FORMATS, body)
        .answer(
            ok("The user's details with an access and a refresh token.", signed_in())
                .header("Set-Cookie", SESSION_COOKIE),
        )
        .answer(invalid_fields())
        .answer(unauthorized("Bad credentials (unknown account, wrong password, deactivated: not told apart).", error()))
        .fails_with(&[StatusCode::TOO_MANY_REQUESTS])
}

pub(super) fn token() -> Endpoint {
    Endpoint::new("Obtain a token pair (SimpleJWT's TokenObtainPairView)")
        .body(&BODY_FORMATS, object(&[("username", text()), ("password", text())], &[]))
        .answer(ok("The token pair.", object(&[("refresh", string()), ("access", string())], &[])))
        .answer(invalid_fields())
        .answer(unauthorized("`No active account found with the given credentials`.", simplejwt_error()))
        .fails_with(&[StatusCode::TOO_MANY_REQUESTS])
}

pub(super) fn refresh() -> Endpoint {
    Endpoint::new("Renew the access token with the refresh token (rotating it)")
        .body(&BODY_FORMATS, object(&[("refresh", text())], &[]))
        .answer(ok(
            "A new access token, and a new refresh token when rotating.",
            object(&[("access", string())], &[("refresh", string())]),
        ))
        .answer(invalid_fields())
        .answer(unauthorized(
            "The refresh token is invalid, expired, already used or revoked.",
            simplejwt_error(),
        ))
}

pub(super) fn check_auth_status() -> Endpoint {
    Endpoint::new("Who is signed in, with a fresh token pair")
        .description("The access token (`Authorization: Bearer`) or, when it is missing, invalid or the web app's `dummy-token`, the `sessionid` cookie of `login/`. A cookie-only request from another site is refused (403).")
        .secured()
        .answer(ok("The user, as `login/` answers, with a new token pair in the same session.", signed_in()))
        .fails_with(&[StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN])
}

pub(super) fn logout() -> Endpoint {
    Endpoint::new("Log out: end the session of the access token and/or of the refresh token")
        .description("The access token in `Authorization: Bearer`, the refresh token as `{\"refresh\"}`; either may be absent: logout always succeeds.")
        .body(&BODY_FORMATS, object(&[], &[("refresh", string())]))
        .optional_body()
        .answer(ok("Logged out (the cookie session too).", message()).header("Set-Cookie", "Clears `sessionid`."))
        .answer(invalid_fields())
        .fails_with(&[StatusCode::FORBIDDEN])
}

pub(super) fn register() -> Endpoint {
    let fields: Vec<(&str, Schema)> = REGISTER_FIELDS.iter().map(|name| (*name, text())).collect();
    let created = drf::user_schema();
    Endpoint::new("Register a user")
        .description("The seed's shape (`username`, `first_name`, `last_name`, ...) or the web form's (`username: \"\"`, `name`, `surname`, `confirmPassword`, `agree`: the e-mail address becomes the username); further fields are saved on the user's profile. With activation on, the account waits for the mailed link.")
        .body(&BODY_FORMATS, object(&[], &fields))
        .answer(Answer::new(StatusCode::CREATED, "The new user.").json(created))
        .answer(
            Answer::new(StatusCode::BAD_REQUEST, "Missing or invalid fields, with the original's `error` message.")
                .json(field_errors_with_message()),
        )
}

pub(super) fn request_reset() -> Endpoint {
    Endpoint::new("Ask for a password-reset link")
        .description("The same answer for every address: nothing tells which accounts exist.")
        .body(&BODY_FORMATS, object(&[("email", text())], &[]))
        .answer(ok("`Password reset email sent`.", message()))
        .answer(invalid_fields())
}

pub(super) fn verify_reset() -> Endpoint {
    Endpoint::new("Check a password-reset link")
        .answer(ok("`Token is valid`.", message()))
        .answer(redirect("With a frontend URL configured: to the web app's reset form, `?uid=..&token=..`."))
        .answer(unauthorized("The link is invalid, expired or used.", error()))
}

pub(super) fn update_reset() -> Endpoint {
    Endpoint::new("Set a new password with a reset link (it works once)")
        .body(&BODY_FORMATS, object(&[("newPassword", text())], &[]))
        .answer(ok("`Password updated successfully`.", message()))
        .answer(invalid_fields())
        .answer(unauthorized("The link is invalid, expired or used.", error()))
}

pub(super) fn user_update() -> Endpoint {
    let changes = object(
        &[],
        &[
            ("email", text()),
            ("name", text()),
            ("surname", text()),
            ("organisation_type", text()),
            ("organisation_name", text()),
            ("country", text()),
            ("upload_preference", text()),
        ],
    );
    Endpoint::new("Read (GET) or change (POST) the signed-in user's profile")
        .description("`user_id`, `username`, `is_expert` and account flags are read-only.")
        .secured()
        .body(&BODY_FORMATS, changes)
        .optional_body()
        .answer(ok("The profile, as stored.", profile()))
        .answer(invalid_fields())
        .fails_with(&[StatusCode::UNAUTHORIZED])
}

pub(super) fn password_update() -> Endpoint {
    let body = object(&[("old_password", text()), ("password", text()), ("confirm_password", text())], &[]);
    Endpoint::new("Change the signed-in user's password")
        .description("Ends every other session of the user; the current one stays.")
        .secured()
        .body(&BODY_FORMATS, body)
        .answer(ok("Changed.", object(&[("status", constant("OK"))], &[])))
        .answer(
            Answer::new(
                StatusCode::BAD_REQUEST,
                "Errors under the field's name (`old_password`, `password`, `confirm_password`).",
            )
            .json(field_errors_with_message()),
        )
        .fails_with(&[StatusCode::UNAUTHORIZED])
}

pub(super) fn activate() -> Endpoint {
    Endpoint::new("Activate a newly registered account (the mailed link; it works once)")
        .answer(ok("`Account activated`.", message()))
        .answer(redirect("With a frontend URL configured: to the web app, `?activation_complete=true`."))
        .answer(Answer::new(StatusCode::BAD_REQUEST, "`Invalid token or expired`.").json(error()))
}

pub(super) fn privacy_check() -> Endpoint {
    let policy = object(
        &[("id", any()), ("version", any()), ("link", any()), ("file", any()), ("published_at", any())],
        &[],
    );
    Endpoint::new("The published privacy policy, and whether the user accepted it")
        .secured()
        .answer(ok(
            "The policy.",
            object(&[("is_agreed_to_privacy_policy", boolean()), ("policy", policy)], &[]),
        ))
        .answer(
            Answer::new(StatusCode::NOT_FOUND, "No privacy policy is published.").json(drf::detail_schema()),
        )
        .fails_with(&[StatusCode::UNAUTHORIZED])
}

pub(super) fn privacy_consent() -> Endpoint {
    let consent = object(
        &[
            ("user", integer()),
            ("policy", any()),
            ("consent_given", boolean()),
            ("consent_date", string()),
            ("ip_address", any()),
        ],
        &[],
    );
    Endpoint::new("Accept (or decline) the published privacy policy")
        .secured()
        .body(&BODY_FORMATS, object(&[], &[("agree", boolean())]))
        .optional_body()
        .answer(Answer::new(StatusCode::CREATED, "The consent recorded.").json(consent))
        .answer(invalid_fields())
        .answer(
            Answer::new(StatusCode::NOT_FOUND, "No privacy policy is published.").json(drf::detail_schema()),
        )
        .fails_with(&[StatusCode::UNAUTHORIZED])
}
