//! Register, request-reset, verify-password-reset and update-password-reset.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Map, Value, json};

use http::HeaderValue;
use http::header::LOCATION;

use super::{ACCEPTED_VERSION, AUDIENCE, Inner, PROFILE_ATTRIBUTE, field_errors, is_ours, reply};
use crate::api::{ApiError, ApiRequest, HandlerResult, Refusal, Reply};
use crate::audit::AuthEvent;
use crate::dialect::drf::{CharRules, FieldErrors, Fields};
use crate::dialect::{kit, store_error};
use crate::login_name::normalize_login;
use crate::mailer::Message;
use crate::password::PasswordError;
use crate::store::{ConflictField, StoreError, TokenKind, TokenRecord};
use crate::token::{OpaqueToken, TokenHash};
use crate::user::{NewUser, User, UserId};

/// Django's message for an invalid e-mail address.
pub(super) const INVALID_EMAIL: &str = "Enter a valid email address.";
/// Django's message for an invalid username.
pub(super) const INVALID_USERNAME: &str =
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
/// Django's message for a taken username.
pub(super) const USERNAME_TAKEN: &str = "A user with that username already exists.";
/// The message for a taken e-mail address.
pub(super) const EMAIL_TAKEN: &str = "A user with that email already exists.";
/// The original's `error` for a registration with a taken e-mail address.
pub(super) const EMAIL_REGISTERED: &str = "This email is already registered.";
/// The error for an address that cannot be the username (the web form's shape), as it must.
pub(super) const EMAIL_NOT_A_USERNAME: &str = "This email address cannot be used as a username: use at most 150 letters, numbers and @/./+/-/_ characters.";
/// The answer to every reset request.
pub(super) const RESET_SENT: &str = "Password reset email sent";

/// The registration fields, by their request names.
pub(super) const REGISTER_FIELDS: [&str; 12] = [
    "username",
    "first_name",
    "last_name",
    "name",
    "surname",
    "confirmPassword",
    "agree",
    "email",
    "password",
    "organizationType",
    "organizationName",
    "country",
];
/// Fields a registration may never set, whatever the profile holds (mass assignment), and the
/// profile flag only the server sets.
const PRIVILEGED_FIELDS: [&str; 18] = [
    "id",
    "pk",
    "user_id",
    "is_admin",
    "is_superuser",
    "is_staff",
    "is_active",
    "groups",
    "user_permissions",
    "password_hash",
    "last_login",
    "date_joined",
    "is_profile_updated",
    "csrfmiddlewaretoken",
    ACCEPTED_VERSION,
    "is_agreed_to_privacy_policy",
    "is_expert",
    "expert_approval_status",
];
/// Django's `max_length` of username and names.
const MAX_NAME_CHARS: usize = 150;
/// The longest e-mail address (RFC 5321 path limit, Django's `EmailField`).
const MAX_EMAIL_CHARS: usize = 254;

impl Inner {
    /// `POST register/`, in both shapes the clients send: the Android app's (and the seed's)
    /// `username, first_name, last_name, ...`, and the web app's `username: "", name, surname,
    /// ..., confirmPassword, agree`.
    pub(super) async fn register(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let data = self.decode(&request).await?;
        let mut fields = Fields::new(&data);
        // The web form sends `username: ""`: the original then uses the e-mail address.
        let username_is_blank =
            data.get("username").and_then(Value::as_str).is_some_and(|u| u.trim().is_empty());
        let username = if username_is_blank { None } else { fields.char("username", CharRules::TRIMMED) };
        if let Some(username) = &username {
            if username.chars().count() > MAX_NAME_CHARS {
                fields.add_error("username", json!([too_long(MAX_NAME_CHARS)]));
            } else if !is_valid_username(username) {
                fields.add_error("username", json!([INVALID_USERNAME]));
            }
        }
        let first_name = self.name(&mut fields, name_field(&data, "first_name", "name"));
        let last_name = self.name(&mut fields, name_field(&data, "last_name", "surname"));
        let email = email_field(&mut fields);
        let password = fields.char("password", CharRules::PASSWORD);
        if let Some(password) = &password
            && let Err(error) = self.services.passwords.policy().check_new(password)
        {
            fields.add_error("password", json!([error.to_string()]));
        }
        let organisation_type = fields.char("organizationType", CharRules::TRIMMED);
        let organisation_name = fields.char("organizationName", CharRules::TRIMMED);
        let country = fields.char("country", CharRules::TRIMMED);
        // The address becomes the username: it must make a valid one, as in the original.
        if username_is_blank
            && let Some(email) = &email
            && (email.chars().count() > MAX_NAME_CHARS || !is_valid_username(email))
        {
            fields.add_error("email", json!([EMAIL_NOT_A_USERNAME]));
        }
        fields.finish().map_err(registration_refused)?;
        let username = match (username, &email) {
            (Some(username), _) => Some(username),
            (None, Some(email)) if username_is_blank => Some(email.clone()),
            (None, _) => None,
        };
        let (
            Some(username),
            Some(first_name),
            Some(last_name),
            Some(email),
            Some(password),
            Some(organisation_type),
            Some(organisation_name),
            Some(country),
        ) = (username, first_name, last_name, email, password, organisation_type, organisation_name, country)
        else {
            return Err(ApiError::Internal.into());
        };

        // The profile: the documented fields, then the free ones, never a privileged one nor
        // anything about a password.
        let mut profile = Map::new();
        for (key, value) in &data {
            let reserved = REGISTER_FIELDS.contains(&key.as_str())
                || PRIVILEGED_FIELDS.iter().any(|p| p.eq_ignore_ascii_case(key))
                || key.to_ascii_lowercase().contains("password");
            if !reserved {
                profile.insert(key.clone(), value.clone());
            }
        }
        profile.insert("organisation_type".into(), json!(organisation_type));
        profile.insert("organisation_name".into(), json!(organisation_name));
        profile.insert("country".into(), json!(country));
        // The web form's `agree`: consent to the policy in force (the original's
        // `create_privacy_policy_consent` at registration).
        if let Some(policy) = &self.config.privacy_policy
            && data.get("agree").is_some_and(is_true)
        {
            profile.insert(ACCEPTED_VERSION.into(), json!(policy.version));
        }

        let hash = self.hash_new_password(&password, "password").await?;
        let new = NewUser::new(username, self.services.clock.now())
            .with_email(email)
            .with_names(first_name, last_name)
            .with_password_hash(hash)
            .with_attribute(PROFILE_ATTRIBUTE, Value::Object(profile));
        let new = NewUser { is_active: !self.config.require_activation, ..new };
        let user = self.services.users.create(new).await.map_err(|error| match error {
            StoreError::Conflict(field) => {
                let mut errors = FieldErrors::new();
                match field {
                    // The username was the e-mail address (the web form's shape): it is the
                    // address that is taken.
                    ConflictField::Email | ConflictField::Username if username_is_blank => {
                        errors.add("email", EMAIL_TAKEN);
                    }
                    ConflictField::Email => errors.add("email", EMAIL_TAKEN),
                    ConflictField::Username | ConflictField::Token => errors.add("username", USERNAME_TAKEN),
                }
                registration_refused(errors)
            }
            error => store_error(error).into(),
        })?;
        if self.config.require_activation {
            self.send_activation_link(&user).await?;
        }
        let body = json!({
            "id": user.id.0,
            "username": user.username,
            "email": user.email.as_deref().unwrap_or_default(),
            "first_name": user.first_name,
            "last_name": user.last_name,
        });
        Ok(reply(StatusCode::CREATED, &body).no_store().into_response())
    }

    /// The argon2id hash of a new `password`: 400 field errors under `field` when the policy
    /// refuses it, 503 when the hasher is busy.
    async fn hash_new_password(&self, password: &str, field: &str) -> Result<String, Refusal> {
        match self.services.passwords.hash_new_password(password).await {
            Ok(hash) => Ok(hash),
            Err(error) if error.is_policy_violation() => {
                let mut errors = FieldErrors::new();
                errors.add(field, error.to_string());
                Err(field_errors(errors))
            }
            Err(PasswordError::Busy) => Err(ApiError::Busy.into()),
            Err(error) => Err(Self::internal("could not hash a password", &error).into()),
        }
    }

    /// A required name of at most 150 characters (`name` is the field it is read from).
    pub(super) fn name(&self, fields: &mut Fields<'_>, name: &str) -> Option<String> {
        let value = fields.char(name, CharRules::TRIMMED)?;
        if value.chars().count() > MAX_NAME_CHARS {
            fields.add_error(name, json!([too_long(MAX_NAME_CHARS)]));
            return None;
        }
        Some(value)
    }

    /// `POST request-reset`: the same answer whatever the address; a link for a known one.
    pub(super) async fn request_reset(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let data = self.decode(&request).await?;
        let mut fields = Fields::new(&data);
        let email = email_field(&mut fields);
        fields.finish().map_err(field_errors)?;
        let email = email.ok_or(ApiError::Internal)?;
        let user = self.services.users.find_by_login(&email).await.map_err(store_error)?;
        // Only the address itself finds the account (not its username), and only an active one.
        let wanted = normalize_login(&email);
        let user = user.filter(|user| {
            user.is_active && user.email.as_deref().is_some_and(|stored| normalize_login(stored) == wanted)
        });
        let token = kit::new_opaque_token()?;
        let stored = match &user {
            Some(user) => {
                let record = TokenRecord::new(
                    TokenKind::PasswordReset,
                    user.id,
                    AUDIENCE,
                    self.services.clock.now(),
                    self.config.reset_token_lifetime,
                );
                self.services.tokens.put(token.hash(), record).await
            }
            // The same kind of store round trip for an unknown address, so timing tells nothing.
            None => self.services.tokens.get(&token.hash()).await.map(drop),
        };
        stored.map_err(store_error)?;
        let client = self.services.client_ip(head);
        self.services.audit(AuthEvent::ResetRequested { user_id: user.as_ref().map(|user| user.id), client });
        if let Some(user) = user {
            self.send_reset_link(&user, &token);
        }
        Ok(reply(StatusCode::OK, &json!({"message": RESET_SENT})).into_response())
    }

    /// Mails the reset link to `user`'s stored address from a spawned task: the answer waits
    /// for no mail server, and a failure is logged (without the body) instead of changing it.
    fn send_reset_link(&self, user: &User, token: &OpaqueToken) {
        let Some(to) = user.email.clone() else { return };
        let link = format!("{}{}/{}/", self.config.reset_link_base, encode_uid(user.id), token.as_str());
        let minutes = self.config.reset_token_lifetime.as_secs().div_ceil(60);
        let body = format!(
            "Hello {},\n\nSomeone asked to reset the password of your miniSASS account. To choose a new \
             password, open this link within {minutes} minutes:\n\n{link}\n\nThe link works once. If you did \
             not ask for this, ignore this e-mail: your password stays as it is.\n",
            user.username
        );
        self.spawn_mail(Message::new(to, self.config.reset_subject.clone(), body), user.id, "password-reset");
    }

    /// Sends `message` (the `what` e-mail of `user_id`) from a spawned task: the answer waits for
    /// no mail server, and a failure is logged (without the body) instead of changing it.
    pub(super) fn spawn_mail(&self, message: Message, user_id: UserId, what: &'static str) {
        let mailer = self.mailer.clone();
        let send = async move {
            if let Err(error) = mailer.send(message).await {
                tracing::warn!(%user_id, %error, "minisass: could not send the {what} e-mail");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(send)),
            Err(_) => tracing::error!(%user_id, "minisass: no Tokio runtime to send the {what} e-mail"),
        }
    }

    /// `GET verify-password-reset/{uid}/{token}/`: 200 while the link works; it is not used up.
    pub(super) async fn verify_reset(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        self.live_reset(&request).await?;
        if let Some(frontend) = &self.config.frontend_url {
            // The original redirects to its home page, whose MainPage opens the reset form from
            // `uid` and `token`. Both are base64url (checked by `live_reset`): no escaping needed.
            let uid = request.params.get("uid").unwrap_or_default();
            let token = request.params.get("token").unwrap_or_default();
            return Ok(redirect(&with_query(frontend, &format!("uid={uid}&token={token}")))?.into_response());
        }
        Ok(reply(StatusCode::OK, &json!({"message": "Token is valid"})).no_store().into_response())
    }

    /// `POST update-password-reset/{uid}/{token}/`: checks the link and the new password, then
    /// consumes the link, stores the new hash and ends every session of the user.
    pub(super) async fn update_reset(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let (hash, user_id) = self.live_reset(&request).await?;
        let password = self.decode_char(&request, "newPassword", CharRules::PASSWORD).await?;
        // The policy before the link is used up: a refused password leaves the link working.
        let new_hash = self.hash_new_password(&password, "newPassword").await?;
        let record = match self.services.tokens.consume(&hash).await.map_err(store_error)? {
            Some(record) if is_ours(&record, TokenKind::PasswordReset) && record.user_id == user_id => record,
            // Used by a concurrent request in the meantime.
            _ => return Err(self.reset_unauthorized(head)),
        };
        if let Err(error) = self.services.users.set_password_hash(user_id, &new_hash).await {
            // Nothing changed: give the link back so the user can try again.
            if let Err(put) = self.services.tokens.put(hash, record).await {
                tracing::warn!(error = %put, "minisass: could not restore a reset token");
            }
            return Err(store_error(error).into());
        }
        if let Err(error) = self.services.tokens.revoke_user(user_id).await {
            tracing::error!(%user_id, %error, "minisass: password reset, but the user's sessions were not revoked");
            return Err(store_error(error).into());
        }
        tracing::info!(%user_id, "minisass: password reset; every session of the user is revoked");
        // The owner proved control of the account: lift its lockouts. The password is already
        // changed, so a counter store failure here is logged, not answered.
        match self.services.users.get(user_id).await {
            Ok(Some(user)) => {
                if let Err(error) = self.services.lockout().clear_user(&user).await {
                    tracing::warn!(%user_id, %error, "minisass: could not clear the lockout after a reset");
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%user_id, %error, "minisass: could not clear the lockout after a reset")
            }
        }
        self.services.audit(AuthEvent::ResetCompleted { user_id, client: self.services.client_ip(head) });
        Ok(reply(StatusCode::OK, &json!({"message": "Password updated successfully"})).into_response())
    }

    /// The reset link of the request, if it works: the token's hash and its user; else 401
    /// `{"error": "Unauthorized"}`. A link works while its token is stored (single use, not
    /// expired), is a miniSASS reset token, belongs to the `uid` of the path, and that user is
    /// active.
    async fn live_reset(&self, request: &ApiRequest) -> Result<(TokenHash, UserId), Refusal> {
        let unauthorized = || self.reset_unauthorized(&request.head);
        let uid = request.params.get("uid").and_then(decode_uid);
        let token = request.params.get("token").and_then(|t| OpaqueToken::from_string(t.to_owned()).ok());
        let (Some(uid), Some(token)) = (uid, token) else {
            return Err(unauthorized());
        };
        let hash = token.hash();
        let record = self.services.tokens.get(&hash).await.map_err(store_error)?;
        if !record.is_some_and(|r| is_ours(&r, TokenKind::PasswordReset) && r.user_id == uid) {
            return Err(unauthorized());
        }
        match self.services.users.get(uid).await.map_err(store_error)? {
            Some(user) if user.is_active => Ok((hash, uid)),
            _ => Err(unauthorized()),
        }
    }

    fn reset_unauthorized(&self, head: &http::request::Parts) -> Refusal {
        self.unauthorized(&json!({"error": "Unauthorized"}), head).into()
    }
}

/// A 302 to `location` (no caching: it carries a live link's token).
pub(super) fn redirect(location: &str) -> Result<Reply, ApiError> {
    let location = HeaderValue::from_str(location).map_err(|_| ApiError::Internal)?;
    Ok(Reply::empty(StatusCode::FOUND).header(LOCATION, location).no_store())
}

/// `url` with `query` appended (after `?`, or `&` when it has a query already).
pub(super) fn with_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// The field a required name is read from: `primary` (the seed's and the Android app's) when
/// the body has it, else `alias` (the web app's `name`/`surname`) when it has that.
fn name_field<'k>(data: &Map<String, Value>, primary: &'k str, alias: &'k str) -> &'k str {
    if !data.contains_key(primary) && data.contains_key(alias) { alias } else { primary }
}

/// A truthy form or JSON value: `true`, or `"true"`/`"on"`/`"1"` as forms send it.
pub(super) fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::String(text) => matches!(text.trim().to_ascii_lowercase().as_str(), "true" | "on" | "1"),
        _ => false,
    }
}

/// A refused registration: 400 with the field errors, plus the `error` string the web app
/// shows (it reads nothing else): the original's "This email is already registered." for a
/// taken address, else the first field's first message, prefixed with the field.
fn registration_refused(errors: FieldErrors) -> Refusal {
    let mut value = errors.into_value();
    let error = match value.as_object().and_then(|errors| errors.iter().next()) {
        Some((field, messages)) => {
            let message = messages.get(0).and_then(Value::as_str).unwrap_or_default();
            if field == "email" && message == EMAIL_TAKEN {
                EMAIL_REGISTERED.to_owned()
            } else {
                format!("{field}: {message}")
            }
        }
        None => String::new(),
    };
    if let Some(object) = value.as_object_mut() {
        object.insert("error".into(), json!(error));
    }
    reply(StatusCode::BAD_REQUEST, &value).into()
}

/// Django's `urlsafe_base64_encode(force_bytes(pk))`: `MQ` for 1.
///
/// ```text
/// 1 -> "MQ", 42 -> "NDI"
/// ```
pub(super) fn encode_uid(id: UserId) -> String {
    URL_SAFE_NO_PAD.encode(id.0.to_string())
}

/// The user id in a link's `uid`, as Django's `urlsafe_base64_decode` reads it (padding
/// optional); `None` for anything else.
pub(super) fn decode_uid(uid: &str) -> Option<UserId> {
    let bytes = URL_SAFE_NO_PAD.decode(uid.trim_end_matches('=')).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().map(UserId)
}

fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// Django's username rule: letters, digits and `@ . + - _`.
fn is_valid_username(username: &str) -> bool {
    !username.is_empty() && username.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
}

/// The required `email` field: a valid address, or `None` with the error recorded.
pub(super) fn email_field(fields: &mut Fields<'_>) -> Option<String> {
    let email = fields.char("email", CharRules::TRIMMED)?;
    if is_valid_email(&email) {
        Some(email)
    } else {
        fields.add_error("email", json!([INVALID_EMAIL]));
        None
    }
}

/// Django's `EmailValidator`, without quoted local parts and address literals: a dot-atom local
/// part, `@`, and a domain of at least two labels (letters, digits, hyphens; not at either end
/// of a label) whose last label is letters or punycode.
pub(super) fn is_valid_email(email: &str) -> bool {
    if email.chars().count() > MAX_EMAIL_CHARS {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    let local_ok = !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty() && atom.chars().all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.chars().count())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let top_ok = labels.last().is_some_and(|top| {
        (top.chars().count() >= 2 && top.chars().all(char::is_alphabetic))
            || (top.starts_with("xn--") && top.len() > 4)
    });
    local_ok && domain_ok && top_ok
}
