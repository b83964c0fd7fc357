//! The shared services every dialect is built on: stores, the password service and the clock.

use std::sync::Arc;

use crate::abuse::{Lockout, LoginLimits};
use crate::audit::{self, AuthEvent, AuthEvents};
use crate::cache::ReadCache;
use crate::clock::{SharedClock, SystemClock};
use crate::login::Authenticator;
use crate::password::{Argon2Params, Argon2idHasher, PasswordError, PasswordService};
use crate::store::{
    CounterStore, MemoryCounterStore, MemoryTokenStore, MemoryUserStore, TokenStore, UserStore,
};

/// What the dialects share: the user, token and counter stores, the password service and the
/// clock. Cheap to clone.
///
/// ```
/// # fn main() -> Result<(), authmount::password::PasswordError> {
/// let services = authmount::services::Services::in_memory()?;
/// let login = services.authenticator();
/// # let _ = login;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Services {
    /// Where accounts live.
    pub users: Arc<dyn UserStore>,
    /// Where tokens, sessions and the revocation list live.
    pub tokens: Arc<dyn TokenStore>,
    /// Where lockout and rate-limit counters live.
    pub counters: Arc<dyn CounterStore>,
    /// Password hashing on the bounded blocking pool.
    pub passwords: PasswordService,
    /// The clock every expiry reads.
    pub clock: SharedClock,
    /// The login limits: the lockout per login name (on by default), the per-client limit (off
    /// by default) and the trusted proxies.
    pub limits: LoginLimits,
    /// The hook that hears every [`AuthEvent`] (default: none; the
    /// events are logged at target `authmount::audit` either way).
    pub events: Option<Arc<dyn AuthEvents>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("clock", &self.clock)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Services on the given stores, hashing with argon2id at the default (OWASP) parameters, on
    /// the system clock.
    pub fn new(
        users: Arc<dyn UserStore>,
        tokens: Arc<dyn TokenStore>,
        counters: Arc<dyn CounterStore>,
    ) -> Result<Self, PasswordError> {
        let hasher = Arc::new(Argon2idHasher::new(Argon2Params::default())?);
        Ok(Self {
            users,
            tokens,
            counters,
            passwords: PasswordService::new(hasher),
            clock: Arc::new(SystemClock),
            limits: LoginLimits::default(),
            events: None,
        })
    }

    /// Services on fresh in-memory stores: one process, nothing kept across restarts.
    pub fn in_memory() -> Result<Self, PasswordError> {
        Self::new(
            Arc::new(MemoryUserStore::new()),
            Arc::new(MemoryTokenStore::new()),
            Arc::new(MemoryCounterStore::new()),
        )
    }

    /// Services on fresh in-memory stores that read time from `clock` (for tests).
    pub fn in_memory_with_clock(clock: SharedClock) -> Result<Self, PasswordError> {
        let mut services = Self::new(
            Arc::new(MemoryUserStore::new()),
            Arc::new(MemoryTokenStore::with_clock(clock.clone())),
            Arc::new(MemoryCounterStore::with_clock(clock.clone())),
        )?;
        services.clock = clock;
        Ok(services)
    }

    /// Replaces the password service (e.g. other argon2 parameters, or a legacy-aware hasher).
    pub fn with_passwords(mut self, passwords: PasswordService) -> Self {
        self.passwords = passwords;
        self
    }

    /// Replaces the login limits (lockout thresholds, the per-client limit, trusted proxies).
    pub fn with_limits(mut self, limits: LoginLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Puts `cache` in front of the user and token stores (see [`crate::cache`]): what the gate
    /// reads on every request is then answered from memory, and every change made through
    /// these services drops the copies it makes stale before it returns.
    ///
    /// ```
    /// use authmount::cache::{ReadCache, ReadCacheConfig};
    /// let cache = ReadCache::new(ReadCacheConfig::default());
    /// let services = authmount::services::Services::in_memory()?.with_read_cache(&cache);
    /// # let _ = services;
    /// # Ok::<(), authmount::password::PasswordError>(())
    /// ```
    pub fn with_read_cache(mut self, cache: &ReadCache) -> Self {
        self.users = cache.users(self.users);
        self.tokens = cache.tokens(self.tokens, self.clock.clone());
        self
    }

    /// Sets the hook that hears every audit event.
    pub fn with_events(mut self, events: Arc<dyn AuthEvents>) -> Self {
        self.events = Some(events);
        self
    }

    /// The lockout over these services' counters, clock and limits.
    pub fn lockout(&self) -> Lockout {
        Lockout::new(self.counters.clone(), self.clock.clone(), self.limits.clone())
    }

    /// Logs `event` (target `authmount::audit`) and passes it to the hook.
    pub fn audit(&self, event: AuthEvent) {
        audit::emit(self.events.as_ref(), event);
    }

    /// The client address of the request whose head is `head`, through the trusted proxies.
    pub fn client_ip(&self, head: &http::request::Parts) -> Option<std::net::IpAddr> {
        self.limits.trusted_proxies.client_ip(head)
    }

    /// The credential check over these services, with the lockout and the event hook.
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(self.users.clone(), self.passwords.clone())
            .with_lockout(self.lockout())
            .with_events(self.events.clone())
    }
}
