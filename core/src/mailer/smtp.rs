//! [`SmtpMailer`]: SMTP through `lettre` (tokio, rustls).

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailError, Mailer, Message};

/// Sends mail through an SMTP server, with TLS by rustls.
///
/// The server comes from a URL, as lettre reads it:
///
/// | URL | connection |
/// |---|---|
/// | `smtp://user:pass@host:587` | STARTTLS if the server offers it (`?tls=required` to insist) |
/// | `smtps://user:pass@host:465` | implicit TLS |
/// | `smtp://localhost:25` | plain, no TLS (a local relay) |
///
/// User name and password are percent-decoded. Each message opens its own connection (reset
/// mails are rare; no pool to keep alive).
///
/// ```
/// use authmount::mailer::SmtpMailer;
/// let mailer = SmtpMailer::from_url("smtp://user:secret@mail.example.org:587?tls=required", "miniSASS <noreply@example.org>")?;
/// // Arc::new(mailer) is what a dialect takes as its `Arc<dyn Mailer>`.
/// # let _ = mailer;
/// # Ok::<(), authmount::mailer::MailError>(())
/// ```
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the credentials: never printed.
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending as `from` (`"Name <addr@host>"` or `"addr@host"`).
    ///
    /// Nothing is connected yet: the first [`send`](Mailer::send) connects.
    pub fn from_url(url: &str, from: &str) -> Result<Self, MailError> {
        let from: Mailbox = from.parse().map_err(|e| MailError::InvalidAddress(format!("{from:?}: {e}")))?;
        // lettre's error text may quote the URL, which may hold the password: keep it out.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::Config("the SMTP URL is not valid".to_owned()))?
            .build();
        Ok(Self { transport, from })
    }

    /// The sender.
    pub fn from_address(&self) -> String {
        self.from.to_string()
    }

    /// Builds the lettre message for `message` (what [`send`](Mailer::send) sends).
    fn build(&self, message: Message) -> Result<lettre::Message, MailError> {
        let to: Mailbox =
            message.to.parse().map_err(|e| MailError::InvalidAddress(format!("{:?}: {e}", message.to)))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(message.text_body)
            .map_err(|e| MailError::Message(e.to_string()))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        let to = message.to.clone();
        let email = self.build(message)?;
        self.transport.send(email).await.map_err(|e| MailError::Transport(e.to_string()))?;
        tracing::info!(%to, "mail sent by SMTP");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_transport_and_a_message_without_sending() {
        for url in
            ["smtp://user:p%40ss@mail.example.org:587", "smtps://mail.example.org:465", "smtp://localhost:25"]
        {
            let mailer = SmtpMailer::from_url(url, "miniSASS <noreply@example.org>").expect(url);
            assert!(!format!("{mailer:?}").contains("p%40ss"), "credentials are not printed");
            let built = mailer
                .build(Message::new("ann@example.org", "Password reset", "https://example.org/reset/MQ/t/"))
                .expect("message builds");
            let text = String::from_utf8(built.formatted()).expect("utf-8");
            assert!(text.contains("To: ann@example.org"), "{text}");
            assert!(text.contains("From: miniSASS <noreply@example.org>"), "{text}");
            assert!(text.contains("Subject: Password reset"), "{text}");
            assert!(text.contains("https://example.org/reset/MQ/t/"), "{text}");
        }
        assert_eq!(mailer_from("noreply@example.org").from_address(), "noreply@example.org");
    }

    fn mailer_from(from: &str) -> SmtpMailer {
        SmtpMailer::from_url("smtp://localhost:25", from).expect("valid")
    }

    #[test]
    fn bad_urls_and_addresses_are_config_errors() {
        assert!(matches!(
            SmtpMailer::from_url("http://user:secret@host", "a@example.org"),
            Err(MailError::Config(message)) if !message.contains("secret")
        ));
        assert!(matches!(
            SmtpMailer::from_url("smtp://host", "not an address"),
            Err(MailError::InvalidAddress(_))
        ));
        let mailer = mailer_from("a@example.org");
        assert!(matches!(mailer.build(Message::new("nobody", "s", "b")), Err(MailError::InvalidAddress(_))));
    }
}
