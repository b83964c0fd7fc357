//! `Carrier::find` on arbitrary header values and query strings, for every kind of carrier.
//!
//! Input: up to the first `\n` a header value (sent as `Authorization`, the named header and
//! `Cookie`, twice when the input's first byte is odd), the rest a query string. Checks: no
//! panic; a token handed on is non-empty visible ASCII of at most `MAX_TOKEN_BYTES`.

#![no_main]

use authmount::carrier::{Carrier, Found, MAX_TOKEN_BYTES};
use http::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (value, query) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let repeat = data.first().is_some_and(|b| b % 2 == 1);
    let query = String::from_utf8_lossy(query);
    let uri = format!("/x?{query}");
    let mut builder = http::Request::get(if uri.parse::<http::Uri>().is_ok() { uri.as_str() } else { "/x" });
    if let Ok(value) = HeaderValue::from_bytes(value) {
        for name in ["authorization", "x-forensic-access-token", "cookie"] {
            builder = builder.header(name, value.clone());
            if repeat {
                builder = builder.header(name, value.clone());
            }
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (head, ()) = request.into_parts();
    let carriers = [
        Carrier::bearer(),
        Carrier::authorization("Bearer", true),
        Carrier::authorization("JWT", false),
        Carrier::header(HeaderName::from_static("x-forensic-access-token")),
        Carrier::query("session.tokenkey"),
        Carrier::query("jwt"),
        Carrier::cookie("session.tokenkey"),
    ];
    for carrier in &carriers {
        if let Found::Token(token) = carrier.find(&head) {
            assert!(!token.is_empty() && token.len() <= MAX_TOKEN_BYTES, "{carrier}: {} bytes", token.len());
            assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{carrier}: {token:?}");
        }
    }
});
