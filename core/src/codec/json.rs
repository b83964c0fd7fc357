//! Strict JSON: an object at the top, no duplicate keys at any depth, bounded nesting.
//!
//! `serde_json::Value` silently keeps the last of two equal keys, which lets a body say two
//! things at once (one layer validates the first `username`, another uses the second). This
//! decoder builds the `Value` itself through a [`DeserializeSeed`] so it can refuse duplicates
//! and count depth on the way down, before anything deep is allocated.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::error::{CodecError, MalformedReason, detail, echo};
use super::{BodyFormat, BodyLimits};

/// Decodes a JSON body into its top-level object.
pub(crate) fn decode(body: &[u8], limits: &BodyLimits) -> Result<Map<String, Value>, CodecError> {
    let fail = |reason| CodecError::malformed(BodyFormat::Json, reason);
    let text = std::str::from_utf8(body).map_err(|_| fail(MalformedReason::InvalidUtf8 { field: None }))?;
    if text.trim_ascii().is_empty() {
        return Err(fail(MalformedReason::Empty));
    }
    let ctx = Ctx { max_depth: limits.max_depth, failure: Cell::new(None) };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed =
        ValueSeed { ctx: &ctx, depth: 0 }.deserialize(&mut de).and_then(|value| de.end().map(|()| value));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(fail(MalformedReason::NotAnObject)),
        Err(err) => Err(fail(ctx.failure.take().unwrap_or_else(|| detail(err)))),
    }
}

/// Shared by every seed of one parse: the limit, and the typed reason of a failure (serde's
/// error channel only carries text, so the visitor parks the reason here).
struct Ctx {
    max_depth: usize,
    failure: Cell<Option<MalformedReason>>,
}

impl Ctx {
    fn fail<E: de::Error>(&self, reason: MalformedReason) -> E {
        let err = E::custom(&reason);
        self.failure.set(Some(reason));
        err
    }
}

/// Deserializes one value; `depth` is the number of objects/arrays around it.
#[derive(Clone, Copy)]
struct ValueSeed<'c> {
    ctx: &'c Ctx,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    /// The seed for the members of a container, or the too-deep error.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth + 1;
        if depth > self.ctx.max_depth {
            return Err(self.ctx.fail(MalformedReason::TooDeep { limit: self.ctx.max_depth }));
        }
        Ok(Self { depth, ..self })
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(self.ctx.fail(MalformedReason::DuplicateField { name: echo(&key) }));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dec(body: &str) -> Result<Value, CodecError> {
        decode(body.as_bytes(), &BodyLimits::default()).map(Value::Object)
    }

    fn reason(body: &[u8]) -> MalformedReason {
        match decode(body, &BodyLimits::default()) {
            Err(CodecError::Malformed { format: BodyFormat::Json, reason }) => reason,
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn decodes_objects_of_every_value_type() {
        assert_eq!(
            dec(r#" {"username":"alice","n":-1,"u":18446744073709551615,"f":1.5,"b":true,"z":null,"a":[1,{"x":"y"}],"o":{"p":{}}} "#)
                .expect("valid"),
            json!({"username":"alice","n":-1,"u":18446744073709551615u64,"f":1.5,"b":true,"z":null,"a":[1,{"x":"y"}],"o":{"p":{}}})
        );
        assert_eq!(dec("{}").expect("empty object"), json!({}));
        assert_eq!(dec(r#"{"e":"\u00e9\n"}"#).expect("escapes"), json!({"e":"é\n"}));
    }

    #[test]
    fn top_level_must_be_an_object() {
        for body in ["[]", "\"x\"", "1", "null", "true"] {
            assert_eq!(reason(body.as_bytes()), MalformedReason::NotAnObject, "{body}");
        }
    }

    #[test]
    fn duplicate_keys_rejected_at_any_depth() {
        assert_eq!(
            reason(br#"{"username":"a","username":"b"}"#),
            MalformedReason::DuplicateField { name: "username".into() }
        );
        assert_eq!(
            reason(br#"{"a":[{"b":{"c":1,"c":2}}]}"#),
            MalformedReason::DuplicateField { name: "c".into() }
        );
        let err = decode(br#"{"x":1,"x":1}"#, &BodyLimits::default()).expect_err("dup");
        assert_eq!(err.to_string(), "JSON parse error - duplicate field \"x\"");
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        // A long duplicate key is echoed truncated.
        let key = "k".repeat(10_000);
        let body = format!(r#"{{"{key}":1,"{key}":2}}"#);
        assert!(decode(body.as_bytes(), &BodyLimits::default()).expect_err("dup").to_string().len() < 120);
    }

    #[test]
    fn nesting_is_bounded() {
        let limits = BodyLimits::default();
        let ok = format!("{}{}", "{\"a\":".repeat(32), "1".to_owned() + &"}".repeat(32));
        assert!(decode(ok.as_bytes(), &limits).is_ok());
        let deep = format!("{}{}", "{\"a\":".repeat(33), "1".to_owned() + &"}".repeat(33));
        assert_eq!(reason(deep.as_bytes()), MalformedReason::TooDeep { limit: 32 });
        let arrays = format!("{{\"a\":{}{}}}", "[".repeat(32), "]".repeat(32));
        assert_eq!(reason(arrays.as_bytes()), MalformedReason::TooDeep { limit: 32 });
        // Far deeper than serde_json's own recursion limit: still a clean 400, no overflow.
        let huge = "[".repeat(60_000);
        assert!(matches!(
            reason(huge.as_bytes()),
            MalformedReason::NotAnObject | MalformedReason::TooDeep { .. } | MalformedReason::Syntax { .. }
        ));
        let huge = format!("{{\"a\":{}", "[".repeat(60_000));
        assert_eq!(reason(huge.as_bytes()), MalformedReason::TooDeep { limit: 32 });
    }

    #[test]
    fn invalid_utf8_empty_trailing_and_syntax() {
        assert_eq!(reason(b"{\"a\":\"\xff\"}"), MalformedReason::InvalidUtf8 { field: None });
        assert_eq!(reason(b""), MalformedReason::Empty);
        assert_eq!(reason(b" \n\t"), MalformedReason::Empty);
        assert!(matches!(reason(br#"{"a":1} x"#), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(br#"{"a":1}{}"#), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(br#"{"a":1"#), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(br#"{a:1}"#), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(br#"{"a":01}"#), MalformedReason::Syntax { .. }));
        assert!(matches!(reason(br#"{"a":1e999}"#), MalformedReason::Syntax { .. }));
        let err = decode(br#"{"a":}"#, &BodyLimits::default()).expect_err("syntax");
        assert!(err.to_string().starts_with("JSON parse error - "), "{err}");
    }
}
