//! Choosing the response format from `Accept`.

use http::HeaderValue;

/// A format the dialects can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// `application/json`.
    Json,
    /// `application/xml; charset=utf-8` (also chosen by `Accept: text/xml`).
    Xml,
}

impl ResponseFormat {
    /// The `Content-Type` to send with a body in this format.
    pub fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static(super::encode::JSON_CONTENT_TYPE),
            Self::Xml => HeaderValue::from_static(super::encode::XML_CONTENT_TYPE),
        }
    }
}

/// Picks the response format from an `Accept` header.
///
/// Only the exact types `application/json`, `application/xml` and `text/xml` decide. A format
/// listed with a positive q beats one not listed; when both are listed the higher q wins and a
/// tie goes to `fallback`. `q=0` excludes a type: if the client excludes `fallback` and not the
/// other format, the other format is used.
/// Wildcards (`*/*`, `application/*`), an absent or unparsable header, or nothing usable give
/// `fallback`, which the dialects set to the request's own body format. Malformed entries in the
/// list are skipped.
///
/// ```
/// use authmount::codec::{ResponseFormat, negotiate};
/// use http::HeaderValue;
///
/// let accept = HeaderValue::from_static("application/json;q=0.5, text/xml");
/// assert_eq!(negotiate(Some(&accept), ResponseFormat::Json), ResponseFormat::Xml);
/// assert_eq!(negotiate(None, ResponseFormat::Xml), ResponseFormat::Xml);
/// let any = HeaderValue::from_static("*/*");
/// assert_eq!(negotiate(Some(&any), ResponseFormat::Json), ResponseFormat::Json);
/// ```
pub fn negotiate(accept: Option<&HeaderValue>, fallback: ResponseFormat) -> ResponseFormat {
    let Some(accept) = accept.and_then(|value| value.to_str().ok()) else {
        return fallback;
    };
    // Explicit q (in thousandths) per format, the best when a format is listed twice.
    let mut json: Option<u16> = None;
    let mut xml: Option<u16> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or("").trim();
        let slot = if essence.eq_ignore_ascii_case("application/json") {
            &mut json
        } else if essence.eq_ignore_ascii_case("application/xml") || essence.eq_ignore_ascii_case("text/xml")
        {
            &mut xml
        } else {
            continue;
        };
        let Some(q) = quality(parts) else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }
    let q = |format| match format {
        ResponseFormat::Json => json,
        ResponseFormat::Xml => xml,
    };
    let other = match fallback {
        ResponseFormat::Json => ResponseFormat::Xml,
        ResponseFormat::Xml => ResponseFormat::Json,
    };
    match (q(fallback), q(other)) {
        // Both refused: nothing usable.
        (Some(0), Some(0)) => fallback,
        // The request's own format refused, the other not.
        (Some(0), _) => other,
        (_, None | Some(0)) => fallback,
        // Only the other format is listed.
        (None, Some(_)) => other,
        (Some(mine), Some(theirs)) if theirs > mine => other,
        (Some(_), Some(_)) => fallback,
    }
}

/// The `q` parameter in thousandths (1000 when absent), or `None` when malformed.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    for param in params {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        return parse_q(value.trim());
    }
    Some(1000)
}

/// RFC 9110 `qvalue`: `0[.ddd]` or `1[.000]`.
fn parse_q(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, scale) in [100u16, 10, 1].into_iter().enumerate() {
        if let Some(d) = frac.as_bytes().get(i) {
            thousandths += u16::from(d - b'0') * scale;
        }
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::ResponseFormat::{Json, Xml};
    use super::*;

    fn pick(accept: &str, fallback: ResponseFormat) -> ResponseFormat {
        negotiate(Some(&HeaderValue::from_str(accept).expect("header")), fallback)
    }

    #[test]
    fn exact_types_decide() {
        assert_eq!(pick("application/json", Xml), Json);
        assert_eq!(pick("application/xml", Json), Xml);
        assert_eq!(pick("TEXT/XML", Json), Xml);
        assert_eq!(pick("text/html, application/xml;q=0.9, */*;q=0.8", Json), Xml);
    }

    #[test]
    fn q_values_compare() {
        assert_eq!(pick("application/json;q=0.5, application/xml", Json), Xml);
        assert_eq!(pick("application/json;q=0.5, application/xml;q=0.4", Xml), Json);
        assert_eq!(pick("application/json; q=1.0, application/xml; Q=0.999", Xml), Json);
        // Equal preference: the request's own format.
        assert_eq!(pick("application/json, application/xml", Xml), Xml);
        assert_eq!(pick("application/json, application/xml", Json), Json);
        // Listed twice: the better q counts.
        assert_eq!(pick("application/xml;q=0.1, application/json;q=0.5, text/xml", Json), Xml);
    }

    #[test]
    fn q_zero_excludes() {
        assert_eq!(pick("application/json;q=0", Json), Xml);
        assert_eq!(pick("application/xml;q=0", Xml), Json);
        assert_eq!(pick("application/xml;q=0, application/json;q=0.0", Json), Json);
        assert_eq!(pick("application/json;q=0, */*", Json), Xml);
        assert_eq!(pick("application/xml;q=0", Json), Json);
    }

    #[test]
    fn wildcards_absent_and_garbage_fall_back() {
        for accept in [
            "*/*",
            "application/*",
            "text/html",
            "",
            ",,,",
            "garbage;;=",
            "application/json;q=2",
            "application/json;q=abc",
            "application/json;q=0.1234",
            "application/json;q",
        ] {
            assert_eq!(pick(accept, Xml), Xml, "{accept}");
            assert_eq!(pick(accept, Json), Json, "{accept}");
        }
        assert_eq!(negotiate(None, Json), Json);
        let bytes = HeaderValue::from_bytes(b"application/xml\xff").expect("obs-text");
        assert_eq!(negotiate(Some(&bytes), Json), Json);
    }

    #[test]
    fn parses_qvalues() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.05"), Some(50));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0."), Some(0));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("-0"), None);
        assert_eq!(parse_q(".5"), None);
    }
}
