//! Request body decoding and response body encoding: the one place that decides 415, 413 and
//! 400 for request bodies.
//!
//! [`decode_body`] turns a body in any of the four formats the dialects accept (JSON, XML,
//! form-urlencoded, multipart) into one generic representation, a JSON object map, so each
//! dialect validates its fields the same way whatever the client sent. Values from XML, form and
//! multipart bodies are always strings (or `null` for an empty XML element); dialects coerce
//! them the way DRF's fields do.
//!
//! | refused with | when |
//! |---|---|
//! | 415 | `Content-Type` missing, unparsable, unknown, not accepted by the endpoint, or with a `charset` other than UTF-8 |
//! | 413 | body over [`BodyLimits::max_body_bytes`]; a form or multipart field over [`BodyLimits::max_field_bytes`] |
//! | 400 | anything wrong inside the body: syntax, invalid UTF-8, duplicate names, nesting, too many fields, DTDs... |
//!
//! The checks run in that order: the media type first, then the size, then the body.
//!
//! For responses, [`negotiate`] picks JSON or XML from `Accept`, [`encode`] writes a
//! `serde_json::Value` in either (XML in DRF's `XMLRenderer` shape), and [`XmlWriter`] builds the
//! dialects' own namespaced XML documents.

mod content_type;
mod encode;
mod error;
mod form;
mod json;
mod multipart;
mod negotiate;
mod xml;
mod xml_writer;

#[cfg(test)]
mod tests;

use http::HeaderValue;
use serde_json::{Map, Value};

pub use encode::{Encoded, JSON_CONTENT_TYPE, XML_CONTENT_TYPE, encode, encode_drf_xml, encode_json};
pub use error::{CodecError, MalformedReason};
pub use negotiate::{ResponseFormat, negotiate};
pub use xml_writer::{XmlDeclaration, XmlWriter};

/// A request body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `application/xml` or `text/xml`.
    Xml,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data` (text fields only).
    Multipart,
}

impl BodyFormat {
    /// All four formats, for endpoints that accept anything.
    pub const ALL: [BodyFormat; 4] = [Self::Json, Self::Xml, Self::Form, Self::Multipart];

    /// The media types that select this format (for DRF-style `parses` metadata).
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::Json => &["application/json"],
            Self::Xml => &["application/xml", "text/xml"],
            Self::Form => &["application/x-www-form-urlencoded"],
            Self::Multipart => &["multipart/form-data"],
        }
    }

    /// The format to answer in when `Accept` does not decide: XML for an XML request, JSON
    /// otherwise. Pass it as `fallback` to [`negotiate`].
    pub fn response_format(self) -> ResponseFormat {
        match self {
            Self::Xml => ResponseFormat::Xml,
            Self::Json | Self::Form | Self::Multipart => ResponseFormat::Json,
        }
    }
}

/// Limits applied while decoding a request body.
///
/// The defaults are sized for auth endpoints: the largest legitimate body is a registration
/// (minisass: eight fields plus a few free profile fields), well under 2 KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest body accepted, in bytes (default 64 KiB): 30x the largest real body, small enough
    /// that a flood of maximal requests costs little memory. Adapters read at most this plus one
    /// byte and let [`decode_body`] decide.
    pub max_body_bytes: usize,
    /// Deepest nesting of objects/arrays (XML: of elements holding elements), counting the
    /// top-level object as 1 (default 32). Real bodies nest 2 or 3 levels (oz's `credentials`,
    /// meldeschein's `meta`); 32 leaves room for app data and keeps recursion shallow.
    pub max_depth: usize,
    /// Most fields in a form or multipart body (default 64): several times the largest form,
    /// bounding per-field work and allocations.
    pub max_fields: usize,
    /// Longest form or multipart field name or value, in bytes (default 16 KiB): above any
    /// password, token or free-text profile field, so one field cannot take the whole body limit.
    pub max_field_bytes: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024, max_depth: 32, max_fields: 64, max_field_bytes: 16 * 1024 }
    }
}

/// A decoded request body.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedBody {
    /// The format the body was sent in (for answering in the same format).
    pub format: BodyFormat,
    /// The body's fields: the top-level JSON object, the XML root's children, or the form or
    /// multipart fields.
    pub fields: Map<String, Value>,
}

/// Decodes a request body by its `Content-Type`.
///
/// `accepted` lists the formats the endpoint takes; any other type is 415, as is a missing
/// `Content-Type`. See the [module docs](self) for the full set of rules and statuses; the
/// error's [`status`](CodecError::status) gives the HTTP status and its `Display` the message.
///
/// An empty body is an empty map for form and multipart, and a 400 for JSON and XML.
///
/// Only multipart decoding awaits (multer is stream-based), and never on I/O: the future is
/// ready on its first poll.
///
/// ```
/// use authmount::codec::{BodyFormat, BodyLimits, decode_body};
/// use http::{HeaderValue, StatusCode};
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let limits = BodyLimits::default();
/// let accepted = [BodyFormat::Json, BodyFormat::Xml, BodyFormat::Form];
///
/// let xml = HeaderValue::from_static("text/xml; charset=utf-8");
/// let body = b"<root><username>alice</username><password>s3cret</password></root>";
/// let decoded = rt.block_on(decode_body(Some(&xml), body, &accepted, &limits)).unwrap();
/// assert_eq!(decoded.format, BodyFormat::Xml);
/// assert_eq!(decoded.fields["username"], "alice");
///
/// let json = HeaderValue::from_static("application/json");
/// let err = rt
///     .block_on(decode_body(Some(&json), br#"{"username":"a","username":"b"}"#, &accepted, &limits))
///     .unwrap_err();
/// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(err.to_string(), r#"JSON parse error - duplicate field "username""#);
///
/// let text = HeaderValue::from_static("text/plain");
/// let err = rt.block_on(decode_body(Some(&text), b"hi", &accepted, &limits)).unwrap_err();
/// assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
/// assert_eq!(err.to_string(), r#"Unsupported media type "text/plain" in request."#);
/// ```
pub async fn decode_body(
    content_type: Option<&HeaderValue>,
    body: &[u8],
    accepted: &[BodyFormat],
    limits: &BodyLimits,
) -> Result<DecodedBody, CodecError> {
    let content_type = content_type::parse(content_type, accepted)?;
    if body.len() > limits.max_body_bytes {
        return Err(CodecError::BodyTooLarge { limit: limits.max_body_bytes });
    }
    let fields = match content_type.format {
        BodyFormat::Json => json::decode(body, limits)?,
        BodyFormat::Xml => xml::decode(body, limits)?,
        BodyFormat::Form => form::decode(body, limits)?,
        BodyFormat::Multipart => multipart::decode(content_type.boundary.as_deref(), body, limits).await?,
    };
    Ok(DecodedBody { format: content_type.format, fields })
}
