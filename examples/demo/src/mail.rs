//! Where miniSASS password-reset mails go in the demo: nowhere outside the process.
//!
//! The demo has no mail server. [`DevMailer`] keeps the latest [`MAIL_OUTBOX_LIMIT`] messages
//! in an [`OutboxMailer`] (older ones are dropped, so `request-reset` calls cannot grow memory
//! without bound), and the outbox logs each message's recipient and subject, never its body:
//! the body holds a reset link, which is as good as the password. The demo serves no page that
//! shows the outbox either. An app that really sends mail passes its own
//! [`Mailer`] (such as authmount's SMTP mailer, feature `smtp`) to
//! [`Minisass::new`](authmount::dialect::minisass::Minisass::new).

use async_trait::async_trait;
use authmount::mailer::{MailError, Mailer, Message, OutboxMailer};

/// How many messages [`DevMailer`] keeps.
pub const MAIL_OUTBOX_LIMIT: usize = 100;

/// A [`Mailer`] that delivers nothing: it keeps at most [`MAIL_OUTBOX_LIMIT`] messages in
/// memory. Clones share the outbox.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use authmount::mailer::{Mailer, Message};
/// use authmount_demo::mail::DevMailer;
///
/// let mailer = DevMailer::new();
/// mailer.send(Message::new("ann@example.org", "Reset", "https://...")).await?;
/// assert_eq!(mailer.outbox().messages().len(), 1);
/// # Ok::<(), authmount::mailer::MailError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct DevMailer {
    outbox: OutboxMailer,
}

impl DevMailer {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages kept (for tests in this process).
    pub fn outbox(&self) -> &OutboxMailer {
        &self.outbox
    }
}

#[async_trait]
impl Mailer for DevMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        if self.outbox.messages().len() >= MAIL_OUTBOX_LIMIT {
            // Full: drop the old messages (nobody reads them; only the bound matters).
            self.outbox.take();
        }
        self.outbox.send(message).await
    }
}
