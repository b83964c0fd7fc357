//! What a route says about itself: [`Endpoint`] (its request body per accepted format, its
//! answers, whether it needs the dialect's token, its query parameters) and [`Answer`] (one
//! status: its bodies per content type and the headers that matter).

use http::StatusCode;
use utoipa::openapi::schema::Schema;

use crate::codec::BodyFormat;

/// One answer of an endpoint: a status, what it means, its body in each content type it can be
/// sent in, and the response headers that matter (`WWW-Authenticate`, `Set-Cookie`,
/// `Retry-After`...).
///
/// ```
/// use authmount::openapi::Answer;
/// use authmount::openapi::schema::{object, string};
/// let ok = Answer::new(http::StatusCode::OK, "A token.").json(object(&[("token", string())], &[]));
/// assert_eq!(ok.status(), http::StatusCode::OK);
/// assert_eq!(ok.contents()[0].0, "application/json");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    status: StatusCode,
    description: String,
    contents: Vec<(String, Schema)>,
    headers: Vec<(String, String)>,
}

impl Answer {
    /// An answer with `status`, described by `description`, without a body (add one with
    /// [`json`](Self::json), [`xml`](Self::xml) or [`content`](Self::content)).
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self { status, description: description.into(), contents: Vec::new(), headers: Vec::new() }
    }

    /// A common failure ([`ApiError`](crate::api::ApiError)) of `status`, described as every
    /// API answers it, with `Retry-After` on 429 and 503: what an
    /// [`ErrorRenderer::describe`](crate::api::ErrorRenderer::describe) starts from before
    /// adding its body shape.
    ///
    /// ```
    /// let busy = authmount::openapi::Answer::common(http::StatusCode::SERVICE_UNAVAILABLE);
    /// assert_eq!(busy.headers()[0].0, "Retry-After");
    /// ```
    pub fn common(status: StatusCode) -> Self {
        let description = match status.as_u16() {
            400 => "The body could not be read (malformed, or stopped before its end).",
            401 => "No credentials, or credentials that are invalid, expired or revoked.",
            403 => {
                "Authenticated, but not allowed (missing rights, or a cross-site request riding on a cookie)."
            }
            405 => "The method is not allowed here (`Allow` lists those that are).",
            413 => "The body is larger than the API's limit.",
            415 => "The body's `Content-Type` is not one the endpoint accepts.",
            429 => "Too many failed logins for this account or client: locked for a while (`Retry-After`).",
            500 => "A server fault; the body says nothing more.",
            503 => {
                "A store is down or the password hasher is busy: try again later (`Retry-After` when busy)."
            }
            _ => status.canonical_reason().unwrap_or("An error."),
        };
        let answer = Self::new(status, description);
        match status.as_u16() {
            429 | 503 => answer.header("Retry-After", "Seconds to wait before trying again."),
            _ => answer,
        }
    }

    /// Its body as `application/json`.
    #[must_use]
    pub fn json(self, schema: Schema) -> Self {
        self.content("application/json", schema)
    }

    /// Its body as `application/xml` (give the schema its root with
    /// [`xml_root`](super::schema::xml_root)).
    #[must_use]
    pub fn xml(self, schema: Schema) -> Self {
        self.content("application/xml", schema)
    }

    /// Its body as `media_type`.
    #[must_use]
    pub fn content(mut self, media_type: impl Into<String>, schema: Schema) -> Self {
        self.contents.push((media_type.into(), schema));
        self
    }

    /// A response header it carries, and what the header says.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.headers.push((name.into(), description.into()));
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the answer means.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The bodies, by media type.
    pub fn contents(&self) -> &[(String, Schema)] {
        &self.contents
    }

    /// The headers and their descriptions.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Folds `other` (an answer with the same status) into this one: its description appended,
    /// each of its bodies an alternative (`anyOf`) to this one's of the same media type, its
    /// headers added.
    pub(crate) fn absorb(&mut self, other: &Answer) {
        if !self.description.contains(&other.description) {
            self.description = format!("{} Or: {}", self.description, other.description);
        }
        for (media_type, schema) in &other.contents {
            match self.contents.iter_mut().find(|(existing, _)| existing == media_type) {
                Some((_, existing)) if existing != schema => {
                    *existing = super::schema::any_of([existing.clone(), schema.clone()]);
                }
                Some(_) => {}
                None => self.contents.push((media_type.clone(), schema.clone())),
            }
        }
        for header in &other.headers {
            if !self.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case(&header.0)) {
                self.headers.push(header.clone());
            }
        }
    }
}

/// Whose tokens an endpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// None: anyone may call it.
    Public,
    /// The token of the dialect that mounts it, in any of its carriers.
    Dialect,
    /// A token in any of these carriers (an app's own route behind a gate).
    Carriers(Vec<crate::carrier::Carrier>),
}

/// What a route says about itself, the source of its part of the OpenAPI document: a summary,
/// its request body in each [`BodyFormat`] it accepts, every answer it gives besides the
/// API's common failures (body too large or unreadable, store down, server fault: the
/// [`ErrorRenderer`](crate::api::ErrorRenderer) describes those), whose token it needs, and its
/// query parameters. Attach it to the route with [`Route::with_doc`](crate::api::Route::with_doc).
///
/// ```
/// use authmount::codec::BodyFormat;
/// use authmount::openapi::{Answer, Endpoint};
/// use authmount::openapi::schema::{object, string};
/// use http::StatusCode;
///
/// let login = object(&[("username", string()), ("password", string())], &[]);
/// let endpoint = Endpoint::new("Obtain a token")
///     .body(&[BodyFormat::Json, BodyFormat::Form], login)
///     .answer(Answer::new(StatusCode::OK, "The token.").json(object(&[("token", string())], &[])))
///     .answer(Answer::new(StatusCode::BAD_REQUEST, "Missing fields.").json(authmount::openapi::schema::field_errors()));
/// assert_eq!(endpoint.answers().len(), 2);
/// assert_eq!(endpoint.media_types(), ["application/json", "application/x-www-form-urlencoded"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    summary: String,
    description: Option<String>,
    body: Option<(Vec<BodyFormat>, Schema)>,
    body_required: bool,
    answers: Vec<Answer>,
    security: Security,
    query: Vec<(String, String)>,
    common: Vec<StatusCode>,
    tag: Option<String>,
}

impl Endpoint {
    /// A public endpoint without a body, summarised as `summary`.
    pub fn new(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            description: None,
            body: None,
            body_required: true,
            answers: Vec::new(),
            security: Security::Public,
            query: Vec::new(),
            common: Vec::new(),
            tag: None,
        }
    }

    /// A longer description (Markdown).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The request body: `schema`, in each of `formats` (the media types of
    /// [`BodyFormat::media_types`]; XML gets the schema's [`xml_root`](super::schema::xml_root)).
    #[must_use]
    pub fn body(mut self, formats: &[BodyFormat], schema: Schema) -> Self {
        self.body = Some((formats.to_vec(), schema));
        self
    }

    /// The body may be left out (logout with the token in a header).
    #[must_use]
    pub fn optional_body(mut self) -> Self {
        self.body_required = false;
        self
    }

    /// An answer. Two answers with one status are alternatives.
    #[must_use]
    pub fn answer(mut self, answer: Answer) -> Self {
        match self.answers.iter_mut().find(|existing| existing.status == answer.status) {
            Some(existing) => existing.absorb(&answer),
            None => self.answers.push(answer),
        }
        self
    }

    /// The endpoint needs the token of the dialect that mounts it.
    #[must_use]
    pub fn secured(mut self) -> Self {
        self.security = Security::Dialect;
        self
    }

    /// The endpoint needs a token in one of `carriers` (an app's route behind a gate).
    #[must_use]
    pub fn secured_by(mut self, carriers: impl IntoIterator<Item = crate::carrier::Carrier>) -> Self {
        self.security = Security::Carriers(carriers.into_iter().collect());
        self
    }

    /// An optional query parameter, and what it does.
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.query.push((name.into(), description.into()));
        self
    }

    /// The endpoint may also answer these common failures ([`ApiError`](crate::api::ApiError)s:
    /// 401, 403, 429...), in the shape the API's
    /// [`ErrorRenderer::describe`](crate::api::ErrorRenderer::describe) gives them. Every
    /// endpoint may answer 500 and 503; one with a body 400, 413 and 415: those need not be listed.
    #[must_use]
    pub fn fails_with(mut self, statuses: &[StatusCode]) -> Self {
        self.common.extend_from_slice(statuses);
        self
    }

    /// The common failures this endpoint answers: those listed with
    /// [`fails_with`](Self::fails_with), 400, 413 and 415 when it takes a body, 500 and 503.
    pub fn common_failures(&self) -> Vec<StatusCode> {
        let mut statuses = self.common.clone();
        if self.body.is_some() {
            statuses.extend([
                StatusCode::BAD_REQUEST,
                StatusCode::PAYLOAD_TOO_LARGE,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ]);
        }
        statuses.extend([StatusCode::INTERNAL_SERVER_ERROR, StatusCode::SERVICE_UNAVAILABLE]);
        let mut unique = Vec::new();
        for status in statuses {
            if !unique.contains(&status) {
                unique.push(status);
            }
        }
        unique
    }

    /// Groups the endpoint under `tag` (an app's own routes; a dialect's are tagged with its
    /// name).
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// The group it was given with [`tag`](Self::tag).
    pub fn group(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The summary.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The longer description.
    pub fn long_description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The formats and schema of the request body, if it takes one.
    pub fn request_body(&self) -> Option<(&[BodyFormat], &Schema)> {
        self.body.as_ref().map(|(formats, schema)| (formats.as_slice(), schema))
    }

    /// Whether a request body must be sent (when the endpoint takes one).
    pub fn body_required(&self) -> bool {
        self.body_required
    }

    /// Every media type the request body may have, in order.
    pub fn media_types(&self) -> Vec<&'static str> {
        let formats = self.body.as_ref().map_or(&[][..], |(formats, _)| formats.as_slice());
        formats.iter().flat_map(|format| format.media_types().iter().copied()).collect()
    }

    /// The answers, in order.
    pub fn answers(&self) -> &[Answer] {
        &self.answers
    }

    /// Whose token it needs.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// The query parameters and their descriptions.
    pub fn query_parameters(&self) -> &[(String, String)] {
        &self.query
    }
}
