//! The extension point for carriers the built-in ones do not cover.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;

use super::{Carrier, CarrierKind, Found};

/// A place a token travels that the built-in carriers do not cover (another header syntax, a
/// pair of headers, a cookie that needs decoding...): implement it, wrap it with
/// [`Carrier::custom`] and add it to a [`Guard`](crate::guard::Guard) like any carrier.
///
/// The rules of the built-in carriers hold for custom ones too: answer [`Found::Absent`] when
/// the request does not use this carrier (the next one is tried), [`Found::Malformed`] when it
/// is used but cannot be read (the request is refused, never passed on), and hand on only
/// visible ASCII of at most [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES) (say [`Found::token`]).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use authmount::carrier::{Carrier, CarrierKind, CustomCarrier, Found};
/// use authmount::guard::{Guard, OpaqueVerifier};
/// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
/// use authmount::token::TokenHash;
/// use authmount::user::UserId;
///
/// /// `X-Api-Key: key=<token>`.
/// #[derive(Debug)]
/// struct ApiKey;
///
/// impl std::fmt::Display for ApiKey {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("header X-Api-Key: key=<token>")
///     }
/// }
///
/// impl CustomCarrier for ApiKey {
///     fn find<'r>(&self, head: &'r http::request::Parts) -> Found<'r> {
///         match head.headers.get("x-api-key").map(|value| value.to_str()) {
///             None => Found::Absent,
///             Some(Ok(value)) => match value.strip_prefix("key=") {
///                 Some(token) => Found::token(token),
///                 None => Found::Malformed(authmount::carrier::MalformedCredentials::MissingToken),
///             },
///             Some(Err(_)) => Found::Malformed(authmount::carrier::MalformedCredentials::InvalidCharacters),
///         }
///     }
///
///     fn kind(&self) -> CarrierKind {
///         CarrierKind::Header // sent on purpose, not by the browser: no cross-site check needed
///     }
/// }
///
/// let tokens = Arc::new(MemoryTokenStore::new());
/// let record = TokenRecord::new(TokenKind::Access, UserId(7), "app", SystemTime::now(), Duration::from_secs(60));
/// tokens.put(TokenHash::of("s3cret"), record).await?;
/// let guard = Guard::new().with(Carrier::custom(ApiKey), OpaqueVerifier::new(tokens, TokenKind::Access, "app"));
///
/// let head = http::Request::get("/").header("x-api-key", "key=s3cret").body(()).unwrap().into_parts().0;
/// assert_eq!(guard.authenticate(&head).await.expect("authenticated").user_id, UserId(7));
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
pub trait CustomCarrier: fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// Looks for the token in a request's head.
    fn find<'r>(&self, head: &'r Parts) -> Found<'r>;

    /// What kind of place this is. [`CarrierKind::Cookie`] for an ambient credential, one the
    /// browser sends by itself (a gate's cross-site check applies to it); else the kind it is
    /// most like.
    fn kind(&self) -> CarrierKind;
}

/// A [`CustomCarrier`] inside a [`Carrier`]: shared, compared by identity (two are equal when
/// they are the same carrier value).
#[derive(Debug, Clone)]
pub struct Custom(Arc<dyn CustomCarrier>);

impl Custom {
    /// The carrier.
    pub fn carrier(&self) -> &dyn CustomCarrier {
        &*self.0
    }
}

impl PartialEq for Custom {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Custom {}

impl fmt::Display for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Carrier {
    /// A carrier of the app's own ([`CustomCarrier`]).
    pub fn custom(carrier: impl CustomCarrier) -> Self {
        Self::Custom(Custom(Arc::new(carrier)))
    }
}

impl<'r> Found<'r> {
    /// `token` as the built-in carriers hand a token on: refused as
    /// [`TooLong`](super::MalformedCredentials::TooLong) over
    /// [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES), as
    /// [`InvalidCharacters`](super::MalformedCredentials::InvalidCharacters) when it is not all
    /// visible ASCII.
    ///
    /// ```
    /// use authmount::carrier::{Found, MalformedCredentials};
    /// assert_eq!(Found::token("abc"), Found::Token("abc".into()));
    /// assert_eq!(Found::token("a b"), Found::Malformed(MalformedCredentials::InvalidCharacters));
    /// ```
    pub fn token(token: impl Into<std::borrow::Cow<'r, str>>) -> Self {
        super::checked(token.into())
    }
}
