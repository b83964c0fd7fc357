//! How a [`TokenRecord`] is laid out in its Redis hash.
//!
//! The fields the Lua scripts need are hash fields of their own: `exp` (expiry, ms since the
//! UNIX epoch), `rot` (once rotated away: when, in ms), `uid`, `fam`, `idle` (ms). The rest (kind,
//! audience, issue time, data) is one JSON field, `rec`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authmount::store::{StoreError, TokenKind, TokenRecord};
use authmount::user::UserId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::corrupt;

/// The JSON part of a record (`TokenRecord` is not `Serialize`: this mirrors it).
#[derive(Serialize, Deserialize)]
struct Body {
    /// [`TokenKind::name`].
    k: String,
    /// Audience.
    a: String,
    /// Issued at, ms since the UNIX epoch.
    i: u64,
    /// Dialect data.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    d: Map<String, Value>,
}

/// Milliseconds since the UNIX epoch (0 before it, saturating far after it).
pub(crate) fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A record as script arguments: expiry ms, user id, family or `""`, idle ms or `""`, body.
pub(crate) struct Encoded {
    pub(crate) exp: u64,
    pub(crate) uid: String,
    pub(crate) family: String,
    pub(crate) idle: String,
    pub(crate) body: String,
}

pub(crate) fn encode(record: &TokenRecord) -> Result<Encoded, StoreError> {
    let body = Body {
        k: record.kind.name().to_owned(),
        a: record.audience.clone(),
        i: millis(record.issued_at),
        d: record.data.clone(),
    };
    Ok(Encoded {
        exp: millis(record.expires_at),
        uid: record.user_id.0.to_string(),
        family: record.family.clone().unwrap_or_default(),
        idle: record
            .idle_timeout
            .map(|idle| u64::try_from(idle.as_millis()).unwrap_or(u64::MAX).to_string())
            .unwrap_or_default(),
        body: serde_json::to_string(&body).map_err(StoreError::backend)?,
    })
}

/// A record's hash fields as returned by `HMGET exp rot uid fam idle rec` (and the scripts).
pub(crate) type Fields =
    (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

/// A decoded record with what the store needs to judge it.
pub(crate) struct Stored {
    pub(crate) record: TokenRecord,
    pub(crate) rotated: bool,
}

impl Stored {
    pub(crate) fn is_live_at(&self, now: SystemTime) -> bool {
        !self.rotated && millis(self.record.expires_at) > millis(now)
    }
}

/// Decodes the fields of a stored record; `None` when there is no record.
pub(crate) fn decode(fields: Fields) -> Result<Option<Stored>, StoreError> {
    let (exp, rot, uid, family, idle, body) = fields;
    let Some(exp) = exp else {
        return Ok(None);
    };
    let exp: u64 = exp.parse().map_err(|_| corrupt("record expiry"))?;
    let user_id: i64 = uid
        .ok_or_else(|| corrupt("record without a user"))?
        .parse()
        .map_err(|_| corrupt("record user id"))?;
    let idle_timeout = idle
        .map(|idle| idle.parse::<u64>().map(Duration::from_millis))
        .transpose()
        .map_err(|_| corrupt("record idle timeout"))?;
    let body: Body = serde_json::from_str(&body.ok_or_else(|| corrupt("record without a body"))?)
        .map_err(StoreError::backend)?;
    let kind = TokenKind::from_name(&body.k).ok_or_else(|| corrupt("record kind"))?;
    Ok(Some(Stored {
        record: TokenRecord {
            kind,
            user_id: UserId(user_id),
            audience: body.a,
            family,
            issued_at: from_millis(body.i),
            expires_at: from_millis(exp),
            idle_timeout,
            data: body.d,
        },
        rotated: rot.is_some(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_its_fields() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let record =
            TokenRecord::new(TokenKind::Session, UserId(i64::MAX), "amcr", now, Duration::from_secs(60))
                .in_family("fam:1")
                .sliding(Duration::from_secs(30))
                .with_data("session_id", 42);
        let e = encode(&record).expect("encodes");
        let stored =
            decode((Some(e.exp.to_string()), None, Some(e.uid), Some(e.family), Some(e.idle), Some(e.body)))
                .expect("decodes")
                .expect("present");
        assert_eq!(stored.record, record);
        assert!(!stored.rotated);
        assert!(stored.is_live_at(now));
        assert!(!stored.is_live_at(record.expires_at));
    }

    #[test]
    fn garbage_is_a_backend_error() {
        let garbage = decode((Some("soon".into()), None, Some("1".into()), None, None, Some("{}".into())));
        assert!(matches!(garbage, Err(StoreError::Backend(_))));
        assert!(matches!(decode((None, None, None, None, None, None)), Ok(None)));
    }
}
