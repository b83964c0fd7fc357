//! Authorization: "may this signed-in user do this?", as a [`Policy`] over the user the gate
//! already loaded (no store round trip), decided in core and rendered by each dialect.
//!
//! A policy answers for an [`AuthState`] (what a gate's middleware leaves in the request
//! extensions): nobody signed in is the gate's own 401 (or 503), a user the policy refuses is a
//! 403 in the dialect's shape (DRF `{"detail": "You do not have permission to perform this
//! action."}`, Oz error code 9, the tDAR result container), rendered by
//! [`Gate::forbidden`](crate::api::Gate::forbidden). The adapters offer it as an extractor for
//! one handler and as a layer for a whole router or scope.
//!
//! ```
//! use std::time::SystemTime;
//! use authmount::authz::Policy;
//! use authmount::user::{NewUser, User, UserId};
//!
//! // Admins, or members of both "editors" and "berlin", or anyone whose attribute says so.
//! let policy = Policy::admin()
//!     .or(Policy::group("editors").and(Policy::group("berlin")))
//!     .or(Policy::check("may_publish", |user: &User| {
//!         user.attribute("may_publish").and_then(|v| v.as_bool()) == Some(true)
//!     }));
//! assert_eq!(policy.to_string(), "admin or (group editors and group berlin) or may_publish");
//!
//! let mut ann = User::from_new(UserId(1), NewUser::new("ann", SystemTime::UNIX_EPOCH));
//! assert!(!policy.allows(&ann));
//! ann.groups = vec!["editors".into(), "berlin".into()];
//! assert!(policy.allows(&ann));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;

use crate::api::adapter::{CheckedBy, Unauthenticated};
use crate::api::{ApiError, ApiResponse, AuthState, Authenticated, Denial, Gate};
use crate::user::User;

/// The reason every dialect gives with a policy's 403 (DRF's wording, which the DRF-derived
/// dialects' clients know).
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";

/// A rule over the signed-in user. Cheap to clone; combine with [`and`](Self::and),
/// [`or`](Self::or), [`all`](Self::all), [`any`](Self::any).
#[derive(Clone)]
pub struct Policy(Arc<Rule>);

enum Rule {
    SignedIn,
    Admin,
    Superuser,
    Group(String),
    Check { name: Cow<'static, str>, check: Arc<dyn Fn(&User) -> bool + Send + Sync> },
    All(Vec<Policy>),
    Any(Vec<Policy>),
}

impl Policy {
    /// Any signed-in user (DRF's `IsAuthenticated`).
    pub fn signed_in() -> Self {
        Self(Arc::new(Rule::SignedIn))
    }

    /// Administrators: users with the admin or the superuser flag (DRF's `IsAdminUser`).
    pub fn admin() -> Self {
        Self(Arc::new(Rule::Admin))
    }

    /// Superusers only.
    pub fn superuser() -> Self {
        Self(Arc::new(Rule::Superuser))
    }

    /// Members of the group `name` (compared exactly).
    pub fn group(name: impl Into<String>) -> Self {
        Self(Arc::new(Rule::Group(name.into())))
    }

    /// A rule of the app's own over the user record (its attributes, flags, names), named for
    /// logs and descriptions (DRF's custom `has_permission`).
    pub fn check(
        name: impl Into<Cow<'static, str>>,
        check: impl Fn(&User) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Rule::Check { name: name.into(), check: Arc::new(check) }))
    }

    /// Every one of `policies` (none: anyone signed in).
    pub fn all(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self(Arc::new(Rule::All(policies.into_iter().collect())))
    }

    /// At least one of `policies` (none: nobody).
    pub fn any(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self(Arc::new(Rule::Any(policies.into_iter().collect())))
    }

    /// This and `other`.
    pub fn and(self, other: Policy) -> Self {
        match &*self.0 {
            Rule::All(parts) => Self::all(parts.iter().cloned().chain([other])),
            _ => Self::all([self, other]),
        }
    }

    /// This or `other`.
    pub fn or(self, other: Policy) -> Self {
        match &*self.0 {
            Rule::Any(parts) => Self::any(parts.iter().cloned().chain([other])),
            _ => Self::any([self, other]),
        }
    }

    /// Whether `user` (active or not: the gate refuses inactive users before) passes.
    pub fn allows(&self, user: &User) -> bool {
        match &*self.0 {
            Rule::SignedIn => true,
            Rule::Admin => user.is_admin || user.is_superuser,
            Rule::Superuser => user.is_superuser,
            Rule::Group(name) => user.groups.iter().any(|group| group == name),
            Rule::Check { check, .. } => check(user),
            Rule::All(parts) => parts.iter().all(|part| part.allows(user)),
            Rule::Any(parts) => parts.iter().any(|part| part.allows(user)),
        }
    }

    /// Decides for a request whose gate outcome is `state`.
    ///
    /// A policy other than [`signed_in`](Self::signed_in) needs the user record: behind a gate
    /// that does not load it ([`UserCheck::TokenOnly`](crate::api::UserCheck::TokenOnly)) the
    /// request is refused (and a warning logged), never let through.
    pub fn decide(&self, state: &AuthState) -> Decision {
        match state {
            AuthState::Denied(denial) => Decision::Unauthenticated(denial.clone()),
            AuthState::Authenticated(authenticated) => match (&*self.0, &authenticated.user) {
                (Rule::SignedIn, _) => Decision::Allowed(authenticated.clone()),
                (_, Some(user)) if self.allows(user) => Decision::Allowed(authenticated.clone()),
                (_, Some(_)) => Decision::Forbidden,
                (_, None) => {
                    tracing::warn!(policy = %self, "a policy needs the user, but the gate does not load it (UserCheck::TokenOnly): refused");
                    Decision::Forbidden
                }
            },
        }
    }
}

impl Gate {
    /// The 403 of a [`Policy`] refusal, in this gate's dialect shape ([`PERMISSION_DENIED`]).
    pub fn forbidden(&self, head: &Parts) -> ApiResponse {
        self.renderer().render(&ApiError::Forbidden(PERMISSION_DENIED), head)
    }

    /// Applies `policy` to a request whose gate outcome is `state`: the authenticated request,
    /// or the refusal to answer with instead (the gate's own 401/503, or
    /// [`forbidden`](Self::forbidden)).
    /// What the adapters' authorization extractors and layers call.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use authmount::api::{ApiError, ApiResponse, ErrorRenderer, Gate, Reply};
    /// use authmount::authz::Policy;
    /// use authmount::guard::Guard;
    ///
    /// struct Plain;
    /// impl ErrorRenderer for Plain {
    ///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
    ///         Reply::empty(error.status()).into_response()
    ///     }
    /// }
    /// let gate = Gate::new(Guard::new(), Arc::new(Plain));
    /// let (head, ()) = http::Request::get("/admin").body(()).unwrap().into_parts();
    /// let state = gate.check(&head).await;
    /// let refused = gate.authorize(&state, &Policy::admin(), &head).unwrap_err();
    /// assert_eq!(refused.status(), 401, "nobody signed in");
    /// # });
    /// ```
    pub fn authorize(
        &self,
        state: &AuthState,
        policy: &Policy,
        head: &Parts,
    ) -> Result<Arc<Authenticated>, Arc<Denial>> {
        match policy.decide(state) {
            Decision::Allowed(authenticated) => Ok(authenticated),
            Decision::Unauthenticated(denial) => Err(denial),
            Decision::Forbidden => Err(Arc::new(Denial::new(self.forbidden(head), false))),
        }
    }
}

impl Gate {
    /// What an adapter's middleware runs for each request: the gate's check and, when the
    /// middleware was given a `policy`, the policy. Returns the state to keep in the request
    /// extensions, or the refusal to answer with at once (the inner service is not called).
    pub async fn check_for(&self, head: &Parts, policy: Option<&Policy>) -> Result<AuthState, Arc<Denial>> {
        let state = self.check(head).await;
        match policy {
            None => Ok(state),
            Some(policy) => self.authorize(&state, policy, head).map(|_| state),
        }
    }
}

/// A type naming a [`Policy`], for the [`Authorized`] extractor (an extractor is chosen by type,
/// so its policy must be too).
///
/// ```
/// use authmount::authz::{Policy, PolicyFor};
/// /// Editors in Berlin.
/// struct BerlinEditors;
/// impl PolicyFor for BerlinEditors {
///     fn policy() -> Policy {
///         Policy::group("editors").and(Policy::group("berlin"))
///     }
/// }
/// ```
pub trait PolicyFor: Send + Sync + 'static {
    /// The policy.
    fn policy() -> Policy;
}

/// [`Policy::admin`] as a type, for [`Authorized`].
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl PolicyFor for Admin {
    fn policy() -> Policy {
        Policy::admin()
    }
}

/// [`Policy::superuser`] as a type, for [`Authorized`].
#[derive(Debug, Clone, Copy)]
pub struct Superuser;

impl PolicyFor for Superuser {
    fn policy() -> Policy {
        Policy::superuser()
    }
}

/// The authenticated request of a user whom `P`'s policy allows: what the adapters'
/// `Authorized<P>` extractors hand to a handler. Nobody signed in is the gate's refusal; a user
/// the policy refuses is the gate's [`forbidden`](Gate::forbidden) (403 in the dialect's shape).
pub struct Authorized<P> {
    authenticated: Arc<Authenticated>,
    policy: std::marker::PhantomData<fn() -> P>,
}

impl<P> Authorized<P> {
    /// The authenticated request.
    pub fn authenticated(&self) -> &Arc<Authenticated> {
        &self.authenticated
    }
}

impl<P> std::ops::Deref for Authorized<P> {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.authenticated
    }
}

impl<P> fmt::Debug for Authorized<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.authenticated).finish()
    }
}

impl<P: PolicyFor> Authorized<P> {
    /// What the adapters' `Authorized<P>` extractors do: the request's [`AuthState`] and
    /// [`CheckedBy`] (left in the extensions by the middleware; `None` when no middleware ran)
    /// decided by `P`'s policy. A refusal is in the dialect's shape; a missing middleware is
    /// [`Unauthenticated::NoGate`].
    ///
    /// ```
    /// use authmount::api::adapter::Unauthenticated;
    /// use authmount::authz::{Admin, Authorized};
    /// let (head, ()) = http::Request::get("/").body(()).unwrap().into_parts();
    /// assert!(matches!(Authorized::<Admin>::from_state(None, None, &head), Err(Unauthenticated::NoGate)));
    /// ```
    pub fn from_state(
        state: Option<&AuthState>,
        gate: Option<&CheckedBy>,
        head: &Parts,
    ) -> Result<Self, Unauthenticated> {
        let state = state.ok_or(Unauthenticated::NoGate)?;
        match P::policy().decide(state) {
            Decision::Allowed(authenticated) => Ok(Self { authenticated, policy: std::marker::PhantomData }),
            Decision::Unauthenticated(denial) => Err(Unauthenticated::Denied(denial)),
            Decision::Forbidden => {
                let CheckedBy(gate) = gate.ok_or(Unauthenticated::NoGate)?;
                Err(Unauthenticated::Denied(Arc::new(Denial::new(gate.forbidden(head), false))))
            }
        }
    }
}

/// What [`Policy::decide`] concluded.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Signed in and allowed.
    Allowed(Arc<Authenticated>),
    /// Nobody (validly) signed in: answer with the gate's refusal (401, or 503).
    Unauthenticated(Arc<Denial>),
    /// Signed in, but the policy refuses: answer 403 in the dialect's shape
    /// ([`Gate::forbidden`](crate::api::Gate::forbidden)).
    Forbidden,
}

impl fmt::Display for Policy {
    /// A readable form for logs and API descriptions: `admin or (group editors and ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = |f: &mut fmt::Formatter<'_>, parts: &[Policy], word: &str, empty: &str| {
            if parts.is_empty() {
                return f.write_str(empty);
            }
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    write!(f, " {word} ")?;
                }
                match &*part.0 {
                    Rule::All(inner) | Rule::Any(inner) if inner.len() > 1 => write!(f, "({part})")?,
                    _ => write!(f, "{part}")?,
                }
            }
            Ok(())
        };
        match &*self.0 {
            Rule::SignedIn => f.write_str("signed in"),
            Rule::Admin => f.write_str("admin"),
            Rule::Superuser => f.write_str("superuser"),
            Rule::Group(name) => write!(f, "group {name}"),
            Rule::Check { name, .. } => f.write_str(name),
            Rule::All(parts) => joined(f, parts, "and", "signed in"),
            Rule::Any(parts) => joined(f, parts, "or", "nobody"),
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Policy({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User::from_new(
            crate::user::UserId(7),
            crate::user::NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH),
        )
    }

    #[test]
    fn each_rule_and_their_combinations() {
        let mut ann = user();
        assert!(Policy::signed_in().allows(&ann));
        assert!(!Policy::admin().allows(&ann));
        assert!(!Policy::superuser().allows(&ann));
        assert!(!Policy::group("a").allows(&ann));
        assert!(Policy::all([]).allows(&ann), "an empty all() is everyone signed in");
        assert!(!Policy::any([]).allows(&ann), "an empty any() is nobody");
        ann.is_superuser = true;
        assert!(Policy::admin().allows(&ann), "superusers are admins");
        ann.is_superuser = false;
        ann.is_admin = true;
        assert!(!Policy::superuser().allows(&ann));
        ann.groups = vec!["a".into()];
        assert!(Policy::admin().and(Policy::group("a")).allows(&ann));
        assert!(!Policy::admin().and(Policy::group("b")).allows(&ann));
        assert!(Policy::group("b").or(Policy::group("a")).allows(&ann));
        let named = Policy::check("id is 7", |u: &User| u.id.0 == 7);
        assert!(named.allows(&ann));
        assert_eq!(
            Policy::group("b").or(Policy::admin().and(named)).to_string(),
            "group b or (admin and id is 7)"
        );
    }

    #[test]
    fn decisions_follow_the_gate_outcome() {
        use crate::carrier::CarrierKind;
        use crate::guard::{Credential, Identity};
        use crate::user::UserId;

        let identity = Identity {
            user_id: UserId(7),
            carrier: CarrierKind::Authorization,
            credential: Credential::Jwt(Arc::new(
                crate::token::jwt::Claims::new(
                    UserId(7),
                    crate::token::jwt::TokenType::Access,
                    0,
                    std::time::Duration::from_secs(60),
                )
                .expect("claims"),
            )),
        };
        let with_user = AuthState::Authenticated(Arc::new(Authenticated {
            identity: identity.clone(),
            user: Some(Arc::new(user())),
        }));
        let without_user = AuthState::Authenticated(Arc::new(Authenticated { identity, user: None }));
        let denied = AuthState::Denied(Arc::new(Denial::new(http::Response::new(Default::default()), true)));

        assert!(matches!(Policy::signed_in().decide(&with_user), Decision::Allowed(_)));
        assert!(matches!(Policy::signed_in().decide(&without_user), Decision::Allowed(_)));
        assert!(matches!(Policy::admin().decide(&with_user), Decision::Forbidden));
        assert!(
            matches!(Policy::group("x").decide(&without_user), Decision::Forbidden),
            "never let through blind"
        );
        assert!(matches!(Policy::admin().decide(&denied), Decision::Unauthenticated(_)));
    }
}
