//! How Redis errors become [`StoreError`]s.

use std::fmt;

use authmount::store::StoreError;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Maps a Redis error: anything that means "cannot reach a working server right now" (refused,
/// timed out, dropped connection, a server still loading or failing over) is
/// [`StoreError::Unavailable`]; everything else (protocol, script, type errors) is
/// [`StoreError::Backend`].
pub(crate) fn from_redis(error: RedisError) -> StoreError {
    let unavailable = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            ) | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::NoValidReplicasFoundBySentinel
                | ErrorKind::ClusterConnectionNotFound
        );
    if unavailable { StoreError::unavailable(error) } else { StoreError::backend(error) }
}

/// Data read back from Redis that does not decode as what this crate wrote.
#[derive(Debug)]
pub(crate) struct Corrupt(pub(crate) String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "undecodable data in Redis: {}", self.0)
    }
}

impl std::error::Error for Corrupt {}

/// A [`StoreError::Backend`] for undecodable data.
pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::backend(Corrupt(what.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_unavailable_and_script_errors_are_backend() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(from_redis(refused), StoreError::Unavailable(_)));
        let timeout = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(matches!(from_redis(timeout), StoreError::Unavailable(_)));
        let loading = RedisError::from((ErrorKind::Server(ServerErrorKind::BusyLoading), "loading"));
        assert!(matches!(from_redis(loading), StoreError::Unavailable(_)));
        let script = RedisError::from((ErrorKind::Server(ServerErrorKind::ResponseError), "ERR in script"));
        assert!(matches!(from_redis(script), StoreError::Backend(_)));
        let parse = RedisError::from((ErrorKind::Parse, "bad reply"));
        assert!(matches!(from_redis(parse), StoreError::Backend(_)));
    }
}
