//! Account activation ([`MinisassConfig::require_activation`](super::MinisassConfig::require_activation)):
//! registration creates the account inactive and mails `{activation_link_base}{uid}/{token}/`;
//! `GET activate/{uid}/{token}/` activates it once.

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;

use super::account::{decode_uid, encode_uid, redirect, with_query};
use super::{AUDIENCE, Inner, is_ours, reply};
use crate::api::{ApiError, ApiRequest, HandlerResult, Refusal};
use crate::dialect::{kit, store_error};
use crate::mailer::Message;
use crate::store::{TokenKind, TokenRecord};
use crate::token::OpaqueToken;
use crate::user::{ProfileUpdate, User};

/// The original's answer to a link that does not work.
pub(super) const INVALID_ACTIVATION: &str = "Invalid token or expired";

impl Inner {
    /// Stores a single-use activation token for `user` (only its hash, valid
    /// [`activation_token_lifetime`](super::MinisassConfig::activation_token_lifetime)) and
    /// mails the link to the registered address from a spawned task.
    pub(super) async fn send_activation_link(&self, user: &User) -> Result<(), ApiError> {
        let record = TokenRecord::new(
            TokenKind::Activation,
            user.id,
            AUDIENCE,
            self.services.clock.now(),
            self.config.activation_token_lifetime,
        );
        let token = kit::issue_opaque(&*self.services.tokens, record).await?;
        let Some(to) = user.email.clone() else { return Ok(()) };
        let link = format!("{}{}/{}/", self.config.activation_link_base, encode_uid(user.id), token.as_str());
        let hours = self.config.activation_token_lifetime.as_secs().div_ceil(3600);
        let body = format!(
            "Hello {},\n\nThank you for registering with miniSASS. To activate your account, open this link \
             within {hours} hours:\n\n{link}\n\nThe link works once. If you did not register, ignore this e-mail.\n",
            user.first_name
        );
        self.spawn_mail(
            Message::new(to, self.config.activation_subject.clone(), body),
            user.id,
            "activation",
        );
        Ok(())
    }

    /// `GET activate/{uid}/{token}/`: activates the account once. A working link answers 302 to
    /// `{frontend_url}?activation_complete=true` (the original's home page shows "Your
    /// registration is complete") or, without a frontend URL, 200 `{"message": "Account
    /// activated"}`; any other link 400 `{"error": "Invalid token or expired"}`.
    pub(super) async fn activate(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let invalid =
            || -> Refusal { reply(StatusCode::BAD_REQUEST, &json!({"error": INVALID_ACTIVATION})).into() };
        let uid = request.params.get("uid").and_then(decode_uid);
        let token = request.params.get("token").and_then(|t| OpaqueToken::from_string(t.to_owned()).ok());
        let (Some(uid), Some(token)) = (uid, token) else {
            return Err(invalid());
        };
        let hash = token.hash();
        match self.services.tokens.get(&hash).await.map_err(store_error)? {
            Some(record) if is_ours(&record, TokenKind::Activation) && record.user_id == uid => {}
            _ => return Err(invalid()),
        }
        match self.services.tokens.consume(&hash).await.map_err(store_error)? {
            Some(record) if is_ours(&record, TokenKind::Activation) && record.user_id == uid => {}
            // Used by a concurrent request in the meantime.
            _ => return Err(invalid()),
        }
        let update = ProfileUpdate { is_active: Some(true), ..Default::default() };
        if let Err(error) = self.services.users.update_profile(uid, update).await {
            tracing::error!(user_id = %uid, %error, "minisass: an activation link was used but the account not activated");
            return Err(store_error(error).into());
        }
        tracing::info!(user_id = %uid, "minisass: account activated");
        if let Some(frontend) = &self.config.frontend_url {
            return Ok(redirect(&with_query(frontend, "activation_complete=true"))?.into_response());
        }
        Ok(reply(StatusCode::OK, &json!({"message": "Account activated"})).no_store().into_response())
    }
}
