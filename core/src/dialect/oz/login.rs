//! `POST /api/authorize/auth`: the login, superseding a session the client presents.

use http::request::Parts;

use super::validation::Failure;
use super::verifier::marker_key;
use super::{AUDIENCE, DeviceInfo, Inner};
use crate::api::{ApiError, ApiRequest, ApiResponse};
use crate::carrier::Found;
use crate::dialect::store_error;
use crate::login::LoginError;
use crate::store::{StoreError, TokenKind};
use crate::token::TokenHash;
use crate::user::User;

impl Inner {
    pub(super) async fn auth(&self, request: ApiRequest) -> ApiResponse {
        let head = &request.head;
        let body = match self.body(&request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let credentials = match Self::credentials(&body) {
            Ok(credentials) => credentials,
            Err(failure) => return self.fail(failure),
        };
        let user = match self
            .services
            .authenticator()
            .authenticate_request(head, &credentials.login, &credentials.password)
            .await
        {
            Ok(user) => user,
            Err(LoginError::InvalidCredentials) => {
                return self.fail(Failure::invalid_token("Invalid credentials"));
            }
            Err(LoginError::Inactive(_)) if self.config.inactive_is_forbidden => {
                return self.renderer.inactive();
            }
            Err(LoginError::Inactive(_)) => {
                return self.fail(Failure::invalid_token("Invalid credentials"));
            }
            Err(error) => {
                let error = crate::dialect::login_failure(error).unwrap_or(ApiError::Internal);
                return self.renderer.respond(&error, head);
            }
        };
        let previous = match self.presented_session(head, &user).await {
            Ok(previous) => previous,
            Err(error) => return self.renderer.respond(&error, head),
        };
        let device = credentials.device.unwrap_or_else(|| DeviceInfo::from_headers(&head.headers));
        let session = match self.open_session(&user, &device).await {
            Ok(session) => session,
            Err(error) => return self.renderer.respond(&error, head),
        };
        let old_access_token = match previous {
            None => None,
            Some((token, family)) => {
                if let Err(error) = self.end_session(family.as_deref(), &token).await {
                    self.rollback(&session.family).await;
                    return self.renderer.respond(&store_error(error), head);
                }
                Some(token)
            }
        };
        self.session_response(&user, &session, &device, old_access_token)
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
