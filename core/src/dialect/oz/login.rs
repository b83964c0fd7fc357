//! `POST /api/authorize/auth`: the login, superseding a session the client presents.

use std::sync::Arc;

use http::request::Parts;

use super::validation::Failure;
use super::verifier::marker_key;
use super::{AUDIENCE, DeviceInfo, Inner};
use crate::api::{ApiError, ApiRequest, HandlerResult, Refusal};
use crate::carrier::Found;
use crate::codec::BodyFormat;
use crate::dialect::kit::{self, BadLogin};
use crate::dialect::store_error;
use crate::store::{StoreError, TokenKind};
use crate::token::TokenHash;
use crate::user::User;

impl Inner {
    pub(super) async fn auth(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let body = request.decode(&[BodyFormat::Json]).await?.fields;
        let credentials = Self::credentials(&body)?;
        let bad = |why| match why {
            BadLogin::Inactive if self.config.inactive_is_forbidden => {
                Refusal::Shaped(self.renderer.inactive())
            }
            BadLogin::Invalid | BadLogin::Inactive => Failure::invalid_token("Invalid credentials").into(),
        };
        let user = kit::log_in(&self.services, head, &credentials.login, &credentials.password, bad).await?;
        let previous = self.presented_session(head, &user).await?;
        let device = credentials.device.unwrap_or_else(|| DeviceInfo::from_headers(&head.headers));
        let session = self.open_session(&user, &device).await?;
        let old_access_token = match previous {
            None => None,
            Some((token, family)) => {
                if let Err(error) = self.end_session(family.as_deref(), &token).await {
                    self.rollback(&session.family).await;
                    return Err(store_error(error).into());
                }
                Some(token)
            }
        };
        Ok(self.session_response(&user, &session, &device, old_access_token))
    }

    /// The live Oz access token of `user` presented with a login, and its session.
    async fn presented_session(
        &self,
        head: &Parts,
        user: &User,
    ) -> Result<Option<(String, Option<String>)>, ApiError> {
        let Found::Token(token) = self.carrier.find(head) else { return Ok(None) };
        let record = self.services.tokens.get(&TokenHash::of(&token)).await.map_err(store_error)?;
        Ok(record
            .filter(|r| r.kind == TokenKind::Access && r.audience == AUDIENCE && r.user_id == user.id)
            .map(|r| (token.into_owned(), r.family)))
    }

    /// Ends the session of a superseded access token.
    async fn end_session(&self, family: Option<&str>, token: &str) -> Result<(), StoreError> {
        match family {
            Some(family) => self.services.tokens.revoke_family(family).await.map(drop),
            None => {
                let hash = TokenHash::of(token);
                self.services.tokens.revoke(&hash).await?;
                self.services.tokens.revoke(&marker_key(&hash)).await.map(drop)
            }
        }
    }
}
