use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, StatusCode};

use super::cross_site::{CROSS_SITE_REFUSED, CrossSite, Origin, is_safe};
use super::{ApiError, ApiResponse, ErrorRenderer};
use crate::carrier::CarrierKind;
use crate::guard::{Guard, Identity, InvalidToken, Rejection};
use crate::store::UserStore;
use crate::user::{User, UserId};

/// Whether the [`Gate`] loads the user behind each token.
#[derive(Clone, Default)]
pub enum UserCheck {
    /// Trust the token alone (cheapest; deactivation must then revoke the user's tokens).
    #[default]
    TokenOnly,
    /// Load the user on every request and refuse missing or deactivated accounts, as DRF's
    /// authentication classes do. The loaded user is handed to the handler.
    RequireActive(Arc<dyn UserStore>),
}

/// Protects an app's routes with a dialect's tokens and error shape: what adapters run in their
/// middleware.
///
/// ```
/// use std::sync::Arc;
/// use authmount::api::{ApiError, ApiResponse, ErrorRenderer, Gate, Reply};
/// use authmount::guard::Guard;
///
/// struct Plain;
/// impl ErrorRenderer for Plain {
///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
///         Reply::empty(error.status()).into_response()
///     }
/// }
/// let gate = Gate::new(Guard::new(), Arc::new(Plain));
/// # let _ = gate;
/// ```
#[derive(Clone)]
pub struct Gate {
    guard: Arc<Guard>,
    renderer: Arc<dyn ErrorRenderer>,
    users: UserCheck,
    cross_site: Option<Arc<CrossSite>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("guard", &self.guard)
            .field("cross_site", &self.cross_site)
            .finish_non_exhaustive()
    }
}

/// An authenticated request: who, and (with [`UserCheck::RequireActive`]) their account.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The verified identity.
    pub identity: Identity,
    /// The user's account, when the gate loads it (shared with the store where it can be).
    pub user: Option<Arc<User>>,
}

impl Authenticated {
    /// The verified identity: user id, where the token was found, the credential.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The authenticated user's id.
    pub fn user_id(&self) -> UserId {
        self.identity.user_id
    }

    /// The user's account, when the gate loads it ([`UserCheck::RequireActive`]).
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }
}

/// A refusal, already rendered in the dialect's shape, kept so an extractor can answer with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    no_credentials: bool,
}

impl Denial {
    /// Keeps a rendered response; `no_credentials` says the request carried no token at all
    /// (an optional-user extractor then yields "anonymous" instead of refusing).
    pub fn new(response: ApiResponse, no_credentials: bool) -> Self {
        let (parts, body) = response.into_parts();
        Self { status: parts.status, headers: parts.headers, body, no_credentials }
    }

    /// Whether the request carried no credentials at all. A request with a broken, expired or
    /// revoked token is refused even where authentication is optional.
    pub fn is_no_credentials(&self) -> bool {
        self.no_credentials
    }

    /// The status of the refusal (401, 403 or 503).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response to send.
    pub fn to_response(&self) -> ApiResponse {
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// The outcome of a [`Gate`] check, kept in the request extensions by the adapters' middleware.
#[derive(Debug, Clone)]
pub enum AuthState {
    /// The request is authenticated.
    Authenticated(Arc<Authenticated>),
    /// The request is refused; the denial says how to answer.
    Denied(Arc<Denial>),
}

impl Gate {
    /// A gate running `guard` and rendering refusals with `renderer`.
    pub fn new(guard: Guard, renderer: Arc<dyn ErrorRenderer>) -> Self {
        Self { guard: Arc::new(guard), renderer, users: UserCheck::TokenOnly, cross_site: None }
    }

    /// Turns on cross-site request (CSRF) protection for cookie sessions.
    ///
    /// A request authenticated by a cookie ([`CarrierKind::Cookie`]) whose method is not safe
    /// (anything but `GET`, `HEAD`, `OPTIONS`, `TRACE`) is refused with
    /// [`ApiError::Forbidden`]`(`[`CROSS_SITE_REFUSED`]`)` (403) when
    ///
    /// - it has an `Origin` header that is neither the request's own origin (`https://` and
    ///   its `Host`; see [`with_plain_http_origin`](Self::with_plain_http_origin)) nor one of
    ///   `trusted_origins` (`Origin: null` included), or
    /// - `Sec-Fetch-Site` says `cross-site` or `same-site` and the origin is not trusted (a
    ///   sibling subdomain is another site's code: `SameSite=Lax` cookies do not stop it).
    ///
    /// A request with neither header (a script, `curl`, an old browser's same-origin form) is
    /// allowed. Credentials in a header or the query string are not ambient (a browser does not
    /// add them by itself), so they are not checked. Behind a proxy that rewrites `Host`, list
    /// the public origin in `trusted_origins`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::{Duration, SystemTime};
    /// use authmount::api::{ApiError, ApiResponse, AuthState, ErrorRenderer, Gate, Origin, Reply};
    /// use authmount::carrier::Carrier;
    /// use authmount::guard::{Guard, OpaqueVerifier};
    /// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
    /// use authmount::token::TokenHash;
    /// use authmount::user::UserId;
    ///
    /// struct Plain;
    /// impl ErrorRenderer for Plain {
    ///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
    ///         Reply::empty(error.status()).into_response()
    ///     }
    /// }
    /// let tokens = Arc::new(MemoryTokenStore::new());
    /// let record = TokenRecord::new(TokenKind::Session, UserId(1), "app", SystemTime::now(), Duration::from_secs(60));
    /// tokens.put(TokenHash::of("session-token"), record).await?;
    /// let guard = Guard::new().with(Carrier::cookie("sid"), OpaqueVerifier::new(tokens, TokenKind::Session, "app"));
    /// let trusted: Origin = "https://admin.example.org".parse().expect("an origin");
    /// let gate = Gate::new(guard, Arc::new(Plain)).with_cross_site_protection([trusted]);
    ///
    /// let post = |origin: &str| {
    ///     http::Request::post("/app/thing")
    ///         .header("host", "example.org")
    ///         .header("origin", origin)
    ///         .header("cookie", "sid=session-token")
    ///         .body(())
    ///         .unwrap()
    ///         .into_parts()
    ///         .0
    /// };
    /// assert!(matches!(gate.check(&post("https://example.org")).await, AuthState::Authenticated(_)));
    /// assert!(matches!(gate.check(&post("https://admin.example.org")).await, AuthState::Authenticated(_)));
    /// let AuthState::Denied(denial) = gate.check(&post("https://evil.example")).await else { panic!() };
    /// assert_eq!(denial.status(), 403);
    /// # Ok::<(), authmount::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub fn with_cross_site_protection(mut self, trusted_origins: impl IntoIterator<Item = Origin>) -> Self {
        let schemes = self.cross_site.as_ref().map_or_else(|| vec!["https"], |c| c.schemes.clone());
        self.cross_site =
            Some(Arc::new(CrossSite { trusted: trusted_origins.into_iter().collect(), schemes }));
        self
    }

    /// With [cross-site protection](Self::with_cross_site_protection), also takes
    /// `http://<Host>` as the request's own origin: for development over plain HTTP (where
    /// cookies cannot be `Secure` either). Without protection turned on, this does nothing.
    pub fn with_plain_http_origin(mut self) -> Self {
        if let Some(cross_site) = &self.cross_site {
            let mut cross_site = CrossSite::clone(cross_site);
            if !cross_site.schemes.contains(&"http") {
                cross_site.schemes.push("http");
            }
            self.cross_site = Some(Arc::new(cross_site));
        }
        self
    }

    /// Applies the [cross-site check](Self::with_cross_site_protection) to a request the guard
    /// authenticated as `identity`: for handlers that run the guard themselves (a logout that
    /// ends the session whatever the account's state). `Ok` when protection is off, the method
    /// is safe or the credential did not come in a cookie.
    pub fn check_cross_site(&self, head: &Parts, identity: &Identity) -> Result<(), ApiError> {
        if is_safe(&head.method) {
            return Ok(());
        }
        self.check_cross_site_any_method(head, identity)
    }

    /// The [cross-site check](Self::with_cross_site_protection) whatever the method, safe ones
    /// included: for a handler whose `GET` answer hands out credentials on the strength of a
    /// cookie alone (another site must not be able to mint them by navigation or a script).
    /// `Ok` when protection is off or the credential did not come in a cookie.
    pub fn check_cross_site_any_method(&self, head: &Parts, identity: &Identity) -> Result<(), ApiError> {
        match &self.cross_site {
            Some(cross_site) if identity.carrier == CarrierKind::Cookie && !cross_site.allows(head) => {
                Err(ApiError::Forbidden(CROSS_SITE_REFUSED))
            }
            _ => Ok(()),
        }
    }

    /// Sets whether each request loads and checks the user.
    pub fn with_user_check(mut self, users: UserCheck) -> Self {
        self.users = users;
        self
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The renderer that gives this gate's refusals the dialect's shape.
    pub fn renderer(&self) -> &Arc<dyn ErrorRenderer> {
        &self.renderer
    }

    /// Authenticates the request whose head is `head`.
    pub async fn check(&self, head: &Parts) -> AuthState {
        match self.authenticate(head).await {
            Ok(authenticated) => AuthState::Authenticated(Arc::new(authenticated)),
            Err(error) => {
                let no_credentials = matches!(error, ApiError::Rejected(Rejection::NotProvided));
                let response = self.renderer.render(&error, head);
                AuthState::Denied(Arc::new(Denial::new(response, no_credentials)))
            }
        }
    }

    /// Authenticates the request whose head is `head` and requires the account the gate loaded:
    /// for a dialect's own endpoints that answer about the user. The refusal is the error the
    /// gate would render ([`authenticate`](Self::authenticate)); a gate that does not load users
    /// ([`UserCheck::TokenOnly`]) is a set-up mistake, [`ApiError::Internal`].
    pub async fn require_user(&self, head: &Parts) -> Result<Arc<User>, ApiError> {
        let authenticated = self.authenticate(head).await?;
        authenticated.user.ok_or_else(|| {
            tracing::error!("a gate without UserCheck::RequireActive cannot hand on the user");
            ApiError::Internal
        })
    }

    /// Authenticates the request whose head is `head`, returning the error instead of rendering
    /// it: the guard, the [cross-site check](Self::with_cross_site_protection), then the
    /// [user check](UserCheck).
    pub async fn authenticate(&self, head: &Parts) -> Result<Authenticated, ApiError> {
        let identity = self.guard.authenticate(head).await.map_err(ApiError::Rejected)?;
        self.check_cross_site(head, &identity)?;
        let user = match &self.users {
            UserCheck::TokenOnly => None,
            UserCheck::RequireActive(users) => {
                let user = users
                    .get_shared(identity.user_id)
                    .await
                    .map_err(|error| ApiError::Rejected(Rejection::Unavailable(error)))?
                    .filter(|user| user.is_active)
                    .ok_or(ApiError::Rejected(Rejection::Invalid(InvalidToken::InactiveUser)))?;
                Some(user)
            }
        };
        Ok(Authenticated { identity, user })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::api::Reply;
    use crate::carrier::Carrier;
    use crate::guard::OpaqueVerifier;
    use crate::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
    use crate::token::TokenHash;
    use crate::user::UserId;

    struct Plain;
    impl ErrorRenderer for Plain {
        fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
            Reply::empty(error.status()).into_response()
        }
    }

    async fn gate() -> Gate {
        let tokens = Arc::new(MemoryTokenStore::new());
        let record = TokenRecord::new(
            TokenKind::Session,
            UserId(3),
            "app",
            SystemTime::now(),
            Duration::from_secs(600),
        );
        tokens.put(TokenHash::of("tok"), record).await.expect("stored");
        let verifier = Arc::new(OpaqueVerifier::new(tokens, TokenKind::Session, "app"));
        let guard = Guard::new()
            .with_shared(Carrier::bearer(), verifier.clone())
            .with_shared(Carrier::query("key"), verifier.clone())
            .with_shared(Carrier::cookie("sid"), verifier);
        let trusted: Origin = "https://partner.example.com".parse().expect("origin");
        Gate::new(guard, Arc::new(Plain)).with_cross_site_protection([trusted])
    }

    fn head(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("request").into_parts().0
    }

    async fn outcome(gate: &Gate, head: &Parts) -> Result<(), StatusCode> {
        gate.authenticate(head).await.map(|_| ()).map_err(|error| error.status())
    }

    const COOKIE: (&str, &str) = ("cookie", "sid=tok");
    const HOST_HEADER: (&str, &str) = ("host", "example.org");

    #[tokio::test]
    async fn unsafe_cookie_requests_from_other_origins_are_forbidden() {
        let gate = gate().await;
        for origin in
            ["https://evil.example", "http://example.org", "https://example.org:8443", "null", "garbage"]
        {
            let request = head("POST", "/x", &[COOKIE, HOST_HEADER, ("origin", origin)]);
            assert_eq!(outcome(&gate, &request).await, Err(StatusCode::FORBIDDEN), "{origin}");
            let AuthState::Denied(denial) = gate.check(&request).await else { panic!("{origin} passed") };
            assert!(!denial.is_no_credentials());
        }
        for method in ["PUT", "PATCH", "DELETE"] {
            let request = head(method, "/x", &[COOKIE, HOST_HEADER, ("origin", "https://evil.example")]);
            assert_eq!(outcome(&gate, &request).await, Err(StatusCode::FORBIDDEN), "{method}");
        }
        let twice = head(
            "POST",
            "/x",
            &[COOKIE, HOST_HEADER, ("origin", "https://example.org"), ("origin", "https://example.org")],
        );
        assert_eq!(outcome(&gate, &twice).await, Err(StatusCode::FORBIDDEN));
    }

    #[tokio::test]
    async fn own_and_trusted_origins_pass() {
        let gate = gate().await;
        for (host, origin) in [
            ("example.org", "https://example.org"),
            ("EXAMPLE.org", "https://example.ORG"),
            ("example.org:443", "https://example.org"),
            ("example.org:8443", "https://example.org:8443"),
            ("example.org", "https://partner.example.com"),
        ] {
            let request = head("POST", "/x", &[COOKIE, ("host", host), ("origin", origin)]);
            assert_eq!(outcome(&gate, &request).await, Ok(()), "{host} {origin}");
        }
        let trusted_cross_site = head(
            "POST",
            "/x",
            &[
                COOKIE,
                HOST_HEADER,
                ("origin", "https://partner.example.com"),
                ("sec-fetch-site", "cross-site"),
            ],
        );
        assert_eq!(outcome(&gate, &trusted_cross_site).await, Ok(()));
    }

    #[tokio::test]
    async fn sec_fetch_site_cross_and_same_site_are_forbidden_without_origin() {
        let gate = gate().await;
        for (site, expected) in [
            ("cross-site", Err(StatusCode::FORBIDDEN)),
            ("same-site", Err(StatusCode::FORBIDDEN)),
            ("Cross-Site", Err(StatusCode::FORBIDDEN)),
            ("same-origin", Ok(())),
            ("none", Ok(())),
        ] {
            let request = head("POST", "/x", &[COOKIE, HOST_HEADER, ("sec-fetch-site", site)]);
            assert_eq!(outcome(&gate, &request).await, expected, "{site}");
        }
        let own_but_cross = head(
            "POST",
            "/x",
            &[COOKIE, HOST_HEADER, ("origin", "https://example.org"), ("sec-fetch-site", "cross-site")],
        );
        assert_eq!(outcome(&gate, &own_but_cross).await, Err(StatusCode::FORBIDDEN));
    }

    #[tokio::test]
    async fn non_browser_safe_and_non_cookie_requests_are_not_checked() {
        let gate = gate().await;
        let bare = head("POST", "/x", &[COOKIE, HOST_HEADER]);
        assert_eq!(outcome(&gate, &bare).await, Ok(()), "no Origin, no Sec-Fetch-Site: a script");
        let evil = ("origin", "https://evil.example");
        let cross = ("sec-fetch-site", "cross-site");
        for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            let request = head(method, "/x", &[COOKIE, HOST_HEADER, evil, cross]);
            assert_eq!(outcome(&gate, &request).await, Ok(()), "{method} is safe");
        }
        let by_header = head("POST", "/x", &[("authorization", "Bearer tok"), HOST_HEADER, evil, cross]);
        assert_eq!(outcome(&gate, &by_header).await, Ok(()));
        let by_query = head("POST", "/x?key=tok", &[HOST_HEADER, evil, cross]);
        assert_eq!(outcome(&gate, &by_query).await, Ok(()));
        let anonymous = head("POST", "/x", &[HOST_HEADER, evil]);
        assert_eq!(outcome(&gate, &anonymous).await, Err(StatusCode::UNAUTHORIZED), "no credentials first");
    }

    #[tokio::test]
    async fn plain_http_origin_is_opt_in_and_protection_is_off_by_default() {
        let gate = gate().await;
        let http_origin = head("POST", "/x", &[COOKIE, HOST_HEADER, ("origin", "http://example.org")]);
        assert_eq!(outcome(&gate, &http_origin).await, Err(StatusCode::FORBIDDEN));
        let gate = gate.with_plain_http_origin();
        assert_eq!(outcome(&gate, &http_origin).await, Ok(()));
        let https_origin = head("POST", "/x", &[COOKIE, HOST_HEADER, ("origin", "https://example.org")]);
        assert_eq!(outcome(&gate, &https_origin).await, Ok(()), "https stays accepted");

        let unprotected = Gate::new(gate.guard().clone(), Arc::new(Plain));
        let evil = head("POST", "/x", &[COOKIE, HOST_HEADER, ("origin", "https://evil.example")]);
        assert_eq!(outcome(&unprotected, &evil).await, Ok(()));
        assert_eq!(outcome(&unprotected.with_plain_http_origin(), &evil).await, Ok(()));
    }

    #[tokio::test]
    async fn http2_requests_use_the_uri_authority() {
        let gate = gate().await;
        let own = head("POST", "https://example.org/x", &[COOKIE, ("origin", "https://example.org")]);
        assert_eq!(outcome(&gate, &own).await, Ok(()));
        let no_host = head("POST", "/x", &[COOKIE, ("origin", "https://example.org")]);
        assert_eq!(outcome(&gate, &no_host).await, Err(StatusCode::FORBIDDEN), "no host: not provably ours");
    }
}
