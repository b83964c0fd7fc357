//! `multipart/form-data` bodies, text fields only, parsed by `multer`.
//!
//! The whole body is already in memory (adapters read at most the body limit), so it is fed to
//! multer as a one-chunk stream; multer's own size limits mirror [`BodyLimits`] so a field is
//! refused as soon as it passes the field limit.

use std::convert::Infallible;

use bytes::Bytes;
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::{Map, Value};

use super::error::{CodecError, MalformedReason, detail, echo};
use super::{BodyFormat, BodyLimits};

/// RFC 2046: a boundary is 1 to 70 characters.
const MAX_BOUNDARY_LEN: usize = 70;

/// Decodes a multipart body into a map of string values.
pub(crate) async fn decode(
    boundary: Option<&str>,
    body: &[u8],
    limits: &BodyLimits,
) -> Result<Map<String, Value>, CodecError> {
    let fail = |reason| CodecError::malformed(BodyFormat::Multipart, reason);
    let boundary = boundary.ok_or_else(|| fail(MalformedReason::MissingBoundary))?;
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY_LEN {
        return Err(fail(MalformedReason::InvalidBoundary));
    }
    if body.is_empty() {
        return Ok(Map::new());
    }
    let chunk = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::iter([Ok::<_, Infallible>(chunk)]);
    let constraints = Constraints::new().size_limit(
        SizeLimit::new().whole_stream(limits.max_body_bytes as u64).per_field(limits.max_field_bytes as u64),
    );
    let mut multipart = Multipart::with_constraints(stream, boundary, constraints);

    let mut map = Map::new();
    let mut count = 0usize;
    while let Some(field) = multipart.next_field().await.map_err(|e| map_error(e, limits))? {
        count += 1;
        if count > limits.max_fields {
            return Err(fail(MalformedReason::TooManyFields { limit: limits.max_fields }));
        }
        let name = field
            .name()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| fail(MalformedReason::UnnamedPart))?
            .to_owned();
        if name.len() > limits.max_field_bytes {
            return Err(CodecError::FieldTooLarge { field: echo(&name), limit: limits.max_field_bytes });
        }
        if field.file_name().is_some() {
            return Err(fail(MalformedReason::FileNotAllowed { field: echo(&name) }));
        }
        if map.contains_key(&name) {
            return Err(fail(MalformedReason::DuplicateField { name: echo(&name) }));
        }
        let bytes = field.bytes().await.map_err(|e| map_error(e, limits))?;
        let value = String::from_utf8(bytes.into())
            .map_err(|_| fail(MalformedReason::InvalidUtf8 { field: Some(echo(&name)) }))?;
        map.insert(name, Value::String(value));
    }
    Ok(map)
}

fn map_error(err: multer::Error, limits: &BodyLimits) -> CodecError {
    use multer::Error as E;
    let reason = match err {
        E::FieldSizeExceeded { field_name, .. } => {
            return CodecError::FieldTooLarge {
                field: echo(field_name.as_deref().unwrap_or("")),
                limit: limits.max_field_bytes,
            };
        }
        E::StreamSizeExceeded { .. } => {
            return CodecError::BodyTooLarge { limit: limits.max_body_bytes };
        }
        E::IncompleteStream | E::IncompleteFieldData { .. } | E::IncompleteHeaders => {
            MalformedReason::Truncated
        }
        E::ReadHeaderFailed(_) | E::DecodeHeaderName { .. } | E::DecodeHeaderValue { .. } => {
            MalformedReason::MalformedPart
        }
        other => detail(other),
    };
    CodecError::malformed(BodyFormat::Multipart, reason)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const B: &str = "XyZ";

    fn part(name: &str, value: &str) -> String {
        format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    }

    fn body(parts: &[String]) -> Vec<u8> {
        format!("{}--{B}--\r\n", parts.concat()).into_bytes()
    }

    fn run(boundary: Option<&str>, body: &[u8]) -> Result<Value, CodecError> {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(decode(boundary, body, &BodyLimits::default())).map(Value::Object)
    }

    fn reason(boundary: Option<&str>, body: &[u8]) -> MalformedReason {
        match run(boundary, body) {
            Err(CodecError::Malformed { format: BodyFormat::Multipart, reason }) => reason,
            other => panic!("expected a multipart error, got {other:?}"),
        }
    }

    #[test]
    fn decodes_text_fields() {
        let b = body(&[
            part("username", "alice"),
            part("password", "correct horse battery staple"),
            part("multi", "line 1\r\nline 2"),
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"typed\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nété\r\n"
            ),
        ]);
        assert_eq!(
            run(Some(B), &b),
            Ok(json!({
                "username": "alice", "password": "correct horse battery staple",
                "multi": "line 1\r\nline 2", "typed": "été",
            }))
        );
        assert_eq!(run(Some(B), b""), Ok(json!({})));
        // A preamble before the first boundary is allowed by RFC 2046.
        let mut with_preamble = b"preamble\r\n".to_vec();
        with_preamble.extend(body(&[part("a", "1")]));
        assert_eq!(run(Some(B), &with_preamble), Ok(json!({"a": "1"})));
    }

    #[test]
    fn refuses_missing_or_bad_boundary() {
        assert_eq!(reason(None, &body(&[part("a", "1")])), MalformedReason::MissingBoundary);
        assert_eq!(reason(Some(""), b"x"), MalformedReason::InvalidBoundary);
        assert_eq!(reason(Some(&"b".repeat(71)), b"x"), MalformedReason::InvalidBoundary);
    }

    #[test]
    fn refuses_files() {
        let b = body(&[format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x01\x02\r\n"
        )]);
        assert_eq!(reason(Some(B), &b), MalformedReason::FileNotAllowed { field: "avatar".into() });
    }

    #[test]
    fn refuses_duplicates_unnamed_and_invalid_utf8() {
        let b = body(&[part("username", "a"), part("username", "b")]);
        assert_eq!(reason(Some(B), &b), MalformedReason::DuplicateField { name: "username".into() });
        let unnamed = body(&[format!("--{B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n")]);
        assert_eq!(reason(Some(B), &unnamed), MalformedReason::UnnamedPart);
        let mut bad = format!("--{B}\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\n").into_bytes();
        bad.extend_from_slice(b"\xff\xfe\r\n");
        bad.extend_from_slice(format!("--{B}--\r\n").as_bytes());
        assert_eq!(reason(Some(B), &bad), MalformedReason::InvalidUtf8 { field: Some("p".into()) });
    }

    #[test]
    fn enforces_part_count_and_field_size() {
        let parts: Vec<String> = (0..65).map(|i| part(&format!("f{i}"), "v")).collect();
        assert_eq!(reason(Some(B), &body(&parts)), MalformedReason::TooManyFields { limit: 64 });
        assert!(run(Some(B), &body(&parts[..64])).is_ok());
        let limit = BodyLimits::default().max_field_bytes;
        let big = body(&[part("password", &"a".repeat(limit + 1))]);
        let err = run(Some(B), &big).expect_err("too big");
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(matches!(err, CodecError::FieldTooLarge { ref field, .. } if field == "password"));
        assert!(run(Some(B), &body(&[part("password", &"a".repeat(limit))])).is_ok());
    }

    #[test]
    fn refuses_truncated_bodies() {
        let full = body(&[part("username", "alice")]);
        // No closing boundary at all.
        let open = part("username", "alice").into_bytes();
        assert_eq!(reason(Some(B), &open), MalformedReason::Truncated);
        // Cut inside the value, and inside the headers.
        assert_eq!(reason(Some(B), &full[..full.len() - 12]), MalformedReason::Truncated);
        assert_eq!(reason(Some(B), &full[..20]), MalformedReason::Truncated);
        // Garbage with no boundary in it.
        assert!(run(Some(B), b"hello").is_err());
    }
}
