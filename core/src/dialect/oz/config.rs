//! [`OzConfig`]: where a deployment departs from the seed's defaults.

use std::time::Duration;

use crate::store::DEFAULT_REUSE_GRACE;

/// How the Oz endpoints behave where the seed leaves a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OzConfig {
    /// How long an access token works after its last use (default 15 minutes, the vendor's).
    pub access_idle_ttl: Duration,
    /// How long a refresh token works after issue (default 30 days).
    pub refresh_ttl: Duration,
    /// How long after a refresh the same `expire_token` may be presented again and still get a
    /// new pair of its session, revoking nothing (two clients of one account refreshing at once,
    /// a retry after a lost answer); later, the repeat counts as reuse and ends the session.
    /// Default [`DEFAULT_REUSE_GRACE`] (10 seconds, see there why); `Duration::ZERO` turns it off.
    pub refresh_reuse_grace: Duration,
    /// How long after a token expires it is still answered "expired" (code 8) rather than
    /// "invalid" (code 7) (default 24 hours).
    pub expired_grace: Duration,
    /// `can_start_analyse_*` for users without the attribute (default `true`, as in the seed).
    pub can_start_analyse_default: bool,
    /// Answer a deactivated account (correct password, or a live token) with 403 code 9
    /// (default), or with 401 code 7 like bad credentials.
    pub inactive_is_forbidden: bool,
}

impl Default for OzConfig {
    fn default() -> Self {
        Self {
            access_idle_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            refresh_reuse_grace: DEFAULT_REUSE_GRACE,
            expired_grace: Duration::from_secs(24 * 60 * 60),
            can_start_analyse_default: true,
            inactive_is_forbidden: true,
        }
    }
}
