//! The brute-force lockout per login name and the per-client failure limit.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::TrustedProxies;
use crate::clock::SharedClock;
use crate::login_name::normalize_login;
use crate::store::{Counter, CounterStore, StoreError};
use crate::user::User;

/// The lockout per login name: after `threshold` failed logins within `window`, every login
/// for that name is refused for `lock` (even with the right password); each further lock within
/// `escalation_window` doubles the duration, up to `max_lock`.
///
/// The key is the *normalised* login ([`normalize_login`]), so `Alice` and `ALICE` share one
/// counter, and it is counted whether or not an account has that name (locking only existing
/// accounts would tell which exist). A username and its account's e-mail address are two
/// names with two counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLockout {
    /// Failures within `window` that lock the name (default 5).
    pub threshold: u64,
    /// The window failures are counted in, from the first failure (default 15 minutes).
    pub window: Duration,
    /// The first lock's duration (default 15 minutes).
    pub lock: Duration,
    /// Locks within this time of the first one count as repeats and double (default 24 hours).
    pub escalation_window: Duration,
    /// The longest lock (default 24 hours).
    pub max_lock: Duration,
}

impl Default for AccountLockout {
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::from_secs(15 * 60),
            lock: Duration::from_secs(15 * 60),
            escalation_window: Duration::from_secs(24 * 60 * 60),
            max_lock: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl AccountLockout {
    /// The duration of the `nth` lock (1-based) within the escalation window:
    /// `lock * 2^(nth-1)`, capped at `max_lock`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = authmount::abuse::AccountLockout::default();
    /// assert_eq!(policy.lock_duration(1), Duration::from_secs(15 * 60));
    /// assert_eq!(policy.lock_duration(3), Duration::from_secs(60 * 60));
    /// assert_eq!(policy.lock_duration(40), Duration::from_secs(24 * 60 * 60));
    /// ```
    pub fn lock_duration(&self, nth: u64) -> Duration {
        let doublings = u32::try_from(nth.saturating_sub(1)).unwrap_or(u32::MAX).min(32);
        self.lock.saturating_mul(1u32 << doublings.min(31)).min(self.max_lock.max(self.lock))
    }
}

/// The per-client limit against credential stuffing (many names, one address): after
/// `threshold` failed logins from one client address within `window`, that address's logins
/// are refused until the window ends. Off by default: many users may share one address (NAT,
/// a company proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimit {
    /// Failures from one address within `window` that block it.
    pub threshold: u64,
    /// The window, from the address's first failure.
    pub window: Duration,
}

impl Default for ClientLimit {
    /// 100 failures per 15 minutes.
    fn default() -> Self {
        Self { threshold: 100, window: Duration::from_secs(15 * 60) }
    }
}

/// The login limits of [`Services`](crate::services::Services): the account lockout (on by
/// default), the per-client limit (off by default) and the proxies whose `X-Forwarded-For` is
/// believed (none by default).
///
/// ```
/// use std::time::Duration;
/// use authmount::abuse::{AccountLockout, ClientLimit, LoginLimits, TrustedProxies};
/// let limits = LoginLimits {
///     account: Some(AccountLockout { threshold: 10, ..Default::default() }),
///     per_client: Some(ClientLimit::default()),
///     trusted_proxies: TrustedProxies::new(["10.0.0.1".parse().unwrap()]),
/// };
/// assert_eq!(LoginLimits::default().account, Some(AccountLockout::default()));
/// assert_eq!(LoginLimits::default().per_client, None);
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// The lockout per login name; `None` turns it off.
    pub account: Option<AccountLockout>,
    /// The limit per client address; `None` (the default) turns it off.
    pub per_client: Option<ClientLimit>,
    /// Proxies allowed to name the client in `X-Forwarded-For`.
    pub trusted_proxies: TrustedProxies,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            account: Some(AccountLockout::default()),
            per_client: None,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Why the lockout refused or could not decide.
#[derive(Debug, thiserror::Error)]
pub enum LockoutError {
    /// The login name or client is locked: no password is checked, no token issued.
    #[error("Too many failed login attempts; try again in {} seconds.", retry_after.as_secs().max(1))]
    Locked {
        /// How long until the lock ends.
        retry_after: Duration,
        /// Whether the lock applies to the login name or the client address.
        scope: crate::audit::LockScope,
        /// Whether this attempt started the lock (`false`: it was already locked).
        new: bool,
    },
    /// The counter store is unreachable: the login fails closed (503), nothing is counted.
    #[error("the lockout counters are unavailable")]
    Unavailable(#[source] StoreError),
}

/// Applies [`LoginLimits`] through a [`CounterStore`]. Cheap to clone.
///
/// Counter keys hold a SHA-256 of the normalised login (never the name itself), so the counter
/// store holds no personal data and keys have a fixed length:
/// `authmount:login-failures:<hex>`, `authmount:login-lock:<hex>`,
/// `authmount:login-locks:<hex>` (locks within the escalation window), and
/// `authmount:client-failures:<ip>`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::abuse::{AccountLockout, Lockout, LockoutError, LoginLimits};
/// use authmount::clock::SystemClock;
/// use authmount::store::MemoryCounterStore;
///
/// let limits = LoginLimits { account: Some(AccountLockout { threshold: 2, ..Default::default() }), ..Default::default() };
/// let lockout = Lockout::new(Arc::new(MemoryCounterStore::new()), Arc::new(SystemClock), limits);
/// lockout.check("Alice", None).await?;
/// lockout.record_failure("alice", None).await?;
/// assert!(matches!(lockout.record_failure("ALICE", None).await, Err(LockoutError::Locked { new: true, .. })));
/// assert!(matches!(lockout.check("alice", None).await, Err(LockoutError::Locked { new: false, .. })));
/// # Ok::<(), LockoutError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Lockout {
    counters: Arc<dyn CounterStore>,
    clock: SharedClock,
    limits: LoginLimits,
}

impl std::fmt::Debug for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockout").field("limits", &self.limits).finish_non_exhaustive()
    }
}

const FAILURES: &str = "authmount:login-failures:";
const LOCK: &str = "authmount:login-lock:";
const LOCKS: &str = "authmount:login-locks:";
const CLIENT_FAILURES: &str = "authmount:client-failures:";

fn login_key(login: &str) -> String {
    let digest = Sha256::digest(normalize_login(login).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Lockout {
    /// Limits `limits` counted in `counters`, with time from `clock` (the same clock the counter
    /// store reads, for the remaining lock time).
    pub fn new(counters: Arc<dyn CounterStore>, clock: SharedClock, limits: LoginLimits) -> Self {
        Self { counters, clock, limits }
    }

    /// The limits.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    fn remaining(&self, counter: &Counter) -> Duration {
        counter
            .expires_at
            .duration_since(self.clock.now())
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1))
    }

    /// Before any hashing: is `login` (any spelling) or `client` locked?
    ///
    /// # Errors
    /// [`LockoutError::Locked`] with the remaining time, or [`LockoutError::Unavailable`] when
    /// the counters cannot be read (fail closed).
    pub async fn check(&self, login: &str, client: Option<IpAddr>) -> Result<(), LockoutError> {
        use crate::audit::LockScope;
        if self.limits.account.is_some() {
            let key = format!("{LOCK}{}", login_key(login));
            if let Some(lock) = self.counters.peek(&key).await.map_err(LockoutError::Unavailable)? {
                return Err(LockoutError::Locked {
                    retry_after: self.remaining(&lock),
                    scope: LockScope::Account,
                    new: false,
                });
            }
        }
        if let (Some(limit), Some(ip)) = (self.limits.per_client, client) {
            let key = format!("{CLIENT_FAILURES}{ip}");
            if let Some(failures) = self.counters.peek(&key).await.map_err(LockoutError::Unavailable)?
                && failures.count >= limit.threshold
            {
                return Err(LockoutError::Locked {
                    retry_after: self.remaining(&failures),
                    scope: LockScope::Client,
                    new: false,
                });
            }
        }
        Ok(())
    }

    /// Counts a failed login for `login` and `client`.
    ///
    /// # Errors
    /// [`LockoutError::Locked`] (with `new: true`) when this failure reaches a threshold: the
    /// name (or client) is locked from now on. [`LockoutError::Unavailable`] when the counters
    /// cannot be written.
    pub async fn record_failure(&self, login: &str, client: Option<IpAddr>) -> Result<(), LockoutError> {
        use crate::audit::LockScope;
        let unavailable = LockoutError::Unavailable;
        let mut locked = None;
        if let (Some(limit), Some(ip)) = (self.limits.per_client, client) {
            let failures = self
                .counters
                .increment(&format!("{CLIENT_FAILURES}{ip}"), limit.window)
                .await
                .map_err(unavailable)?;
            if failures.count == limit.threshold {
                locked = Some(LockoutError::Locked {
                    retry_after: self.remaining(&failures),
                    scope: LockScope::Client,
                    new: true,
                });
            }
        }
        if let Some(policy) = self.limits.account {
            let key = login_key(login);
            let failures = self
                .counters
                .increment(&format!("{FAILURES}{key}"), policy.window)
                .await
                .map_err(unavailable)?;
            if failures.count >= policy.threshold {
                let nth = self
                    .counters
                    .increment(&format!("{LOCKS}{key}"), policy.escalation_window)
                    .await
                    .map_err(unavailable)?;
                let duration = policy.lock_duration(nth.count);
                self.counters.increment(&format!("{LOCK}{key}"), duration).await.map_err(unavailable)?;
                self.counters.clear(&format!("{FAILURES}{key}")).await.map_err(unavailable)?;
                return Err(LockoutError::Locked {
                    retry_after: duration,
                    scope: LockScope::Account,
                    new: true,
                });
            }
        }
        locked.map_or(Ok(()), Err)
    }

    /// A successful login for `login`: its failure counter starts again from zero. Locks in
    /// force are not lifted (a locked name never reaches a successful login), and the count of
    /// recent locks stays, so a name that keeps getting locked keeps its longer locks.
    ///
    /// # Errors
    /// The counter store's error.
    pub async fn record_success(&self, login: &str) -> Result<(), StoreError> {
        if self.limits.account.is_some() {
            self.counters.clear(&format!("{FAILURES}{}", login_key(login))).await?;
        }
        Ok(())
    }

    /// After a password reset: clears every counter and lock of `user`'s username and e-mail
    /// address (the owner proved control of the account).
    ///
    /// # Errors
    /// The counter store's error.
    pub async fn clear_user(&self, user: &User) -> Result<(), StoreError> {
        let names = std::iter::once(user.username.as_str()).chain(user.email.as_deref());
        for name in names {
            let key = login_key(name);
            for prefix in [FAILURES, LOCK, LOCKS] {
                self.counters.clear(&format!("{prefix}{key}")).await?;
            }
        }
        Ok(())
    }

    /// The client address of `head` under the configured trusted proxies.
    pub fn client_ip(&self, head: &http::request::Parts) -> Option<IpAddr> {
        self.limits.trusted_proxies.client_ip(head)
    }
}

#[cfg(test)]
mod tests;
