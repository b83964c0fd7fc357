//! The adapter kit: everything a framework adapter needs besides translating types, so that an
//! adapter holds no policy of its own and axum and actix-web answer byte for byte alike.
//!
//! An adapter
//!
//! 1. mounts each [`Route`](super::Route) of an [`Api`](super::Api) at its
//!    [`paths`](super::Route::paths) for every method, reads the body with [`read_body`] (up to
//!    [`Api::body_limit`](super::Api::body_limit)) and answers with
//!    [`Api::call`](super::Api::call);
//! 2. runs [`Gate::check_for`](super::Gate::check_for) in a middleware (with the policy the
//!    middleware was given, if any: a refused request is answered at once) and keeps the
//!    [`AuthState`] and a [`CheckedBy`] in the request extensions;
//! 3. offers extractors: the user required ([`AuthState::required`]) or optional
//!    ([`AuthState::optional`]), and one generic extractor for any [`FromGated`] value (such as
//!    Meldeschein's [`MetaRequest`](crate::dialect::meldeschein::MetaRequest)) that
//!    [`extract_gated`] drives;
//! 4. answers an [`Unauthenticated`] with the denial's response as it is, or with a 500 naming
//!    the missing middleware.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::request::Parts;

use super::{ApiResponse, AuthState, Authenticated, BODY_READ_TIMEOUT, Denial, Gate, RequestBody};

/// The gate that checked a request, kept in the request extensions beside its [`AuthState`] by
/// the adapters' middleware, so extractors can render refusals in its dialect's shape (such as
/// the 403 of an [`Authorized`](crate::authz::Authorized) extractor).
#[derive(Debug, Clone)]
pub struct CheckedBy(pub Arc<Gate>);

/// Why an extractor has no authenticated user to hand on.
#[derive(Debug, Clone)]
pub enum Unauthenticated {
    /// The gate refused the request: answer with [`Denial::to_response`] (the dialect's 401,
    /// 403 or 503), byte for byte.
    Denied(Arc<Denial>),
    /// No gate ran for the route (the adapter's middleware is missing): a set-up mistake, to be
    /// answered 500 with a message naming the middleware, and logged.
    NoGate,
}

impl AuthState {
    /// What an extractor that requires a user hands on: the authenticated request, or why not.
    /// `state` is what the adapter's middleware left in the request extensions (`None` when
    /// none ran).
    ///
    /// ```
    /// use authmount::api::AuthState;
    /// use authmount::api::adapter::Unauthenticated;
    /// assert!(matches!(AuthState::required(None), Err(Unauthenticated::NoGate)));
    /// ```
    pub fn required(state: Option<&AuthState>) -> Result<Arc<Authenticated>, Unauthenticated> {
        match state {
            Some(AuthState::Authenticated(authenticated)) => Ok(Arc::clone(authenticated)),
            Some(AuthState::Denied(denial)) => Err(Unauthenticated::Denied(Arc::clone(denial))),
            None => Err(Unauthenticated::NoGate),
        }
    }

    /// What an extractor of an optional user hands on: `Some` for an authenticated request,
    /// `None` for one that carried no credentials at all, and the refusal for any other. A
    /// broken, expired or revoked token, or a token store that is down, is never taken for
    /// "anonymous".
    pub fn optional(state: Option<&AuthState>) -> Result<Option<Arc<Authenticated>>, Unauthenticated> {
        match Self::required(state) {
            Ok(authenticated) => Ok(Some(authenticated)),
            Err(Unauthenticated::Denied(denial)) if denial.is_no_credentials() => Ok(None),
            Err(refused) => Err(refused),
        }
    }
}

/// Why a chunk of a request body could not be read: what an adapter maps its framework's body
/// errors to.
#[derive(Debug)]
pub enum BodyError {
    /// A body limit outside the adapter (a server's or a middleware's) cut the body off: 413.
    TooLarge,
    /// The body broke off (the client went away, a malformed chunk): 400.
    Broken(Box<dyn std::error::Error + Send + Sync>),
}

/// Reads a request body from its chunks, as every adapter must: a `Content-Length` (its raw
/// value) above `limit` is [`RequestBody::TooLarge`] without reading; a body that grows past
/// `limit` is cut off there ([`RequestBody::TooLarge`]); one that breaks off, or does not
/// arrive within [`BODY_READ_TIMEOUT`], is [`RequestBody::Incomplete`]. Needs a Tokio runtime
/// with the timer (axum's and actix-web's both are).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use authmount::api::RequestBody;
/// use authmount::api::adapter::{BodyError, read_body};
/// use bytes::Bytes;
///
/// let chunks = |parts: &[&'static str]| {
///     futures_util::stream::iter(parts.iter().map(|p| Ok::<_, BodyError>(Bytes::from_static(p.as_bytes()))).collect::<Vec<_>>())
/// };
/// assert_eq!(read_body(None, chunks(&["ab", "cd"]), 4).await, RequestBody::Complete(Bytes::from_static(b"abcd")));
/// assert_eq!(read_body(None, chunks(&["ab", "cde"]), 4).await, RequestBody::TooLarge);
/// assert_eq!(read_body(Some(b"10"), chunks(&[]), 4).await, RequestBody::TooLarge);
/// let broken = futures_util::stream::iter([Err(BodyError::Broken("reset".into()))]);
/// assert_eq!(read_body(None, broken, 4).await, RequestBody::Incomplete);
/// # });
/// ```
pub async fn read_body<S, E>(content_length: Option<&[u8]>, chunks: S, limit: usize) -> RequestBody
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BodyError>,
{
    let declared = content_length
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return RequestBody::TooLarge;
    }
    let capacity = declared.and_then(|length| usize::try_from(length).ok()).unwrap_or(0);
    let read = async move {
        let mut chunks = std::pin::pin!(chunks);
        // The usual body is one chunk: kept as it is, copied only when a second one comes.
        let mut first: Option<Bytes> = None;
        let mut joined: Option<BytesMut> = None;
        let mut length = 0usize;
        while let Some(chunk) = chunks.next().await {
            let chunk = match chunk.map_err(Into::into) {
                Ok(chunk) => chunk,
                Err(BodyError::TooLarge) => return RequestBody::TooLarge,
                Err(BodyError::Broken(error)) => {
                    tracing::debug!(%error, "authmount: request body broke off");
                    return RequestBody::Incomplete;
                }
            };
            length += chunk.len();
            if length > limit {
                return RequestBody::TooLarge;
            }
            match (&mut joined, first.take()) {
                (Some(joined), _) => joined.extend_from_slice(&chunk),
                (None, None) => first = Some(chunk),
                (None, Some(earlier)) => {
                    let mut buffer = BytesMut::with_capacity(capacity.max(length));
                    buffer.extend_from_slice(&earlier);
                    buffer.extend_from_slice(&chunk);
                    joined = Some(buffer);
                }
            }
        }
        RequestBody::Complete(joined.map(BytesMut::freeze).or(first).unwrap_or_default())
    };
    tokio::time::timeout(BODY_READ_TIMEOUT, read).await.unwrap_or_else(|_| {
        tracing::debug!("authmount: request body not complete within {BODY_READ_TIMEOUT:?}");
        RequestBody::Incomplete
    })
}

/// What a [`FromGated`] value is read from: the request the gate authenticated, and its body.
#[derive(Debug)]
#[non_exhaustive]
pub struct GatedRequest<'a> {
    /// What the gate established (the identity, and the user when the gate loads it).
    pub authenticated: &'a Arc<Authenticated>,
    /// The request head.
    pub head: &'a Parts,
    /// The gate that checked the request, when the middleware left it (for refusals in its
    /// dialect's shape).
    pub gate: Option<&'a Gate>,
    /// The body, read up to [`FromGated::BODY_LIMIT`].
    pub body: RequestBody,
}

/// A value read from an authenticated request and its body, such as Meldeschein's validated
/// and granted `meta` object: written once here, handed to handlers by each adapter's one
/// generic extractor (`authmount_axum::Gated<T>`, `authmount_actix::Gated<T>`), which
/// [`extract_gated`] drives.
///
/// ```
/// use async_trait::async_trait;
/// use authmount::api::adapter::{FromGated, GatedRequest};
/// use authmount::api::{ApiResponse, DEFAULT_BODY_LIMIT, Reply};
///
/// /// The caller's username, for routes whose gate loads the user.
/// struct Username(String);
///
/// #[async_trait]
/// impl FromGated for Username {
///     const BODY_LIMIT: usize = 0;
///
///     async fn from_gated(request: GatedRequest<'_>) -> Result<Self, ApiResponse> {
///         match &request.authenticated.user {
///             Some(user) => Ok(Username(user.username.clone())),
///             None => Err(Reply::empty(http::StatusCode::FORBIDDEN).into_response()),
///         }
///     }
/// }
/// # let _ = DEFAULT_BODY_LIMIT;
/// ```
#[async_trait]
pub trait FromGated: Sized + Send + 'static {
    /// The most body bytes the adapter reads for it (a longer body is
    /// [`RequestBody::TooLarge`]); `0` for a value that needs no body.
    const BODY_LIMIT: usize;

    /// Reads the value; `Err` is the refusal to send, already in the dialect's shape.
    async fn from_gated(request: GatedRequest<'_>) -> Result<Self, ApiResponse>;
}

/// What an adapter's generic extractor does for a [`FromGated`] `T`: requires the
/// authenticated request ([`AuthState::required`]), then reads the body (`body`, a future that
/// is not polled when the request is refused) and the value. A refusal of `T` becomes an
/// [`Unauthenticated::Denied`], answered as it is.
pub async fn extract_gated<T: FromGated>(
    state: Option<&AuthState>,
    gate: Option<&CheckedBy>,
    head: &Parts,
    body: impl Future<Output = RequestBody>,
) -> Result<T, Unauthenticated> {
    let authenticated = AuthState::required(state)?;
    let gate = gate.map(|CheckedBy(gate)| gate.as_ref());
    let request = GatedRequest { authenticated: &authenticated, head, gate, body: body.await };
    T::from_gated(request)
        .await
        .map_err(|refusal| Unauthenticated::Denied(Arc::new(Denial::new(refusal, false))))
}
