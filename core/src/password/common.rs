//! The list of the most common passwords that new passwords are checked against.
//!
//! The list is the first 10,000 entries of zxcvbn's `passwords` frequency list (MIT licence; see
//! the header of `common-passwords.txt` for the source and notice), embedded in the binary.
//! Entries are lower case; a password is compared after Unicode NFKC and full case folding
//! (the same normalisation as login names), so `PASSWORD1`, `Password1` and the full-width
//! `ｐａｓｓｗｏｒｄ１` all match `password1`. Nothing else is stripped: `password1!` is not
//! on the list.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::login_name::normalize_login;

const LIST: &str = include_str!("common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect()
});

/// `true` if `password`, after NFKC and case folding, is one of the 10,000 most common
/// passwords.
///
/// ```
/// use authmount::password::is_common_password;
/// assert!(is_common_password("password1"));
/// assert!(is_common_password("PassWord1"));
/// assert!(is_common_password("ｐａｓｓｗｏｒｄ１"));
/// assert!(!is_common_password("correct horse battery"));
/// ```
pub fn is_common_password(password: &str) -> bool {
    // The longest entry is far below this: longer passwords cannot match and are not normalised.
    if password.len() > 256 {
        return false;
    }
    COMMON.contains(normalize_login(password).as_str())
}

/// How many passwords the embedded list holds.
///
/// ```
/// assert!(authmount::password::common_password_count() >= 10_000);
/// ```
pub fn common_password_count() -> usize {
    COMMON.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_complete_and_normalised() {
        assert_eq!(common_password_count(), 10_000);
        for entry in COMMON.iter() {
            assert_eq!(normalize_login(entry), *entry, "entries are stored normalised");
            assert!(entry.len() <= 64, "{entry}");
        }
    }

    #[test]
    fn matches_ignore_case_and_width_only() {
        for common in ["123456789", "password", "Password", "QWERTYUIOP", "iloveyou", "ｉｌｏｖｅｙｏｕ"]
        {
            assert!(is_common_password(common), "{common}");
        }
        for rare in ["password1!x", " password", "password ", "correct horse battery", ""] {
            assert!(!is_common_password(rare), "{rare:?}");
        }
        assert!(!is_common_password(&"a".repeat(1000)));
    }
}
