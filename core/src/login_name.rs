//! Normalisation of login names (usernames and e-mail addresses).
//!
//! Two spellings that a person would read as the same name must reach the same account, and must
//! not be registrable as two accounts: `Alice`, `alice`, `ALICE` and the full-width `ａｌｉｃｅ` are
//! one login. Stores compare and index only the normalised form, while the user record keeps the
//! name as it was entered.

use unicode_normalization::UnicodeNormalization;

/// The normalised form of a username or e-mail address: Unicode NFKC, then full case folding,
/// then NFKC again (an approximation of Unicode's `NFKC_Casefold`).
///
/// Nothing is trimmed: `" alice"` is a different login from `"alice"`, as in Django.
///
/// ```
/// use authmount::login_name::normalize_login;
/// assert_eq!(normalize_login("Alice"), "alice");
/// assert_eq!(normalize_login("ａｌｉｃｅ"), "alice");
/// assert_eq!(normalize_login("STRASSE@Example.ORG"), normalize_login("straße@example.org"));
/// ```
pub fn normalize_login(login: &str) -> String {
    let composed: String = login.nfkc().collect();
    let folded = caseless::default_case_fold_str(&composed);
    folded.nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::normalize_login;

    #[test]
    fn case_and_width_variants_are_one_login() {
        for variant in ["alice", "Alice", "ALICE", "ａｌｉｃｅ", "ＡＬＩＣＥ"] {
            assert_eq!(normalize_login(variant), "alice", "{variant}");
        }
    }

    #[test]
    fn compatibility_forms_compose() {
        // U+FB01 LATIN SMALL LIGATURE FI and a decomposed é.
        assert_eq!(normalize_login("\u{FB01}le"), "file");
        assert_eq!(normalize_login("Re\u{301}my"), "rémy");
        assert_eq!(normalize_login("Σίσυφος"), normalize_login("ΣΊΣΥΦΟΣ"));
    }

    #[test]
    fn whitespace_and_distinct_scripts_are_kept() {
        assert_ne!(normalize_login(" alice"), "alice");
        // Cyrillic 'а' is a different letter, not folded onto Latin 'a'.
        assert_ne!(normalize_login("\u{430}lice"), "alice");
    }
}
