//! Sending e-mail: the [`Mailer`] port and its implementations.
//!
//! Dialects that mail users (miniSASS's password reset) talk to a [`Mailer`]; the app picks the
//! implementation:
//!
//! | implementation | for |
//! |---|---|
//! | [`OutboxMailer`] | development and tests: keeps messages in memory ([`OutboxMailer::messages`], [`OutboxMailer::take`]) and logs that a mail was sent, never its body |
//! | [`FileMailer`] | development: one `.eml` file per message in a directory, so a person can open the mail and follow its link |
//! | `SmtpMailer` (feature `smtp`) | production: SMTP through `lettre`, STARTTLS or implicit TLS (rustls) from a URL such as `smtp://user:pass@host:587` |
//!
//! A message's body may hold a secret (a reset link): `Message`'s `Debug` output and every log
//! line leave it out.

mod file;
#[cfg(feature = "smtp")]
mod smtp;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

pub use file::FileMailer;
#[cfg(feature = "smtp")]
pub use smtp::SmtpMailer;

/// One plain-text e-mail.
///
/// ```
/// use authmount::mailer::Message;
/// let message = Message::new("ann@example.org", "Password reset", "https://example.org/reset/MQ/secret/");
/// assert_eq!(message.to, "ann@example.org");
/// assert!(!format!("{message:?}").contains("secret"), "Debug never shows the body");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
}

impl Message {
    /// A message to `to` with `subject` and `text_body`.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text_body: impl Into<String>) -> Self {
        Self { to: to.into(), subject: subject.into(), text_body: text_body.into() }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text_body", &"<redacted>")
            .finish()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient or sender address is not a valid e-mail address.
    #[error("invalid e-mail address: {0}")]
    InvalidAddress(String),
    /// The message could not be built (e.g. a header value is not allowed).
    #[error("could not build the message: {0}")]
    Message(String),
    /// The mailer's configuration is unusable (e.g. a malformed SMTP URL).
    #[error("invalid mailer configuration: {0}")]
    Config(String),
    /// The mail server could not be reached or refused the message.
    #[error("the mail server failed: {0}")]
    Transport(String),
}

/// Sends e-mail: the port the dialects use.
///
/// Implementations may be slow (a remote SMTP server): callers on a request path send from a
/// spawned task so the answer never waits for the mail server.
///
/// ```
/// use async_trait::async_trait;
/// use authmount::mailer::{MailError, Mailer, Message};
///
/// /// Drops every message (for an app that sends no mail).
/// struct Discard;
///
/// #[async_trait]
/// impl Mailer for Discard {
///     async fn send(&self, _message: Message) -> Result<(), MailError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `message`.
    async fn send(&self, message: Message) -> Result<(), MailError>;
}

/// A [`Mailer`] that keeps every message in memory: for development and tests. Each send is
/// logged (recipient and subject, never the body, which may hold a reset link). Clones share
/// the outbox.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::mailer::{Mailer, Message, OutboxMailer};
/// let outbox = OutboxMailer::new();
/// outbox.send(Message::new("ann@example.org", "Hello", "Hi Ann")).await?;
/// assert_eq!(outbox.messages()[0].subject, "Hello");
/// assert_eq!(outbox.take().len(), 1);
/// assert!(outbox.messages().is_empty(), "take empties the outbox");
/// # Ok::<(), authmount::mailer::MailError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct OutboxMailer {
    messages: Arc<Mutex<Vec<Message>>>,
}

impl OutboxMailer {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages sent so far, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Takes the messages sent so far out of the outbox, oldest first.
    pub fn take(&self) -> Vec<Message> {
        std::mem::take(&mut *self.messages.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Waits until at least `count` messages are in the outbox or `timeout` has passed, then
    /// returns the messages (for tests of code that sends from a spawned task).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Message> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        tracing::info!(to = %message.to, subject = %message.subject, "mail sent to the outbox");
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).push(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_keeps_messages_in_order_and_clones_share_them() {
        let outbox = OutboxMailer::new();
        let clone = outbox.clone();
        clone.send(Message::new("a@example.org", "one", "1")).await.expect("sent");
        outbox.send(Message::new("b@example.org", "two", "2")).await.expect("sent");
        let subjects: Vec<String> = outbox.messages().into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["one", "two"]);
        assert_eq!(clone.wait_for(2, Duration::from_millis(10)).await.len(), 2);
        assert_eq!(clone.take().len(), 2);
        assert!(outbox.messages().is_empty());
        assert!(outbox.wait_for(1, Duration::from_millis(10)).await.is_empty(), "gives up after the timeout");
    }

    #[test]
    fn debug_redacts_the_body() {
        let message = Message::new("a@example.org", "Reset", "https://example.org/reset/MQ/s3cret/");
        let shown = format!("{message:?}");
        assert!(shown.contains("a@example.org") && shown.contains("Reset"));
        assert!(!shown.contains("s3cret"));
    }
}
