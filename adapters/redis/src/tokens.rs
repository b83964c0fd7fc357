//! [`TokenStore`] for [`RedisStore`].

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use authmount::store::{ConflictField, Rotation, StoreError, TokenRecord, TokenStore};
use authmount::token::TokenHash;
use authmount::user::UserId;

use crate::error::{corrupt, from_redis};
use crate::record::{Fields, decode, encode, millis};
use crate::scripts;
use crate::store::RedisStore;

/// How many keys one `SCAN` step asks for during [`TokenStore::purge_expired`].
const SCAN_BATCH: usize = 500;

/// Escapes the glob characters of a key prefix for `SCAN MATCH`.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl RedisStore {
    /// A record's fields as stored, live or not.
    async fn fields(&self, hash: &TokenHash) -> Result<Fields, StoreError> {
        redis::cmd("HMGET")
            .arg(self.token_key(hash))
            .arg(&["exp", "rot", "uid", "fam", "idle", "rec"])
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)
    }

    /// The record's fields when it is live by the store's clock.
    fn live(&self, fields: Option<Fields>, now: SystemTime) -> Result<Option<TokenRecord>, StoreError> {
        let Some(fields) = fields else {
            return Ok(None);
        };
        Ok(decode(fields)?.filter(|stored| stored.is_live_at(now)).map(|stored| stored.record))
    }

    /// Runs the purge script over every key of one kind (`u:`, `f:`, `rf:`/`j:`).
    async fn purge_kind(
        &self,
        pattern: &str,
        kind: &str,
        mode: &str,
        now_ms: u64,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let pattern = format!("{}{pattern}", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_BATCH)
                .arg("TYPE")
                .arg(kind)
                .query_async(&mut conn)
                .await
                .map_err(from_redis)?;
            if !keys.is_empty() {
                let mut invocation = self.invocation(&scripts::PURGE, now_ms);
                invocation.arg(mode).arg(&keys);
                let n: u64 = invocation.invoke_async(&mut conn).await.map_err(from_redis)?;
                removed += n;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn put(&self, hash: TokenHash, record: TokenRecord) -> Result<(), StoreError> {
        let (_, now_ms) = self.now();
        let e = encode(&record)?;
        let mut invocation = self.invocation(&scripts::PUT, now_ms);
        invocation.arg(hash.to_hex()).arg(e.exp).arg(e.uid).arg(e.family).arg(e.idle).arg(e.body);
        let stored: i64 = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        if stored == 1 { Ok(()) } else { Err(StoreError::Conflict(ConflictField::Token)) }
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let (now, _) = self.now();
        let fields = self.fields(hash).await?;
        self.live(Some(fields), now)
    }

    async fn touch(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let (now, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::TOUCH, now_ms);
        invocation.arg(hash.to_hex());
        let fields: Option<Fields> = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        self.live(fields, now)
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let (_, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::REVOKE, now_ms);
        invocation.arg(hash.to_hex());
        let live: i64 = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        Ok(live == 1)
    }

    async fn revoke_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let (_, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::REVOKE_USER, now_ms);
        invocation.arg(user_id.0.to_string());
        invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)
    }

    async fn revoke_user_except(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
        let (_, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::REVOKE_USER, now_ms);
        invocation.arg(user_id.0.to_string()).arg(keep);
        invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let (_, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::REVOKE_FAMILY, now_ms);
        invocation.arg(family);
        invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)
    }

    async fn rotate(
        &self,
        old: &TokenHash,
        new: TokenHash,
        record: TokenRecord,
        reuse_grace: Duration,
    ) -> Result<Rotation, StoreError> {
        let (_, now_ms) = self.now();
        let e = encode(&record)?;
        let mut invocation = self.invocation(&scripts::ROTATE, now_ms);
        invocation
            .arg(old.to_hex())
            .arg(new.to_hex())
            .arg(e.exp)
            .arg(e.uid)
            .arg(e.family)
            .arg(e.idle)
            .arg(e.body)
            .arg(u64::try_from(reuse_grace.as_millis()).unwrap_or(u64::MAX));
        let answer: Vec<String> = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        match answer.as_slice() {
            [outcome] if outcome == "rotated" => Ok(Rotation::Rotated),
            [outcome] if outcome == "notfound" => Ok(Rotation::NotFound),
            [outcome] if outcome == "conflict" => Err(StoreError::Conflict(ConflictField::Token)),
            // The spent record is read after the script: if its family was revoked meanwhile,
            // it is gone and the repeat finds nothing, as it would a moment later.
            [outcome] if outcome == "grace" => match decode(self.fields(old).await?)? {
                Some(spent) if spent.rotated => Ok(Rotation::WithinGrace { previous: spent.record }),
                _ => Ok(Rotation::NotFound),
            },
            [outcome, user, family @ ..] if outcome == "reused" && family.len() <= 1 => {
                Ok(Rotation::Reused {
                    user_id: UserId(user.parse().map_err(|_| corrupt("record user id"))?),
                    family: family.first().cloned(),
                })
            }
            _ => Err(corrupt(format!("rotate answered {answer:?}"))),
        }
    }

    async fn consume(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let (now, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::CONSUME, now_ms);
        invocation.arg(hash.to_hex());
        let fields: Option<Fields> = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        self.live(fields, now)
    }

    async fn revoke_jti(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let (_, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::REVOKE_JTI, now_ms);
        invocation.arg(jti).arg(millis(expires_at));
        let _: i64 = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        Ok(())
    }

    async fn is_jwt_revoked(&self, jti: &str, family: Option<&str>) -> Result<bool, StoreError> {
        let (_, now_ms) = self.now();
        let mut keys = vec![format!("{}j:{jti}", self.prefix)];
        if let Some(family) = family {
            keys.push(format!("{}rf:{family}", self.prefix));
        }
        // MGET always answers with an array, even for one key.
        let listed: Vec<Option<String>> =
            redis::cmd("MGET").arg(&keys).query_async(&mut self.conn()).await.map_err(from_redis)?;
        let mut revoked = false;
        for until in listed.into_iter().flatten() {
            let until: u64 = until.parse().map_err(|_| corrupt("revocation entry"))?;
            revoked |= until > now_ms;
        }
        Ok(revoked)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let (_, now_ms) = self.now();
        // Users first: every record is in its user's index, so the family pass only prunes.
        let mut removed = self.purge_kind("u:*", "zset", "u", now_ms).await?;
        removed += self.purge_kind("f:*", "zset", "f", now_ms).await?;
        removed += self.purge_kind("rf:*", "string", "r", now_ms).await?;
        removed += self.purge_kind("j:*", "string", "r", now_ms).await?;
        Ok(removed)
    }
}
