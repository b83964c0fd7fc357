//! Audit events: what happened to whose account, from where, as structured `tracing` events
//! (target [`TARGET`], `authmount::audit`) and through an optional [`AuthEvents`] hook.
//!
//! | event | level | when |
//! |---|---|---|
//! | [`LoginSucceeded`](AuthEvent::LoginSucceeded) | info | a login issued credentials |
//! | [`LoginFailed`](AuthEvent::LoginFailed) | info | bad credentials, an inactive account, or a login refused while locked |
//! | [`LockedOut`](AuthEvent::LockedOut) | warn | an account (or, with the per-client limit, a client address) was locked |
//! | [`LoggedOut`](AuthEvent::LoggedOut) | info | a session or token was ended |
//! | [`RefreshReused`](AuthEvent::RefreshReused) | warn | a rotated-out refresh token came back: its family is revoked |
//! | [`ResetRequested`](AuthEvent::ResetRequested) | info | a password reset was requested (the user is `None` for unknown addresses) |
//! | [`ResetCompleted`](AuthEvent::ResetCompleted) | info | a password was set through a reset link |
//! | [`PasswordChanged`](AuthEvent::PasswordChanged) | info | a signed-in user changed their password ([`Services::change_password`](crate::services::Services::change_password)) |
//!
//! Events carry the user id when it is known and the client address when an adapter recorded it
//! ([`ClientAddr`](crate::abuse::ClientAddr)). They never carry a password, a token, a reset
//! link or a login name (people type passwords into the login field).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::user::UserId;

/// The `tracing` target of every audit event.
pub const TARGET: &str = "authmount::audit";

/// Why a login failed, as audit events record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginFailure {
    /// Unknown login, no usable password or wrong password.
    InvalidCredentials,
    /// The password was right but the account is deactivated.
    Inactive,
    /// The account or client is locked after too many failures; the password was not checked.
    Locked,
}

impl LoginFailure {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::Inactive => "inactive",
            Self::Locked => "locked",
        }
    }
}

/// What a lock applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockScope {
    /// One login name (normalised), whether or not an account has it.
    Account,
    /// One client address (the per-client limit against credential stuffing).
    Client,
}

/// Something security-relevant that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// A login succeeded.
    LoginSucceeded {
        /// The account.
        user_id: UserId,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// A login failed.
    LoginFailed {
        /// The account, when the login named an existing one and it was looked up.
        user_id: Option<UserId>,
        /// The client's address, when known.
        client: Option<IpAddr>,
        /// Why.
        reason: LoginFailure,
    },
    /// Too many failures: logins for this login name (or from this client) are refused for
    /// `duration`.
    LockedOut {
        /// The account, when the login names an existing one.
        user_id: Option<UserId>,
        /// The client's address, when known.
        client: Option<IpAddr>,
        /// What is locked.
        scope: LockScope,
        /// How long the lock lasts.
        duration: Duration,
    },
    /// A session or token was ended by its holder.
    LoggedOut {
        /// The account.
        user_id: UserId,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// A refresh token that had already been rotated out was presented again (a sign of theft):
    /// its family is revoked.
    RefreshReused {
        /// The account the family belongs to.
        user_id: UserId,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// A password reset was requested.
    ResetRequested {
        /// The account, `None` when the address matches none (the client is answered alike).
        user_id: Option<UserId>,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// A password was set through a reset link; the account's lockout counters are cleared.
    ResetCompleted {
        /// The account.
        user_id: UserId,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// A signed-in user changed their password (giving the old one); their other sessions
    /// are ended.
    PasswordChanged {
        /// The account.
        user_id: UserId,
        /// The client's address, when known.
        client: Option<IpAddr>,
    },
    /// An operator acted on an account ([`crate::admin`]).
    AccountChanged {
        /// The account acted on.
        user_id: UserId,
        /// What was done.
        action: AccountAction,
        /// The administrator who did it, `None` for the command line.
        admin: Option<UserId>,
        /// The administrator's address, when known.
        client: Option<IpAddr>,
    },
}

/// What an operator did to an account ([`AuthEvent::AccountChanged`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountAction {
    /// Deactivated (and every session ended).
    Deactivated,
    /// Activated again.
    Activated,
    /// Every token, session and refresh family ended.
    SessionsRevoked,
    /// The lockout cleared.
    Unlocked,
    /// The groups replaced.
    GroupsSet,
}

impl AccountAction {
    /// A stable lowercase name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deactivated => "deactivated",
            Self::Activated => "activated",
            Self::SessionsRevoked => "sessions_revoked",
            Self::Unlocked => "unlocked",
            Self::GroupsSet => "groups_set",
        }
    }
}

/// A hook for [`AuthEvent`]s, e.g. to e-mail a user about a lockout or a reused refresh token,
/// or to feed a SIEM. Set it in [`Services::events`](crate::services::Services::events).
///
/// Called inline on the request's task: keep it fast and hand slow work (mail) to a spawned
/// task or a queue.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use authmount::audit::{AuthEvent, AuthEvents};
///
/// #[derive(Default)]
/// struct Lockouts(Mutex<u32>);
/// impl AuthEvents for Lockouts {
///     fn on_event(&self, event: &AuthEvent) {
///         if matches!(event, AuthEvent::LockedOut { .. }) {
///             *self.0.lock().unwrap() += 1;
///         }
///     }
/// }
/// # fn main() -> Result<(), authmount::password::PasswordError> {
/// let hook = Arc::new(Lockouts::default());
/// let services = authmount::services::Services::in_memory()?.with_events(hook.clone());
/// # let _ = services;
/// # Ok(()) }
/// ```
pub trait AuthEvents: Send + Sync + 'static {
    /// Called once per event, after it has been logged.
    fn on_event(&self, event: &AuthEvent);
}

/// Logs `event` at target [`TARGET`] and passes it to `hook`.
pub fn emit(hook: Option<&Arc<dyn AuthEvents>>, event: AuthEvent) {
    log(&event);
    if let Some(hook) = hook {
        hook.on_event(&event);
    }
}

fn log(event: &AuthEvent) {
    // `%` on an `Option` is not possible: absent values are logged as empty fields.
    let ip = |client: &Option<IpAddr>| client.map(|ip| ip.to_string()).unwrap_or_default();
    let user = |user_id: &Option<UserId>| user_id.map(|id| id.to_string()).unwrap_or_default();
    match event {
        AuthEvent::LoginSucceeded { user_id, client } => {
            tracing::info!(target: TARGET, event = "login_succeeded", user_id = %user_id, client = %ip(client));
        }
        AuthEvent::LoginFailed { user_id, client, reason } => tracing::info!(
            target: TARGET,
            event = "login_failed",
            user_id = %user(user_id),
            client = %ip(client),
            reason = reason.as_str()
        ),
        AuthEvent::LockedOut { user_id, client, scope, duration } => tracing::warn!(
            target: TARGET,
            event = "locked_out",
            user_id = %user(user_id),
            client = %ip(client),
            scope = match scope { LockScope::Account => "account", LockScope::Client => "client" },
            seconds = duration.as_secs()
        ),
        AuthEvent::LoggedOut { user_id, client } => {
            tracing::info!(target: TARGET, event = "logged_out", user_id = %user_id, client = %ip(client));
        }
        AuthEvent::RefreshReused { user_id, client } => {
            tracing::warn!(target: TARGET, event = "refresh_reused", user_id = %user_id, client = %ip(client));
        }
        AuthEvent::ResetRequested { user_id, client } => tracing::info!(
            target: TARGET,
            event = "reset_requested",
            user_id = %user(user_id),
            client = %ip(client)
        ),
        AuthEvent::ResetCompleted { user_id, client } => {
            tracing::info!(target: TARGET, event = "reset_completed", user_id = %user_id, client = %ip(client));
        }
        AuthEvent::PasswordChanged { user_id, client } => {
            tracing::info!(target: TARGET, event = "password_changed", user_id = %user_id, client = %ip(client));
        }
        AuthEvent::AccountChanged { user_id, action, admin, client } => tracing::info!(
            target: TARGET,
            event = "account_changed",
            user_id = %user_id,
            action = action.as_str(),
            admin = %admin.map_or_else(|| "command line".to_owned(), |id| id.to_string()),
            client = %ip(client)
        ),
    }
}
