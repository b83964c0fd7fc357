//! `application/x-www-form-urlencoded` bodies.
//!
//! Pairs are split on `&`, then on the first `=`; `+` is a space and `%XX` a byte (a `%` not
//! followed by two hex digits stays literal, as in the WHATWG URL standard and Django). Empty
//! pairs (`a=1&&b=2`, a trailing `&`) are skipped and a pair without `=` is a field with an empty
//! value. Decoded bytes must be UTF-8 (no lossy replacement: a password must arrive exactly as
//! typed or not at all). A repeated name is refused rather than resolved first- or last-wins.
//!
//! Too many fields is 400 (the body is well under the size limit, it just has a shape no endpoint
//! wants; multipart does the same); a name or value longer than the field limit is 413.

use serde_json::{Map, Value};

use super::error::{CodecError, MalformedReason, echo};
use super::{BodyFormat, BodyLimits};

/// Decodes a form body into a map of string values.
pub(crate) fn decode(body: &[u8], limits: &BodyLimits) -> Result<Map<String, Value>, CodecError> {
    let fail = |reason| CodecError::malformed(BodyFormat::Form, reason);
    let mut map = Map::new();
    let mut count = 0usize;
    for pair in body.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        count += 1;
        if count > limits.max_fields {
            return Err(fail(MalformedReason::TooManyFields { limit: limits.max_fields }));
        }
        let (raw_name, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &b""[..]),
        };
        let name = unescape(raw_name);
        let name = String::from_utf8(name).map_err(|e| {
            fail(MalformedReason::InvalidUtf8 { field: Some(echo(&String::from_utf8_lossy(e.as_bytes()))) })
        })?;
        let value = unescape(raw_value);
        if name.len() > limits.max_field_bytes || value.len() > limits.max_field_bytes {
            return Err(CodecError::FieldTooLarge { field: echo(&name), limit: limits.max_field_bytes });
        }
        let value = String::from_utf8(value)
            .map_err(|_| fail(MalformedReason::InvalidUtf8 { field: Some(echo(&name)) }))?;
        if map.contains_key(&name) {
            return Err(fail(MalformedReason::DuplicateField { name: echo(&name) }));
        }
        map.insert(name, Value::String(value));
    }
    Ok(map)
}

/// `+` to space and `%XX` to its byte.
fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw
                    .get(i + 1)
                    .and_then(|&h| hex_value(h))
                    .zip(raw.get(i + 2).and_then(|&l| hex_value(l)));
                if let Some((high, low)) = hex {
                    out.push((high << 4) | low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dec(body: &[u8]) -> Result<Value, CodecError> {
        decode(body, &BodyLimits::default()).map(Value::Object)
    }

    fn reason(body: &[u8]) -> MalformedReason {
        match dec(body) {
            Err(CodecError::Malformed { format: BodyFormat::Form, reason }) => reason,
            other => panic!("expected a form error, got {other:?}"),
        }
    }

    #[test]
    fn decodes_pairs() {
        assert_eq!(
            dec(b"username=alice&password=correct+horse%20battery%2Bstaple"),
            Ok(json!({"username": "alice", "password": "correct horse battery+staple"}))
        );
        assert_eq!(
            dec(b"userLogin.loginUsername=bob&&flag&e=&x=a%3Db&%C3%A9=%E2%82%AC&bad=%zz%4&"),
            Ok(json!({
                "userLogin.loginUsername": "bob", "flag": "", "e": "", "x": "a=b",
                "é": "€", "bad": "%zz%4",
            }))
        );
        assert_eq!(dec(b""), Ok(json!({})));
        assert_eq!(dec(b"&&&"), Ok(json!({})));
    }

    #[test]
    fn refuses_invalid_utf8() {
        assert_eq!(reason(b"username=%FF"), MalformedReason::InvalidUtf8 { field: Some("username".into()) });
        assert_eq!(reason(b"username=\xc3"), MalformedReason::InvalidUtf8 { field: Some("username".into()) });
        assert!(matches!(reason(b"%C3=x"), MalformedReason::InvalidUtf8 { field: Some(_) }));
    }

    #[test]
    fn refuses_duplicates() {
        assert_eq!(
            reason(b"username=a&password=x&username=b"),
            MalformedReason::DuplicateField { name: "username".into() }
        );
        // Encoded and plain spellings of one name are the same field.
        assert_eq!(reason(b"a+b=1&a%20b=2"), MalformedReason::DuplicateField { name: "a b".into() });
    }

    #[test]
    fn enforces_field_count_and_size() {
        let limits = BodyLimits::default();
        let many: Vec<String> = (0..65).map(|i| format!("f{i}=v")).collect();
        assert_eq!(reason(many.join("&").as_bytes()), MalformedReason::TooManyFields { limit: 64 });
        assert!(dec(many[..64].join("&").as_bytes()).is_ok());
        let big = format!("password={}", "a".repeat(limits.max_field_bytes + 1));
        let err = dec(big.as_bytes()).expect_err("too big");
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            err,
            CodecError::FieldTooLarge { field: "password".into(), limit: limits.max_field_bytes }
        );
        // The limit is on decoded bytes: %61 is one byte.
        let encoded = format!("p={}", "%61".repeat(limits.max_field_bytes));
        assert!(dec(encoded.as_bytes()).is_ok());
        let long_name = format!("{}=1", "n".repeat(limits.max_field_bytes + 1));
        assert!(matches!(dec(long_name.as_bytes()), Err(CodecError::FieldTooLarge { .. })));
    }
}
