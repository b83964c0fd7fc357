//! Where the demo's mail goes: the one place that picks the [`Mailer`] every dialect of the
//! demo sends through (miniSASS's password-reset links today; any mail a dialect sends later
//! goes the same way, since [`dialects::build`](crate::dialects::build) hands this mailer to
//! all of them).
//!
//! | `[mail]` | where a message goes |
//! |---|---|
//! | nothing set (default) | a file `<unix ms>-<random>.eml` in [`DEFAULT_MAIL_DIR`] beside the SQLite database (else in the working directory), or in `mail.dir`; open it with any mail program or `cat` |
//! | `smtp = "smtp://..."`, `AUTHMOUNT_MAIL_SMTP` or `--smtp URL` | the SMTP server at that URL ([`SmtpMailer`]: `smtp://host:25` plain, `smtp://user:pass@host:587` STARTTLS when offered, `smtps://...` implicit TLS) |
//!
//! The log names each written file's path, the recipient and the subject; never the body,
//! which holds the link (as good as the password). The files are readable by their owner only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use authmount::mailer::{FileMailer, Mailer, SmtpMailer};

use crate::DemoError;
use crate::config::MailSection;
use crate::stores::StoreSpec;

/// The folder the `.eml` files go to by default, beside the SQLite database.
pub const DEFAULT_MAIL_DIR: &str = "authmount-demo-mail";

/// The sender of the demo's mail (`mail.from`).
pub const DEFAULT_FROM: &str = "authmount demo <noreply@example.org>";

/// The mail transport `[mail]` chose, and what the banner says of it. Cheap to clone.
#[derive(Clone)]
pub struct DemoMail {
    mailer: Arc<dyn Mailer>,
    description: String,
}

impl std::fmt::Debug for DemoMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoMail").field("description", &self.description).finish_non_exhaustive()
    }
}

impl DemoMail {
    /// The transport `section` asks for: SMTP when `section.smtp` is set, else files in
    /// `section.dir` or `default_dir` (created if missing). A URL or sender that cannot work,
    /// or a folder that cannot be created, is a usage error (exit code 2).
    ///
    /// ```
    /// use authmount_demo::config::MailSection;
    /// use authmount_demo::mail::DemoMail;
    ///
    /// let dir = std::env::temp_dir().join(format!("authmount-demo-mail-doc-{}", std::process::id()));
    /// let files = DemoMail::from_config(&MailSection::default(), &dir)?;
    /// assert_eq!(files.describe(), format!("written as .eml files to {} (each file's path is logged)", dir.display()));
    ///
    /// let smtp = MailSection { smtp: Some(authmount_demo::config::Secret::new("smtp://ann:secret@127.0.0.1:2525")), ..Default::default() };
    /// let by_smtp = DemoMail::from_config(&smtp, &dir)?;
    /// assert_eq!(by_smtp.describe(), "sent to the SMTP server smtp://ann:****@127.0.0.1:2525");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), authmount_demo::DemoError>(())
    /// ```
    pub fn from_config(section: &MailSection, default_dir: &Path) -> Result<Self, DemoError> {
        let unusable = |error: authmount::mailer::MailError| DemoError::Usage(format!("[mail]: {error}"));
        if let Some(url) = &section.smtp {
            let mailer = SmtpMailer::from_url(url.expose(), &section.from).map_err(unusable)?;
            let description = format!("sent to the SMTP server {}", StoreSpec::mask(url.expose()));
            return Ok(Self { mailer: Arc::new(mailer), description });
        }
        let dir = section.dir.clone().unwrap_or_else(|| default_dir.to_path_buf());
        let files = FileMailer::new(dir, section.from.clone()).map_err(unusable)?;
        let description =
            format!("written as .eml files to {} (each file's path is logged)", files.dir().display());
        Ok(Self { mailer: Arc::new(files), description })
    }

    /// The mailer to hand to the dialects.
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        self.mailer.clone()
    }

    /// Where mail goes, for the start banner (no credentials).
    pub fn describe(&self) -> &str {
        &self.description
    }
}

/// The default mail folder: [`DEFAULT_MAIL_DIR`] beside the SQLite database of the tokens (or
/// else of the users), else in the working directory: where the JWT secret is kept too.
///
/// ```
/// use std::path::PathBuf;
/// use authmount_demo::mail::default_mail_dir;
/// let spec = |s: &str| s.parse().unwrap();
/// assert_eq!(default_mail_dir(&spec("sqlite:data/users.db"), &spec("memory")), PathBuf::from("data/authmount-demo-mail"));
/// assert_eq!(default_mail_dir(&spec("memory"), &spec("memory")), PathBuf::from("authmount-demo-mail"));
/// ```
pub fn default_mail_dir(users: &StoreSpec, tokens: &StoreSpec) -> PathBuf {
    StoreSpec::folder_beside_database(tokens, users).join(DEFAULT_MAIL_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_smtp_urls_and_senders_are_usage_errors() {
        let dir = std::env::temp_dir().join(format!("authmount-demo-mail-test-{}", std::process::id()));
        let section = |smtp: &str, from: &str| MailSection {
            smtp: Some(crate::config::Secret::new(smtp)),
            from: from.to_owned(),
            dir: None,
        };
        for (smtp, from) in [("http://user:secret@host", DEFAULT_FROM), ("smtp://host:25", "not an address")]
        {
            let error = DemoMail::from_config(&section(smtp, from), &dir).expect_err("refused");
            assert_eq!(error.exit_code(), 2, "{error}");
            assert!(!error.to_string().contains("secret"), "{error}");
        }
    }
}
