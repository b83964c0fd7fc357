//! The one error type of the password module.

use std::fmt;

use thiserror::Error;

use super::Argon2Params;

/// Everything that can go wrong when checking, hashing or verifying a password.
///
/// The variants fall into three groups, which the HTTP layer maps differently:
///
/// - **the user's fault** ([`TooShort`](Self::TooShort), [`TooLong`](Self::TooLong),
///   [`TooCommon`](Self::TooCommon)): only returned
///   when a *new* password is set (registration, change, reset). Their `Display` text is written
///   for the end user and can be shown as is (400).
/// - **overload** ([`Busy`](Self::Busy)): too many hash operations are already queued; answer
///   503 with `Retry-After` instead of queueing without bound.
/// - **the server's fault** ([`InvalidConfig`](Self::InvalidConfig), [`Hashing`](Self::Hashing),
///   [`Task`](Self::Task)): misconfiguration or an internal failure (500).
///
/// The server-side variants carry a typed reason ([`ConfigProblem`], [`HashingFailure`],
/// [`TaskFailure`]) and display its message as their own; an underlying library error, when there
/// is one, is reachable through [`Error::source`](std::error::Error::source).
///
/// A malformed or foreign stored hash is *not* an error: verifying against it yields
/// [`Verification::Mismatch`](super::Verification::Mismatch) (see
/// [`Argon2idHasher`](super::Argon2idHasher)), so a corrupt row can never turn a login into a 500.
/// Messages never contain the password or a stored hash.
///
/// ```
/// use authmount::password::{ConfigProblem, PasswordError};
/// let err = PasswordError::TooShort { min: 8 };
/// assert_eq!(
///     err.to_string(),
///     "This password is too short. It must contain at least 8 characters."
/// );
/// assert!(err.is_policy_violation());
///
/// let err = PasswordError::from(ConfigProblem::MinLengthAboveMax { min_bytes: 12, max_bytes: 10 });
/// assert_eq!(
///     err.to_string(),
///     "invalid password policy: the minimum length 12 exceeds the maximum 10"
/// );
/// assert!(!err.is_policy_violation());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The new password is shorter than the policy's minimum (counted in UTF-8 bytes, which equals
    /// characters for ASCII).
    #[error("This password is too short. It must contain at least {min} characters.")]
    TooShort {
        /// The policy's minimum length in bytes.
        min: usize,
    },

    /// The password is longer than the policy's maximum (counted in UTF-8 bytes, which equals
    /// characters for ASCII). Rejected before any hashing is done.
    #[error("This password is too long. It must contain at most {max} characters.")]
    TooLong {
        /// The policy's maximum length in bytes.
        max: usize,
    },

    /// The new password is one of the most common passwords (compared after NFKC and case
    /// folding); Django's `CommonPasswordValidator` message.
    #[error("This password is too common.")]
    TooCommon,

    /// Too many callers are already waiting for a hashing slot; try again shortly
    /// (the HTTP layer answers 503 with `Retry-After`).
    #[error("too many password checks in progress, try again shortly")]
    Busy,

    /// A configuration value is unusable: hashing parameters below the security floor or invalid
    /// for argon2, an inconsistent policy, an out-of-range concurrency. The [`ConfigProblem`]
    /// says which, with the offending values.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigProblem),

    /// The hashing algorithm itself failed (should not happen with a valid configuration).
    #[error(transparent)]
    Hashing(#[from] HashingFailure),

    /// The blocking hashing task could not run or did not finish: it panicked, was cancelled
    /// because the runtime is shutting down, or there is no Tokio runtime.
    #[error(transparent)]
    Task(#[from] TaskFailure),
}

impl PasswordError {
    /// `true` for errors caused by the password the user chose ([`TooShort`](Self::TooShort),
    /// [`TooLong`](Self::TooLong), [`TooCommon`](Self::TooCommon)), whose message can be shown
    /// to the user.
    pub fn is_policy_violation(&self) -> bool {
        matches!(self, Self::TooShort { .. } | Self::TooLong { .. } | Self::TooCommon)
    }
}

/// Why a password hashing configuration was refused: the payload of
/// [`PasswordError::InvalidConfig`], with the offending values.
///
/// ```
/// use authmount::password::{ConfigProblem, PasswordError, PasswordPolicy};
///
/// assert_eq!(
///     PasswordPolicy::new(8, 5000),
///     Err(PasswordError::InvalidConfig(ConfigProblem::MaxLengthAboveHardCap {
///         max_bytes: 5000,
///         hard_cap: PasswordPolicy::HARD_MAX_BYTES,
///     }))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// Argon2 parameters with zero lanes (`p = 0`).
    #[error("invalid argon2 parameters: parallelism (p) must be at least 1")]
    ZeroParallelism,

    /// Argon2 parameters with zero passes (`t = 0`).
    #[error("invalid argon2 parameters: iterations (t) must be at least 1")]
    ZeroIterations,

    /// Argon2 parameters whose memory is below the OWASP floor for their iteration count (see the
    /// table on [`Argon2Params`]).
    #[error(
        "argon2 memory {} KiB with t={} is below the OWASP floor of {min_memory_kib} KiB",
        .params.memory_kib,
        .params.iterations
    )]
    BelowOwaspFloor {
        /// The refused parameters.
        params: Argon2Params,
        /// The least memory, in KiB, OWASP accepts with `params.iterations` passes.
        min_memory_kib: u32,
    },

    /// The argon2 implementation refused the parameters (e.g. it requires m ≥ 8·p KiB); the
    /// [`source`](std::error::Error::source) is its reason.
    #[error(
        "argon2 rejected the parameters m={} KiB, t={}, p={}",
        .params.memory_kib,
        .params.iterations,
        .params.parallelism
    )]
    RejectedByArgon2 {
        /// The refused parameters.
        params: Argon2Params,
        /// The argon2 implementation's reason.
        #[source]
        source: BackendError,
    },

    /// A password policy with a minimum length of 0 (an empty password can never log in).
    #[error("invalid password policy: the minimum length must be at least 1 byte")]
    MinLengthZero,

    /// A password policy whose maximum length exceeds
    /// [`PasswordPolicy::HARD_MAX_BYTES`](super::PasswordPolicy::HARD_MAX_BYTES).
    #[error(
        "invalid password policy: the maximum length {max_bytes} exceeds the hard cap of {hard_cap} bytes"
    )]
    MaxLengthAboveHardCap {
        /// The requested maximum, in bytes.
        max_bytes: usize,
        /// The hard cap, in bytes.
        hard_cap: usize,
    },

    /// A password policy whose minimum length exceeds its maximum.
    #[error("invalid password policy: the minimum length {min_bytes} exceeds the maximum {max_bytes}")]
    MinLengthAboveMax {
        /// The requested minimum, in bytes.
        min_bytes: usize,
        /// The requested maximum, in bytes.
        max_bytes: usize,
    },

    /// A [`PasswordService`](super::PasswordService) concurrency of 0 or above the largest
    /// semaphore Tokio supports.
    #[error("password hashing concurrency must be between 1 and {max}, not {requested}")]
    ConcurrencyOutOfRange {
        /// The requested number of concurrent hashes.
        requested: usize,
        /// The largest number allowed ([`tokio::sync::Semaphore::MAX_PERMITS`]).
        max: usize,
    },
}

/// Why hashing a password failed: the payload of [`PasswordError::Hashing`]. None of these should
/// happen with a valid configuration on a healthy system.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HashingFailure {
    /// The operating system's random number generator failed (no salt could be drawn); the
    /// [`source`](std::error::Error::source) is its error.
    #[error("password hashing failed: the operating system's random number generator failed")]
    Randomness(#[source] BackendError),

    /// The random salt could not be encoded for the PHC string.
    #[error("password hashing failed: the salt could not be encoded")]
    SaltEncoding(#[source] BackendError),

    /// The argon2 implementation failed to compute the hash.
    #[error("password hashing failed: argon2 could not compute the hash")]
    Argon2(#[source] BackendError),

    /// A custom [`PasswordHasher`](super::PasswordHasher) failed; for implementations outside
    /// this crate.
    #[error("password hashing failed in the {hasher} hasher")]
    Other {
        /// The name of the failing hasher, e.g. `"bcrypt"`.
        hasher: &'static str,
    },
}

/// Why a hash could not run or finish on the hashing threads: the payload of
/// [`PasswordError::Task`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TaskFailure {
    /// No hashing thread could be started (the operating system refused to create threads).
    #[error("password hashing task failed: no hashing thread could be started")]
    ThreadStart,

    /// The hasher panicked while hashing or verifying.
    #[error("password hashing task failed: the password hasher panicked")]
    Panicked,

    /// The hash was dropped before it finished, e.g. because the process is shutting down.
    #[error("password hashing task failed: the task was cancelled")]
    Cancelled,

    /// The semaphore bounding concurrent hashes was closed.
    #[error("password hashing task failed: the hashing semaphore is closed")]
    SemaphoreClosed,
}

/// An error reported by a library the password module builds on (the argon2 implementation or
/// the operating system's random number generator).
///
/// Opaque on purpose: its [`Display`](fmt::Display) is the library's own message (which never
/// contains a password or a hash), but the library's error type is not part of this crate's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError(Backend);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Argon2(argon2::Error),
    PasswordHash(argon2::password_hash::Error),
    Random(getrandom::Error),
}

// Crate-private constructors rather than `From` impls, so the third-party types stay out of the
// public API.
impl BackendError {
    pub(super) fn argon2(e: argon2::Error) -> Self {
        Self(Backend::Argon2(e))
    }

    pub(super) fn password_hash(e: argon2::password_hash::Error) -> Self {
        Self(Backend::PasswordHash(e))
    }

    pub(super) fn random(e: getrandom::Error) -> Self {
        Self(Backend::Random(e))
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Backend::Argon2(e) => write!(f, "argon2: {e}"),
            Backend::PasswordHash(e) => write!(f, "argon2: {e}"),
            Backend::Random(e) => write!(f, "getrandom: {e}"),
        }
    }
}

impl std::error::Error for BackendError {}
