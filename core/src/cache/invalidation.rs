use std::fmt;
use std::str::FromStr;

use crate::token::TokenHash;
use crate::user::UserId;

/// A change that makes cached copies stale: what the wrapped stores apply locally and publish
/// to the other instances.
///
/// ```
/// use authmount::cache::Invalidation;
/// use authmount::user::UserId;
/// let change = Invalidation::UserTokens(UserId(7));
/// assert_eq!(change.to_string().parse::<Invalidation>()?, change);
/// # Ok::<(), authmount::cache::MessageError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invalidation {
    /// One opaque token's record changed (revoked, rotated away, consumed, slid).
    Token(TokenHash),
    /// A JWT id was put on the revocation list.
    Jti(String),
    /// A refresh family (session) was revoked: every token record in it, and every JWT that
    /// names it.
    Family(String),
    /// Every token of a user was revoked (and so every family of theirs).
    UserTokens(UserId),
    /// A user's record changed (deactivation, profile, password).
    User(UserId),
    /// Everything: drop every copy.
    All,
}

impl fmt::Display for Invalidation {
    /// The wire form: a kind letter, a space and the subject (`t <hex>`, `j <jti>`,
    /// `f <family>`, `u <id>`, `p <id>`, `*`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(hash) => write!(f, "t {}", hash.to_hex()),
            Self::Jti(jti) => write!(f, "j {jti}"),
            Self::Family(family) => write!(f, "f {family}"),
            Self::UserTokens(id) => write!(f, "u {}", id.0),
            Self::User(id) => write!(f, "p {}", id.0),
            Self::All => f.write_str("*"),
        }
    }
}

/// A message on the bus that does not parse. Ignored by the receiver (and logged), never fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an authmount cache message: {0:?}")]
pub struct MessageError(pub String);

impl FromStr for Invalidation {
    type Err = MessageError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || MessageError(text.chars().take(80).collect());
        if text == "*" {
            return Ok(Self::All);
        }
        let (kind, subject) = text.split_once(' ').ok_or_else(error)?;
        let id = || subject.parse::<i64>().map(UserId).map_err(|_| error());
        Ok(match kind {
            "t" => Self::Token(TokenHash::from_hex(subject).map_err(|_| error())?),
            "j" => Self::Jti(subject.to_owned()),
            "f" => Self::Family(subject.to_owned()),
            "u" => Self::UserTokens(id()?),
            "p" => Self::User(id()?),
            _ => return Err(error()),
        })
    }
}

/// One message on an [`InvalidationBus`](super::InvalidationBus): a change, or a heartbeat,
/// with the id of the instance that sent it (so an instance skips its own changes, which it has
/// already applied, and recognises its own heartbeats).
///
/// ```
/// use authmount::cache::{Invalidation, InvalidationMessage};
/// let message = InvalidationMessage::Change { sender: 42, change: Invalidation::Family("f1".into()) };
/// assert_eq!(message.to_string(), "2a f f1");
/// assert_eq!("2a f f1".parse::<InvalidationMessage>()?, message);
/// assert_eq!("2a ♥ 7".parse::<InvalidationMessage>()?, InvalidationMessage::Heartbeat { sender: 42, beat: 7 });
/// # Ok::<(), authmount::cache::MessageError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidationMessage {
    /// A change made on instance `sender`.
    Change {
        /// The sending instance's random id.
        sender: u64,
        /// What changed.
        change: Invalidation,
    },
    /// Instance `sender` checking that its subscription still hears it.
    Heartbeat {
        /// The sending instance's random id.
        sender: u64,
        /// A counter, one up per heartbeat.
        beat: u64,
    },
}

impl fmt::Display for InvalidationMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Change { sender, change } => write!(f, "{sender:x} {change}"),
            Self::Heartbeat { sender, beat } => write!(f, "{sender:x} ♥ {beat}"),
        }
    }
}

impl FromStr for InvalidationMessage {
    type Err = MessageError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || MessageError(text.chars().take(80).collect());
        let (sender, rest) = text.split_once(' ').ok_or_else(error)?;
        let sender = u64::from_str_radix(sender, 16).map_err(|_| error())?;
        if let Some(beat) = rest.strip_prefix("♥ ") {
            return Ok(Self::Heartbeat { sender, beat: beat.parse().map_err(|_| error())? });
        }
        Ok(Self::Change { sender, change: rest.parse()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_survives_the_wire() {
        let changes = [
            Invalidation::Token(TokenHash::of("a token")),
            Invalidation::Jti("0f3c-jti".into()),
            Invalidation::Family("family with spaces".into()),
            Invalidation::UserTokens(UserId(-3)),
            Invalidation::User(UserId(i64::MAX)),
            Invalidation::All,
        ];
        for change in changes {
            let message = InvalidationMessage::Change { sender: u64::MAX, change };
            assert_eq!(message.to_string().parse::<InvalidationMessage>(), Ok(message));
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "*", "zz t 00", "1 t nothex", "1 u x", "1 q 1", "1", "1 ♥ x", "1 ♥"] {
            assert!(text.parse::<InvalidationMessage>().is_err(), "{text:?} parsed");
        }
    }
}
