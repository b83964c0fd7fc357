//! The JWT signing secret: configured, or generated once and kept in a file (mode 0600), or,
//! for in-memory tokens, generated per run.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::DemoError;
use crate::config::{JwtSection, MIN_SECRET_BYTES};

/// The file name of a generated secret.
pub const SECRET_FILE_NAME: &str = "authmount-demo.secret";

/// The number of random bytes of a generated secret.
pub const GENERATED_SECRET_BYTES: usize = 32;

/// Where the secret in use came from (printed at start; never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `jwt.secret` or `AUTHMOUNT_JWT_SECRET`.
    Configured,
    /// Read from this file, generated into it on this start when `created`.
    File {
        /// The file.
        path: PathBuf,
        /// Whether this start generated it.
        created: bool,
    },
    /// Generated for this run only: JWTs stop working when the server stops.
    Ephemeral,
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configured => f.write_str("configured"),
            Self::File { path, created: true } => write!(f, "generated into {}", path.display()),
            Self::File { path, created: false } => write!(f, "read from {}", path.display()),
            Self::Ephemeral => f.write_str("generated for this run only (tokens are in memory)"),
        }
    }
}

/// The secret bytes to sign JWTs with. `Debug` never shows them.
pub struct JwtSecret {
    bytes: Vec<u8>,
    /// Where they came from.
    pub source: SecretSource,
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSecret").field("source", &self.source).finish_non_exhaustive()
    }
}

impl JwtSecret {
    /// The secret's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Finds the secret: `config.secret` if set; else the file `config.secret_file`, else
    /// `default_file`, read or generated there once; with neither (tokens in memory), a fresh
    /// one for this run.
    ///
    /// ```
    /// use authmount_demo::config::JwtSection;
    /// use authmount_demo::secret::{JwtSecret, SecretSource};
    /// let dir = std::env::temp_dir().join(format!("authmount-secret-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let file = dir.join("authmount-demo.secret");
    /// let first = JwtSecret::resolve(&JwtSection::default(), Some(&file))?;
    /// let again = JwtSecret::resolve(&JwtSection::default(), Some(&file))?;
    /// assert_eq!(first.bytes(), again.bytes());
    /// assert_eq!(again.source, SecretSource::File { path: file.clone(), created: false });
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(config: &JwtSection, default_file: Option<&Path>) -> Result<Self, DemoError> {
        if let Some(secret) = &config.secret {
            let bytes = secret.expose().as_bytes().to_vec();
            if bytes.len() < MIN_SECRET_BYTES {
                return Err(DemoError::Usage(format!(
                    "jwt.secret must be at least {MIN_SECRET_BYTES} bytes"
                )));
            }
            return Ok(Self { bytes, source: SecretSource::Configured });
        }
        match config.secret_file.as_deref().or(default_file) {
            Some(path) => load_or_create(path),
            None => Ok(Self { bytes: generate()?, source: SecretSource::Ephemeral }),
        }
    }
}

fn generate() -> Result<Vec<u8>, DemoError> {
    let mut bytes = vec![0; GENERATED_SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|error| DemoError::Other(format!("cannot generate a JWT secret: {error}")))?;
    Ok(bytes)
}

fn load_or_create(path: &Path) -> Result<JwtSecret, DemoError> {
    match read(path) {
        Ok(bytes) => {
            return Ok(JwtSecret {
                bytes,
                source: SecretSource::File { path: path.to_owned(), created: false },
            });
        }
        Err(DemoError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let bytes = generate()?;
    let io = |what, source| DemoError::Io { what, path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let text = format!("{}\n", URL_SAFE_NO_PAD.encode(&bytes));
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|source| io("cannot write the JWT secret to", source))?;
            Ok(JwtSecret { bytes, source: SecretSource::File { path: path.to_owned(), created: true } })
        }
        // Another process created it first: use theirs.
        Err(source) if source.kind() == ErrorKind::AlreadyExists => Ok(JwtSecret {
            bytes: read(path)?,
            source: SecretSource::File { path: path.to_owned(), created: false },
        }),
        Err(source) => Err(io("cannot create the JWT secret file", source)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, DemoError> {
    let text = std::fs::read_to_string(path).map_err(|source| DemoError::Io {
        what: "cannot read the JWT secret file",
        path: path.to_owned(),
        source,
    })?;
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the JWT secret file is readable by others: chmod 600 it");
        }
    }
    match URL_SAFE_NO_PAD.decode(text.trim()) {
        Ok(bytes) if bytes.len() >= MIN_SECRET_BYTES => Ok(bytes),
        _ => Err(DemoError::Other(format!(
            "the JWT secret file {} is damaged (expected {GENERATED_SECRET_BYTES} bytes in unpadded base64url): \
             delete it to generate a new secret (existing JWTs stop working)",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("authmount-demo-secret-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn a_configured_secret_wins() {
        let config = JwtSection { secret: Some(Secret::new("x".repeat(40))), secret_file: None };
        let secret = JwtSecret::resolve(&config, Some(Path::new("/nonexistent/file"))).expect("configured");
        assert_eq!(secret.bytes(), "x".repeat(40).as_bytes());
        assert_eq!(secret.source, SecretSource::Configured);
        let short = JwtSection { secret: Some(Secret::new("short")), secret_file: None };
        assert_eq!(JwtSecret::resolve(&short, None).expect_err("short").exit_code(), 2);
    }

    #[test]
    fn a_generated_secret_is_persisted_private_and_reused() {
        let dir = temp_dir("persist");
        let file = dir.join(SECRET_FILE_NAME);
        let first = JwtSecret::resolve(&JwtSection::default(), Some(&file)).expect("generated");
        assert_eq!(first.source, SecretSource::File { path: file.clone(), created: true });
        assert_eq!(first.bytes().len(), GENERATED_SECRET_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = JwtSecret::resolve(&JwtSection::default(), Some(&file)).expect("read");
        assert_eq!(second.bytes(), first.bytes());
        assert!(!format!("{second:?}").contains(&URL_SAFE_NO_PAD.encode(first.bytes())));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_configured_file_beats_the_default_file() {
        let dir = temp_dir("configured-file");
        let config = JwtSection { secret: None, secret_file: Some(dir.join("mine.secret")) };
        let secret = JwtSecret::resolve(&config, Some(&dir.join("default.secret"))).expect("generated");
        assert!(
            matches!(secret.source, SecretSource::File { ref path, .. } if path.ends_with("mine.secret"))
        );
        assert!(!dir.join("default.secret").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_file_the_secret_is_ephemeral_and_random() {
        let one = JwtSecret::resolve(&JwtSection::default(), None).expect("generated");
        let two = JwtSecret::resolve(&JwtSection::default(), None).expect("generated");
        assert_eq!(one.source, SecretSource::Ephemeral);
        assert_ne!(one.bytes(), two.bytes());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_new_secret() {
        let dir = temp_dir("damaged");
        let file = dir.join(SECRET_FILE_NAME);
        std::fs::write(&file, "not base64 !!!").expect("written");
        let error = JwtSecret::resolve(&JwtSection::default(), Some(&file)).expect_err("damaged");
        assert!(error.to_string().contains("damaged"), "{error}");
        assert_eq!(std::fs::read_to_string(&file).expect("kept"), "not base64 !!!");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
