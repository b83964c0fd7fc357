//! [`PasswordPolicy`]: which new passwords are acceptable.

use super::{ConfigProblem, PasswordError};

/// Rules for new passwords, and the length cap that protects the hasher.
///
/// Lengths are counted in **UTF-8 bytes** (what the hash actually processes): for ASCII that is the
/// number of characters, other characters count 2 to 4. Passwords are taken exactly as typed:
/// never trimmed, never case-folded or normalised, and any Unicode is allowed (NIST SP 800-63B).
///
/// - The minimum applies only to *new* passwords ([`check_new`](Self::check_new)): never at login,
///   where legacy accounts may have shorter passwords.
/// - The maximum is checked before any hashing, so nobody can make the server hash megabytes. It
///   is capped at [`HARD_MAX_BYTES`](Self::HARD_MAX_BYTES).
///
/// ```
/// use authmount::password::{PasswordError, PasswordPolicy};
///
/// let policy = PasswordPolicy::default(); // 8..=1024 bytes
/// assert!(policy.check_new("correct horse").is_ok());
/// assert!(policy.check_new("пароль-пароль").is_ok());
/// assert_eq!(policy.check_new("short"), Err(PasswordError::TooShort { min: 8 }));
/// assert_eq!(policy.check_new(&"x".repeat(1025)), Err(PasswordError::TooLong { max: 1024 }));
///
/// let strict = PasswordPolicy::new(12, 256)?;
/// assert_eq!(strict.min_bytes(), 12);
/// # Ok::<(), PasswordError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordPolicy {
    min_bytes: usize,
    max_bytes: usize,
    reject_common: bool,
}

impl PasswordPolicy {
    /// Default minimum length: 8 bytes (NIST SP 800-63B's minimum for user-chosen passwords).
    pub const DEFAULT_MIN_BYTES: usize = 8;
    /// Default maximum length: 1024 bytes, far beyond any passphrase.
    pub const DEFAULT_MAX_BYTES: usize = 1024;
    /// The largest maximum a policy may have: 4096 bytes.
    pub const HARD_MAX_BYTES: usize = 4096;

    /// A policy accepting new passwords of `min_bytes..=max_bytes` bytes.
    ///
    /// # Errors
    /// [`PasswordError::InvalidConfig`] with [`ConfigProblem::MinLengthZero`] if `min_bytes` is 0
    /// (an empty password can never log in: the service treats it as a mismatch),
    /// [`ConfigProblem::MaxLengthAboveHardCap`] if `max_bytes` exceeds
    /// [`HARD_MAX_BYTES`](Self::HARD_MAX_BYTES), or [`ConfigProblem::MinLengthAboveMax`] if
    /// `min_bytes > max_bytes`.
    pub fn new(min_bytes: usize, max_bytes: usize) -> Result<Self, PasswordError> {
        if min_bytes == 0 {
            return Err(ConfigProblem::MinLengthZero.into());
        }
        if max_bytes > Self::HARD_MAX_BYTES {
            return Err(
                ConfigProblem::MaxLengthAboveHardCap { max_bytes, hard_cap: Self::HARD_MAX_BYTES }.into()
            );
        }
        if min_bytes > max_bytes {
            return Err(ConfigProblem::MinLengthAboveMax { min_bytes, max_bytes }.into());
        }
        Ok(Self { min_bytes, max_bytes, reject_common: true })
    }

    /// Turns the check against the [common-password list](super::is_common_password) on (the
    /// default) or off.
    ///
    /// ```
    /// use authmount::password::{PasswordError, PasswordPolicy};
    /// assert_eq!(PasswordPolicy::default().check_new("iloveyou2"), Err(PasswordError::TooCommon));
    /// assert_eq!(PasswordPolicy::default().with_common_password_check(false).check_new("iloveyou2"), Ok(()));
    /// ```
    #[must_use]
    pub fn with_common_password_check(mut self, on: bool) -> Self {
        self.reject_common = on;
        self
    }

    /// Whether new passwords are checked against the common-password list.
    pub fn rejects_common_passwords(&self) -> bool {
        self.reject_common
    }

    /// The minimum length of a new password, in bytes.
    pub fn min_bytes(&self) -> usize {
        self.min_bytes
    }

    /// The maximum length of any password, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// `true` if `password` is longer than [`max_bytes`](Self::max_bytes) and must not be hashed.
    pub fn exceeds_max(&self, password: &str) -> bool {
        password.len() > self.max_bytes
    }

    /// Check a password a user wants to set (registration, change, reset).
    ///
    /// # Errors
    /// [`PasswordError::TooLong`], [`PasswordError::TooShort`] or [`PasswordError::TooCommon`]
    /// (one of the 10,000 most common passwords, compared after NFKC and case folding), whose
    /// messages can be shown to the user.
    pub fn check_new(&self, password: &str) -> Result<(), PasswordError> {
        if self.exceeds_max(password) {
            return Err(PasswordError::TooLong { max: self.max_bytes });
        }
        if password.len() < self.min_bytes {
            return Err(PasswordError::TooShort { min: self.min_bytes });
        }
        if self.reject_common && super::is_common_password(password) {
            return Err(PasswordError::TooCommon);
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    /// 8 to 1024 bytes, not on the common-password list.
    fn default() -> Self {
        Self { min_bytes: Self::DEFAULT_MIN_BYTES, max_bytes: Self::DEFAULT_MAX_BYTES, reject_common: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_bounds_are_inclusive() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check_new("1234567"), Err(PasswordError::TooShort { min: 8 }));
        assert_eq!(policy.check_new("12345678"), Err(PasswordError::TooCommon));
        assert_eq!(policy.check_new("1234x678"), Ok(()));
        assert_eq!(policy.check_new(&"a".repeat(1024)), Ok(()));
        assert_eq!(policy.check_new(&"a".repeat(1025)), Err(PasswordError::TooLong { max: 1024 }));
        assert!(!policy.exceeds_max(&"a".repeat(1024)));
        assert!(policy.exceeds_max(&"a".repeat(1025)));
    }

    #[test]
    fn lengths_are_bytes_not_characters() {
        let policy = PasswordPolicy::default();
        // 4 characters, 16 bytes.
        assert_eq!(policy.check_new("😀😀😀😀"), Ok(()));
        // 342 characters, 1026 bytes.
        assert_eq!(policy.check_new(&"€".repeat(342)), Err(PasswordError::TooLong { max: 1024 }));
    }

    #[test]
    fn whitespace_counts_and_is_kept() {
        let policy = PasswordPolicy::default();
        // Would be 6 bytes after trimming.
        assert_eq!(policy.check_new("  abcdef  "), Ok(()));
        assert_eq!(policy.check_new("        "), Ok(()));
    }

    #[test]
    fn construction_is_validated() {
        assert!(PasswordPolicy::new(1, 4096).is_ok());
        assert!(PasswordPolicy::new(10, 10).is_ok());
        for (min, max, problem) in [
            (0, 10, ConfigProblem::MinLengthZero),
            (11, 10, ConfigProblem::MinLengthAboveMax { min_bytes: 11, max_bytes: 10 }),
            (8, 4097, ConfigProblem::MaxLengthAboveHardCap { max_bytes: 4097, hard_cap: 4096 }),
        ] {
            assert_eq!(
                PasswordPolicy::new(min, max),
                Err(PasswordError::InvalidConfig(problem)),
                "{min}..{max}"
            );
        }
        assert_eq!(
            PasswordPolicy::new(8, 4097).unwrap_err().to_string(),
            "invalid password policy: the maximum length 4097 exceeds the hard cap of 4096 bytes"
        );
    }

    #[test]
    fn common_passwords_are_refused_in_any_case_or_width() {
        let policy = PasswordPolicy::default();
        for common in ["password", "PASSWORD1", "Qwertyuiop", "ｐａｓｓｗｏｒｄ", "iloveyou1"] {
            assert_eq!(policy.check_new(common), Err(PasswordError::TooCommon), "{common}");
        }
        // Length rules come first: a short common password is reported as too short.
        assert_eq!(policy.check_new("123456"), Err(PasswordError::TooShort { min: 8 }));
        assert_eq!(policy.check_new("correct horse battery"), Ok(()));
        assert!(PasswordError::TooCommon.is_policy_violation());
        assert_eq!(PasswordError::TooCommon.to_string(), "This password is too common.");
    }

    #[test]
    fn messages_are_for_users() {
        assert_eq!(
            PasswordError::TooShort { min: 8 }.to_string(),
            "This password is too short. It must contain at least 8 characters."
        );
        assert_eq!(
            PasswordError::TooLong { max: 1024 }.to_string(),
            "This password is too long. It must contain at most 1024 characters."
        );
    }

    proptest! {
        #[test]
        fn check_new_is_exactly_the_byte_length_rule(password in "\\PC{0,40}", min in 1usize..20, extra in 0usize..40) {
            let policy = PasswordPolicy::new(min, min + extra).unwrap().with_common_password_check(false);
            let len = password.len();
            let expected = if len > min + extra {
                Err(PasswordError::TooLong { max: min + extra })
            } else if len < min {
                Err(PasswordError::TooShort { min })
            } else {
                Ok(())
            };
            prop_assert_eq!(policy.check_new(&password), expected);
        }
    }
}
