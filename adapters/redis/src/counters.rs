//! [`CounterStore`] for [`RedisStore`].

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use authmount::store::{Counter, CounterStore, StoreError};

use crate::error::{corrupt, from_redis};
use crate::record::millis;
use crate::scripts;
use crate::store::RedisStore;

/// Parses a counter value, `"<count>:<window end ms>"`.
fn parse(value: &str) -> Result<Counter, StoreError> {
    let (count, end) = value.split_once(':').ok_or_else(|| corrupt("counter value"))?;
    Ok(Counter {
        count: count.parse().map_err(|_| corrupt("counter count"))?,
        expires_at: UNIX_EPOCH + Duration::from_millis(end.parse().map_err(|_| corrupt("counter window"))?),
    })
}

#[async_trait]
impl CounterStore for RedisStore {
    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, StoreError> {
        let (_, now_ms) = self.now();
        let mut invocation = self.invocation(&scripts::INCREMENT, now_ms);
        invocation.arg(key).arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        let (count, end): (u64, u64) = invocation.invoke_async(&mut self.conn()).await.map_err(from_redis)?;
        Ok(Counter { count, expires_at: UNIX_EPOCH + Duration::from_millis(end) })
    }

    async fn peek(&self, key: &str) -> Result<Option<Counter>, StoreError> {
        let (_, now_ms) = self.now();
        let value: Option<String> = redis::cmd("GET")
            .arg(self.counter_key(key))
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        Ok(value
            .map(|value| parse(&value))
            .transpose()?
            .filter(|counter| millis(counter.expires_at) > now_ms))
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.counter_key(key))
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_values_parse() {
        let counter = parse("3:1700000060000").expect("parses");
        assert_eq!(counter.count, 3);
        assert_eq!(counter.expires_at, UNIX_EPOCH + Duration::from_millis(1_700_000_060_000));
        assert!(matches!(parse("3"), Err(StoreError::Backend(_))));
    }
}
