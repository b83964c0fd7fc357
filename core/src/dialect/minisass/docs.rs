//! What each miniSASS endpoint says about itself in the OpenAPI document
//! ([`crate::openapi`]): a function per route, named after its handler. A new endpoint gets one
//! here and `.with_doc(docs::<name>())` on its route (see CONTRIBUTING.md).

use http::StatusCode;

use super::BODY_FORMATS;
use super::account::REGISTER_FIELDS;
use crate::openapi::model::schema::Schema;
use crate::openapi::schema::{any, boolean, constant, field_errors, integer, object, string, text};
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

pub(super) fn login() -> Endpoint {
    let body =
        object(&[("password", string())], &[("email", string()), ("usernameForEmailRetrieval", string())]);
    let user = object(
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
    );
    Endpoint::new("Log in by e-mail address (or username)")
        .description("The login name comes from `email`, or from `usernameForEmailRetrieval` when `email` is empty or absent.")
        .body(&BODY_FORMATS, body)
        .answer(ok("The user's details with an access and a refresh token.", user))
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
    let status = object(
        &[
            ("is_authenticated", constant(true)),
            ("user_id", integer()),
            ("username", string()),
            ("email", string()),
            ("is_admin", boolean()),
        ],
        &[],
    );
    Endpoint::new("Who the access token belongs to")
        .secured()
        .answer(ok("The user and their profile.", status))
        .fails_with(&[StatusCode::UNAUTHORIZED])
}

pub(super) fn logout() -> Endpoint {
    Endpoint::new("Log out: end the session of the access token and/or of the refresh token")
        .description("The access token in `Authorization: Bearer`, the refresh token as `{\"refresh\"}`; either may be absent: logout always succeeds.")
        .body(&BODY_FORMATS, object(&[], &[("refresh", string())]))
        .optional_body()
        .answer(ok("Logged out.", message()))
        .answer(invalid_fields())
}

pub(super) fn register() -> Endpoint {
    let fields: Vec<(&str, Schema)> = REGISTER_FIELDS.iter().map(|name| (*name, text())).collect();
    let created = object(
        &[
            ("id", integer()),
            ("username", string()),
            ("email", string()),
            ("first_name", string()),
            ("last_name", string()),
        ],
        &[],
    );
    Endpoint::new("Register a user")
        .description("Every field below is required; further fields are saved on the user's profile.")
        .body(&BODY_FORMATS, object(&fields, &[]))
        .answer(Answer::new(StatusCode::CREATED, "The new user.").json(created))
        .answer(invalid_fields())
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
        .answer(unauthorized("The link is invalid, expired or used.", error()))
}

pub(super) fn update_reset() -> Endpoint {
    Endpoint::new("Set a new password with a reset link (it works once)")
        .body(&BODY_FORMATS, object(&[("newPassword", text())], &[]))
        .answer(ok("`Password updated successfully`.", message()))
        .answer(invalid_fields())
        .answer(unauthorized("The link is invalid, expired or used.", error()))
}
