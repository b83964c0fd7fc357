//! What the tests that start the demo binary with memory stores share: a scratch directory, a
//! child process killed on drop, the demo on a free port (its URL and the demo user's password).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_authmount-demo");

pub(crate) fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A fresh directory `<kind>-<name>-<pid>` under the target's temp directory.
pub(crate) fn scratch(kind: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{kind}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A child process killed when dropped.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo on `framework` on a free port with memory stores, run in `dir` with the `AUTHMOUNT_*`
/// settings `env` (and no others from the environment): its URL and the demo user's password.
pub(crate) fn start_demo(framework: &str, dir: &Path, env: &[(&str, &str)]) -> (Process, String, String) {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .args(["--framework", framework, "--users", "memory", "--tokens", "memory", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AUTHMOUNT_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("the demo starts");
    let stdout = child.stdout.take().expect("piped");
    let process = Process(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let (mut base, mut password) = (None, None);
    loop {
        let line = received.recv_timeout(Duration::from_secs(60)).expect("the demo prints its banner");
        if let Some(url) = line.strip_prefix("listening on ") {
            base = Some(url.trim().to_owned());
        }
        if let Some(pw) = line.trim().strip_prefix("password: ") {
            password = Some(pw.to_owned());
        }
        if line.starts_with("Ready.") {
            break;
        }
    }
    (process, base.expect("the URL"), password.expect("the demo password"))
}
