//! Selects jsonwebtoken's crypto backend at run time.
//!
//! jsonwebtoken picks its backend from its own crate features, and panics at first use when
//! none or both are on. Both can be on in an app whose other dependencies turned on the other
//! one, so authmount installs the provider matching its own feature explicitly: `aws-lc-rs` when
//! that feature is on (even if `rust-crypto` is on too), else `rust-crypto`.

/// Installs the process-wide jsonwebtoken provider, once. Later calls, and calls after someone
/// else installed a provider, do nothing.
pub(crate) fn ensure_installed() {
    #[cfg(feature = "aws-lc-rs")]
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    // Err only means a provider is already installed (by us or by the app): either works.
    let _ = provider.install_default();
}
