//! The signed-in user's account: `user/update/` (profile), `user/password/update/` (password
//! change), and the privacy policy consent (`/privacy-policy/check/`, `/privacy-policy/consent/`).
//! All need the access token (`Authorization: Bearer`), as the original's `JWTAuthentication`.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::account::{EMAIL_TAKEN, email_field, is_true};
use super::{ACCEPTED_VERSION, Inner, PROFILE_ATTRIBUTE, field_errors, ordered, profile_of, reply};
use crate::api::{ApiError, ApiRequest, HandlerResult, Refusal};
use crate::dialect::drf::{CharRules, FieldErrors, Fields};
use crate::dialect::store_error;
use crate::guard::{Credential, session_of};
use crate::password::Verification;
use crate::password_change::PasswordChangeError;
use crate::store::{ConflictField, StoreError};
use crate::time_format::rfc3339;
use crate::user::{ProfileUpdate, User};

/// The `user/update/` answer's keys, in the original serializer's order.
const PROFILE_ANSWER: [&str; 10] = [
    "user_id",
    "username",
    "email",
    "name",
    "surname",
    "organisation_type",
    "organisation_name",
    "country",
    "is_expert",
    "upload_preference",
];
/// The profile fields `user/update/` may change besides e-mail and names.
const EDITABLE_PROFILE: [&str; 4] =
    ["organisation_type", "organisation_name", "country", "upload_preference"];
/// The original's `upload_preference` default.
const DEFAULT_UPLOAD_PREFERENCE: &str = "wifi";
/// The original's message for a wrong old password.
pub(super) const WRONG_OLD_PASSWORD: &str = "Wrong old password";
/// The original's message for a confirmation that differs.
pub(super) const CONFIRMATION_DIFFERS: &str = "Confirmed password is not same as new password.";
/// The longest profile value accepted.
const MAX_PROFILE_CHARS: usize = 150;

impl Inner {
    /// `GET`/`POST user/update/`: the profile as the clients read it; a `POST` changes e-mail,
    /// name, surname, organisation type and name, country and upload preference (nothing
    /// else: `user_id`, `username` and `is_expert` are read-only).
    pub(super) async fn user_update(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let user = self.gate.require_user(&request.head).await?;
        if request.head.method == Method::GET {
            return Ok(reply(StatusCode::OK, &profile_answer(&user)).no_store().into_response());
        }
        let data = self.decode(&request).await?;
        let mut fields = Fields::new(&data);
        let email = email_field(&mut fields);
        let first_name = self.name(&mut fields, "name");
        let last_name = self.name(&mut fields, "surname");
        let mut profile = profile_of(&user);
        for key in EDITABLE_PROFILE {
            match data.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) if text.trim().chars().count() <= MAX_PROFILE_CHARS => {
                    profile.insert(key.to_owned(), json!(text.trim()));
                }
                Some(Value::String(_)) => {
                    fields.add_error(
                        key,
                        json!([format!(
                            "Ensure this field has no more than {MAX_PROFILE_CHARS} characters."
                        )]),
                    );
                }
                Some(_) => fields.add_error(key, json!([crate::dialect::drf::NOT_A_STRING])),
            }
        }
        fields.finish().map_err(field_errors)?;
        let (Some(email), Some(first_name), Some(last_name)) = (email, first_name, last_name) else {
            return Err(ApiError::Internal.into());
        };
        let mut attributes = Map::new();
        attributes.insert(PROFILE_ATTRIBUTE.to_owned(), Value::Object(profile));
        let update = ProfileUpdate {
            email: Some(Some(email)),
            first_name: Some(first_name),
            last_name: Some(last_name),
            attributes,
            ..Default::default()
        };
        let updated =
            self.services.users.update_profile(user.id, update).await.map_err(|error| match error {
                StoreError::Conflict(ConflictField::Email) => {
                    let mut errors = FieldErrors::new();
                    errors.add("email", EMAIL_TAKEN);
                    field_errors(errors)
                }
                error => Refusal::from(store_error(error)),
            })?;
        Ok(reply(StatusCode::OK, &profile_answer(&updated)).no_store().into_response())
    }

    /// `POST user/password/update/` `{old_password, password, confirm_password}` → 200
    /// `{"status": "OK"}`; field errors under the field's name. The change ends every other
    /// session of the user and keeps the one of the access token
    /// ([`Services::change_password`](crate::services::Services::change_password)).
    pub(super) async fn password_update(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let authenticated = self.gate.authenticate(head).await?;
        let Some(user) = authenticated.user.clone() else {
            return Err(ApiError::Internal.into());
        };
        let keep = match &authenticated.identity.credential {
            Credential::Jwt(claims) => session_of(claims).map(str::to_owned),
            Credential::Opaque { .. } => None,
        };
        let data = self.decode(&request).await?;
        let mut fields = Fields::new(&data);
        let old = fields.char("old_password", CharRules::PASSWORD);
        let new = fields.char("password", CharRules::PASSWORD);
        if let Some(new) = &new
            && let Err(error) = self.services.passwords.policy().check_new(new)
        {
            fields.add_error("password", json!([error.to_string()]));
        }
        let confirmation = fields.char("confirm_password", CharRules::PASSWORD);
        if let (Some(new), Some(confirmation)) = (&new, &confirmation)
            && new != confirmation
        {
            fields.add_error("confirm_password", json!([CONFIRMATION_DIFFERS]));
        }
        if let Err(mut errors) = fields.finish() {
            // Every error at once, as the original: the old password too, when it was given.
            if let Some(old) = &old {
                let verification = self
                    .services
                    .passwords
                    .verify(old, user.password_hash.as_deref())
                    .await
                    .map_err(|error| password_error(error.into()))?;
                if !matches!(verification, Verification::Match { .. }) {
                    errors.add("old_password", WRONG_OLD_PASSWORD);
                }
            }
            return Err(field_errors(errors));
        }
        let (Some(old), Some(new)) = (old, new) else {
            return Err(ApiError::Internal.into());
        };
        let client = self.services.client_ip(head);
        self.services
            .change_password(user.id, &old, &new, keep.as_deref(), client)
            .await
            .map_err(password_error)?;
        Ok(reply(StatusCode::OK, &json!({"status": "OK"})).into_response())
    }

    /// `GET /privacy-policy/check/`: 200 `{"is_agreed_to_privacy_policy", "policy": {"id",
    /// "version", "link", "file", "published_at"}}`; 404 `{"detail": "No privacy policy
    /// available."}` without a configured policy.
    pub(super) async fn privacy_check(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let user = self.gate.require_user(&request.head).await?;
        let Some(policy) = &self.config.privacy_policy else {
            return Err(
                reply(StatusCode::NOT_FOUND, &json!({"detail": "No privacy policy available."})).into()
            );
        };
        let body = json!({
            "is_agreed_to_privacy_policy": super::has_accepted_policy(&user, &self.config),
            "policy": {
                "id": policy.id,
                "version": policy.version,
                "link": policy.link,
                "file": null,
                "published_at": policy.published_at,
            },
        });
        Ok(reply(StatusCode::OK, &body).no_store().into_response())
    }

    /// `POST /privacy-policy/consent/` `{"agree": true|false}` (absent: `false`) → 201
    /// `{"user", "policy", "consent_given", "consent_date", "ip_address"}`: records the answer
    /// for the configured policy version (an agreement counts only for that version); 404
    /// `{"detail": "Privacy policy not found."}` without a configured policy.
    pub(super) async fn privacy_consent(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let user = self.gate.require_user(head).await?;
        let data = if request.body.is_empty() { Map::new() } else { self.decode(&request).await? };
        let agree = match data.get("agree") {
            None => false,
            Some(value @ (Value::Bool(_) | Value::String(_))) if is_boolean(value) => is_true(value),
            Some(_) => {
                let mut errors = FieldErrors::new();
                errors.add("agree", "Must be a valid boolean.");
                return Err(field_errors(errors));
            }
        };
        let Some(policy) = &self.config.privacy_policy else {
            return Err(reply(StatusCode::NOT_FOUND, &json!({"detail": "Privacy policy not found."})).into());
        };
        let mut profile = profile_of(&user);
        let accepted = if agree { json!(policy.version) } else { Value::Null };
        profile.insert(ACCEPTED_VERSION.to_owned(), accepted);
        let mut attributes = Map::new();
        attributes.insert(PROFILE_ATTRIBUTE.to_owned(), Value::Object(profile));
        let update = ProfileUpdate { attributes, ..Default::default() };
        self.services.users.update_profile(user.id, update).await.map_err(store_error)?;
        let client = self.services.client_ip(head);
        let body = json!({
            "user": user.id.0,
            "policy": policy.id,
            "consent_given": agree,
            "consent_date": rfc3339(self.services.clock.now()),
            "ip_address": client.map(|ip| ip.to_string()),
        });
        Ok(reply(StatusCode::CREATED, &body).no_store().into_response())
    }
}

/// The `user/update/` answer for `user`.
fn profile_answer(user: &User) -> Value {
    let profile = profile_of(user);
    let text = |key: &str| profile.get(key).cloned().unwrap_or(Value::Null);
    let mut fields = Map::new();
    fields.insert("user_id".into(), json!(user.id.0.to_string()));
    fields.insert("username".into(), json!(user.username));
    fields.insert("email".into(), json!(user.email.as_deref().unwrap_or_default()));
    fields.insert("name".into(), json!(user.first_name));
    fields.insert("surname".into(), json!(user.last_name));
    for key in ["organisation_type", "organisation_name", "country"] {
        fields.insert(key.into(), text(key));
    }
    fields.insert(
        "is_expert".into(),
        json!(profile.get("is_expert").and_then(Value::as_bool).unwrap_or(false)),
    );
    let preference = profile.get("upload_preference").cloned().unwrap_or(json!(DEFAULT_UPLOAD_PREFERENCE));
    fields.insert("upload_preference".into(), preference);
    ordered(fields, &PROFILE_ANSWER)
}

/// Whether `value` reads as a boolean (DRF's `BooleanField` spellings).
fn is_boolean(value: &Value) -> bool {
    match value {
        Value::Bool(_) => true,
        Value::String(text) => {
            matches!(text.trim().to_ascii_lowercase().as_str(), "true" | "false" | "on" | "off" | "1" | "0")
        }
        _ => false,
    }
}

/// The answer to a refused password change.
fn password_error(error: PasswordChangeError) -> Refusal {
    let field = |name: &str, message: String| {
        let mut errors = FieldErrors::new();
        errors.add(name, message);
        field_errors(errors)
    };
    match error {
        PasswordChangeError::WrongOldPassword => field("old_password", WRONG_OLD_PASSWORD.to_owned()),
        PasswordChangeError::Refused(error) => field("password", error.to_string()),
        PasswordChangeError::NoAccount => {
            ApiError::Rejected(crate::guard::Rejection::Invalid(crate::guard::InvalidToken::InactiveUser))
                .into()
        }
        PasswordChangeError::Busy => ApiError::Busy.into(),
        PasswordChangeError::Hashing(error) => Inner::internal("could not hash a password", &error).into(),
        PasswordChangeError::Store(error) => store_error(error).into(),
    }
}
