//! [`FileMailer`]: each message as an `.eml` file in a directory.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{MailError, Mailer, Message};
use crate::time_format::rfc5322;

/// A [`Mailer`] that writes each message to its own file in a directory, as an RFC 5322 message
/// (`.eml`: any mail program opens it): for development, where a person must be able to follow
/// the links a server mails (a password reset) without a mail server. The model is Django's
/// file-based e-mail backend.
///
/// Files are named `<unix milliseconds>-<random>.eml`, written whole (a temporary name, then a
/// rename), readable by their owner only (mode 0600 in a 0700 directory on Unix): a reset link
/// is as good as the password. Each write is logged with the file's path, recipient and subject,
/// never the body.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use authmount::mailer::{FileMailer, Mailer, Message};
/// let dir = std::env::temp_dir().join(format!("authmount-mail-doc-{}", std::process::id()));
/// let mailer = FileMailer::new(&dir, "noreply@example.org")?;
/// let path = mailer.write(Message::new("ann@example.org", "Password reset", "https://example.org/r/MQ/t/")).await?;
/// let text = std::fs::read_to_string(&path).unwrap();
/// assert!(text.starts_with("From: noreply@example.org\r\nTo: ann@example.org\r\n"));
/// assert!(text.ends_with("\r\n\r\nhttps://example.org/r/MQ/t/\r\n"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), authmount::mailer::MailError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
    from: String,
}

impl FileMailer {
    /// A mailer writing into `dir` (created if missing), sending as `from` (`"addr@host"` or
    /// `"Name <addr@host>"`).
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Result<Self, MailError> {
        let dir = dir.into();
        let from = from.into();
        check_header("From", &from)?;
        create_private_dir(&dir).map_err(|e| {
            MailError::Config(format!("cannot create the mail directory {}: {e}", dir.display()))
        })?;
        Ok(Self { dir, from })
    }

    /// The directory messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `message` and returns the file's path.
    pub async fn write(&self, message: Message) -> Result<PathBuf, MailError> {
        check_address(&message.to)?;
        check_header("Subject", &message.subject)?;
        let text = self.format(&message, SystemTime::now())?;
        let name = file_name()?;
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_whole(&dir, &name, text.as_bytes()))
            .await
            .map_err(|e| MailError::Transport(format!("the mail writer stopped: {e}")))?
            .map_err(|e| MailError::Transport(format!("cannot write the mail file: {e}")))?;
        tracing::info!(path = %path.display(), to = %message.to, subject = %message.subject, "mail written to a file");
        Ok(path)
    }

    /// The message as RFC 5322 text with CRLF line ends: headers (the subject as UTF-8
    /// encoded-words when it is not ASCII), a blank line, the body as 8-bit UTF-8.
    fn format(&self, message: &Message, now: SystemTime) -> Result<String, MailError> {
        let mut text = String::new();
        let id = crate::token::random_id().map_err(|e| MailError::Message(e.to_string()))?;
        let domain = self.from.rsplit_once('@').map_or("localhost", |(_, d)| d.trim_end_matches('>'));
        let _ = write!(
            text,
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{id}@{domain}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            self.from,
            message.to,
            encode_header(&message.subject),
            rfc5322(now),
        );
        for line in message.text_body.lines() {
            text.push_str(line);
            text.push_str("\r\n");
        }
        Ok(text)
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        self.write(message).await.map(drop)
    }
}

/// A header value may not start a new header (no CR or LF: header injection).
fn check_header(name: &str, value: &str) -> Result<(), MailError> {
    if value.chars().any(|c| c == '\r' || c == '\n') {
        return Err(MailError::Message(format!("the {name} header may not contain a line break")));
    }
    Ok(())
}

fn check_address(address: &str) -> Result<(), MailError> {
    let valid = address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !address.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',');
    if valid { Ok(()) } else { Err(MailError::InvalidAddress(format!("{address:?}"))) }
}

/// ASCII text as it is; otherwise UTF-8 encoded-words (RFC 2047, base64), each at most 75
/// characters, folded onto continuation lines.
fn encode_header(value: &str) -> String {
    if value.is_ascii() {
        return value.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        // 45 bytes of text make 60 of base64: with `=?utf-8?b?` and `?=`, 72 characters.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?b?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    words.push(format!("=?utf-8?b?{}?=", STANDARD.encode(&chunk)));
    words.join("\r\n ")
}

fn file_name() -> Result<String, MailError> {
    let millis = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).map_err(|e| MailError::Message(e.to_string()))?;
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{millis}-{random}.eml"))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `dir/name` under a temporary name first, so a reader never sees half a
/// message.
fn write_whole(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    let path = dir.join(name);
    std::fs::rename(&temporary, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("authmount-file-mailer-{name}-{}", std::process::id()))
    }

    #[tokio::test]
    async fn writes_one_private_file_per_message() {
        let dir = temp_dir("private");
        let mailer = FileMailer::new(&dir, "miniSASS <noreply@example.org>").expect("dir");
        let first =
            mailer.write(Message::new("ann@example.org", "One", "line 1\nline 2")).await.expect("written");
        let second = mailer.write(Message::new("ann@example.org", "Two", "x")).await.expect("written");
        assert_ne!(first, second);
        let text = std::fs::read_to_string(&first).expect("readable");
        assert!(text.contains("\r\nSubject: One\r\n"), "{text}");
        assert!(text.contains("\r\nMessage-ID: <") && text.contains("@example.org>\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nline 1\r\nline 2\r\n"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&first).expect("meta").permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(&dir).expect("meta").permissions().mode() & 0o777, 0o700);
        }
        let names: Vec<_> =
            std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary files are left: {names:?}");
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }

    #[tokio::test]
    async fn header_injection_and_bad_addresses_are_refused() {
        let dir = temp_dir("refused");
        let mailer = FileMailer::new(&dir, "noreply@example.org").expect("dir");
        for message in [
            Message::new("ann@example.org\r\nBcc: eve@example.org", "Hi", "x"),
            Message::new("ann@example.org", "Hi\r\nBcc: eve@example.org", "x"),
            Message::new("not an address", "Hi", "x"),
            Message::new("", "Hi", "x"),
        ] {
            assert!(mailer.write(message).await.is_err());
        }
        assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0, "nothing written");
        assert!(FileMailer::new(&dir, "a@b\nBcc: c@d").is_err());
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words_that_decode_back() {
        let subject = "Obnovení hesla – přihlášení do systému AMČR a něco navíc, aby to bylo dlouhé";
        let encoded = encode_header(subject);
        assert!(encoded.is_ascii());
        let decoded: Vec<u8> = encoded
            .split("\r\n ")
            .flat_map(|word| {
                assert!(word.len() <= 75, "{word}");
                let inner =
                    word.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?=")).expect("a word");
                STANDARD.decode(inner).expect("base64")
            })
            .collect();
        assert_eq!(String::from_utf8(decoded).expect("utf-8"), subject);
        assert_eq!(encode_header("Password reset"), "Password reset");
    }
}
