//! What the three caches hold: the copy and the moment it was read.

use std::sync::Arc;

use tokio::time::Instant;

use crate::store::TokenRecord;
use crate::user::User;

/// When a copy was read from the store: the change counter before the read and the time. A
/// copy is stale if a change concerning it was applied after `seq` (its mark is newer), or if
/// it is older than the configured staleness bound.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    pub(super) seq: u64,
    pub(super) at: Instant,
}

/// A cached opaque-token record.
#[derive(Clone)]
pub(super) struct TokenEntry {
    pub(super) record: Arc<TokenRecord>,
    pub(super) stamp: Stamp,
}

/// A cached answer of [`is_jwt_revoked`](crate::store::TokenStore::is_jwt_revoked) for one
/// `jti`, valid for the family it was asked with.
#[derive(Clone)]
pub(super) struct JwtEntry {
    pub(super) family: Option<Arc<str>>,
    pub(super) revoked: bool,
    pub(super) stamp: Stamp,
}

/// A cached user record.
#[derive(Clone)]
pub(super) struct UserEntry {
    pub(super) user: Arc<User>,
    pub(super) stamp: Stamp,
}
