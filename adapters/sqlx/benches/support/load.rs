//! Timed-loop load measurements shared by the store benches of authmount-sqlx and
//! authmount-redis (the latter includes this file by path):
//!
//! - [`concurrent_lookups`]: token `get`s/s with N concurrent tasks on a multi-thread runtime,
//!   and the latency each lookup adds (p50/p99/p99.9 over every lookup of the run);
//! - [`logins`]: `Authenticator::authenticate` with real argon2id (default OWASP parameters)
//!   plus storing the issued opaque token, logins/s with N concurrent tasks;
//! - [`one_verify`]: the latency of one login alone, for the `cores / one verify` bound.
//!
//! Results are printed as one line each, prefixed `load:`, so `grep ^load:` collects them.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use authmount::login::{Authenticator, LoginError};
use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
use authmount::store::{TokenKind, TokenRecord, TokenStore, UserStore};
use authmount::token::TokenHash;
use authmount::user::{NewUser, UserId};
use tokio::runtime::Runtime;

/// Known tokens the lookup loops cycle through (on top of whatever the table already holds).
pub const KNOWN_TOKENS: usize = 1_000;
/// Concurrency levels of the lookup runs.
pub const LOOKUP_TASKS: [usize; 3] = [1, 16, 64];
/// How long each lookup run lasts.
pub const LOOKUP_RUN: Duration = Duration::from_secs(3);
/// Concurrent login tasks: more than the hasher's permits, fewer than its queue.
pub const LOGIN_TASKS: usize = 8;
/// How long the login run lasts.
pub const LOGIN_RUN: Duration = Duration::from_secs(6);
/// The benchmark account's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// A multi-thread runtime with one worker per core, as a server would run.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

/// The number of cores the runtime and the hasher use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// What a timed run measured.
#[derive(Debug)]
pub struct Figures {
    /// Completed operations per second.
    pub per_second: f64,
    /// Latency percentiles of single operations.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Operations that failed (counted, not timed).
    pub failures: u64,
}

fn figures(mut samples: Vec<Duration>, elapsed: Duration, failures: u64) -> Figures {
    samples.sort_unstable();
    let at = |q: f64| {
        if samples.is_empty() {
            return Duration::ZERO;
        }
        samples[((samples.len() as f64 - 1.0) * q).round() as usize]
    };
    Figures {
        per_second: samples.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        failures,
    }
}

/// Stores [`KNOWN_TOKENS`] live access tokens through the port; returns their hashes.
pub async fn seed_tokens(store: &dyn TokenStore, tag: &str) -> Arc<Vec<TokenHash>> {
    let now = SystemTime::now();
    let mut hashes = Vec::with_capacity(KNOWN_TOKENS);
    for i in 0..KNOWN_TOKENS {
        let hash = TokenHash::of(&format!("load-{tag}-{i}"));
        let record =
            TokenRecord::new(TokenKind::Access, UserId(i as i64), "amcr", now, Duration::from_secs(3_600));
        store.put(hash, record).await.expect("put");
        hashes.push(hash);
    }
    Arc::new(hashes)
}

/// `tasks` tasks each doing sequential `get`s of the known tokens for [`LOOKUP_RUN`].
pub fn concurrent_lookups(
    runtime: &Runtime,
    store: Arc<dyn TokenStore>,
    hashes: Arc<Vec<TokenHash>>,
    tasks: usize,
) -> Figures {
    runtime.block_on(async {
        let failures = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + LOOKUP_RUN;
        let mut handles = Vec::with_capacity(tasks);
        for task in 0..tasks {
            let (store, hashes, failures) = (store.clone(), hashes.clone(), failures.clone());
            handles.push(tokio::spawn(async move {
                let mut samples = Vec::with_capacity(100_000);
                let mut i = task * 7919;
                while Instant::now() < deadline {
                    let hash = &hashes[i % hashes.len()];
                    i += 1;
                    let began = Instant::now();
                    match store.get(hash).await {
                        Ok(Some(_)) => samples.push(began.elapsed()),
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                samples
            }));
        }
        let mut samples = Vec::new();
        for handle in handles {
            samples.extend(handle.await.expect("task"));
        }
        figures(samples, started.elapsed(), failures.load(Ordering::Relaxed))
    })
}

/// The login service the login runs use: argon2id at the default parameters, the default
/// permits (one per core) and queue.
pub fn password_service() -> PasswordService {
    PasswordService::new(Arc::new(Argon2idHasher::new(Argon2Params::default()).expect("default params")))
}

/// Creates the benchmark account (hashed at the default parameters); returns its login.
pub async fn seed_account(users: &dyn UserStore, passwords: &PasswordService, tag: &str) -> String {
    let hash = passwords.hash_new_password(PASSWORD).await.expect("hashes");
    let login = format!("load-{tag}");
    users
        .create(
            NewUser::new(&login, SystemTime::now())
                .with_email(format!("{login}@example.org"))
                .with_password_hash(hash),
        )
        .await
        .expect("create");
    login
}

async fn one_login(
    authenticator: &Authenticator,
    tokens: &dyn TokenStore,
    login: &str,
) -> Result<(), String> {
    let user = authenticator.authenticate(login, PASSWORD).await.map_err(|e: LoginError| e.to_string())?;
    let token = authmount::token::OpaqueToken::generate().map_err(|e| e.to_string())?.hash();
    let record =
        TokenRecord::new(TokenKind::Access, user.id, "amcr", SystemTime::now(), Duration::from_secs(3_600));
    tokens.put(token, record).await.map_err(|e| e.to_string())
}

/// [`LOGIN_TASKS`] tasks logging in (find the user, verify, store a token) for [`LOGIN_RUN`].
pub fn logins(
    runtime: &Runtime,
    users: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenStore>,
    passwords: PasswordService,
    login: &str,
) -> Figures {
    let authenticator = Arc::new(Authenticator::new(users, passwords));
    runtime.block_on(async {
        let failures = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + LOGIN_RUN;
        let mut handles = Vec::new();
        for _ in 0..LOGIN_TASKS {
            let (authenticator, tokens, failures) = (authenticator.clone(), tokens.clone(), failures.clone());
            let login = login.to_owned();
            handles.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let began = Instant::now();
                    match one_login(&authenticator, tokens.as_ref(), &login).await {
                        Ok(()) => samples.push(began.elapsed()),
                        Err(error) => {
                            if failures.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("login failed: {error}");
                            }
                        }
                    }
                }
                samples
            }));
        }
        let mut samples = Vec::new();
        for handle in handles {
            samples.extend(handle.await.expect("task"));
        }
        figures(samples, started.elapsed(), failures.load(Ordering::Relaxed))
    })
}

/// The median of 20 sequential logins (nothing else running): one verify plus the lookups.
pub fn one_verify(
    runtime: &Runtime,
    users: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenStore>,
    passwords: PasswordService,
    login: &str,
) -> Duration {
    let authenticator = Authenticator::new(users, passwords);
    runtime.block_on(async {
        let mut samples = Vec::new();
        for _ in 0..20 {
            let began = Instant::now();
            one_login(&authenticator, tokens.as_ref(), login).await.expect("login");
            samples.push(began.elapsed());
        }
        samples.sort_unstable();
        samples[samples.len() / 2]
    })
}

/// Runs the lookup and login measurements for one backend and prints them.
pub fn run(
    backend: &str,
    runtime: &Runtime,
    users: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenStore>,
    tag: &str,
) {
    let hashes = runtime.block_on(seed_tokens(tokens.as_ref(), tag));
    for tasks in LOOKUP_TASKS {
        let f = concurrent_lookups(runtime, tokens.clone(), hashes.clone(), tasks);
        println!(
            "load: {backend:<10} token get, {tasks:>2} tasks: {:>9.0} lookups/s  p50 {:>9.1?}  p99 {:>9.1?}  p99.9 {:>9.1?}  failures {}",
            f.per_second, f.p50, f.p99, f.p999, f.failures
        );
    }
    let passwords = password_service();
    let login = runtime.block_on(seed_account(users.as_ref(), &passwords, tag));
    let single = one_verify(runtime, users.clone(), tokens.clone(), passwords.clone(), &login);
    let bound = cores() as f64 / single.as_secs_f64();
    let f = logins(runtime, users, tokens, passwords, &login);
    println!(
        "load: {backend:<10} login, {LOGIN_TASKS} tasks: {:>6.1} logins/s  p50 {:>7.1?}  p99 {:>7.1?}  failures {}  \
         (one login alone {single:.1?}; {} cores / one login = {bound:.1}/s)",
        f.per_second,
        f.p50,
        f.p99,
        f.failures,
        cores()
    );
}
