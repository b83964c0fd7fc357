//! Response bodies: JSON, and XML in the shape of DRF's `XMLRenderer`.

use bytes::Bytes;
use http::HeaderValue;
use serde_json::Value;

use super::ResponseFormat;
use super::xml::LIST_ITEM;
use super::xml_writer::{Escape, is_xml_name, push_escaped, sanitize_name};

/// `Content-Type` of JSON responses.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// `Content-Type` of XML responses.
pub const XML_CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// An encoded response body and the `Content-Type` that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The body bytes.
    pub body: Bytes,
    /// The value for the response's `Content-Type` header.
    pub content_type: HeaderValue,
}

/// Encodes `value` in the negotiated `format` (see [`negotiate`](super::negotiate)).
///
/// ```
/// use authmount::codec::{ResponseFormat, encode};
/// use serde_json::json;
///
/// let body = json!({"non_field_errors": ["Unable to log in with provided credentials."]});
/// let json = encode(&body, ResponseFormat::Json);
/// assert_eq!(json.content_type, "application/json");
/// assert_eq!(&json.body[..], br#"{"non_field_errors":["Unable to log in with provided credentials."]}"#);
/// let xml = encode(&body, ResponseFormat::Xml);
/// assert_eq!(xml.content_type, "application/xml; charset=utf-8");
/// assert_eq!(
///     &xml.body[..],
///     &b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><non_field_errors>\
///        <list-item>Unable to log in with provided credentials.</list-item>\
///        </non_field_errors></root>"[..]
/// );
/// ```
pub fn encode(value: &Value, format: ResponseFormat) -> Encoded {
    match format {
        ResponseFormat::Json => encode_json(value),
        ResponseFormat::Xml => encode_drf_xml(value),
    }
}

/// Encodes `value` as compact JSON with `Content-Type: application/json`.
pub fn encode_json(value: &Value) -> Encoded {
    Encoded {
        body: Bytes::from(value.to_string()),
        content_type: HeaderValue::from_static(JSON_CONTENT_TYPE),
    }
}

/// Encodes `value` the way DRF's `XMLRenderer` does, with
/// `Content-Type: application/xml; charset=utf-8`.
///
/// The document is `<?xml version="1.0" encoding="utf-8"?>\n<root>...</root>` where an object's
/// entries become `<key>value</key>`, an array's items repeated `<list-item>` elements, `null` an
/// empty element, booleans `True`/`False` (Python's `str()`), numbers as serde_json writes them,
/// and strings are escaped like Python's `saxutils.escape` (`&`, `<`, `>`), with characters XML
/// forbids dropped. Two deliberate differences from DRF, both only where DRF would emit broken
/// XML: an object key that is not a valid XML name has its invalid characters replaced by `_`,
/// and a top-level `null` gives `<root></root>` rather than an empty body.
///
/// Object keys come out in `serde_json::Map` order (sorted, as the workspace does not enable
/// serde_json's `preserve_order`).
pub fn encode_drf_xml(value: &Value) -> Encoded {
    let mut out = String::with_capacity(128);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root>");
    write_drf_value(&mut out, value);
    out.push_str("</root>");
    Encoded { body: Bytes::from(out), content_type: HeaderValue::from_static(XML_CONTENT_TYPE) }
}

fn write_drf_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => {}
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_escaped(out, s, Escape::Minimal),
        Value::Array(items) => {
            for item in items {
                write_drf_element(out, LIST_ITEM, item);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if is_xml_name(key) {
                    write_drf_element(out, key, item);
                } else {
                    write_drf_element(out, &sanitize_name(key), item);
                }
            }
        }
    }
}

fn write_drf_element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    write_drf_value(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn xml(value: Value) -> String {
        let encoded = encode_drf_xml(&value);
        assert_eq!(encoded.content_type, "application/xml; charset=utf-8");
        String::from_utf8(encoded.body.to_vec()).expect("utf-8")
    }

    const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

    #[test]
    fn drf_examples() {
        assert_eq!(xml(json!({"token": "abc"})), format!("{DECL}<root><token>abc</token></root>"));
        assert_eq!(
            xml(json!({"non_field_errors": ["Unable to log in with provided credentials."]})),
            format!(
                "{DECL}<root><non_field_errors><list-item>Unable to log in with provided credentials.</list-item></non_field_errors></root>"
            )
        );
    }

    #[test]
    fn every_value_type() {
        assert_eq!(
            xml(
                json!({"a": null, "b": true, "c": false, "d": 1, "e": -2.5, "f": [1, [2], {"g": "h"}], "i": {}, "j": []})
            ),
            format!(
                "{DECL}<root><a></a><b>True</b><c>False</c><d>1</d><e>-2.5</e><f><list-item>1</list-item><list-item><list-item>2</list-item></list-item><list-item><g>h</g></list-item></f><i></i><j></j></root>"
            )
        );
        assert_eq!(xml(json!(null)), format!("{DECL}<root></root>"));
        assert_eq!(xml(json!("top")), format!("{DECL}<root>top</root>"));
        assert_eq!(xml(json!([1])), format!("{DECL}<root><list-item>1</list-item></root>"));
    }

    #[test]
    fn escapes_text_and_repairs_names() {
        assert_eq!(
            xml(json!({"detail": "a < b & \"c\" > 'd'\u{0}\u{1}"})),
            format!("{DECL}<root><detail>a &lt; b &amp; \"c\" &gt; 'd'</detail></root>")
        );
        assert_eq!(
            xml(json!({"bad key<": 1, "1st": 2, "": 3})),
            format!("{DECL}<root><bad_key_>1</bad_key_><_st>2</_st><_>3</_></root>")
        );
    }

    #[test]
    fn round_trips_through_the_decoder() {
        let value = json!({"token": "a&b<c>", "errors": ["x", "y"], "meta": {"gemeinde": "5"}});
        let encoded = encode_drf_xml(&value);
        let decoded =
            super::super::xml::decode(&encoded.body, &super::super::BodyLimits::default()).expect("decodes");
        assert_eq!(Value::Object(decoded), value);
    }

    #[test]
    fn json() {
        let encoded = encode_json(&json!({"token": "abc", "n": 1}));
        assert_eq!(encoded.content_type, "application/json");
        assert_eq!(&encoded.body[..], br#"{"token":"abc","n":1}"#);
        assert_eq!(encode(&json!({}), ResponseFormat::Json), encoded_json_empty());
    }

    fn encoded_json_empty() -> Encoded {
        Encoded {
            body: Bytes::from_static(b"{}"),
            content_type: HeaderValue::from_static("application/json"),
        }
    }
}
