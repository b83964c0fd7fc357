//! The port: what a password hashing algorithm must provide.

use super::PasswordError;

/// The outcome of checking a password against a stored hash.
///
/// ```
/// use authmount::password::Verification;
/// let v = Verification::Match { needs_rehash: true };
/// assert!(v.is_match());
/// assert!(v.needs_rehash());
/// assert!(!Verification::Mismatch.is_match());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Verification {
    /// The password is correct.
    Match {
        /// The stored hash was made with another algorithm, version or cost than the one
        /// configured now: store a fresh hash of this (correct) password so outdated hashes are
        /// upgraded on the next successful login.
        needs_rehash: bool,
    },
    /// The password is wrong, or there was no usable stored hash.
    Mismatch,
}

impl Verification {
    /// `true` if the password was correct.
    pub fn is_match(self) -> bool {
        matches!(self, Self::Match { .. })
    }

    /// `true` if the password was correct *and* the stored hash should be replaced.
    pub fn needs_rehash(self) -> bool {
        matches!(self, Self::Match { needs_rehash: true })
    }
}

/// A password hashing algorithm: the port behind [`PasswordService`](super::PasswordService).
///
/// The methods are synchronous and CPU-bound (tens of milliseconds by design); the service calls
/// them on Tokio's blocking pool behind a semaphore, so implementations need not care about async.
/// The trait is object-safe: the service holds an `Arc<dyn PasswordHasher>`.
///
/// [`Argon2idHasher`](super::Argon2idHasher) is the implementation to use. Implement the trait
/// yourself to accept legacy hashes (e.g. try argon2 first and fall back to an old scheme, answering
/// `Match { needs_rehash: true }` for the old one so it is replaced on the next login).
///
/// # Contract
///
/// - `verify` and `dummy_verify` must cost the same, so a login for an unknown user takes as long
///   as one for a known user (no user enumeration by timing).
/// - A stored hash the implementation cannot read is `Ok(Verification::Mismatch)`, not an error:
///   errors are for internal failures only. Implementations should still spend one dummy verify on
///   it to keep the cost uniform.
/// - Never log the password or a stored hash.
///
/// ```
/// use authmount::password::{PasswordError, PasswordHasher, Verification};
///
/// /// A toy hasher for illustration only: never store plain text.
/// struct Plain;
///
/// impl PasswordHasher for Plain {
///     fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
///         Ok(format!("$plain${}", String::from_utf8_lossy(password)))
///     }
///     fn verify(&self, password: &[u8], phc: &str) -> Result<Verification, PasswordError> {
///         let ok = phc.strip_prefix("$plain$").map(str::as_bytes) == Some(password);
///         Ok(if ok { Verification::Match { needs_rehash: true } } else { Verification::Mismatch })
///     }
///     fn dummy_verify(&self, _password: &[u8]) {}
/// }
///
/// let hasher: Box<dyn PasswordHasher> = Box::new(Plain);
/// let phc = hasher.hash(b"hunter42")?;
/// assert!(hasher.verify(b"hunter42", &phc)?.is_match());
/// # Ok::<(), PasswordError>(())
/// ```
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hash `password` with the configured parameters and a fresh random salt; returns a string
    /// to store (PHC string format for argon2).
    ///
    /// # Errors
    /// Only internal failures ([`PasswordError::Hashing`]); length policy is the caller's job.
    fn hash(&self, password: &[u8]) -> Result<String, PasswordError>;

    /// Check `password` against the stored hash `phc`, using the parameters recorded in it.
    ///
    /// # Errors
    /// Only internal failures; an unreadable `phc` is `Ok(Verification::Mismatch)`.
    fn verify(&self, password: &[u8], phc: &str) -> Result<Verification, PasswordError>;

    /// Spend exactly what [`verify`](Self::verify) would spend on a hash made with the current
    /// parameters, and throw the result away. Used for unknown users, users without a usable
    /// password and empty passwords, so every login path costs one hash.
    fn dummy_verify(&self, password: &[u8]);
}
