//! Body codec benchmarks: decoding the same login body in each of the four request formats
//! (target: under 5 µs each), and encoding a token response in JSON and DRF XML.

use std::hint::black_box;

use authmount::codec::{BodyFormat, BodyLimits, ResponseFormat, decode_body, encode};
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;

const LOGINS: [(&str, &str, &[u8]); 4] = [
    (
        "json",
        "application/json",
        br#"{"username":"alice","password":"correct horse battery staple"}"#,
    ),
    (
        "xml",
        "application/xml",
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><username>alice</username><password>correct horse battery staple</password></root>",
    ),
    (
        "form",
        "application/x-www-form-urlencoded",
        b"username=alice&password=correct+horse+battery+staple",
    ),
    (
        "multipart",
        "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        b"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\ncorrect horse battery staple\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
    ),
];

fn decode_login(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let limits = BodyLimits::default();
    let mut group = c.benchmark_group("decode_login");
    for (name, content_type, body) in LOGINS {
        let header = HeaderValue::from_static(content_type);
        // Fail loudly here rather than benchmark an error path.
        let decoded = rt
            .block_on(decode_body(Some(&header), body, &BodyFormat::ALL, &limits))
            .expect("the login body decodes");
        assert_eq!(decoded.fields["username"], "alice");
        assert_eq!(decoded.fields["password"], "correct horse battery staple");
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(decode_body(Some(black_box(&header)), black_box(body), &BodyFormat::ALL, &limits))
            })
        });
    }
    group.finish();
}

fn encode_token(c: &mut Criterion) {
    let value = serde_json::json!({"token": "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl"});
    let mut group = c.benchmark_group("encode_token");
    group.bench_function("json", |b| b.iter(|| encode(black_box(&value), ResponseFormat::Json)));
    group.bench_function("drf_xml", |b| b.iter(|| encode(black_box(&value), ResponseFormat::Xml)));
    group.finish();
}

criterion_group!(benches, decode_login, encode_token);
criterion_main!(benches);
