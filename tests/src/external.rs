//! The external clients some cases run: Python with `requests` (the seed documents' snippets)
//! and curl. Missing tools skip a case with a notice on a developer machine and fail it under
//! `CI=true`, where `scripts/test` provides them.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one client run may take before it is killed and the case fails.
const CLIENT_DEADLINE: Duration = Duration::from_secs(30);

/// Prints why `suite` is skipped, or fails under `CI=true`.
pub fn skip_or_fail(suite: &str, missing: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but {missing} ({suite})");
    eprintln!("notice: skipping {suite}: {missing}");
}

/// The Python interpreter with `requests`: `$AUTHMOUNT_PYTHON` (set by scripts/test), else
/// `python3` if it has `requests`; `None` (after a notice) on a developer machine without one.
pub fn python(suite: &str) -> Option<String> {
    if let Ok(python) = std::env::var("AUTHMOUNT_PYTHON") {
        return Some(python);
    }
    let has_requests = Command::new("python3")
        .args(["-c", "import requests"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_requests {
        return Some("python3".into());
    }
    skip_or_fail(suite, "no AUTHMOUNT_PYTHON and no python3 with requests");
    None
}

/// The Python of [`python`] when it can import `module` as well (a package scripts/test
/// installs into its virtualenv, such as `xmlschema`); `None` after a notice on a developer
/// machine without it, a failure under `CI=true`.
pub fn python_with(suite: &str, module: &str) -> Option<String> {
    let python = python(suite)?;
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if imports {
        Some(python)
    } else {
        skip_or_fail(suite, &format!("{python} cannot import {module} (scripts/test installs it)"));
        None
    }
}

/// Whether curl is installed (a notice, or a failure under `CI=true`, when not).
pub fn curl(suite: &str) -> bool {
    let found =
        Command::new("curl").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        skip_or_fail(suite, "curl is not installed");
    }
    found
}

/// Runs `program` on `source` (written to a temporary `.extension` file) with `args`, feeding
/// `stdin`, in a session of its own (so `getpass` reads the piped input, not a terminal), and
/// returns what it printed. Panics with its output if it fails or outlives the deadline.
pub fn run_script(program: &str, source: &str, extension: &str, stdin: &str, args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("authmount-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let unique = crate::client::unique_suffix();
    let path = dir.join(format!("script-{unique}.{extension}"));
    std::fs::write(&path, source).expect("script written");
    let mut command = if Command::new("setsid").arg("--version").output().is_ok() {
        let mut setsid = Command::new("setsid");
        setsid.arg("--wait").arg(program);
        setsid
    } else {
        Command::new(program)
    };
    let mut child = command
        .arg(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the client starts");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("stdin written");
    let deadline = Instant::now() + CLIENT_DEADLINE;
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish within {CLIENT_DEADLINE:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "{} failed: {}\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}
