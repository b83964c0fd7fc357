//! Checking a login name and password against the user store: the step every dialect's login
//! endpoint shares.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use crate::abuse::{ClientAddr, Lockout, LockoutError};
use crate::audit::{self, AuthEvent, AuthEvents, LockScope, LoginFailure};
use crate::password::{PasswordError, PasswordService, Verification};
use crate::store::{StoreError, UserStore};
use crate::user::{User, UserId};

/// Checks credentials: finds the account by its normalised login, verifies the password on the
/// bounded hashing pool, and upgrades outdated hashes after a successful login.
///
/// Every outcome costs exactly one password hash (unknown login, no usable password, wrong
/// password, inactive account, success), so neither answers nor timing tell which accounts exist.
///
/// With a [`Lockout`] ([`with_lockout`](Self::with_lockout); [`Services::authenticator`]
/// always sets one from [`Services::limits`]), a locked login name or client is refused
/// *before* any lookup or hashing ([`LoginError::Locked`]); failures are counted per
/// normalised login whether or not the account exists, a success clears the name's failure
/// count, and unreachable counters fail the login closed ([`LoginError::Unavailable`]). Every
/// outcome is reported as an [`AuthEvent`].
///
/// [`Services::authenticator`]: crate::services::Services::authenticator
/// [`Services::limits`]: crate::services::Services::limits
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use authmount::login::{Authenticator, LoginError};
/// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
/// use authmount::store::{MemoryUserStore, UserStore};
/// use authmount::user::NewUser;
///
/// let passwords = PasswordService::new(Arc::new(Argon2idHasher::new(Argon2Params::default())?));
/// let users = Arc::new(MemoryUserStore::new());
/// let hash = passwords.hash_new_password("correct horse battery").await?;
/// users.create(NewUser::new("ann", SystemTime::now()).with_password_hash(hash)).await?;
///
/// let login = Authenticator::new(users, passwords);
/// assert_eq!(login.authenticate("ANN", "correct horse battery").await?.username, "ann");
/// assert!(matches!(login.authenticate("ann", "wrong").await, Err(LoginError::InvalidCredentials)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Authenticator {
    users: Arc<dyn UserStore>,
    passwords: PasswordService,
    lockout: Option<Lockout>,
    events: Option<Arc<dyn AuthEvents>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown login or wrong password: deliberately one case, so the answer does not reveal
    /// which accounts exist.
    #[error("Unable to log in with provided credentials.")]
    InvalidCredentials,
    /// The password was right but the account is deactivated. Only a caller who knows the password
    /// learns this (tDAR reports it; most dialects answer as for invalid credentials).
    #[error("This account is inactive.")]
    Inactive(Box<User>),
    /// Too many logins are waiting for the password hasher: answer 503 with `Retry-After`.
    #[error("Too many login attempts in progress, try again shortly.")]
    Busy,
    /// The user store failed: answer 503, never "wrong password".
    #[error("The user store is unavailable.")]
    Unavailable(#[source] StoreError),
    /// The hashing pool failed (no runtime, a panicked task): answer 500.
    #[error("Password verification failed.")]
    Hashing(#[source] PasswordError),
    /// Too many failed logins for this login name (or from this client): refused without
    /// checking the password until the lock ends. Answer 429 with `Retry-After`.
    #[error("Too many failed login attempts, try again later.")]
    Locked {
        /// How long until the lock ends.
        retry_after: Duration,
    },
}

impl From<PasswordError> for LoginError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => Self::Busy,
            other => Self::Hashing(other),
        }
    }
}

impl Authenticator {
    /// An authenticator over `users`, hashing with `passwords`.
    pub fn new(users: Arc<dyn UserStore>, passwords: PasswordService) -> Self {
        Self { users, passwords, lockout: None, events: None }
    }

    /// Applies `lockout` (the lockout per login name and the per-client limit) to every login.
    #[must_use]
    pub fn with_lockout(mut self, lockout: Lockout) -> Self {
        self.lockout = Some(lockout);
        self
    }

    /// Reports every login outcome to `events` (besides the `tracing` audit events).
    #[must_use]
    pub fn with_events(mut self, events: Option<Arc<dyn AuthEvents>>) -> Self {
        self.events = events;
        self
    }

    /// The lockout, if any.
    pub fn lockout(&self) -> Option<&Lockout> {
        self.lockout.as_ref()
    }

    /// The user store.
    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    /// The password service.
    pub fn passwords(&self) -> &PasswordService {
        &self.passwords
    }

    /// Checks `login` (username or e-mail, any case or width) and `password`, without a client
    /// address (the per-client limit does not apply; use
    /// [`authenticate_request`](Self::authenticate_request) in request handlers).
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<User, LoginError> {
        self.attempt(login, password, None).await
    }

    /// Checks `login` and `password` for the request whose head is `head`: the client address
    /// (from [`ClientAddr`], through the trusted proxies) feeds the per-client limit and the
    /// audit events.
    pub async fn authenticate_request(
        &self,
        head: &Parts,
        login: &str,
        password: &str,
    ) -> Result<User, LoginError> {
        let client = match &self.lockout {
            Some(lockout) => lockout.client_ip(head),
            None => ClientAddr::peer_of(head),
        };
        self.attempt(login, password, client).await
    }

    async fn attempt(&self, login: &str, password: &str, client: Option<IpAddr>) -> Result<User, LoginError> {
        let events = self.events.as_ref();
        if let Some(lockout) = &self.lockout {
            match lockout.check(login, client).await {
                Ok(()) => {}
                Err(LockoutError::Locked { retry_after, .. }) => {
                    let reason = LoginFailure::Locked;
                    audit::emit(events, AuthEvent::LoginFailed { user_id: None, client, reason });
                    return Err(LoginError::Locked { retry_after });
                }
                Err(LockoutError::Unavailable(error)) => return Err(LoginError::Unavailable(error)),
            }
        }
        let (user_id, outcome) = self.check_credentials(login, password).await;
        match outcome {
            Ok(user) => {
                if let Some(lockout) = &self.lockout {
                    lockout.record_success(login).await.map_err(LoginError::Unavailable)?;
                }
                audit::emit(events, AuthEvent::LoginSucceeded { user_id: user.id, client });
                Ok(user)
            }
            Err(LoginError::InvalidCredentials) => {
                let reason = LoginFailure::InvalidCredentials;
                let Some(lockout) = &self.lockout else {
                    audit::emit(events, AuthEvent::LoginFailed { user_id, client, reason });
                    return Err(LoginError::InvalidCredentials);
                };
                match lockout.record_failure(login, client).await {
                    Ok(()) => {
                        audit::emit(events, AuthEvent::LoginFailed { user_id, client, reason });
                        Err(LoginError::InvalidCredentials)
                    }
                    Err(LockoutError::Locked { retry_after, scope, .. }) => {
                        audit::emit(events, AuthEvent::LoginFailed { user_id, client, reason });
                        let user_id = if scope == LockScope::Account { user_id } else { None };
                        let locked = AuthEvent::LockedOut { user_id, client, scope, duration: retry_after };
                        audit::emit(events, locked);
                        Err(LoginError::Locked { retry_after })
                    }
                    Err(LockoutError::Unavailable(error)) => Err(LoginError::Unavailable(error)),
                }
            }
            Err(LoginError::Inactive(user)) => {
                let reason = LoginFailure::Inactive;
                audit::emit(events, AuthEvent::LoginFailed { user_id: Some(user.id), client, reason });
                Err(LoginError::Inactive(user))
            }
            Err(other) => Err(other),
        }
    }

    /// The credential check itself: one lookup, one hash. Returns the id of the account the
    /// login names (when any) for the audit events.
    async fn check_credentials(
        &self,
        login: &str,
        password: &str,
    ) -> (Option<UserId>, Result<User, LoginError>) {
        let user = match self.users.find_by_login(login).await {
            Ok(user) => user,
            Err(error) => return (None, Err(LoginError::Unavailable(error))),
        };
        let user_id = user.as_ref().map(|u| u.id);
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let verification = match self.passwords.verify(password, stored).await {
            Ok(verification) => verification,
            Err(error) => return (user_id, Err(error.into())),
        };
        let (Some(mut user), Verification::Match { needs_rehash }) = (user, verification) else {
            return (user_id, Err(LoginError::InvalidCredentials));
        };
        if !user.is_active {
            return (user_id, Err(LoginError::Inactive(Box::new(user))));
        }
        if needs_rehash {
            self.upgrade_hash(&mut user, password).await;
        }
        (user_id, Ok(user))
    }

    /// Re-hashes with the current parameters after a successful login. A failure here must not
    /// fail the login: the old hash still works, so it is logged and the upgrade retried next time.
    async fn upgrade_hash(&self, user: &mut User, password: &str) {
        let upgraded = match self.passwords.rehash(password).await {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!(user_id = %user.id, %error, "could not re-hash an outdated password hash");
                return;
            }
        };
        match self.users.set_password_hash(user.id, &upgraded).await {
            Ok(()) => {
                tracing::info!(user_id = %user.id, "upgraded an outdated password hash");
                user.password_hash = Some(upgraded);
            }
            Err(error) => {
                tracing::warn!(user_id = %user.id, %error, "could not store an upgraded password hash");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    use super::*;
    use crate::password::{Argon2Params, Argon2idHasher, PasswordHasher};
    use crate::store::MemoryUserStore;
    use crate::user::{NewUser, ProfileUpdate};

    /// Counts every hash operation, as Django's tests count hasher calls.
    struct CountingHasher {
        inner: Argon2idHasher,
        operations: AtomicUsize,
    }

    impl PasswordHasher for CountingHasher {
        fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
            self.operations.fetch_add(1, Ordering::SeqCst);
            self.inner.hash(password)
        }
        fn verify(&self, password: &[u8], phc: &str) -> Result<Verification, PasswordError> {
            self.operations.fetch_add(1, Ordering::SeqCst);
            self.inner.verify(password, phc)
        }
        fn dummy_verify(&self, password: &[u8]) {
            self.operations.fetch_add(1, Ordering::SeqCst);
            self.inner.dummy_verify(password);
        }
    }

    const PASSWORD: &str = "correct horse battery";

    async fn fixture(params: Argon2Params) -> (Authenticator, Arc<CountingHasher>, Arc<MemoryUserStore>) {
        let inner = Argon2idHasher::insecure_for_tests(params).expect("valid params");
        let hasher = Arc::new(CountingHasher { inner, operations: AtomicUsize::new(0) });
        let passwords = PasswordService::new(hasher.clone());
        let users = Arc::new(MemoryUserStore::new());
        let hash = hasher.hash(PASSWORD.as_bytes()).expect("hashes");
        let ann =
            NewUser::new("Ann", SystemTime::now()).with_email("ann@example.org").with_password_hash(hash);
        users.create(ann).await.expect("created");
        users.create(NewUser::new("nopass", SystemTime::now())).await.expect("created");
        hasher.operations.store(0, Ordering::SeqCst);
        (Authenticator::new(users.clone(), passwords), hasher, users)
    }

    #[tokio::test]
    async fn correct_credentials_by_username_or_email_in_any_case() {
        let (login, _, _) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        for name in ["Ann", "ann", "ＡＮＮ", "ANN@example.org"] {
            let user = login.authenticate(name, PASSWORD).await.expect("logs in");
            assert_eq!(user.username, "Ann");
        }
    }

    #[tokio::test]
    async fn every_failure_and_success_costs_exactly_one_hash() {
        let (login, hasher, users) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        let ann = users.find_by_login("ann").await.expect("lookup").expect("exists");
        let cases: [(&str, &str, bool); 6] = [
            ("ann", PASSWORD, true),
            ("ann", "wrong password", false),
            ("ann", "", false),
            ("nobody", PASSWORD, false),
            ("", "", false),
            ("nopass", PASSWORD, false),
        ];
        for (name, password, succeeds) in cases {
            hasher.operations.store(0, Ordering::SeqCst);
            let outcome = login.authenticate(name, password).await;
            assert_eq!(outcome.is_ok(), succeeds, "{name:?}/{password:?}");
            if !succeeds {
                assert!(matches!(outcome, Err(LoginError::InvalidCredentials)), "{name:?}: {outcome:?}");
            }
            assert_eq!(hasher.operations.load(Ordering::SeqCst), 1, "{name:?}/{password:?} costs one hash");
        }
        let deactivate = ProfileUpdate { is_active: Some(false), ..Default::default() };
        users.update_profile(ann.id, deactivate).await.expect("updated");
        hasher.operations.store(0, Ordering::SeqCst);
        assert!(matches!(
            login.authenticate("ann", "wrong password").await,
            Err(LoginError::InvalidCredentials)
        ));
        assert!(matches!(login.authenticate("ann", PASSWORD).await, Err(LoginError::Inactive(_))));
        assert_eq!(hasher.operations.load(Ordering::SeqCst), 2, "an inactive account costs one hash per try");
    }

    #[tokio::test]
    async fn passwords_are_not_trimmed_or_case_folded() {
        let (login, _, _) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        for variant in [" correct horse battery", "correct horse battery ", "Correct horse battery"] {
            assert!(login.authenticate("ann", variant).await.is_err(), "{variant:?}");
        }
    }

    #[tokio::test]
    async fn outdated_hashes_are_upgraded_on_successful_login() {
        let old = Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 };
        let current = Argon2Params { memory_kib: 128, iterations: 2, parallelism: 1 };
        let (_, _, users) = fixture(old).await;
        let hasher = Arc::new(Argon2idHasher::insecure_for_tests(current).expect("valid params"));
        let login = Authenticator::new(users.clone(), PasswordService::new(hasher));
        let before = users.find_by_login("ann").await.expect("lookup").expect("exists");
        assert!(before.password_hash.as_deref().is_some_and(|h| h.contains("m=64,t=1")));

        assert!(login.authenticate("ann", "wrong password").await.is_err());
        let unchanged = users.get(before.id).await.expect("lookup").expect("exists");
        assert_eq!(unchanged.password_hash, before.password_hash, "a failed login changes nothing");

        let user = login.authenticate("ann", PASSWORD).await.expect("logs in");
        let stored = users.get(before.id).await.expect("lookup").expect("exists");
        assert!(stored.password_hash.as_deref().is_some_and(|h| h.contains("m=128,t=2")), "upgraded");
        assert_eq!(user.password_hash, stored.password_hash);
        login.authenticate("ann", PASSWORD).await.expect("the upgraded hash verifies");
    }

    #[tokio::test]
    async fn an_overlong_password_fails_without_hashing() {
        let (login, hasher, _) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        let long = "x".repeat(1025);
        assert!(matches!(login.authenticate("ann", &long).await, Err(LoginError::InvalidCredentials)));
        assert!(matches!(login.authenticate("nobody", &long).await, Err(LoginError::InvalidCredentials)));
        assert_eq!(hasher.operations.load(Ordering::SeqCst), 0);
    }
    fn with_lockout(login: Authenticator) -> (Authenticator, crate::clock::ManualClock) {
        use crate::abuse::{Lockout, LoginLimits};
        use crate::store::MemoryCounterStore;
        let clock = crate::clock::ManualClock::at_unix(1_743_153_300);
        let counters = Arc::new(MemoryCounterStore::with_clock(Arc::new(clock.clone())));
        let lockout = Lockout::new(counters, Arc::new(clock.clone()), LoginLimits::default());
        (login.with_lockout(lockout), clock)
    }

    #[tokio::test]
    async fn a_locked_name_refuses_even_the_right_password_without_hashing() {
        let (login, hasher, _) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        let (login, clock) = with_lockout(login);
        for _ in 0..4 {
            assert!(matches!(login.authenticate("ann", "wrong").await, Err(LoginError::InvalidCredentials)));
        }
        let fifth = login.authenticate("ANN", "wrong").await;
        assert!(
            matches!(fifth, Err(LoginError::Locked { retry_after }) if retry_after.as_secs() == 900),
            "{fifth:?}"
        );
        hasher.operations.store(0, Ordering::SeqCst);
        let locked = login.authenticate("Ann", PASSWORD).await;
        assert!(matches!(locked, Err(LoginError::Locked { .. })), "{locked:?}");
        assert_eq!(hasher.operations.load(Ordering::SeqCst), 0, "the lock is checked before hashing");
        // The e-mail address is another name with its own counter.
        login.authenticate("ann@example.org", PASSWORD).await.expect("not locked");
        clock.advance(std::time::Duration::from_secs(900));
        login.authenticate("ann", PASSWORD).await.expect("the lock has ended");
    }

    #[tokio::test]
    async fn unknown_names_are_counted_and_locked_like_known_ones() {
        let (login, hasher, users) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        let (login, _) = with_lockout(login);
        for name in ["ann", "nobody"] {
            for attempt in 1..=6 {
                hasher.operations.store(0, Ordering::SeqCst);
                let outcome = login.authenticate(name, "wrong").await;
                let (expected_locked, hashes) = match attempt {
                    1..=4 => (false, 1),
                    5 => (true, 1),
                    _ => (true, 0),
                };
                assert_eq!(
                    matches!(outcome, Err(LoginError::Locked { .. })),
                    expected_locked,
                    "{name} #{attempt}"
                );
                assert_eq!(hasher.operations.load(Ordering::SeqCst), hashes, "{name} #{attempt}");
            }
        }
        // Failures against an unknown name never block registering it.
        let newbie = NewUser::new("Nobody", SystemTime::now());
        users.create(newbie).await.expect("registration does not look at the counters");
    }

    #[tokio::test]
    async fn a_success_clears_the_failures() {
        let (login, _, _) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        let (login, _) = with_lockout(login);
        for _ in 0..3 {
            for _ in 0..4 {
                assert!(matches!(
                    login.authenticate("ann", "wrong").await,
                    Err(LoginError::InvalidCredentials)
                ));
            }
            login.authenticate("ann", PASSWORD).await.expect("not locked");
        }
    }

    #[tokio::test]
    async fn unreachable_counters_fail_closed_before_hashing() {
        use crate::abuse::{Lockout, LoginLimits};
        use crate::store::{Counter, CounterStore};
        struct Down;
        #[async_trait::async_trait]
        impl CounterStore for Down {
            async fn increment(&self, _: &str, _: std::time::Duration) -> Result<Counter, StoreError> {
                Err(StoreError::Unavailable("down".into()))
            }
            async fn peek(&self, _: &str) -> Result<Option<Counter>, StoreError> {
                Err(StoreError::Unavailable("down".into()))
            }
            async fn clear(&self, _: &str) -> Result<(), StoreError> {
                Err(StoreError::Unavailable("down".into()))
            }
        }
        let (login, hasher, _) = fixture(Argon2Params::insecure_fast_for_tests()).await;
        let clock = Arc::new(crate::clock::ManualClock::at_unix(0));
        let login = login.with_lockout(Lockout::new(Arc::new(Down), clock, LoginLimits::default()));
        for password in [PASSWORD, "wrong"] {
            assert!(matches!(login.authenticate("ann", password).await, Err(LoginError::Unavailable(_))));
        }
        assert_eq!(hasher.operations.load(Ordering::SeqCst), 0);
    }
}
