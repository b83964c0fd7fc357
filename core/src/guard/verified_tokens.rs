use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use quick_cache::sync::Cache;

use crate::token::jwt::Claims;

/// How many verified tokens are remembered at most: a few MiB at the largest, evicting the
/// least used first, so memory stays bounded whatever clients send.
pub(crate) const DEFAULT_CAPACITY: usize = 16 * 1024;

/// JWTs whose signature was verified and whose payload was parsed before, so a client repeating
/// its token skips both (the costly part of a JWT check).
///
/// Only what cannot change is cached: that these exact bytes carry a valid signature of a key in
/// the (immutable) key ring, and what they decode to. Everything that can change is checked on
/// every use by the verifier: the time window against the clock, the token type and audience,
/// and the revocation list (itself behind the [read cache](crate::cache) when one is used).
#[derive(Debug)]
pub(crate) struct VerifiedTokens {
    entries: Cache<u64, Entry>,
    hasher: RandomState,
}

#[derive(Debug, Clone)]
struct Entry {
    token: Arc<str>,
    claims: Arc<Claims>,
}

/// How many trailing bytes of a token are hashed to find its slot. The end of a JWT is its
/// signature, unique per token, so hashing it alone is as good as hashing the whole token and
/// several times cheaper; the full token is then compared before anything is returned.
const KEY_BYTES: usize = 64;

impl VerifiedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { entries: Cache::new(capacity.max(1)), hasher: RandomState::new() }
    }

    /// The token's slot key.
    fn key(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.hasher.hash_one(&bytes[bytes.len().saturating_sub(KEY_BYTES)..])
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Claims>> {
        let entry = self.entries.get(&self.key(token))?;
        // A plain comparison is safe here: to be compared at all, a presented token must land on
        // the slot of a cached one, i.e. end in bytes whose keyed (random per process) hash
        // matches those of a valid signature, which cannot be aimed at without knowing it.
        (*entry.token == *token).then_some(entry.claims)
    }

    pub(crate) fn insert(&self, token: &str, claims: Arc<Claims>) {
        self.entries.insert(self.key(token), Entry { token: token.into(), claims });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::token::jwt::TokenType;
    use crate::user::UserId;

    fn claims(user: i64) -> Arc<Claims> {
        Arc::new(Claims::new(UserId(user), TokenType::Access, 0, Duration::from_secs(60)).expect("claims"))
    }

    #[test]
    fn remembers_and_stays_bounded() {
        let cache = VerifiedTokens::new(64);
        cache.insert("a.b.c", claims(1));
        assert_eq!(cache.get("a.b.c").map(|c| c.user_id), Some(UserId(1)));
        assert!(cache.get("a.b.d").is_none());
        // Same signature tail, different token: a slot collision must not return the claims.
        let long_tail = "x".repeat(80);
        cache.insert(&format!("one.{long_tail}"), claims(2));
        assert!(cache.get(&format!("two.{long_tail}")).is_none());
        assert_eq!(cache.get(&format!("one.{long_tail}")).map(|c| c.user_id), Some(UserId(2)));
        for i in 0..10_000 {
            cache.insert(&format!("token-{i}"), claims(i));
        }
        let held = cache.entries.len();
        assert!(held <= 64, "the cache holds at most its capacity, held {held}");
    }
}
