//! What can stop the demo, and the exit code each problem ends the process with.

use std::path::PathBuf;

use authmount::password::PasswordError;
use authmount::store::StoreError;

use crate::config::ConfigError;

/// A problem that ends `authmount-demo` (serving or `useradd`).
///
/// [`exit_code`](Self::exit_code) is 2 for what the operator must fix in the command line or the
/// configuration, 1 for everything else (a store that is down, a duplicate user, an I/O error).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A flag or argument that cannot work (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The configuration file or an `AUTHMOUNT_*` variable is invalid (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `useradd` for a username or e-mail address that is taken (exit code 1).
    #[error("a user with this {0} already exists")]
    Duplicate(&'static str),
    /// A store could not be opened or answered with an error (exit code 1).
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// Hashing a password failed for a reason other than the password policy (exit code 1).
    #[error("could not hash the password: {0}")]
    Password(#[source] PasswordError),
    /// A file could not be read or written, or the listening socket could not be bound
    /// (exit code 1).
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or address.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else that stops the server (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl DemoError {
    /// The process exit code for this error: 2 for usage and configuration problems, else 1.
    ///
    /// ```
    /// use authmount_demo::DemoError;
    /// assert_eq!(DemoError::Usage("--users cannot be redis://".into()).exit_code(), 2);
    /// assert_eq!(DemoError::Duplicate("username").exit_code(), 1);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Config(_) => 2,
            Self::Duplicate(_)
            | Self::Store { .. }
            | Self::Password(_)
            | Self::Io { .. }
            | Self::Other(_) => 1,
        }
    }

    /// A store error with what was being done.
    pub(crate) fn store(what: impl Into<String>, source: StoreError) -> Self {
        Self::Store { what: what.into(), source }
    }
}
