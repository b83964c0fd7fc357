//! A real browser on the demo's pages: Debian's `chromium`, driven through `chromedriver` with
//! a few WebDriver calls (W3C protocol over reqwest; no client crate needed).
//!
//! On each framework: the login page (`/`) logs in with the tDAR form and shows the user from
//! `/api/whoami`, then logs out; the miniSASS page logs in with `token/`, shows
//! `check-auth-status/`, refreshes the access token on its own (the demo runs with a 3-second
//! access lifetime) and still shows the user after the first token expired, keeps no token in
//! web storage or cookies, and logs out; `/docs` (linked from the login page) renders the
//! OpenAPI document with one block per operation, and its screenshot is kept as
//! `target/tmp/browser-<framework>-<pid>/docs.png`.
//!
//! `scripts/test` installs `chromium` and `chromium-driver`. Without them the tests are skipped
//! with a notice, except under `CI=true`, where that is a failure.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Process, ci, scratch, start_demo};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(15);

/// Whether the browser is installed; under `CI=true` it must be.
fn browser_available() -> bool {
    let installed = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !installed {
        assert!(
            !ci(),
            "{CHROMIUM} and {CHROMEDRIVER} must be installed under CI=true (scripts/test installs them)"
        );
        eprintln!(
            "NOTICE: chromium or chromedriver is not installed: skipping the browser test (apt-get install chromium chromium-driver)"
        );
    }
    installed
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("bound").port()
}

/// A WebDriver session on a chromedriver of its own.
struct Browser {
    _driver: Process,
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn start(profile: &Path) -> Self {
        let port = free_port();
        let driver = Process(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let http = reqwest::Client::new();
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while http.get(format!("{endpoint}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let answer =
            raw(&http, reqwest::Method::POST, &format!("{endpoint}/session"), Some(capabilities)).await;
        let session =
            answer["sessionId"].as_str().unwrap_or_else(|| panic!("a session: {answer}")).to_owned();
        Self { _driver: driver, http, session: format!("{endpoint}/session/{session}") }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        raw(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let answer = self
            .call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})))
            .await;
        answer[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {answer}")).to_owned()
    }

    /// Replaces the value of the input `css` with `text`, typed.
    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text})))
            .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    async fn script(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// The text content of `css` (also of hidden elements).
    async fn text(&self, css: &str) -> String {
        let script =
            format!("const e = document.querySelector({}); return e ? e.textContent : null;", json!(css));
        self.script(&script).await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the text of `css` contains `expected`.
    async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text(css).await;
            if text.contains(expected) {
                return text;
            }
            assert!(Instant::now() < deadline, "{css} never showed {expected:?}; it shows {text:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn quit(self) {
        self.http.delete(&self.session).send().await.ok();
    }
}

/// A WebDriver call: the answer's `value`, or a panic with the driver's error.
async fn raw(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("{url}: {error}"));
    let status = response.status();
    let text = response.text().await.expect("an answer");
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url}: {text}"));
    assert!(status.is_success(), "{url}: {status} {answer}");
    answer["value"].clone()
}

async fn pages_work_in_a_browser(framework: &str) {
    if !browser_available() {
        return;
    }
    let started = Instant::now();
    let dir = scratch("browser", framework);
    // A 3-second miniSASS access lifetime: the page's refresh is seen within the test.
    let (_demo, base, password) = start_demo(framework, &dir, &[("AUTHMOUNT_MINISASS_ACCESS_LIFETIME", "3")]);
    let browser = Browser::start(&dir.join("profile")).await;

    // The cookie session: log in with the form, see the user, log out.
    browser.goto(&format!("{base}/")).await;
    browser.wait_for_text("#status", "Not logged in.").await;
    browser.type_into("#username", "demo").await;
    browser.type_into("#password", "wrong password").await;
    browser.click("#submit").await;
    browser.wait_for_text("#error", "Could not authenticate").await;
    browser.type_into("#username", "demo").await;
    browser.type_into("#password", &password).await;
    browser.click("#submit").await;
    browser.wait_for_text("#status", "Logged in as demo (demo@example.org)").await;
    assert_eq!(browser.script("return document.cookie").await, json!(""), "the session cookie is HttpOnly");
    browser.goto(&format!("{base}/")).await;
    browser.wait_for_text("#status", "Logged in as demo").await;
    browser.click("#logout-button").await;
    browser.wait_for_text("#status", "Not logged in.").await;
    browser.goto(&format!("{base}/")).await;
    browser.wait_for_text("#status", "Not logged in.").await;

    // miniSASS from JavaScript: log in, check, refresh past the first token's expiry, log out.
    browser.goto(&format!("{base}/minisass.html")).await;
    browser.type_into("#username", "demo").await;
    browser.type_into("#password", &password).await;
    browser.click("#submit").await;
    browser.wait_for_text("#status", "Logged in as demo").await;
    browser.wait_for_text("#auth-status", "\"is_authenticated\": true").await;
    // Refreshes at 2.4 s and 4.8 s: the second comes after the first access token expired.
    browser.wait_for_text("#refreshes", "2").await;
    browser.click("#check").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser.wait_for_text("#status", "Logged in as demo (check-auth-status: authenticated)").await;
    let storage =
        browser.script("return [localStorage.length, sessionStorage.length, document.cookie]").await;
    assert_eq!(storage, json!([0, 0, ""]), "no token in web storage or cookies");
    browser.click("#logout").await;
    browser.wait_for_text("#status", "Logged out.").await;

    // The API documents: /docs renders /openapi.json with the vendored Swagger UI, every
    // operation listed; a screenshot is kept for a person to look at.
    api_documents_render(&browser, &base, &dir).await;

    browser.quit().await;
    eprintln!("the browser test on {framework} took {:.1} s", started.elapsed().as_secs_f64());
    // The browser profile is large; the screenshot stays.
    let _ = std::fs::remove_dir_all(dir.join("profile"));
}

/// `/docs` (linked from the index page) shows the document's title and one block per operation
/// of `/openapi.json`; the screenshot is written to `dir/docs.png`.
async fn api_documents_render(browser: &Browser, base: &str, dir: &Path) {
    let text = reqwest::get(format!("{base}/openapi.json")).await.expect("the document").text().await;
    let document: Value = serde_json::from_str(&text.expect("a body")).expect("JSON");
    let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| methods.iter().filter(|method| item.get(**method).is_some()).count())
        .sum();
    browser.goto(&format!("{base}/")).await;
    browser.click("a[href='/docs']").await;
    browser.wait_for_text(".swagger-ui .info .title", "authmount demo").await;
    browser.wait_for_text(".swagger-ui", "/api/token-auth/").await;
    let rendered = browser.script("return document.querySelectorAll('.swagger-ui .opblock').length").await;
    assert_eq!(rendered, json!(operations), "one block per operation of /openapi.json");
    let png = browser.call(reqwest::Method::GET, "/screenshot", None).await;
    let png =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png.as_str().expect("base64"))
            .expect("a PNG");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "a real screenshot");
    let path = dir.join("docs.png");
    std::fs::write(&path, &png).expect("the screenshot is written");
    eprintln!("the /docs screenshot: {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_work_in_a_browser_on_axum() {
    pages_work_in_a_browser("axum").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_work_in_a_browser_on_actix() {
    pages_work_in_a_browser("actix").await;
}
