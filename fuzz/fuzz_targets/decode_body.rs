//! `decode_body` on an arbitrary `Content-Type` and body, under every endpoint's accepted
//! formats.
//!
//! Input: the content type up to the first `\n`, then the body. Checks: no panic; the future is
//! ready on its first poll (as documented: multipart never awaits I/O); every refusal is a 4xx.

#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use authmount::codec::{BodyFormat, BodyLimits, decode_body};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"application/json"[..], data),
    };
    let Ok(content_type) = HeaderValue::from_bytes(content_type) else {
        return;
    };
    // Small limits too, so the fuzzer reaches the depth, field-count and field-size checks.
    let small = BodyLimits { max_body_bytes: 4096, max_depth: 4, max_fields: 4, max_field_bytes: 64 };
    for limits in [BodyLimits::default(), small] {
        for accepted in
            [&BodyFormat::ALL[..], &[BodyFormat::Json], &[BodyFormat::Form, BodyFormat::Multipart]]
        {
            let future = pin!(decode_body(Some(&content_type), body, accepted, &limits));
            let mut context = Context::from_waker(Waker::noop());
            let Poll::Ready(result) = future.poll(&mut context) else {
                panic!("decode_body awaited: it must be ready on its first poll");
            };
            if let Err(error) = result {
                assert!(error.status().is_client_error(), "{}: {error}", error.status());
            }
        }
    }
});
