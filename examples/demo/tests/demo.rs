//! The built `authmount-demo` binary, started as a user would: on a free port, in a fresh
//! working directory, on both frameworks. The curl lines it prints are run (with `curl` when it
//! is installed; under `CI=true` it must be), tokens from each dialect are used on the demo
//! routes, users are added with `useradd`, restarts keep state, SIGTERM stops it with 0.
//!
//! Redis and PostgreSQL cases run when `REDIS_URL` / `DATABASE_URL` are set (`scripts/test`
//! sets both) and are skipped otherwise (not under `CI=true`).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_authmount-demo");
const READY: &str = "Ready. Stop with Ctrl-C";
const START_TIMEOUT: Duration = Duration::from_secs(90);

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A fresh, empty working directory.
fn workdir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The demo binary with a clean environment (no inherited `AUTHMOUNT_*`), run in `dir`.
fn demo(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(dir).args(args).env("RUST_LOG", "debug,sqlx=warn");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AUTHMOUNT_") {
            command.env_remove(name);
        }
    }
    command
}

struct Server {
    child: Child,
    base: String,
    banner: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path, args: &[&str]) -> Self {
        Self::start_with(demo(dir, args).args(["--addr", "127.0.0.1:0"]))
    }

    fn start_with(command: &mut Command) -> Self {
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the demo starts");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let collected = Arc::new(Mutex::new(String::new()));
        let sink = collected.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().expect("lock").push_str(&line);
                line.clear();
            }
        });
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut banner = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    banner.push_str(&line);
                    banner.push('\n');
                    if line.starts_with(READY) {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait();
                    panic!(
                        "the demo did not start ({status:?})\nstdout:\n{banner}\nstderr:\n{}",
                        collected.lock().expect("lock")
                    );
                }
            }
        }
        let base = banner
            .lines()
            .find_map(|line| line.strip_prefix("listening on "))
            .expect("the banner names the address")
            .trim()
            .to_owned();
        Self { child, base, banner, stderr: collected }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn demo_password(&self) -> Option<String> {
        self.banner.lines().find_map(|l| l.trim().strip_prefix("password: ")).map(str::to_owned)
    }

    fn curl_lines(&self) -> Vec<String> {
        self.banner.lines().map(str::trim).filter(|l| l.starts_with("curl ")).map(str::to_owned).collect()
    }

    fn logs(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(self) -> (ExitStatus, String) {
        self.stop_with("-TERM")
    }

    /// Sends `signal` (`-TERM`, `-INT`) and waits for the exit.
    fn stop_with(mut self, signal: &str) -> (ExitStatus, String) {
        let status =
            Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                // Let the stderr reader drain.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.logs());
            }
            assert!(Instant::now() < deadline, "the demo did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits a shell command line with single quotes, double quotes and backslashes (what the
/// printed curl lines use).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn curl_installed() -> bool {
    Command::new("curl").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Runs a printed curl line in `dir` (where cookie jars go): with curl through `sh` when
/// installed, else the same request with reqwest. Returns the status and the body.
async fn run_curl_line(line: &str, dir: &Path) -> (u16, String) {
    if curl_installed() {
        let output = Command::new("sh")
            .current_dir(dir)
            .arg("-c")
            .arg(format!("{line} -w '\\n%{{http_code}}'"))
            .output()
            .expect("sh runs");
        assert!(output.status.success(), "{line}: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).expect("utf-8");
        let (body, status) = text.rsplit_once('\n').expect("status line");
        return (status.trim().parse().expect("status"), body.to_owned());
    }
    assert!(!ci(), "curl must be installed under CI=true (apt-get install curl)");
    eprintln!("curl is not installed: running the printed line with reqwest");
    run_with_reqwest(line, dir).await
}

/// What curl would do with a printed line, done with reqwest (cookie jars, `-c` and `-b`, are
/// files in `dir` holding `name=value` lines).
async fn run_with_reqwest(line: &str, dir: &Path) -> (u16, String) {
    let words = shell_words(line);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{line}");
    let (mut method, mut url, mut headers, mut body) = ("GET".to_owned(), None, Vec::new(), None);
    let (mut save_cookies, mut send_cookies) = (None, None);
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-sS" | "-s" | "-S" => {}
            "-X" => method = rest.next().expect("method").clone(),
            "-H" => headers.push(rest.next().expect("header").clone()),
            "-d" | "--data" | "--data-raw" => body = Some(rest.next().expect("body").clone()),
            "-c" => save_cookies = Some(dir.join(rest.next().expect("jar"))),
            "-b" => send_cookies = Some(dir.join(rest.next().expect("jar"))),
            other if other.starts_with("http") => url = Some(other.to_owned()),
            other => panic!("unexpected curl argument {other:?} in {line}"),
        }
    }
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client.request(method, url.expect("a URL"));
    for header in headers {
        let (name, value) = header.split_once(':').expect("Name: value");
        request = request.header(name.trim(), value.trim());
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    if let Some(jar) = send_cookies {
        let cookies = std::fs::read_to_string(jar).expect("the cookie jar");
        request = request.header("cookie", cookies.lines().collect::<Vec<_>>().join("; "));
    }
    let response = request.send().await.expect("sent");
    if let Some(jar) = save_cookies {
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        std::fs::write(jar, cookies.join("\n")).expect("the cookie jar is written");
    }
    (response.status().as_u16(), response.text().await.expect("body"))
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("JSON expected: {}", self.text))
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Reply { status, headers, text: response.text().await.expect("body") }
}

async fn login(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    username: &str,
    password: &str,
) -> String {
    let body = json!({"username": username, "password": password}).to_string();
    let reply =
        send(client.post(server.url(path)).header("content-type", "application/json").body(body)).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.json()["token"].as_str().expect("a token").to_owned()
}

async fn whoami(client: &reqwest::Client, server: &Server, authorization: &str) -> Reply {
    send(client.get(server.url("/api/whoami")).header("authorization", authorization)).await
}

async fn book(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    authorization: &str,
    body: Value,
) -> Reply {
    send(
        client
            .post(server.url(path))
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// The tokens the printed curl lines got, one per dialect.
struct Tokens {
    amcr: String,
    jwt: String,
    oz: String,
    tdar: String,
    minisass: String,
}

/// The value of the XML attribute `name="..."` in `xml`.
fn attribute(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(xml[start..].split('"').next()?.to_owned())
}

/// Runs every printed curl line in `dir`, in order: each must answer 200.
async fn run_printed_curl_lines(server: &Server, dir: &Path) -> Tokens {
    let lines = server.curl_lines();
    assert_eq!(lines.len(), 6, "a curl line per dialect and tDAR's cookie line:\n{}", server.banner);
    let (mut amcr, mut jwt, mut oz, mut tdar, mut minisass) = (None, None, None, None, None);
    let mut cookie_whoami = false;
    for line in &lines {
        let (status, body) = run_curl_line(line, dir).await;
        assert_eq!(status, 200, "{line} -> {body}");
        let json = || -> Value { serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON: {body}")) };
        let field =
            |name: &str| Some(json()[name].as_str().unwrap_or_else(|| panic!("{name}: {body}")).to_owned());
        if line.contains("/api/token-auth/") {
            amcr = field("token");
        } else if line.contains("/authentication/api/token/") {
            minisass = field("access");
            assert!(json()["refresh"].is_string(), "{body}");
        } else if line.contains("/api/token/") {
            jwt = field("token");
        } else if line.contains("/api/authorize/auth") {
            oz = field("access_token");
        } else if line.contains("/api/login") {
            assert!(line.contains("-c 'tdar-cookies.txt'"), "{line}");
            assert!(body.contains("<tdar:statusCode>200</tdar:statusCode>"), "{body}");
            tdar = attribute(&body, "apiToken");
        } else if line.contains("-b tdar-cookies.txt") && line.contains("/api/whoami") {
            assert_eq!(json()["username"], "demo", "the cookie session: {body}");
            cookie_whoami = true;
        } else {
            panic!("an unexpected curl line: {line}");
        }
    }
    assert!(cookie_whoami, "a whoami line with the tDAR cookie jar");
    Tokens {
        amcr: amcr.expect("an AMCR line"),
        jwt: jwt.expect("a Meldeschein line"),
        oz: oz.expect("an Oz line"),
        tdar: tdar.expect("a tDAR line"),
        minisass: minisass.expect("a miniSASS line"),
    }
}

async fn first_start(framework: &str) {
    let dir = workdir(&format!("first-{framework}"));
    let server = Server::start(&dir, &["--framework", framework]);
    assert!(
        server.banner.contains(&format!("on {}", if framework == "axum" { "axum" } else { "actix-web" }))
    );
    let password = server.demo_password().expect("the demo password is printed on first start");
    assert!(server.banner.contains("username: demo"));

    let tokens = run_printed_curl_lines(&server, &dir).await;
    let (amcr, jwt) = (tokens.amcr.clone(), tokens.jwt.clone());
    let client = reqwest::Client::new();
    let demo = json!({"id": 1, "username": "demo", "email": "demo@example.org"});

    // The Oz header, the tDAR query key and cookie, the miniSASS Bearer JWT.
    let reply =
        send(client.get(server.url("/api/whoami")).header("x-forensic-access-token", &tokens.oz)).await;
    assert_eq!((reply.status, reply.json()), (200, demo.clone()), "Oz");
    let reply =
        send(client.get(format!("{}?session.tokenkey={}", server.url("/api/whoami"), tokens.tdar))).await;
    assert_eq!((reply.status, reply.json()), (200, demo.clone()), "tDAR query key");
    assert_eq!(reply.headers["referrer-policy"], "no-referrer");
    let reply = send(
        client.get(server.url("/api/whoami")).header("cookie", format!("session.tokenkey={}", tokens.tdar)),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (200, demo.clone()), "tDAR cookie");
    let reply = whoami(&client, &server, &format!("Bearer {}", tokens.minisass)).await;
    assert_eq!((reply.status, reply.json()), (200, demo.clone()), "miniSASS");
    let reply = send(
        client
            .get(server.url("/authentication/api/check-auth-status/"))
            .header("authorization", format!("Bearer {}", tokens.minisass)),
    )
    .await;
    assert_eq!((reply.status, reply.json()["username"].clone()), (200, json!("demo")));
    let reply =
        send(client.get(server.url("/api/whoami")).header("cookie", "session.tokenkey=not-a-session")).await;
    assert_eq!(reply.status, 401, "an unknown tDAR key: {}", reply.text);
    let reply = send(client.get(server.url("/api/whoami")).header("x-forensic-access-token", "nope")).await;
    assert_eq!(reply.status, 401, "an unknown Oz token: {}", reply.text);

    // The pages, with their security headers.
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/minisass.html", "text/html; charset=utf-8"),
        ("/login.js", "text/javascript; charset=utf-8"),
        ("/minisass.js", "text/javascript; charset=utf-8"),
        ("/demo.css", "text/css; charset=utf-8"),
    ] {
        let reply = send(client.get(server.url(path))).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.headers["content-type"], content_type, "{path}");
        let csp = reply.headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(reply.headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(reply.headers["cache-control"], "no-store", "{path}");
    }
    let head = send(client.head(server.url("/"))).await;
    assert_eq!((head.status, head.text.as_str()), (200, ""), "HEAD /");

    // /api/whoami with each dialect's token, as each dialect carries it.
    let reply = whoami(&client, &server, &format!("Bearer {amcr}")).await;
    assert_eq!((reply.status, reply.json()), (200, demo.clone()));
    assert_eq!(reply.headers["cache-control"], "no-store");
    let reply = whoami(&client, &server, &format!("JWT {jwt}")).await;
    assert_eq!((reply.status, reply.json()), (200, demo.clone()));
    let reply =
        send(client.get(server.url("/api/whoami/")).header("authorization", format!("jwt {jwt}"))).await;
    assert_eq!(reply.status, 200, "trailing slash and prefix in any case");

    // Refusals.
    let reply = send(client.get(server.url("/api/whoami"))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json(), json!({"detail": "Authentication credentials were not provided."}));
    let challenge = reply.headers["www-authenticate"].to_str().expect("ascii");
    assert!(challenge.contains("Bearer") && challenge.contains("JWT"), "{challenge}");
    assert_eq!(whoami(&client, &server, "Bearer not-a-token").await.status, 401);
    assert_eq!(
        whoami(&client, &server, &format!("Bearer {jwt}")).await.status,
        401,
        "a JWT is no AMCR token"
    );
    // The query token is off by default: refused, and (below) never logged.
    let reply = send(client.get(format!("{}?jwt={jwt}", server.url("/api/whoami")))).await;
    assert_eq!(reply.status, 401);

    // The dialects' own protected endpoints.
    let reply =
        send(client.get(server.url("/api/uzivatel-info/")).header("authorization", format!("Bearer {amcr}")))
            .await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.contains("<amcr:email>demo@example.org</amcr:email>"), "{}", reply.text);
    let reply =
        send(client.get(server.url("/api/get-config/")).header("authorization", format!("JWT {jwt}"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["gemeinden"], json!([1]));

    // POST /api/meldeschein/.
    let meta = json!({"gemeinde": 1, "vermieter": 1, "objekt": 1, "description": "Zimmer 4"});
    let reply = book(
        &client,
        &server,
        "/api/meldeschein/",
        &format!("JWT {jwt}"),
        json!({"meta": meta, "gaeste": []}),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (201, json!({"meta": meta})));
    let reply =
        book(&client, &server, "/api/meldeschein", &format!("JWT {jwt}"), json!({"meta": meta, "x": 1}))
            .await;
    assert_eq!(reply.status, 201, "without the trailing slash too");
    let denied = json!({"meta": {"gemeinde": 2, "vermieter": 1, "objekt": 1}, "gaeste": []});
    let reply = book(&client, &server, "/api/meldeschein/", &format!("JWT {jwt}"), denied).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    let reply =
        book(&client, &server, "/api/meldeschein/", &format!("JWT {jwt}"), json!({"gaeste": []})).await;
    assert_eq!((reply.status, reply.json()), (400, json!({"meta": ["This field is required."]})));
    let mistyped = json!({"meta": {"gemeinde": "one", "vermieter": 1, "objekt": 1}, "gaeste": []});
    let reply = book(&client, &server, "/api/meldeschein/", &format!("JWT {jwt}"), mistyped).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["meta"]["gemeinde"], json!(["A valid integer is required."]));
    let reply =
        book(&client, &server, "/api/meldeschein/", &format!("Bearer {amcr}"), json!({"meta": meta, "x": 1}))
            .await;
    assert_eq!(reply.status, 401, "an AMCR token is no Meldeschein JWT");
    assert_eq!(reply.headers["www-authenticate"], "JWT realm=\"api\"");

    let (status, logs) = server.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM stops with 0\n{logs}");
    assert!(logs.contains("SIGTERM: finishing in-flight requests"), "{logs}");
    assert!(logs.contains("authmount_demo::access"), "the access log runs: {logs}");
    for secret in [&password, &amcr, &jwt, &tokens.oz, &tokens.tdar, &tokens.minisass] {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs:\n{logs}");
    }
    assert!(!logs.contains("jwt=") && !logs.contains("tokenkey="), "a query string in the logs:\n{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_lines_also_work_without_curl() {
    let dir = workdir("no-curl");
    let server = Server::start(&dir, &["--users", "memory", "--tokens", "memory"]);
    let lines = server.curl_lines();
    assert_eq!(lines.len(), 6, "{}", server.banner);
    for line in &lines {
        let (status, body) = run_with_reqwest(line, &dir).await;
        assert_eq!(status, 200, "{line} -> {body}");
    }
    assert_eq!(
        shell_words(r#"curl -d '{"a":"it'\''s"}' "x y" z\ w"#),
        ["curl", "-d", r#"{"a":"it's"}"#, "x y", "z w"]
    );
    assert_eq!(server.terminate().0.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_on_axum() {
    first_start("axum").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_on_actix() {
    first_start("actix").await;
}

#[cfg(unix)]
#[test]
fn restart_keeps_users_tokens_and_the_jwt_secret() {
    use std::os::unix::fs::PermissionsExt;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = workdir("restart");
    let client = reqwest::Client::new();
    let server = Server::start(&dir, &["--framework", "axum"]);
    let password = server.demo_password().expect("first start");
    let (amcr, jwt) = runtime.block_on(async {
        (
            login(&client, &server, "/api/token-auth/", "demo", &password).await,
            login(&client, &server, "/api/token/", "demo@example.org", &password).await,
        )
    });
    assert_eq!(server.terminate().0.code(), Some(0));
    let secret_file = dir.join("authmount-demo.secret");
    let secret = std::fs::read(&secret_file).expect("the secret was persisted");
    assert_eq!(std::fs::metadata(&secret_file).expect("exists").permissions().mode() & 0o777, 0o600);

    // The other framework, on the same files.
    let server = Server::start(&dir, &["--framework", "actix"]);
    assert_eq!(server.demo_password(), None, "no new demo user:\n{}", server.banner);
    assert!(server.curl_lines().is_empty());
    assert!(server.banner.contains("read from authmount-demo.secret"), "{}", server.banner);
    runtime.block_on(async {
        let reply = whoami(&client, &server, &format!("JWT {jwt}")).await;
        assert_eq!(reply.status, 200, "a JWT from the first run: {}", reply.text);
        let reply = whoami(&client, &server, &format!("Bearer {amcr}")).await;
        assert_eq!(reply.status, 200, "an AMCR token from the first run: {}", reply.text);
        login(&client, &server, "/api/token-auth/", "demo", &password).await;
    });
    let (status, logs) = server.stop_with("-INT");
    assert_eq!(status.code(), Some(0), "Ctrl-C stops with 0: {logs}");
    assert!(logs.contains("SIGINT: finishing in-flight requests"), "{logs}");
    assert_eq!(std::fs::read(&secret_file).expect("kept"), secret);
    let _ = std::fs::remove_dir_all(&dir);
}

fn useradd(dir: &Path, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let mut child = demo(dir, &["useradd"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // A usage error may end the process before it reads its input.
    let _ = child.stdin.take().expect("piped").write_all(stdin.as_bytes());
    let output = child.wait_with_output().expect("finishes");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn useradd_then_log_in_as_that_user() {
    let dir = workdir("useradd");
    let grants = r#"meldeschein={"gemeinden":[7],"vermieter":[8],"objekte":[9]}"#;
    let ann = [
        "--username",
        "ann",
        "--email",
        "ann@example.org",
        "--password-stdin",
        "--first-name",
        "Ann",
        "--last-name",
        "Novák",
        "--admin",
        "--attr",
        grants,
        "--attr",
        r#"osoba={"id":"OS-1","name":"Novák, Ann"}"#,
    ];
    let (code, stdout, stderr) = useradd(&dir, &ann, "correct horse battery\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("created user ann"), "{stdout}");

    let (code, _, stderr) = useradd(&dir, &ann, "correct horse battery\n");
    assert_eq!(code, Some(1), "duplicate: {stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    let (code, _, stderr) =
        useradd(&dir, &["--username", "bob", "--password-stdin", "--attr", "osoba={bad"], "x\n");
    assert_eq!(code, Some(2), "invalid JSON: {stderr}");
    assert!(stderr.contains("not JSON"), "{stderr}");
    let (code, _, stderr) = useradd(&dir, &["--username", "bob", "--password-stdin"], "short\n");
    assert_eq!(code, Some(2), "password policy: {stderr}");
    let (code, _, stderr) =
        useradd(&dir, &["--username", "bob", "--password", "correct horse battery", "--users", "memory"], "");
    assert_eq!(code, Some(2), "memory: {stderr}");
    let (code, _, stderr) =
        useradd(&dir, &["--username", "bob", "--password-stdin", "--users", "redis://127.0.0.1:1"], "x\n");
    assert_eq!(code, Some(2), "redis users: {stderr}");
    assert!(stderr.contains("tokens and counters only"), "{stderr}");
    let (code, _, stderr) = useradd(&dir, &["--username", "bob"], "");
    assert_eq!(code, Some(2), "no password source: {stderr}");

    // The store is not empty: no demo user, and ann logs in everywhere.
    let server = Server::start(&dir, &[]);
    assert_eq!(server.demo_password(), None, "{}", server.banner);
    let client = reqwest::Client::new();
    let token = login(&client, &server, "/api/token-auth/", "ann@example.org", "correct horse battery").await;
    let reply = whoami(&client, &server, &format!("Bearer {token}")).await;
    assert_eq!(reply.json(), json!({"id": 1, "username": "ann", "email": "ann@example.org"}));
    let reply = send(
        client.get(server.url("/api/uzivatel-info/")).header("authorization", format!("Bearer {token}")),
    )
    .await;
    assert!(reply.text.contains("<amcr:admin>true</amcr:admin>"), "{}", reply.text);
    assert!(reply.text.contains(r#"<amcr:osoba id="OS-1">Novák, Ann</amcr:osoba>"#), "{}", reply.text);
    let jwt = login(&client, &server, "/api/token/", "ann", "correct horse battery").await;
    let meta = json!({"gemeinde": 7, "vermieter": 8, "objekt": 9});
    let reply =
        book(&client, &server, "/api/meldeschein/", &format!("JWT {jwt}"), json!({"meta": meta, "g": 1}))
            .await;
    assert_eq!((reply.status, reply.json()), (201, json!({"meta": meta})));
    let (status, logs) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(!logs.contains("correct horse battery"), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn users_command(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = demo(dir, &["users"]).args(args).output().expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `users list|deactivate|activate|unlock|revoke-sessions` act on the SQLite stores a running
/// server uses, which sees each change within its cache's max staleness (1 s here); the admin
/// API is mounted and answers an admin.
#[tokio::test(flavor = "multi_thread")]
async fn users_subcommands_and_the_admin_api() {
    let dir = workdir("users");
    let password = "correct horse battery\n";
    let (code, _, stderr) = useradd(&dir, &["--username", "root", "--password-stdin", "--admin"], password);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) =
        useradd(&dir, &["--username", "bob", "--email", "bob@example.org", "--password-stdin"], password);
    assert_eq!(code, Some(0), "{stderr}");

    let (code, stdout, stderr) = users_command(&dir, &["list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("root") && stdout.contains("bob@example.org") && stdout.contains("2 of 2 users"),
        "{stdout}"
    );
    let (code, stdout, _) = users_command(&dir, &["list", "--search", "BOB@"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("1 of 1 users") && !stdout.contains("root"), "{stdout}");
    let (code, _, stderr) = users_command(&dir, &["deactivate", "nobody"]);
    assert_eq!(code, Some(1), "unknown login: {stderr}");
    let (code, _, stderr) = users_command(&dir, &["list", "--users", "memory"]);
    assert_eq!(code, Some(2), "memory users: {stderr}");

    let server =
        Server::start_with(demo(&dir, &["--addr", "127.0.0.1:0"]).env("AUTHMOUNT_CACHE_MAX_STALENESS", "1"));
    let client = reqwest::Client::new();
    let bob = login(&client, &server, "/api/token-auth/", "bob", "correct horse battery").await;
    assert_eq!(whoami(&client, &server, &format!("Bearer {bob}")).await.status, 200);
    let root = login(&client, &server, "/api/token-auth/", "root", "correct horse battery").await;
    let listing =
        send(client.get(server.url("/api/admin/users/")).header("authorization", format!("Bearer {root}")))
            .await;
    assert_eq!((listing.status, listing.json()["count"].clone()), (200, json!(2)));
    let refused =
        send(client.get(server.url("/api/admin/users/")).header("authorization", format!("Bearer {bob}")))
            .await;
    assert_eq!(refused.status, 403);

    let (code, stdout, stderr) = users_command(&dir, &["deactivate", "bob@example.org"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("bob (id 2): deactivated"), "{stdout}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while whoami(&client, &server, &format!("Bearer {bob}")).await.status == 200 {
        assert!(Instant::now() < deadline, "the server never saw the deactivation");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for action in ["activate", "unlock", "revoke-sessions"] {
        let (code, stdout, stderr) = users_command(&dir, &[action, "bob"]);
        assert_eq!(code, Some(0), "{action}: {stderr}");
        assert!(stdout.starts_with("bob (id 2): "), "{stdout}");
    }
    login(&client, &server, "/api/token-auth/", "bob", "correct horse battery").await;
    let (status, _) = server.terminate();
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_stores_a_config_file_and_environment_variables() {
    let dir = workdir("config");
    std::fs::write(
        dir.join("demo.toml"),
        "[amcr]\nschema_version = \"2.2\"\n\n[meldeschein]\nquery_token = true\n",
    )
    .expect("written");
    let secret = "an-environment-secret-of-more-than-32-bytes";
    let server = Server::start_with(
        demo(
            &dir,
            &["--framework", "actix", "--users", "memory", "--tokens", "memory", "--config", "demo.toml"],
        )
        .args(["--addr", "127.0.0.1:0"])
        .env("AUTHMOUNT_JWT_SECRET", secret)
        .env("AUTHMOUNT_MELDESCHEIN_TOKEN_LIFETIME", "10m"),
    );
    assert!(server.banner.contains("schema_version = \"2.2\""), "{}", server.banner);
    assert!(server.banner.contains("token_lifetime = \"10m\""), "{}", server.banner);
    assert!(server.banner.contains("secret = \"****\""), "{}", server.banner);
    assert!(server.banner.contains("JWT secret: configured"), "{}", server.banner);
    let Tokens { amcr, jwt, .. } = run_printed_curl_lines(&server, &dir).await;
    let client = reqwest::Client::new();
    let reply =
        send(client.get(server.url("/api/uzivatel-info/")).header("authorization", format!("Bearer {amcr}")))
            .await;
    assert!(reply.text.contains("https://api.aiscr.cz/schema/amcr/2.2/"), "{}", reply.text);
    let reply = send(client.get(format!("{}?jwt={jwt}", server.url("/api/whoami")))).await;
    assert_eq!(reply.status, 200, "the query token is on: {}", reply.text);
    let (status, logs) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(!logs.contains(secret) && !logs.contains(&jwt), "{logs}");
    assert!(!dir.join("authmount-demo.secret").exists(), "nothing persisted");
    assert!(!dir.join("authmount-demo.db").exists(), "nothing persisted");

    // Without a configured secret and with tokens in memory, the secret is ephemeral.
    let server = Server::start(&dir, &["--tokens", "memory"]);
    assert!(server.banner.contains("for this run only"), "{}", server.banner);
    assert!(server.logs().contains("ephemeral"), "{}", server.logs());
    assert_eq!(server.terminate().0.code(), Some(0));
    assert!(!dir.join("authmount-demo.secret").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn exit_code(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = demo(dir, args);
    command.args(["--addr", "127.0.0.1:0"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.stdout(Stdio::null()).output().expect("runs");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn bad_flags_and_configuration_exit_with_2_and_a_taken_port_with_1() {
    let dir = workdir("bad-flags");
    let (code, stderr) = exit_code(&dir, &["--users", "redis://127.0.0.1:6379"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("tokens and counters only"), "{stderr}");
    let (code, stderr) = exit_code(&dir, &["--tokens", "mysql://db"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, stderr) = exit_code(&dir, &["--framework", "rocket"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, stderr) = exit_code(&dir, &["--config", "missing.toml"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    std::fs::write(dir.join("typo.toml"), "[amcr]\ntoken_tll = \"1h\"\n").expect("written");
    let (code, stderr) = exit_code(&dir, &["--config", "typo.toml"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("token_tll"), "{stderr}");
    let (code, stderr) = exit_code(&dir, &[], &[("AUTHMOUNT_JWT_SECRET", "too short")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("too short"), "the secret is not echoed: {stderr}");
    let (code, stderr) = exit_code(&dir, &[], &[("AUTHMOUNT_AMCR_TOKEN_TTL", "soon")]);
    assert_eq!(code, Some(2), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("bound").to_string();
    let output =
        demo(&dir, &["--users", "memory", "--tokens", "memory", "--addr", &addr]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("password:"),
        "no credentials for a server that never ran"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An in-flight request (its body still arriving) is answered after SIGTERM, then the server
/// exits with 0.
fn in_flight_request_finishes(framework: &str) {
    let dir = workdir(&format!("in-flight-{framework}"));
    let server = Server::start(&dir, &["--framework", framework, "--users", "memory", "--tokens", "memory"]);
    let password = server.demo_password().expect("first start");
    let body = json!({"username": "demo", "password": password}).to_string();
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let head = format!(
        "POST /api/token-auth/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head sent");
    stream.write_all(&body.as_bytes()[..5]).expect("part of the body");
    std::thread::sleep(Duration::from_millis(500));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    std::thread::sleep(Duration::from_millis(500));
    stream.write_all(&body.as_bytes()[5..]).expect("the rest of the body");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"token\""), "{answer}");
    let (status, logs) = server.terminate_waiting();
    assert_eq!(status.code(), Some(0), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

impl Server {
    /// Waits for an exit already requested.
    fn terminate_waiting(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.logs());
            }
            assert!(Instant::now() < deadline, "the demo did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(unix)]
#[test]
fn an_in_flight_request_finishes_after_sigterm_on_axum() {
    in_flight_request_finishes("axum");
}

#[cfg(unix)]
#[test]
fn an_in_flight_request_finishes_after_sigterm_on_actix() {
    in_flight_request_finishes("actix");
}

/// Clients that send half a request header (slowloris) are disconnected after
/// `server.header_read_timeout`, on both frameworks; a whole request is still answered.
fn half_sent_headers_are_closed(framework: &str) {
    let dir = workdir(&format!("slow-{framework}"));
    let server = Server::start_with(
        demo(
            &dir,
            &["--framework", framework, "--users", "memory", "--tokens", "memory", "--addr", "127.0.0.1:0"],
        )
        .env("AUTHMOUNT_SERVER_HEADER_READ_TIMEOUT", "1"),
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow: Vec<std::net::TcpStream> = (0..50)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&addr).expect("connects");
            stream.write_all(b"GET /api/whoami HTTP/1.1\r\nHost: x\r\nX-Slow: ").expect("half a header");
            // A bound so that a connection the server keeps open fails the test instead of hanging it.
            stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
            stream
        })
        .collect();
    for stream in &mut slow {
        let mut rest = Vec::new();
        match stream.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(error) => assert!(
                !matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
                "a half-sent request's connection stayed open on {framework}"
            ),
        }
        let rest = String::from_utf8_lossy(&rest);
        assert!(!rest.contains(" 200 "), "a half-sent request was answered on {framework}: {rest}");
    }
    let mut whole = std::net::TcpStream::connect(&addr).expect("connects");
    whole.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    whole
        .write_all(
            format!(
                "GET /api/meldeschein/schema/meta/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("sent");
    let mut answer = Vec::new();
    let _ = whole.read_to_end(&mut answer);
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "the server still serves");
    let (status, logs) = server.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn half_sent_headers_are_closed_on_axum() {
    half_sent_headers_are_closed("axum");
}

#[test]
fn half_sent_headers_are_closed_on_actix() {
    half_sent_headers_are_closed("actix");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_in_redis_with_users_in_sqlite() {
    let Ok(redis) = std::env::var("REDIS_URL") else {
        assert!(!ci(), "REDIS_URL must be set under CI=true");
        eprintln!("REDIS_URL is not set: skipping");
        return;
    };
    let dir = workdir("redis");
    let server = Server::start(&dir, &["--users", "sqlite:users.db", "--tokens", &redis]);
    assert!(dir.join("authmount-demo.secret").exists(), "the secret sits beside the SQLite database");
    let Tokens { amcr, jwt, .. } = run_printed_curl_lines(&server, &dir).await;
    let client = reqwest::Client::new();
    assert_eq!(whoami(&client, &server, &format!("Bearer {amcr}")).await.status, 200);
    assert_eq!(whoami(&client, &server, &format!("JWT {jwt}")).await.status, 200);
    assert_eq!(server.terminate().0.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_and_tokens_in_postgres() {
    let Ok(database) = std::env::var("DATABASE_URL") else {
        assert!(!ci(), "DATABASE_URL must be set under CI=true");
        eprintln!("DATABASE_URL is not set: skipping");
        return;
    };
    let dir = workdir("postgres");
    // The database may be shared with other tests: add a user of our own instead of relying on
    // the demo user.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let username = format!("demo-test-{}-{nanos}", std::process::id());
    let store = ["--users", database.as_str()];
    let (code, _, stderr) = useradd(
        &dir,
        &[&["--username", username.as_str(), "--password-stdin"][..], &store[..]].concat(),
        "correct horse battery\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    let server = Server::start(&dir, &["--users", &database, "--tokens", &database, "--framework", "actix"]);
    let client = reqwest::Client::new();
    let token = login(&client, &server, "/api/token-auth/", &username, "correct horse battery").await;
    let reply = whoami(&client, &server, &format!("Bearer {token}")).await;
    assert_eq!(reply.json()["username"], username.as_str());
    assert_eq!(server.terminate().0.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// How long a mail may take to arrive (it is sent from a spawned task) before the case fails.
const MAIL_DEADLINE: Duration = Duration::from_secs(30);

/// The Python of `scripts/test`'s virtualenv (`AUTHMOUNT_PYTHON`), else `python3`, when it can
/// import `module`; `None` after a notice otherwise (a failure under `CI=true`).
fn python_with(module: &str) -> Option<String> {
    let python = std::env::var("AUTHMOUNT_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !imports {
        assert!(!ci(), "CI=true but {python} cannot import {module} (scripts/test installs it)");
        eprintln!("notice: skipping: {python} cannot import {module}");
        return None;
    }
    Some(python)
}

/// The first file in `folder` whose name ends with `suffix`, waiting for it up to
/// [`MAIL_DEADLINE`].
fn wait_for_file(folder: &Path, suffix: &str) -> PathBuf {
    let deadline = Instant::now() + MAIL_DEADLINE;
    loop {
        let found = std::fs::read_dir(folder).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .find(|path| path.to_string_lossy().ends_with(suffix))
        });
        if let Some(path) = found {
            return path;
        }
        assert!(Instant::now() < deadline, "no *{suffix} file in {} in time", folder.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A real SMTP server (tests/smtp_sink.py on aiosmtpd) writing what it receives to a folder.
struct SmtpSink {
    child: Child,
    port: u16,
    folder: PathBuf,
}

impl SmtpSink {
    fn start(python: &str, folder: PathBuf) -> Self {
        std::fs::create_dir_all(&folder).expect("sink folder");
        let script = folder.join("smtp_sink.py");
        std::fs::write(&script, include_str!("smtp_sink.py")).expect("script written");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the SMTP server starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut first).expect("its port");
        let port = first.trim().strip_prefix("port ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("the SMTP server printed {first:?}"));
        Self { child, port, folder }
    }

    /// The first message received: `rcpt:`, `to:` and `subject:` lines, a blank line, the body.
    fn first_message(&self) -> String {
        std::fs::read_to_string(wait_for_file(&self.folder, ".txt")).expect("readable")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Closing its standard input stops it; kill in case it hangs.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reset link in a mail body.
fn reset_link(body: &str) -> String {
    body.split_whitespace()
        .find(|word| word.contains("/authentication/api/verify-password-reset/"))
        .unwrap_or_else(|| panic!("no reset link in {body}"))
        .to_owned()
}

/// Asks for a reset link for the demo user.
async fn request_reset(client: &reqwest::Client, server: &Server) {
    let body = json!({"email": "demo@example.org"}).to_string();
    let reply = send(
        client
            .post(server.url("/authentication/api/request-reset"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!((reply.status, reply.json()), (200, json!({"message": "Password reset email sent"})));
}

/// Follows `link` (the server's own verify endpoint), sets a new password through it, and logs
/// in to miniSASS with that password (the old one no longer works).
async fn complete_reset(client: &reqwest::Client, server: &Server, link: &str, old_password: &str) {
    assert!(link.starts_with(&server.url("/authentication/api/verify-password-reset/")), "{link}");
    let verified = send(client.get(link)).await;
    assert_eq!((verified.status, verified.json()), (200, json!({"message": "Token is valid"})));
    let new_password = "a new password, long enough";
    let update = link.replace("verify-password-reset", "update-password-reset");
    let body = json!({"newPassword": new_password}).to_string();
    let updated =
        send(client.post(&update).header("content-type", "application/json").body(body.clone())).await;
    assert_eq!((updated.status, updated.json()), (200, json!({"message": "Password updated successfully"})));
    let again = send(client.post(&update).header("content-type", "application/json").body(body)).await;
    assert_eq!(again.status, 401, "the link works once: {}", again.text);
    login(client, server, "/api/token/", "demo", new_password).await;
    let old = json!({"username": "demo", "password": old_password}).to_string();
    let refused =
        send(client.post(server.url("/api/token/")).header("content-type", "application/json").body(old))
            .await;
    assert_eq!(refused.status, 400, "the old password is gone: {}", refused.text);
}

async fn a_reset_mailed_by_smtp_can_be_followed(framework: &str) {
    let Some(python) = python_with("aiosmtpd") else { return };
    let dir = workdir(&format!("smtp-{framework}"));
    let sink = SmtpSink::start(&python, dir.join("received"));
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let server = Server::start(&dir, &["--framework", framework, "--smtp", &smtp]);
    assert!(
        server.banner.contains(&format!("mail (password-reset links): sent to the SMTP server {smtp}\n")),
        "{}",
        server.banner
    );
    let password = server.demo_password().expect("first start");
    let client = reqwest::Client::new();
    request_reset(&client, &server).await;
    let message = sink.first_message();
    let (head, body) = message.split_once("\n\n").expect("head and body");
    assert_eq!(
        head, "rcpt: demo@example.org\nto: demo@example.org\nsubject: Reset your miniSASS password",
        "{message}"
    );
    let link = reset_link(body);
    let token = link.trim_end_matches('/').rsplit('/').next().expect("token").to_owned();
    complete_reset(&client, &server, &link, &password).await;
    assert!(!dir.join(DEFAULT_MAIL_DIR).exists(), "nothing written to files with --smtp");
    let (status, logs) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(logs.contains("mail sent by SMTP"), "{logs}");
    assert!(!logs.contains(&token), "the reset token never reaches the log: {logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_mailed_by_smtp_can_be_followed_on_axum() {
    a_reset_mailed_by_smtp_can_be_followed("axum").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_mailed_by_smtp_can_be_followed_on_actix() {
    a_reset_mailed_by_smtp_can_be_followed("actix").await;
}

/// The folder the `.eml` files go to by default (beside the SQLite database).
const DEFAULT_MAIL_DIR: &str = "authmount-demo-mail";

async fn a_reset_written_to_a_file_can_be_followed(framework: &str) {
    let dir = workdir(&format!("eml-{framework}"));
    let server = Server::start(&dir, &["--framework", framework]);
    let folder = dir.join(DEFAULT_MAIL_DIR);
    assert!(
        server.banner.contains(&format!(
            "mail (password-reset links): written as .eml files to {DEFAULT_MAIL_DIR} (each file's path is logged)\n"
        )),
        "{}",
        server.banner
    );
    let password = server.demo_password().expect("first start");
    let client = reqwest::Client::new();
    request_reset(&client, &server).await;
    let file = wait_for_file(&folder, ".eml");
    let text = std::fs::read_to_string(&file).expect("readable");
    assert!(
        text.contains("\r\nTo: demo@example.org\r\n")
            && text.contains("\r\nSubject: Reset your miniSASS password\r\n")
    );
    let link = reset_link(&text);
    let token = link.trim_end_matches('/').rsplit('/').next().expect("token").to_owned();
    let name = file.file_name().expect("a name").to_string_lossy().into_owned();
    // The log names the file (written before the answer's mail task ends: wait for the line).
    let deadline = Instant::now() + MAIL_DEADLINE;
    while !server.logs().contains(&format!("{DEFAULT_MAIL_DIR}/{name}")) {
        assert!(Instant::now() < deadline, "the file's path is logged: {}", server.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    complete_reset(&client, &server, &link, &password).await;
    let (status, logs) = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(!logs.contains(&token), "neither the mail nor the access log shows the token: {logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_written_to_a_file_can_be_followed_on_axum() {
    a_reset_written_to_a_file_can_be_followed("axum").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_written_to_a_file_can_be_followed_on_actix() {
    a_reset_written_to_a_file_can_be_followed("actix").await;
}

/// The README's walk-through of a reset ("A password reset in the demo"), run as written with
/// bash and curl against a demo started in the same working directory (its `cargo run` line is
/// this test's server; the address is the one it bound).
#[tokio::test(flavor = "multi_thread")]
async fn the_readmes_reset_walk_through_works_as_written() {
    const README: &str = include_str!("../../../README.md");
    let marker = "<!-- reset walk-through:";
    let block = README.split(marker).nth(1).expect("the README has the walk-through");
    let block =
        block.split("```sh\n").nth(1).and_then(|rest| rest.split("\n```").next()).expect("a sh block");
    let mut lines = block.lines();
    assert!(lines.next().is_some_and(|first| first.starts_with("cargo run -p authmount-demo")), "{block}");
    let script: String = lines.map(|line| format!("{line}\n")).collect();
    if !curl_installed() {
        assert!(!ci(), "curl must be installed under CI=true");
        eprintln!("notice: skipping the README walk-through: curl is not installed");
        return;
    }
    let dir = workdir("readme-reset");
    let server = Server::start(&dir, &[]);
    let script = script.replace("http://127.0.0.1:8080", &server.base);
    // The mail is written from a spawned task: the script's `cat` runs once it is there.
    let (request, rest) = script.split_once("cat authmount-demo-mail").expect("the cat line");
    let output = |script: &str| {
        let output =
            Command::new("bash").current_dir(&dir).arg("-c").arg(script).output().expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{script}\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        stdout
    };
    let asked = output(&format!("set -e\n{request}"));
    assert!(asked.contains("Password reset email sent"), "{asked}");
    wait_for_file(&dir.join(DEFAULT_MAIL_DIR), ".eml");
    let rest = output(&format!("set -e\ncat authmount-demo-mail{rest}"));
    assert!(rest.contains("Subject: Reset your miniSASS password"), "{rest}");
    assert!(rest.contains(r#"{"message":"Token is valid"}"#), "{rest}");
    assert!(rest.contains(r#"{"message":"Password updated successfully"}"#), "{rest}");
    assert!(rest.contains(r#""access":""#) && rest.contains(r#""refresh":""#), "logged in: {rest}");
    assert_eq!(server.terminate().0.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
