//! [`HashingThreads`]: the dedicated, lower-priority threads password hashes run on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use super::{PasswordError, TaskFailure};

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run password hashes, and nothing else.
///
/// An argon2id verify is ~15 ms of pure CPU. On the runtime's shared blocking pool a flood of
/// logins keeps every core busy hashing, and the async workers serving every other request
/// queue behind it (measured: the p99 of a protected route rose 5–7×). These threads run
/// below the rest of the process's priority instead (Linux: `niceness` added to the thread's
/// nice value), so the scheduler hands a core to a worker with a request to serve at once, and
/// hashing gets every cycle the workers leave. The number of concurrent hashes is bounded by
/// the service's semaphore, so the pool needs as many threads as permits.
///
/// Threads start on first use (a service that never hashes costs none) and stop once the last
/// service clone is dropped. Not needing a Tokio worker, hashing works from any runtime flavour.
pub(crate) struct HashingThreads {
    count: usize,
    niceness: u8,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

impl HashingThreads {
    /// `count` threads, `niceness` below the priority of the thread that starts them.
    pub(crate) fn new(count: usize, niceness: u8) -> Self {
        Self { count, niceness, sender: Mutex::new(None) }
    }

    /// Runs `job` on a hashing thread and waits for its result without blocking the caller's
    /// thread. A panicking job is [`TaskFailure::Panicked`]; the thread survives it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(job)));
        }))?;
        match outcome.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_panic)) => Err(TaskFailure::Panicked.into()),
            Err(_dropped) => Err(TaskFailure::Cancelled.into()),
        }
    }

    fn submit(&self, job: Job) -> Result<(), PasswordError> {
        let mut sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if sender.is_none() {
            *sender = Some(self.start()?);
        }
        // The threads catch every job's panic and only stop when this sender is dropped, so a
        // started pool always has a receiver.
        let sender = sender.as_ref().ok_or(TaskFailure::ThreadStart)?;
        sender.send(job).map_err(|_| TaskFailure::ThreadStart.into())
    }

    fn start(&self) -> Result<mpsc::Sender<Job>, PasswordError> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for index in 0..self.count {
            let receiver = Arc::clone(&receiver);
            let niceness = self.niceness;
            let spawned = std::thread::Builder::new()
                .name(format!("authmount-hash-{index}"))
                .spawn(move || work(&receiver, niceness));
            match spawned {
                Ok(_) => started += 1,
                Err(error) => tracing::warn!(%error, "could not start a password hashing thread"),
            }
        }
        if started == 0 {
            return Err(TaskFailure::ThreadStart.into());
        }
        Ok(sender)
    }
}

fn work(jobs: &Mutex<mpsc::Receiver<Job>>, niceness: u8) {
    lower_priority(niceness);
    loop {
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(),
            Err(mpsc::RecvError) => return,
        }
    }
}

/// Adds `niceness` to this thread's nice value (Linux keeps one per thread). Best effort: a
/// failure leaves the thread at the process's priority, which is still correct, only less kind
/// to other requests under a login flood.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn lower_priority(niceness: u8) {
    use rustix::process::{getpriority_process, setpriority_process};
    if niceness == 0 {
        return;
    }
    let thread = Some(rustix::thread::gettid());
    let lowered = getpriority_process(thread)
        .and_then(|current| setpriority_process(thread, current.saturating_add(niceness.into()).min(19)));
    if let Err(error) = lowered {
        tracing::debug!(%error, "could not lower the priority of a password hashing thread");
    }
}

/// Elsewhere the nice value belongs to the whole process, so the threads keep its priority.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn lower_priority(_niceness: u8) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_named_threads_that_survive_panics() {
        let threads = HashingThreads::new(2, 10);
        let name = threads.run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert!(name.is_some_and(|name| name.starts_with("authmount-hash-")));
        assert_eq!(threads.run(|| panic!("boom")).await, Err::<(), _>(TaskFailure::Panicked.into()));
        assert_eq!(threads.run(|| 42).await, Ok(42), "the pool still works after a panic");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_caller_priority() {
        let own = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let threads = HashingThreads::new(1, 10);
        let theirs = threads
            .run(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap())
            .await
            .unwrap();
        assert_eq!(theirs, (own + 10).min(19));
    }
}
