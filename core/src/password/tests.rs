//! Service-level tests: cost of every login path, the queue limit, responsiveness.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, Version};

use super::*;

fn fast_hasher() -> Argon2idHasher {
    Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).unwrap()
}

fn default_service() -> PasswordService {
    PasswordService::new(Arc::new(Argon2idHasher::new(Argon2Params::default()).unwrap()))
}

/// A PHC string made by the argon2 crate itself.
fn raw_hash(algorithm: Algorithm, m: u32, t: u32, pw: &[u8]) -> String {
    let argon2 = Argon2::new(algorithm, Version::V0x13, Params::new(m, t, 1, None).unwrap());
    let hash: PasswordHash =
        argon2::PasswordHasher::hash_password_with_salt(&argon2, pw, b"fedcba9876543210").unwrap();
    hash.to_string()
}

/// Wraps a real hasher and counts every operation.
#[derive(Default)]
struct Counts {
    hash: AtomicUsize,
    verify: AtomicUsize,
    dummy: AtomicUsize,
}

impl Counts {
    /// Hash computations spent on a login: verify + dummy_verify.
    fn login_ops(&self) -> usize {
        self.verify.load(Ordering::SeqCst) + self.dummy.load(Ordering::SeqCst)
    }
}

struct CountingHasher {
    inner: Argon2idHasher,
    counts: Arc<Counts>,
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
        self.counts.hash.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password)
    }
    fn verify(&self, password: &[u8], phc: &str) -> Result<Verification, PasswordError> {
        self.counts.verify.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, phc)
    }
    fn dummy_verify(&self, password: &[u8]) {
        self.counts.dummy.fetch_add(1, Ordering::SeqCst);
        self.inner.dummy_verify(password);
    }
}

fn counting_service() -> (PasswordService, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let hasher = CountingHasher { inner: fast_hasher(), counts: Arc::clone(&counts) };
    (PasswordService::new(Arc::new(hasher)), counts)
}

/// Blocks every operation until `open` is called; counts operations that started.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    started: AtomicUsize,
}

impl Gate {
    fn pass(&self) {
        self.started.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

struct GatedHasher(Arc<Gate>);

impl PasswordHasher for GatedHasher {
    fn hash(&self, _password: &[u8]) -> Result<String, PasswordError> {
        self.0.pass();
        Ok("$gated$".into())
    }
    fn verify(&self, _password: &[u8], _phc: &str) -> Result<Verification, PasswordError> {
        self.0.pass();
        Ok(Verification::Mismatch)
    }
    fn dummy_verify(&self, _password: &[u8]) {
        self.0.pass();
    }
}

/// Waits (asynchronously) until `cond` holds, failing the test after 5 s.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn roundtrip_and_wrong_password() {
    let service = default_service();
    let stored = service.hash_new_password("correct horse battery").await.unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(
        service.verify("correct horse battery", Some(&stored)).await,
        Ok(Verification::Match { needs_rehash: false })
    );
    assert_eq!(service.verify("correct horse batterY", Some(&stored)).await, Ok(Verification::Mismatch));
}

#[tokio::test]
async fn unicode_and_max_length_passwords() {
    let service = default_service();
    let max = "é".repeat(512); // 1024 bytes exactly
    assert_eq!(max.len(), 1024);
    for password in
        ["пароль-на-русском", "密码是一个秘密", "emoji 🔐🗝️ pass", "tab\tand\nnewline", max.as_str()]
    {
        let stored = service.hash_new_password(password).await.unwrap();
        assert!(service.verify(password, Some(&stored)).await.unwrap().is_match(), "{password:?}");
        let mut wrong = password.to_owned();
        wrong.pop();
        assert_eq!(service.verify(&wrong, Some(&stored)).await, Ok(Verification::Mismatch), "{password:?}");
    }
}

#[tokio::test]
async fn over_max_is_rejected_before_hashing() {
    let (service, counts) = counting_service();
    let long = "a".repeat(1025);
    assert_eq!(service.hash_new_password(&long).await, Err(PasswordError::TooLong { max: 1024 }));
    assert_eq!(counts.hash.load(Ordering::SeqCst), 0);

    // At login: a mismatch without hashing, for known and unknown users alike.
    let stored = service.hash_new_password(&"a".repeat(1024)).await.unwrap();
    assert_eq!(service.verify(&long, Some(&stored)).await, Ok(Verification::Mismatch));
    assert_eq!(service.verify(&long, None).await, Ok(Verification::Mismatch));
    assert_eq!(service.verify(&"a".repeat(1_000_000), None).await, Ok(Verification::Mismatch));
    assert_eq!(counts.login_ops(), 0);
}

#[tokio::test]
async fn under_min_is_rejected_for_new_passwords_only() {
    let (service, counts) = counting_service();
    assert_eq!(service.hash_new_password("7 bytes").await, Err(PasswordError::TooShort { min: 8 }));
    assert_eq!(counts.hash.load(Ordering::SeqCst), 0);

    // A legacy account with a short password can still log in.
    let legacy = service.hasher().hash(b"abc").unwrap();
    assert_eq!(service.verify("abc", Some(&legacy)).await, Ok(Verification::Match { needs_rehash: false }));
    assert_eq!(counts.verify.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn legacy_short_password_is_upgraded_by_rehash() {
    let service = default_service();
    let legacy = raw_hash(Algorithm::Argon2i, 4096, 3, b"abc");
    let verdict = service.verify("abc", Some(&legacy)).await.unwrap();
    assert_eq!(verdict, Verification::Match { needs_rehash: true });
    // hash_new_password would refuse it; rehash keeps the account working.
    assert_eq!(service.hash_new_password("abc").await, Err(PasswordError::TooShort { min: 8 }));
    let upgraded = service.rehash("abc").await.unwrap();
    assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(service.verify("abc", Some(&upgraded)).await, Ok(Verification::Match { needs_rehash: false }));
    assert!(matches!(service.rehash("").await, Err(PasswordError::TooShort { .. })));
    assert_eq!(service.rehash(&"a".repeat(1025)).await, Err(PasswordError::TooLong { max: 1024 }));
}

#[tokio::test]
async fn no_trimming_no_case_folding_no_normalisation() {
    let service = PasswordService::new(Arc::new(fast_hasher()));
    let stored = service.hash_new_password(" secret123 ").await.unwrap();
    assert!(service.verify(" secret123 ", Some(&stored)).await.unwrap().is_match());
    for other in ["secret123", " secret123", "secret123 ", " SECRET123 ", " Secret123 "] {
        assert_eq!(service.verify(other, Some(&stored)).await, Ok(Verification::Mismatch), "{other:?}");
    }

    let stored = service.hash_new_password("CaseSensitive").await.unwrap();
    assert_eq!(service.verify("casesensitive", Some(&stored)).await, Ok(Verification::Mismatch));
    assert_eq!(service.verify("CASESENSITIVE", Some(&stored)).await, Ok(Verification::Mismatch));

    // "é" precomposed (NFC) vs "e" + combining acute (NFD): different bytes, different passwords.
    let stored = service.hash_new_password("caf\u{e9}-latte").await.unwrap();
    assert_eq!(service.verify("cafe\u{301}-latte", Some(&stored)).await, Ok(Verification::Mismatch));
}

#[tokio::test]
async fn needs_rehash_follows_the_configured_parameters() {
    let service = default_service();
    let pw = "old-but-gold";
    let older = raw_hash(Algorithm::Argon2id, 4096, 3, pw.as_bytes());
    let argon2i = raw_hash(Algorithm::Argon2i, 19456, 2, pw.as_bytes());
    let current = raw_hash(Algorithm::Argon2id, 19456, 2, pw.as_bytes());
    assert_eq!(service.verify(pw, Some(&older)).await, Ok(Verification::Match { needs_rehash: true }));
    assert_eq!(service.verify(pw, Some(&argon2i)).await, Ok(Verification::Match { needs_rehash: true }));
    assert_eq!(service.verify(pw, Some(&current)).await, Ok(Verification::Match { needs_rehash: false }));
    // The fresh hash written after a rehash no longer needs one.
    let fresh = service.hash_new_password(pw).await.unwrap();
    assert_eq!(service.verify(pw, Some(&fresh)).await, Ok(Verification::Match { needs_rehash: false }));
}

#[tokio::test]
async fn every_login_path_costs_exactly_one_hash() {
    let (service, counts) = counting_service();
    let stored = service.hash_new_password("the right one").await.unwrap();

    let cases: [(&str, &str, Option<&str>, bool); 6] = [
        ("unknown user", "the right one", None, false),
        ("unknown user, empty password", "", None, false),
        ("known user, empty password", "", Some(&stored), false),
        ("known user (e.g. inactive), wrong password", "the wrong one", Some(&stored), false),
        ("known user, right password", "the right one", Some(&stored), true),
        ("known user, corrupt stored hash", "the right one", Some("$argon2id$garbage"), false),
    ];
    for (what, password, stored, matches) in cases {
        let before = counts.login_ops();
        let result = service.verify(password, stored).await.unwrap();
        assert_eq!(result.is_match(), matches, "{what}");
        assert_eq!(counts.login_ops() - before, 1, "{what}: hash operations");
    }
    // Unknown users and empty passwords go through the dummy; the others through verify.
    assert_eq!(counts.dummy.load(Ordering::SeqCst), 3);
    assert_eq!(counts.verify.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_fails_fast_with_busy() {
    let gate = Arc::new(Gate::default());
    let service = PasswordService::builder(Arc::new(GatedHasher(Arc::clone(&gate))))
        .max_concurrency(1)
        .queue_limit(1)
        .build()
        .unwrap();

    // 1st call takes the only permit and blocks in the hasher.
    let first = tokio::spawn({
        let service = service.clone();
        async move { service.verify("password-1", None).await }
    });
    eventually("the first hash to start", || gate.started.load(Ordering::SeqCst) == 1).await;

    // 2nd call waits for the permit (the queue holds one).
    let second = tokio::spawn({
        let service = service.clone();
        async move { service.hash_new_password("password-2").await }
    });
    eventually("the second call to queue", || service.waiting() == 1).await;

    // 3rd call: queue full, fails at once instead of waiting.
    let started = Instant::now();
    let third = tokio::time::timeout(Duration::from_secs(1), service.verify("password-3", None)).await;
    assert_eq!(third, Ok(Err(PasswordError::Busy)));
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(service.waiting(), 1);

    gate.open();
    assert_eq!(first.await.unwrap(), Ok(Verification::Mismatch));
    assert_eq!(second.await.unwrap(), Ok("$gated$".to_owned()));
    assert_eq!(service.waiting(), 0);
    assert_eq!(gate.started.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_waiters_give_their_queue_slot_back() {
    let gate = Arc::new(Gate::default());
    let service = PasswordService::builder(Arc::new(GatedHasher(Arc::clone(&gate))))
        .max_concurrency(1)
        .queue_limit(1)
        .build()
        .unwrap();
    let first = tokio::spawn({
        let service = service.clone();
        async move { service.verify("password-1", None).await }
    });
    eventually("the first hash to start", || gate.started.load(Ordering::SeqCst) == 1).await;

    // A waiter that gives up after 20 ms: its future is dropped while queued.
    let gave_up = tokio::time::timeout(Duration::from_millis(20), service.verify("p", None)).await;
    assert!(gave_up.is_err());
    assert_eq!(service.waiting(), 0);

    // So the queue has room again.
    let again = tokio::spawn({
        let service = service.clone();
        async move { service.verify("password-2", None).await }
    });
    eventually("the next call to queue", || service.waiting() == 1).await;
    gate.open();
    assert_eq!(first.await.unwrap(), Ok(Verification::Mismatch));
    assert_eq!(again.await.unwrap(), Ok(Verification::Mismatch));
    // The cancelled call never reached the hasher.
    assert_eq!(gate.started.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_call_keeps_its_permit_until_the_hash_finishes() {
    let gate = Arc::new(Gate::default());
    let service = PasswordService::builder(Arc::new(GatedHasher(Arc::clone(&gate))))
        .max_concurrency(1)
        .queue_limit(4)
        .build()
        .unwrap();
    // Start a hash, then drop the caller while the hash is running.
    let abandoned = tokio::time::timeout(Duration::from_millis(50), service.verify("p1", None)).await;
    assert!(abandoned.is_err());
    eventually("the abandoned hash to start", || gate.started.load(Ordering::SeqCst) == 1).await;

    // The permit is still held by the running hash: the next call has to wait for it.
    let next = tokio::spawn({
        let service = service.clone();
        async move { service.verify("p2", None).await }
    });
    eventually("the next call to queue", || service.waiting() == 1).await;
    assert_eq!(gate.started.load(Ordering::SeqCst), 1);
    gate.open();
    assert_eq!(next.await.unwrap(), Ok(Verification::Mismatch));
    assert_eq!(gate.started.load(Ordering::SeqCst), 2);
}

/// Blocks the calling thread for a while, like a slow hash.
struct SleepyHasher {
    busy: Arc<AtomicBool>,
}

impl PasswordHasher for SleepyHasher {
    fn hash(&self, _password: &[u8]) -> Result<String, PasswordError> {
        Ok(String::new())
    }
    fn verify(&self, _password: &[u8], _phc: &str) -> Result<Verification, PasswordError> {
        self.busy.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        self.busy.store(false, Ordering::SeqCst);
        Ok(Verification::Mismatch)
    }
    fn dummy_verify(&self, _password: &[u8]) {}
}

#[tokio::test(flavor = "current_thread")]
async fn runtime_stays_responsive_while_hashing() {
    // One runtime thread: if the hash ran on it, the ticker below could not run meanwhile.
    let busy = Arc::new(AtomicBool::new(false));
    let service = PasswordService::new(Arc::new(SleepyHasher { busy: Arc::clone(&busy) }));
    let ticks_while_busy = Arc::new(AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let busy = Arc::clone(&busy);
        let ticks = Arc::clone(&ticks_while_busy);
        async move {
            let mut interval = tokio::time::interval(Duration::from_millis(5));
            loop {
                interval.tick().await;
                if busy.load(Ordering::SeqCst) {
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
    assert_eq!(service.verify("password", Some("$x$")).await, Ok(Verification::Mismatch));
    ticker.abort();
    let ticks = ticks_while_busy.load(Ordering::SeqCst);
    assert!(ticks >= 10, "only {ticks} timer ticks during a 300 ms hash");
}

#[tokio::test(flavor = "current_thread")]
async fn runtime_stays_responsive_during_real_argon2id() {
    let service = default_service();
    let stored = service.hash_new_password("a long passphrase").await.unwrap();
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks);
        async move {
            loop {
                tokio::task::yield_now().await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // Several sequential verifies (~15 ms each) on the blocking pool; the ticker keeps running.
    for _ in 0..5 {
        assert!(service.verify("a long passphrase", Some(&stored)).await.unwrap().is_match());
    }
    ticker.abort();
    assert!(ticks.load(Ordering::SeqCst) > 100, "ticker starved");
}

struct PanickingHasher;

impl PasswordHasher for PanickingHasher {
    fn hash(&self, _password: &[u8]) -> Result<String, PasswordError> {
        panic!("boom")
    }
    fn verify(&self, _password: &[u8], _phc: &str) -> Result<Verification, PasswordError> {
        Ok(Verification::Match { needs_rehash: false })
    }
    fn dummy_verify(&self, _password: &[u8]) {}
}

#[tokio::test]
async fn a_panicking_hasher_is_an_error_and_frees_its_permit() {
    let service = PasswordService::builder(Arc::new(PanickingHasher))
        .max_concurrency(1)
        .queue_limit(0)
        .build()
        .unwrap();
    assert!(matches!(
        service.hash_new_password("long enough").await,
        Err(PasswordError::Task(TaskFailure::Panicked))
    ));
    assert_eq!(service.verify("pw", Some("x")).await, Ok(Verification::Match { needs_rehash: false }));
}

#[test]
fn defaults_and_builder_validation() {
    let service = PasswordService::new(Arc::new(fast_hasher()));
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    assert_eq!(service.max_concurrency(), cpus);
    assert_eq!(service.queue_limit(), 32 * cpus);
    assert_eq!(*service.policy(), PasswordPolicy::default());

    let built = PasswordService::builder(Arc::new(fast_hasher())).max_concurrency(3).build().unwrap();
    assert_eq!((built.max_concurrency(), built.queue_limit()), (3, 96));
    assert!(matches!(
        PasswordService::builder(Arc::new(fast_hasher())).max_concurrency(0).build(),
        Err(PasswordError::InvalidConfig(ConfigProblem::ConcurrencyOutOfRange { requested: 0, .. }))
    ));
    let too_many = PasswordService::MAX_CONCURRENCY + 1;
    let err =
        PasswordService::builder(Arc::new(fast_hasher())).max_concurrency(too_many).build().unwrap_err();
    assert_eq!(
        err,
        PasswordError::InvalidConfig(ConfigProblem::ConcurrencyOutOfRange {
            requested: too_many,
            max: PasswordService::MAX_CONCURRENCY,
        })
    );
    assert!(err.to_string().contains("concurrency"), "{err}");
    assert!(format!("{service:?}").contains("queue_limit"));
}

#[test]
fn calls_need_no_tokio_runtime() {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let service = PasswordService::new(Arc::new(fast_hasher()));
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut call = std::pin::pin!(service.hash_new_password("no runtime here"));
    let stored = loop {
        match call.as_mut().poll(&mut cx) {
            Poll::Ready(result) => break result.expect("hashed without a runtime"),
            Poll::Pending => std::thread::park(),
        }
    };
    assert!(stored.starts_with("$argon2id$"));
}
