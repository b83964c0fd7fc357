//! `POST /api/authorize/refresh/`: refresh-token rotation with replay detection.

use std::sync::Arc;

use std::time::Duration;

use http::StatusCode;
use http::request::Parts;
use serde_json::Value;

use super::session::{Issued, Session};
use super::validation::{Failure, Problems};
use super::verifier::{hashes, marker_key};
use super::{
    ACCESS, AUDIENCE, DEVICE_INFO, DeviceInfo, ErrorCode, Inner, MARKER_AUDIENCE, PREDECESSORS, SESSION_ID,
};
use crate::api::{ApiError, ApiRequest, HandlerResult, Refusal};
use crate::carrier::Found;
use crate::codec::BodyFormat;
use crate::dialect::{kit, store_error};
use crate::store::{Rotation, TokenKind, TokenRecord};
use crate::token::{TokenHash, random_id};

impl Inner {
    pub(super) async fn refresh(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let body = request.decode(&[BodyFormat::Json]).await?.fields;
        let mut problems = Problems::default();
        let token = problems.string(&body, "expire_token", "expire_token", true);
        problems.finish()?;
        let token = token.ok_or(ApiError::Internal)?;
        self.rotate(&request.head, &token).await
    }

    /// Why a refresh token that is not live was refused: reused (its session is now revoked),
    /// expired, or unknown.
    async fn dead_refresh_token(&self, hash: &TokenHash) -> Refusal {
        match self.why_dead(hash).await {
            Ok(NotLive::Refused(failure)) => failure.into(),
            // Only a store that forgot the rotation time between two calls gets here.
            Ok(NotLive::Repeat(_)) => Failure::invalid_token("Refresh token is invalid").into(),
            Err(error) => error.into(),
        }
    }

    /// See [`dead_refresh_token`](Self::dead_refresh_token); a token rotated moments ago (within
    /// [`OzConfig::refresh_reuse_grace`](super::OzConfig::refresh_reuse_grace)) is a
    /// [`NotLive::Repeat`] instead, and nothing is revoked.
    async fn why_dead(&self, hash: &TokenHash) -> Result<NotLive, ApiError> {
        let now = self.services.clock.now();
        // A probe that can never be stored (it is born expired): rotating a dead token only
        // tells a replay (which revokes the family) from an unknown or expired token.
        let probe = TokenRecord::new(
            TokenKind::Refresh,
            crate::user::UserId(0),
            MARKER_AUDIENCE,
            now,
            Duration::ZERO,
        );
        let probe_key = TokenHash::of(&format!("oz-refresh-probe:{}", hash.to_hex()));
        let grace = self.config.refresh_reuse_grace;
        let outcome =
            self.services.tokens.rotate(hash, probe_key, probe, grace).await.map_err(store_error)?;
        let failure = match outcome {
            Rotation::WithinGrace { previous } => return Ok(NotLive::Repeat(previous)),
            Rotation::Reused { user_id, .. } => {
                tracing::warn!(user = %user_id, "Oz refresh token reused: the session is revoked");
                self.services.audit(crate::audit::AuthEvent::RefreshReused { user_id, client: None });
                Failure::invalid_token("Refresh token has already been used; the session is revoked")
            }
            Rotation::Rotated => {
                tracing::error!("a dead Oz refresh token rotated");
                return Err(ApiError::Internal);
            }
            Rotation::NotFound => {
                let marker = self.services.tokens.get(&marker_key(hash)).await.map_err(store_error)?;
                if marker.is_some_and(|m| m.audience == MARKER_AUDIENCE && m.kind == TokenKind::Refresh) {
                    Failure::new(
                        StatusCode::UNAUTHORIZED,
                        ErrorCode::AuthExpired,
                        "Refresh token has expired",
                    )
                } else {
                    Failure::invalid_token("Refresh token is invalid")
                }
            }
        };
        Ok(NotLive::Refused(failure))
    }

    async fn rotate(&self, head: &Parts, token: &str) -> HandlerResult {
        let tokens = &self.services.tokens;
        let old_hash = TokenHash::of(token);
        // A live token rotates; one rotated moments ago (a repeat within the grace period)
        // gets a twin session beside the one its first refresh opened.
        let (old, repeat) = match tokens.get(&old_hash).await.map_err(store_error)? {
            Some(record) => (record, false),
            None => match self.why_dead(&old_hash).await? {
                NotLive::Repeat(previous) if previous.family.is_some() => (previous, true),
                NotLive::Repeat(_) => return Err(Failure::invalid_token("Refresh token is invalid").into()),
                NotLive::Refused(failure) => return Err(failure.into()),
            },
        };
        if old.kind != TokenKind::Refresh || old.audience != AUDIENCE {
            return Err(Failure::invalid_token("Refresh token is invalid").into());
        }
        let user = match self.services.users.get(old.user_id).await {
            Ok(Some(user)) if user.is_active => user,
            Ok(Some(_)) if self.config.inactive_is_forbidden => return Err(self.renderer.inactive().into()),
            Ok(_) => return Err(Failure::invalid_token("Refresh token is invalid").into()),
            Err(error) => {
                tracing::warn!(%error, "user store unavailable during an Oz refresh");
                return Err(ApiError::Unavailable.into());
            }
        };
        let session_id = old.data.get(SESSION_ID).and_then(Value::as_u64).unwrap_or_default();
        let family = match old.family.clone() {
            Some(family) => family,
            None => random_id().map_err(|_| ApiError::Internal)?,
        };
        let device = DeviceInfo::from_stored(old.data.get(DEVICE_INFO));
        // The access token paired with the old refresh token, and those it still replaces.
        let current = old.data.get(ACCESS).and_then(Value::as_str).and_then(|h| TokenHash::from_hex(h).ok());
        let mut predecessors: Vec<TokenHash> = current.into_iter().collect();
        if let Some(current) = current
            && let Some(record) = tokens.get(&current).await.map_err(store_error)?
        {
            predecessors.extend(hashes(record.data.get(PREDECESSORS)));
        }
        let access_token = kit::new_opaque_token()?;
        let refresh_token = kit::new_opaque_token()?;
        let access = Issued {
            record: self.access_record(&user, &family, session_id, &predecessors),
            token: access_token,
        };
        let refresh_record = self.refresh_record(&user, &family, session_id, &access.token.hash(), &device);
        let refresh = Issued { token: refresh_token, record: refresh_record };

        // Everything new is stored before the old refresh token is spent; if the rotation
        // does not happen, it is removed again.
        let new_keys =
            [access.token.hash(), marker_key(&access.token.hash()), marker_key(&refresh.token.hash())];
        let grace = self.config.refresh_reuse_grace;
        let prepared = async {
            self.store(&access.token, &access.record).await?;
            tokens.put(marker_key(&refresh.token.hash()), self.marker(&refresh.record)).await?;
            let outcome = if repeat {
                Rotation::WithinGrace { previous: old.clone() }
            } else {
                tokens.rotate(&old_hash, refresh.token.hash(), refresh.record.clone(), grace).await?
            };
            if let Rotation::WithinGrace { .. } = outcome {
                // A twin of a refresh that just rotated this token: its refresh token is stored
                // beside the first one's. If the session ended since the repeat was recognised
                // (a logout, a replay after the grace period), the twin must not outlive it.
                tokens.put(refresh.token.hash(), refresh.record.clone()).await?;
                // Is the family on the revocation list? (Asked under the twin's own hash, which
                // is never a revoked JWT id, so the answer is the family's alone.)
                if tokens.is_jwt_revoked(&refresh.token.hash().to_hex(), Some(&family)).await? {
                    return Ok(Rotation::Reused { user_id: old.user_id, family: Some(family.clone()) });
                }
            }
            Ok(outcome)
        }
        .await;
        let refusal: Option<Refusal> = match prepared {
            Ok(Rotation::Rotated | Rotation::WithinGrace { .. }) => None,
            Ok(Rotation::Reused { .. }) => Some(
                Failure::invalid_token("Refresh token has already been used; the session is revoked").into(),
            ),
            Ok(Rotation::NotFound) => Some(self.dead_refresh_token(&old_hash).await),
            Err(error) => Some(store_error(error).into()),
        };
        if let Some(refusal) = refusal {
            // The refresh token's own record exists only if a twin stored it.
            for key in new_keys.iter().chain([&refresh.token.hash()]) {
                if let Err(error) = tokens.revoke(key).await {
                    tracing::warn!(%error, "could not remove the tokens of a failed Oz refresh");
                }
            }
            return Err(refusal);
        }
        let presented = match self.carrier.find(head) {
            Found::Token(presented) if predecessors.contains(&TokenHash::of(&presented)) => {
                Some(presented.into_owned())
            }
            _ => None,
        };
        let session = Session { family, session_id, access, refresh };
        Ok(self.session_response(&user, &session, &device, presented))
    }
}

/// What a refresh token that is not live turned out to be.
enum NotLive {
    /// Rotated within the reuse grace period: its spent record, nothing revoked.
    Repeat(TokenRecord),
    /// Refused: reused (its session is now revoked), expired, or unknown.
    Refused(Failure),
}
