//! [`PasswordService`]: what the rest of the crate calls to hash and verify passwords.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::hashing_threads::HashingThreads;
use super::{ConfigProblem, PasswordError, PasswordHasher, PasswordPolicy, TaskFailure, Verification};

/// Hashes new passwords and verifies logins, off the async worker threads and under a bound.
///
/// - Every hash or verify runs on the service's own hashing threads while holding a permit of a
///   semaphore sized to the number of CPUs by default, so a flood of logins neither stalls the
///   async workers nor spawns unbounded threads. The hashing threads run at a lower priority
///   than the rest of the process (Linux nice +19 by default,
///   [`hashing_niceness`](PasswordServiceBuilder::hashing_niceness)): under a login flood the
///   workers serving other requests get a core first, and hashing uses what they leave.
/// - At most [`queue_limit`](Self::queue_limit) callers wait for a permit (default 32 per
///   permit); beyond that a call fails at once with [`PasswordError::Busy`] (HTTP: 503 with
///   `Retry-After`) instead of piling up memory and latency.
/// - Every login path costs exactly one hash: unknown users (`stored = None`) and empty passwords
///   go through [`PasswordHasher::dummy_verify`], so timing does not reveal which accounts exist.
///   Passwords over the policy's maximum cost nothing, for known and unknown users alike.
/// - Cancellation-safe: dropping a call while it waits gives its queue slot back; dropping it
///   while the hash runs lets the blocking task finish and release its permit afterwards, so the
///   number of concurrent hashes never exceeds the permits.
///
/// The service is cheap to clone; clones share the hasher, the permits, the queue and the
/// threads. Its futures need no particular runtime: the hashing threads wake them.
///
/// ```
/// use std::sync::Arc;
/// use authmount::password::{
///     Argon2Params, Argon2idHasher, PasswordError, PasswordService, Verification,
/// };
///
/// let service = PasswordService::new(Arc::new(Argon2idHasher::new(Argon2Params::default())?));
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// runtime.block_on(async {
///     // Registration: policy check, then hash; store the returned PHC string.
///     let stored = service.hash_new_password("correct horse battery staple").await?;
///     assert!(matches!(
///         service.hash_new_password("short").await,
///         Err(PasswordError::TooShort { min: 8 })
///     ));
///
///     // Login.
///     let ok = service.verify("correct horse battery staple", Some(&stored)).await?;
///     assert_eq!(ok, Verification::Match { needs_rehash: false });
///     let wrong = service.verify("Correct horse battery staple", Some(&stored)).await?;
///     assert_eq!(wrong, Verification::Mismatch);
///     // Unknown user: same cost as a real check, always a mismatch.
///     assert_eq!(service.verify("whatever", None).await?, Verification::Mismatch);
///     Ok::<(), PasswordError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PasswordService {
    hasher: Arc<dyn PasswordHasher>,
    policy: PasswordPolicy,
    permits: Arc<Semaphore>,
    threads: Arc<HashingThreads>,
    max_concurrency: usize,
    queue_limit: usize,
    waiting: Arc<AtomicUsize>,
}

/// Builder for a [`PasswordService`] with a non-default policy, concurrency or queue limit.
///
/// ```
/// use std::sync::Arc;
/// use authmount::password::{Argon2Params, Argon2idHasher, PasswordPolicy, PasswordService};
///
/// let hasher = Arc::new(Argon2idHasher::new(Argon2Params::default())?);
/// let service = PasswordService::builder(hasher)
///     .policy(PasswordPolicy::new(12, 512)?)
///     .max_concurrency(2)
///     .queue_limit(16)
///     .build()?;
/// assert_eq!(service.policy().min_bytes(), 12);
/// assert_eq!((service.max_concurrency(), service.queue_limit()), (2, 16));
/// # Ok::<(), authmount::password::PasswordError>(())
/// ```
#[must_use]
pub struct PasswordServiceBuilder {
    hasher: Arc<dyn PasswordHasher>,
    policy: PasswordPolicy,
    max_concurrency: Option<usize>,
    queue_limit: Option<usize>,
    hashing_niceness: u8,
}

impl PasswordServiceBuilder {
    /// The policy for new passwords and the length cap (default: [`PasswordPolicy::default`]).
    pub fn policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How many hashes may run at once (default: [`std::thread::available_parallelism`], or 1 if
    /// unknown). Must be from 1 to [`PasswordService::MAX_CONCURRENCY`]; the service starts
    /// that many hashing threads on first use.
    pub fn max_concurrency(mut self, permits: usize) -> Self {
        self.max_concurrency = Some(permits);
        self
    }

    /// How many callers may wait for a permit before further calls get [`PasswordError::Busy`]
    /// (default: [`PasswordService::DEFAULT_QUEUE_PER_PERMIT`] × the concurrency). 0 means
    /// "never wait".
    pub fn queue_limit(mut self, waiting: usize) -> Self {
        self.queue_limit = Some(waiting);
        self
    }

    /// How far below the rest of the process the hashing threads run (Linux nice increment,
    /// capped at nice 19; default [`PasswordService::DEFAULT_HASHING_NICENESS`]). 0 keeps them at
    /// the process's priority, so a login flood competes with other requests on equal terms.
    /// Elsewhere than Linux, where a nice value belongs to the whole process, it has no effect.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// let hasher = Arc::new(Argon2idHasher::new(Argon2Params::default())?);
    /// let service = PasswordService::builder(hasher).hashing_niceness(0).build()?;
    /// # let _ = service;
    /// # Ok::<(), authmount::password::PasswordError>(())
    /// ```
    pub fn hashing_niceness(mut self, niceness: u8) -> Self {
        self.hashing_niceness = niceness;
        self
    }

    /// Build the service.
    ///
    /// # Errors
    /// [`PasswordError::InvalidConfig`] with [`ConfigProblem::ConcurrencyOutOfRange`] if the
    /// concurrency is 0 or above [`PasswordService::MAX_CONCURRENCY`].
    pub fn build(self) -> Result<PasswordService, PasswordError> {
        let max_concurrency = self.max_concurrency.unwrap_or_else(PasswordService::default_concurrency);
        if max_concurrency == 0 || max_concurrency > PasswordService::MAX_CONCURRENCY {
            return Err(ConfigProblem::ConcurrencyOutOfRange {
                requested: max_concurrency,
                max: PasswordService::MAX_CONCURRENCY,
            }
            .into());
        }
        let queue_limit = self
            .queue_limit
            .unwrap_or_else(|| max_concurrency.saturating_mul(PasswordService::DEFAULT_QUEUE_PER_PERMIT));
        Ok(PasswordService {
            hasher: self.hasher,
            policy: self.policy,
            permits: Arc::new(Semaphore::new(max_concurrency)),
            threads: Arc::new(HashingThreads::new(max_concurrency, self.hashing_niceness)),
            max_concurrency,
            queue_limit,
            waiting: Arc::new(AtomicUsize::new(0)),
        })
    }
}

impl PasswordService {
    /// Default number of waiting callers allowed per permit.
    pub const DEFAULT_QUEUE_PER_PERMIT: usize = 32;
    /// The most hashes allowed at once (each has a thread and, with argon2id, its working memory).
    pub const MAX_CONCURRENCY: usize = 1024;
    /// Default nice increment of the hashing threads: the most there is (nice 19). A hashing
    /// thread then gets about 1.5% of a core that a request worker also wants (Linux's weights
    /// 15 against 1024), and every cycle the workers leave. Measured on 2 cores: under a login
    /// flood the p99 of a protected route served at a steady rate stays within 1.1–1.7× of its
    /// p99 without the flood (4.3× with hashing at normal priority, 2.1× at +10), while logins
    /// keep ~0.8 of the hashing bound (BENCHMARKS.md).
    pub const DEFAULT_HASHING_NICENESS: u8 = 19;

    /// A service with the default policy, one permit per CPU, a queue of 32 per permit and
    /// hashing threads at the lowest priority ([`DEFAULT_HASHING_NICENESS`](Self::DEFAULT_HASHING_NICENESS)).
    pub fn new(hasher: Arc<dyn PasswordHasher>) -> Self {
        let max_concurrency = Self::default_concurrency();
        Self {
            hasher,
            policy: PasswordPolicy::default(),
            permits: Arc::new(Semaphore::new(max_concurrency)),
            threads: Arc::new(HashingThreads::new(max_concurrency, Self::DEFAULT_HASHING_NICENESS)),
            max_concurrency,
            queue_limit: max_concurrency.saturating_mul(Self::DEFAULT_QUEUE_PER_PERMIT),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A builder starting from the defaults of [`new`](Self::new).
    pub fn builder(hasher: Arc<dyn PasswordHasher>) -> PasswordServiceBuilder {
        PasswordServiceBuilder {
            hasher,
            policy: PasswordPolicy::default(),
            max_concurrency: None,
            queue_limit: None,
            hashing_niceness: Self::DEFAULT_HASHING_NICENESS,
        }
    }

    fn default_concurrency() -> usize {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
            .min(Self::MAX_CONCURRENCY)
    }

    /// The password policy (lengths, later the common-password list).
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// The hashing algorithm.
    pub fn hasher(&self) -> &Arc<dyn PasswordHasher> {
        &self.hasher
    }

    /// How many hashes may run at once.
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// How many callers may wait for a permit before calls fail with [`PasswordError::Busy`].
    pub fn queue_limit(&self) -> usize {
        self.queue_limit
    }

    /// How many callers are waiting for a permit right now (for metrics).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Check a new password against the policy, then hash it. Returns the string to store.
    ///
    /// # Errors
    /// [`PasswordError::TooShort`] / [`PasswordError::TooLong`] (shown to the user; nothing is
    /// hashed), [`PasswordError::Busy`] when the queue is full, or an internal error.
    pub async fn hash_new_password(&self, password: &str) -> Result<String, PasswordError> {
        self.policy.check_new(password)?;
        let password = password.as_bytes().to_vec();
        self.run(move |hasher| hasher.hash(&password)).await?
    }

    /// Hash a password that has just verified with `needs_rehash: true`, to replace its outdated
    /// stored hash. Unlike [`hash_new_password`](Self::hash_new_password) it does not apply the
    /// minimum length (a legacy account may have a shorter password); the maximum still holds.
    ///
    /// # Errors
    /// [`PasswordError::TooLong`] over the maximum, [`PasswordError::TooShort`] for an empty
    /// password (which can never have verified), [`PasswordError::Busy`], or an internal error.
    pub async fn rehash(&self, password: &str) -> Result<String, PasswordError> {
        if self.policy.exceeds_max(password) {
            return Err(PasswordError::TooLong { max: self.policy.max_bytes() });
        }
        if password.is_empty() {
            return Err(PasswordError::TooShort { min: self.policy.min_bytes() });
        }
        let password = password.as_bytes().to_vec();
        self.run(move |hasher| hasher.hash(&password)).await?
    }

    /// Check a login attempt. `stored` is the user's stored hash, or `None` for an unknown user or
    /// one without a usable password.
    ///
    /// - `stored = None` or an empty `password`: a dummy verify, then [`Verification::Mismatch`].
    /// - `password` longer than the policy's maximum: [`Verification::Mismatch`] **without
    ///   hashing**, whether or not the user exists (so the answer and its timing reveal nothing
    ///   about the account, and nobody can make the server hash megabytes).
    /// - otherwise: the hasher's verdict. The minimum length is never checked here: legacy accounts
    ///   may have shorter passwords.
    ///
    /// On `Match { needs_rehash: true }` the caller should store [`rehash`](Self::rehash)'s
    /// result for this password.
    ///
    /// # Errors
    /// [`PasswordError::Busy`] when the queue is full, or an internal error; never for a wrong
    /// password or an unreadable stored hash.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification, PasswordError> {
        if self.policy.exceeds_max(password) {
            tracing::debug!(
                max_bytes = self.policy.max_bytes(),
                "login password over the maximum length: mismatch without hashing"
            );
            return Ok(Verification::Mismatch);
        }
        let password = password.as_bytes().to_vec();
        match stored {
            Some(stored) if !password.is_empty() => {
                let stored = stored.to_owned();
                self.run(move |hasher| hasher.verify(&password, &stored)).await?
            }
            _ => {
                self.run(move |hasher| hasher.dummy_verify(&password)).await?;
                Ok(Verification::Mismatch)
            }
        }
    }

    /// Run `job` on a hashing thread while holding a permit.
    async fn run<T, F>(&self, job: F) -> Result<T, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn PasswordHasher) -> T + Send + 'static,
    {
        let permit = self.acquire().await?;
        let hasher = Arc::clone(&self.hasher);
        self.threads
            .run(move || {
                // Held until the hash is done, even if the caller stopped waiting for it.
                let _permit = permit;
                job(hasher.as_ref())
            })
            .await
    }

    /// A permit: at once if one is free, else after queueing (if the queue has room).
    async fn acquire(&self) -> Result<OwnedSemaphorePermit, PasswordError> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::NoPermits) => {}
            Err(TryAcquireError::Closed) => {
                return Err(TaskFailure::SemaphoreClosed.into());
            }
        }
        let _in_queue = QueueSlot::take(&self.waiting, self.queue_limit)?;
        Arc::clone(&self.permits).acquire_owned().await.map_err(|_| TaskFailure::SemaphoreClosed.into())
    }
}

impl fmt::Debug for PasswordService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordService")
            .field("policy", &self.policy)
            .field("max_concurrency", &self.max_concurrency)
            .field("queue_limit", &self.queue_limit)
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PasswordServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordServiceBuilder")
            .field("policy", &self.policy)
            .field("max_concurrency", &self.max_concurrency)
            .field("queue_limit", &self.queue_limit)
            .finish_non_exhaustive()
    }
}

/// One place in the queue of callers waiting for a permit; given back on drop, including when the
/// waiting future is dropped (cancellation).
struct QueueSlot<'a>(&'a AtomicUsize);

impl<'a> QueueSlot<'a> {
    fn take(waiting: &'a AtomicUsize, limit: usize) -> Result<Self, PasswordError> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < limit).then_some(n + 1))
            .map_err(|_| PasswordError::Busy)?;
        Ok(Self(waiting))
    }
}

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
