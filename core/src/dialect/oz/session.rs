//! Sessions: the token pair of a login or refresh, their records and expiry markers, and the
//! session object answered.

use std::time::{SystemTime, UNIX_EPOCH};

use http::StatusCode;
use serde_json::{Value, json};

use super::verifier::marker_key;
use super::{
    ACCESS, AUDIENCE, DEVICE_INFO, DeviceInfo, Inner, MARKER_AUDIENCE, PREDECESSORS, SESSION_ID, user_object,
};
use crate::api::{ApiError, ApiResponse, Reply};
use crate::dialect::{kit, store_error};
use crate::store::{StoreError, TokenKind, TokenRecord};
use crate::token::{OpaqueToken, TokenHash, random_id};
use crate::user::User;

/// The largest session id: 2^53 - 1, exact in every JSON client.
const MAX_SESSION_ID: u64 = (1 << 53) - 1;

/// A token issued with its marker.
pub(super) struct Issued {
    pub(super) token: OpaqueToken,
    pub(super) record: TokenRecord,
}

/// Seconds since the epoch as a float.
pub(super) fn unix_float(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A random session id in 1..=2^53-1.
pub(super) fn new_session_id() -> Result<u64, ApiError> {
    let random = getrandom::u64().map_err(|error| {
        tracing::error!(%error, "could not generate an Oz session id");
        ApiError::Internal
    })?;
    Ok((random & MAX_SESSION_ID).max(1))
}

/// A session's new token pair.
pub(super) struct Session {
    pub(super) family: String,
    pub(super) session_id: u64,
    pub(super) access: Issued,
    pub(super) refresh: Issued,
}

impl Inner {
    pub(super) async fn rollback(&self, family: &str) {
        if let Err(error) = self.services.tokens.revoke_family(family).await {
            tracing::warn!(%error, "could not roll back an Oz session");
        }
    }

    /// The access token record, in `family`, replacing `predecessors`.
    pub(super) fn access_record(
        &self,
        user: &User,
        family: &str,
        session_id: u64,
        predecessors: &[TokenHash],
    ) -> TokenRecord {
        let now = self.services.clock.now();
        let mut record =
            TokenRecord::new(TokenKind::Access, user.id, AUDIENCE, now, self.config.access_idle_ttl)
                .sliding(self.config.access_idle_ttl)
                .in_family(family)
                .with_data(SESSION_ID, session_id);
        if !predecessors.is_empty() {
            let list: Vec<Value> = predecessors.iter().map(|h| Value::String(h.to_hex())).collect();
            record = record.with_data(PREDECESSORS, list);
        }
        record
    }

    pub(super) fn refresh_record(
        &self,
        user: &User,
        family: &str,
        session_id: u64,
        access: &TokenHash,
        device: &DeviceInfo,
    ) -> TokenRecord {
        let now = self.services.clock.now();
        TokenRecord::new(TokenKind::Refresh, user.id, AUDIENCE, now, self.config.refresh_ttl)
            .in_family(family)
            .with_data(SESSION_ID, session_id)
            .with_data(ACCESS, access.to_hex())
            .with_data(DEVICE_INFO, device.to_value())
    }

    /// The marker of the token stored as `record`: the same kind and family, living
    /// [`OzConfig::expired_grace`] longer (and sliding along with a sliding token).
    pub(super) fn marker(&self, record: &TokenRecord) -> TokenRecord {
        let now = self.services.clock.now();
        let ttl = record.expires_at.duration_since(now).unwrap_or_default() + self.config.expired_grace;
        let mut marker = TokenRecord::new(record.kind, record.user_id, MARKER_AUDIENCE, now, ttl);
        marker.family = record.family.clone();
        if let Some(idle) = record.idle_timeout {
            marker = marker.sliding(idle + self.config.expired_grace);
        }
        marker
    }

    /// Stores a token and its marker (the marker first, so a token never lacks one).
    pub(super) async fn store(&self, token: &OpaqueToken, record: &TokenRecord) -> Result<(), StoreError> {
        self.services.tokens.put(marker_key(&token.hash()), self.marker(record)).await?;
        self.services.tokens.put(token.hash(), record.clone()).await
    }

    pub(super) async fn open_session(&self, user: &User, device: &DeviceInfo) -> Result<Session, ApiError> {
        let family = random_id().map_err(|error| {
            tracing::error!(%error, "could not generate an Oz session family");
            ApiError::Internal
        })?;
        let session_id = new_session_id()?;
        let access = kit::new_opaque_token()?;
        let refresh = kit::new_opaque_token()?;
        let access = Issued { record: self.access_record(user, &family, session_id, &[]), token: access };
        let refresh_record = self.refresh_record(user, &family, session_id, &access.token.hash(), device);
        let refresh = Issued { token: refresh, record: refresh_record };
        let stored = async {
            self.store(&access.token, &access.record).await?;
            self.store(&refresh.token, &refresh.record).await
        }
        .await;
        if let Err(error) = stored {
            self.rollback(&family).await;
            return Err(store_error(error));
        }
        Ok(Session { family, session_id, access, refresh })
    }

    pub(super) fn session_response(
        &self,
        user: &User,
        session: &Session,
        device: &DeviceInfo,
        old: Option<String>,
    ) -> ApiResponse {
        let body = json!({
            "technical_meta_data": {},
            "session_id": session.session_id,
            "user_id": user.id.to_string(),
            "access_token": session.access.token.as_str(),
            "expire_token": session.refresh.token.as_str(),
            "expire_date": unix_float(session.access.record.expires_at),
            "device_info": device.to_value(),
            "old_access_token": old,
            "user": user_object(user, &self.config),
        });
        Reply::json(StatusCode::OK, &body).no_store().into_response()
    }
}
