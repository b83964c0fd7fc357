//! Parsing of the request's `Content-Type` into one of the [`BodyFormat`]s.

use http::HeaderValue;

use super::BodyFormat;
use super::error::{CodecError, echo, echo_bytes};

/// A parsed `Content-Type`: the format it names plus the parameters the codecs use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentType {
    pub(crate) format: BodyFormat,
    /// The `boundary` parameter (quotes removed), for multipart.
    pub(crate) boundary: Option<String>,
}

/// Parses `Content-Type` and checks it against `accepted`.
///
/// Type, subtype and parameter names are case-insensitive; parameters may be quoted strings.
/// Missing, unparsable, unknown or not-accepted types are 415 naming the type as sent; a
/// `charset` other than UTF-8 is 415 too.
pub(crate) fn parse(
    header: Option<&HeaderValue>,
    accepted: &[BodyFormat],
) -> Result<ContentType, CodecError> {
    let Some(header) = header else {
        return Err(unsupported(""));
    };
    let Ok(raw) = header.to_str() else {
        return Err(CodecError::UnsupportedMediaType { media_type: echo_bytes(header.as_bytes()) });
    };
    let (essence, params) = match raw.split_once(';') {
        Some((essence, params)) => (essence, params),
        None => (raw, ""),
    };
    let essence = essence.trim();
    let format = match_format(essence).ok_or_else(|| unsupported(raw))?;
    if !accepted.contains(&format) {
        return Err(unsupported(raw));
    }
    let params = parse_params(params).ok_or_else(|| unsupported(raw))?;
    let mut boundary = None;
    for (name, value) in params {
        if name.eq_ignore_ascii_case("charset") {
            if !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")) {
                return Err(CodecError::UnsupportedCharset { charset: echo(&value) });
            }
        } else if name.eq_ignore_ascii_case("boundary") && boundary.is_none() {
            boundary = Some(value);
        }
    }
    Ok(ContentType { format, boundary })
}

fn unsupported(raw: &str) -> CodecError {
    CodecError::UnsupportedMediaType { media_type: echo(raw.trim()) }
}

/// The format named by a `type/subtype`, compared case-insensitively.
fn match_format(essence: &str) -> Option<BodyFormat> {
    const TABLE: [(&str, BodyFormat); 5] = [
        ("application/json", BodyFormat::Json),
        ("application/xml", BodyFormat::Xml),
        ("text/xml", BodyFormat::Xml),
        ("application/x-www-form-urlencoded", BodyFormat::Form),
        ("multipart/form-data", BodyFormat::Multipart),
    ];
    TABLE.iter().find(|(name, _)| name.eq_ignore_ascii_case(essence)).map(|&(_, format)| format)
}

/// Parses `; name=value; name="quoted \" value"` (the part after the essence).
///
/// Empty parameters (`;;`, a trailing `;`) are tolerated; a parameter without `=`, an empty
/// name, or an unterminated quoted string makes the whole header unparsable (`None`).
fn parse_params(mut rest: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Some(params);
        }
        let (name, after) = rest.split_once('=')?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return None;
        }
        let after = after.trim_start_matches([' ', '\t']);
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let remaining = &quoted[end?..];
            // Only whitespace may follow the closing quote before the next `;`.
            let remaining = remaining.trim_start_matches([' ', '\t']);
            if !(remaining.is_empty() || remaining.starts_with(';')) {
                return None;
            }
            (value, remaining)
        } else {
            let (value, remaining) = after.split_once(';').unwrap_or((after, ""));
            (value.trim().to_owned(), remaining)
        };
        params.push((name.to_owned(), value));
        rest = remaining;
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[BodyFormat] = &BodyFormat::ALL;

    fn ct(s: &str) -> Result<ContentType, CodecError> {
        parse(Some(&HeaderValue::from_str(s).expect("header")), ALL)
    }

    #[test]
    fn recognises_every_type_case_insensitively() {
        assert_eq!(ct("application/json").map(|c| c.format), Ok(BodyFormat::Json));
        assert_eq!(ct("Application/JSON").map(|c| c.format), Ok(BodyFormat::Json));
        assert_eq!(ct("application/xml").map(|c| c.format), Ok(BodyFormat::Xml));
        assert_eq!(ct("TEXT/XML").map(|c| c.format), Ok(BodyFormat::Xml));
        assert_eq!(ct("application/x-www-form-urlencoded").map(|c| c.format), Ok(BodyFormat::Form));
        assert_eq!(ct("multipart/form-data; boundary=x").map(|c| c.format), Ok(BodyFormat::Multipart));
    }

    #[test]
    fn parameters_and_charsets() {
        assert!(ct("application/json; charset=utf-8").is_ok());
        assert!(ct("application/json;charset=UTF-8").is_ok());
        assert!(ct("application/json; charset=\"utf-8\"").is_ok());
        assert!(ct("application/json ; charset=utf8 ;").is_ok());
        assert!(ct("application/x-www-form-urlencoded; charset=UTF-8").is_ok());
        let err = ct("application/json; charset=latin-1").expect_err("latin-1");
        assert_eq!(err.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(err.to_string(), "Unsupported charset \"latin-1\" in request: only utf-8 is accepted.");
        assert_eq!(
            ct("multipart/form-data; boundary=\"a b\\\"c\"").map(|c| c.boundary),
            Ok(Some("a b\"c".to_owned()))
        );
        assert_eq!(
            ct("multipart/form-data; BOUNDARY=abc; charset=utf-8").map(|c| c.boundary),
            Ok(Some("abc".to_owned()))
        );
    }

    #[test]
    fn refuses_unknown_missing_and_unparsable() {
        let err = ct("text/plain").expect_err("text/plain");
        assert_eq!(err.to_string(), "Unsupported media type \"text/plain\" in request.");
        assert_eq!(err.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let err = parse(None, ALL).expect_err("missing");
        assert_eq!(err.to_string(), "Unsupported media type \"\" in request.");
        assert!(ct("application/json; charset").is_err());
        assert!(ct("application/json; =x").is_err());
        assert!(ct("multipart/form-data; boundary=\"abc").is_err());
        assert!(ct("application/jsonx").is_err());
        assert!(ct("application/vnd.api+json").is_err());
        let bytes = HeaderValue::from_bytes(b"application/\xffjson").expect("obs-text");
        assert_eq!(
            parse(Some(&bytes), ALL).map_err(|e| e.status()),
            Err(http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    #[test]
    fn refuses_a_type_not_accepted_by_the_endpoint() {
        let json = HeaderValue::from_static("application/json");
        let err = parse(Some(&json), &[BodyFormat::Form]).expect_err("not accepted");
        assert_eq!(err.to_string(), "Unsupported media type \"application/json\" in request.");
    }

    #[test]
    fn echoed_type_is_truncated() {
        let long = format!("text/{}", "a".repeat(5000));
        let err = ct(&long).expect_err("long");
        assert!(err.to_string().len() < 120, "{err}");
    }
}
