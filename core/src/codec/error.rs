//! The one error type of the body codecs, and the HTTP status it maps to.

use std::fmt;

use http::StatusCode;

use super::BodyFormat;

/// Longest name (in characters) an error message echoes back to the client.
pub(crate) const ECHO_MAX_CHARS: usize = 64;

/// Why a request body could not be decoded.
///
/// Every variant maps to exactly one status through [`CodecError::status`]: the media type is
/// refused with 415, a size limit with 413, and anything wrong inside the body with 400. The
/// `Display` text is meant for the client (it follows Django REST framework's wording where DRF
/// has one) and never echoes more than a short, escaped excerpt of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// No `Content-Type`, an unparsable one, or a type the endpoint does not accept (415).
    ///
    /// `media_type` is the header as sent (escaped and truncated), empty when it was missing.
    #[error("Unsupported media type \"{media_type}\" in request.")]
    UnsupportedMediaType {
        /// The `Content-Type` as sent, escaped and truncated; empty when the header was missing.
        media_type: String,
    },
    /// The `Content-Type` names a `charset` other than UTF-8 (415).
    #[error("Unsupported charset \"{charset}\" in request: only utf-8 is accepted.")]
    UnsupportedCharset {
        /// The charset as sent, escaped and truncated.
        charset: String,
    },
    /// The body is longer than [`BodyLimits::max_body_bytes`](super::BodyLimits) (413).
    #[error("Request body is larger than the limit of {limit} bytes.")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A form or multipart field (name or value) is longer than
    /// [`BodyLimits::max_field_bytes`](super::BodyLimits) (413).
    #[error("Field \"{field}\" is larger than the limit of {limit} bytes.")]
    FieldTooLarge {
        /// The field's name, escaped and truncated (may itself be the oversized part).
        field: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body does not parse as the declared format, or breaks one of its rules (400).
    #[error("{} parse error - {reason}", format_label(*.format))]
    Malformed {
        /// The format the body was declared as.
        format: BodyFormat,
        /// What exactly is wrong.
        reason: MalformedReason,
    },
}

impl CodecError {
    /// The HTTP status for this error: 415, 413 or 400.
    ///
    /// ```
    /// use authmount::codec::{BodyFormat, CodecError, MalformedReason};
    /// use http::StatusCode;
    ///
    /// let e = CodecError::Malformed { format: BodyFormat::Json, reason: MalformedReason::Empty };
    /// assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    /// assert_eq!(e.to_string(), "JSON parse error - the body is empty");
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnsupportedMediaType { .. } | Self::UnsupportedCharset { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::BodyTooLarge { .. } | Self::FieldTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Malformed { .. } => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn malformed(format: BodyFormat, reason: MalformedReason) -> Self {
        Self::Malformed { format, reason }
    }
}

/// DRF's prefix for each parser's error message.
fn format_label(format: BodyFormat) -> &'static str {
    match format {
        BodyFormat::Json => "JSON",
        BodyFormat::Xml => "XML",
        BodyFormat::Form => "Form",
        BodyFormat::Multipart => "Multipart form",
    }
}

/// What is wrong inside a body that was refused with 400.
///
/// Names carried here (`name`, `element`, `field`...) are already escaped and truncated to 64
/// characters, so they are safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The body is empty (or only whitespace) where the format needs a document (JSON, XML).
    Empty,
    /// The body, or the named field, is not valid UTF-8.
    InvalidUtf8 {
        /// The field whose name or value is not UTF-8, when known.
        field: Option<String>,
    },
    /// The document does not describe an object (JSON top level, XML root's content).
    NotAnObject,
    /// The same key, element or field name appears twice in one object.
    DuplicateField {
        /// The repeated name.
        name: String,
    },
    /// Objects/arrays (or XML elements) nest deeper than the limit.
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// More form or multipart fields than the limit.
    TooManyFields {
        /// The field-count limit.
        limit: usize,
    },
    /// The XML document has a `<!DOCTYPE`; DTDs are refused outright (no XXE, no entity bombs).
    DocType,
    /// The XML uses an entity other than the five predefined ones.
    UndefinedEntity {
        /// The entity's name.
        name: String,
    },
    /// An XML character reference (`&#...;`) is malformed or names a character XML forbids.
    InvalidCharRef,
    /// An XML element holds both text and child elements.
    MixedContent {
        /// The element's (local) name.
        element: String,
    },
    /// An XML element mixes `list-item` children with named children.
    MixedListItems {
        /// The element's (local) name.
        element: String,
    },
    /// The XML declaration names an encoding other than UTF-8.
    UnsupportedEncoding {
        /// The declared encoding.
        encoding: String,
    },
    /// The XML document has no root element.
    NoRootElement,
    /// Something other than whitespace, comments or processing instructions outside the root
    /// element.
    ContentOutsideRoot,
    /// The body ends before the document is complete (unclosed XML element, missing multipart
    /// closing boundary).
    Truncated,
    /// `multipart/form-data` without a `boundary` parameter.
    MissingBoundary,
    /// A `boundary` parameter that is empty or longer than 70 characters (RFC 2046).
    InvalidBoundary,
    /// A multipart part is a file upload; only text fields are accepted.
    FileNotAllowed {
        /// The part's field name.
        field: String,
    },
    /// A multipart part has no field name.
    UnnamedPart,
    /// A multipart part's headers are malformed.
    MalformedPart,
    /// Any other syntax error, as described by the underlying parser (truncated).
    Syntax {
        /// The parser's description.
        detail: String,
    },
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the body is empty"),
            Self::InvalidUtf8 { field: None } => f.write_str("the body is not valid UTF-8"),
            Self::InvalidUtf8 { field: Some(name) } => {
                write!(f, "field \"{name}\" is not valid UTF-8")
            }
            Self::NotAnObject => f.write_str("the top level must be an object"),
            Self::DuplicateField { name } => write!(f, "duplicate field \"{name}\""),
            Self::TooDeep { limit } => write!(f, "nesting deeper than {limit} levels"),
            Self::TooManyFields { limit } => write!(f, "more than {limit} fields"),
            Self::DocType => f.write_str("DOCTYPE declarations are not allowed"),
            Self::UndefinedEntity { name } => {
                write!(f, "undefined entity \"&{name};\" (only the 5 predefined are allowed)")
            }
            Self::InvalidCharRef => f.write_str("invalid character reference"),
            Self::MixedContent { element } => {
                write!(f, "element \"{element}\" mixes text and child elements")
            }
            Self::MixedListItems { element } => {
                write!(f, "element \"{element}\" mixes list-item and named children")
            }
            Self::UnsupportedEncoding { encoding } => {
                write!(f, "declared encoding \"{encoding}\" is not supported, use UTF-8")
            }
            Self::NoRootElement => f.write_str("no root element"),
            Self::ContentOutsideRoot => f.write_str("content outside the root element"),
            Self::Truncated => f.write_str("the body ends before the document is complete"),
            Self::MissingBoundary => f.write_str("the Content-Type has no boundary parameter"),
            Self::InvalidBoundary => f.write_str("the boundary must be 1 to 70 characters"),
            Self::FileNotAllowed { field } => {
                write!(f, "field \"{field}\" is a file; only text fields are accepted")
            }
            Self::UnnamedPart => f.write_str("a part has no field name"),
            Self::MalformedPart => f.write_str("a part has malformed headers"),
            Self::Syntax { detail } => f.write_str(detail),
        }
    }
}

/// A name or value from the input, made safe to put in a message: control and quote characters
/// escaped, cut to [`ECHO_MAX_CHARS`] characters (with `...` when cut).
pub(crate) fn echo(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(ECHO_MAX_CHARS + 8));
    for (i, c) in input.chars().enumerate() {
        if i == ECHO_MAX_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`echo`] for bytes that may not be UTF-8 (invalid sequences become U+FFFD).
pub(crate) fn echo_bytes(input: &[u8]) -> String {
    let cut = &input[..input.len().min(ECHO_MAX_CHARS * 4)];
    echo(&String::from_utf8_lossy(cut))
}

/// A parser's own description, cut to a bounded length.
pub(crate) fn detail(text: impl fmt::Display) -> MalformedReason {
    const MAX: usize = 200;
    let text = text.to_string();
    let detail = match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    };
    MalformedReason::Syntax { detail }
}
