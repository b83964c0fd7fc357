//! An HTTP client that records every exchange, so the same case run against two adapters can be
//! compared response by response.

use std::sync::{Arc, Mutex, PoisonError};

use reqwest::Method;
use serde_json::Value;

/// The response headers whose values must be identical across adapters. Others (`date`,
/// `content-length`, framework banners) may differ.
pub const HEADERS_THAT_MATTER: [&str; 9] = [
    "content-type",
    "www-authenticate",
    "set-cookie",
    "allow",
    "cache-control",
    "retry-after",
    "location",
    "referrer-policy",
    "pragma",
];

/// JSON answer fields whose (random) values are marked secret as they arrive: miniSASS's
/// `login/` and `check-auth-status/` hand out fresh tokens in them.
pub const SECRET_FIELDS: [&str; 2] = ["access_token", "refresh_token"];

/// Cookies whose (random) values are marked secret as they are set (miniSASS's session).
pub const SECRET_COOKIES: [&str; 1] = ["sessionid"];

/// One recorded exchange, with secrets masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `METHOD path`.
    pub request: String,
    /// The response status.
    pub status: u16,
    /// The headers that matter, in order, as `name: value`.
    pub headers: Vec<String>,
    /// The body, as text (lossy).
    pub body: String,
}

#[derive(Debug, Default)]
struct Log {
    exchanges: Vec<Recorded>,
    secrets: Vec<String>,
}

/// A client bound to one running server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    log: Arc<Mutex<Log>>,
}

/// A request under construction.
#[derive(Debug)]
pub struct Request {
    client: Client,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// Sends the request and records the exchange.
    pub async fn send(self) -> Response {
        let client = self.client.clone();
        client.exchange(self).await
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(self, value: &Value) -> Self {
        self.raw("application/json", value.to_string())
    }

    /// Sets a form-urlencoded body from pairs.
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body: String = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.raw("application/x-www-form-urlencoded", body)
    }

    /// Sets a multipart/form-data body of text fields.
    pub fn multipart(self, pairs: &[(&str, &str)]) -> Self {
        let boundary = "authmount-conformance-boundary";
        let mut body = String::new();
        for (name, value) in pairs {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        self.raw(&format!("multipart/form-data; boundary={boundary}"), body)
    }

    /// Sets a body with an explicit content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers.push(("content-type".to_owned(), content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// Sets a body without touching the headers.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A received response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// All headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("expected a JSON body ({e}), got {:?}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// One header's value (panics if missing or repeated).
    pub fn header(&self, name: &str) -> &str {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next().unwrap_or_else(|| panic!("missing header {name}: {:?}", self.headers));
        assert!(values.next().is_none(), "header {name} is repeated");
        value.to_str().expect("header is text")
    }

    /// Whether a header is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// Asserts the status, showing the body on failure.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:4000`).
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Self { base, http, log: Arc::default() }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Starts a request.
    pub fn request(&self, method: &str, path: &str) -> Request {
        Request {
            client: self.clone(),
            method: Method::from_bytes(method.as_bytes()).expect("valid method"),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Starts a GET.
    pub fn get(&self, path: &str) -> Request {
        self.request("GET", path)
    }

    /// Starts a POST.
    pub fn post(&self, path: &str) -> Request {
        self.request("POST", path)
    }

    async fn exchange(&self, request: Request) -> Response {
        let url = format!("{}{}", self.base, request.path);
        let mut builder = self.http.request(request.method.clone(), &url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let reply = builder.body(request.body).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let body = reply.bytes().await.expect("body reads").to_vec();
        let response = Response { status, headers, body };
        self.record(&request.method, &request.path, &response);
        response
    }

    /// Marks a value (a token, a cookie) as secret: it is masked in the transcript, so runs that
    /// issue different random tokens still compare equal.
    pub fn secret(&self, value: &str) {
        if !value.is_empty() {
            self.log.lock().unwrap_or_else(PoisonError::into_inner).secrets.push(value.to_owned());
        }
    }

    /// Marks the values of [`SECRET_FIELDS`] and [`SECRET_COOKIES`] in `response` secret.
    fn mark_random_values(&self, response: &Response) {
        if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&response.body) {
            for field in SECRET_FIELDS {
                if let Some(value) = body.get(field).and_then(Value::as_str) {
                    self.secret(value);
                }
            }
        }
        for cookie in response.headers.get_all("set-cookie") {
            let cookie = String::from_utf8_lossy(cookie.as_bytes());
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=')
                && SECRET_COOKIES.contains(&name.trim())
            {
                self.secret(value.trim());
            }
        }
    }

    fn record(&self, method: &Method, path: &str, response: &Response) {
        self.mark_random_values(response);
        let headers = HEADERS_THAT_MATTER
            .iter()
            .flat_map(|name| {
                response
                    .headers
                    .get_all(*name)
                    .iter()
                    .map(move |v| format!("{name}: {}", String::from_utf8_lossy(v.as_bytes())))
            })
            .collect();
        let recorded = Recorded {
            request: format!("{method} {path}"),
            status: response.status,
            headers,
            body: response.text(),
        };
        self.log.lock().unwrap_or_else(PoisonError::into_inner).exchanges.push(recorded);
    }

    /// The exchanges so far, with every secret replaced by `<secret-N>`.
    pub fn transcript(&self) -> Vec<Recorded> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let mask = |text: &str| {
            let mut text = text.to_owned();
            for (i, secret) in log.secrets.iter().enumerate() {
                text = text.replace(secret.as_str(), &format!("<secret-{i}>"));
            }
            text
        };
        log.exchanges
            .iter()
            .map(|r| Recorded {
                request: mask(&r.request),
                status: r.status,
                headers: r.headers.iter().map(|h| mask(h)).collect(),
                body: mask(&r.body),
            })
            .collect()
    }
}

/// 16 random hex digits, for file and user names that must not collide between runs.
pub fn unique_suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
