//! The one place where actix-web's `http` 0.2 types meet the core's `http` 1.x types.
//!
//! Everything is converted by its textual or byte form (method name, URI string, header name and
//! value bytes), so nothing depends on the two `http` versions sharing a representation. Both
//! versions validate the same grammar, so a head that actix parsed always converts; the errors
//! exist so that a future divergence is answered, never silently papered over (dropping a header
//! could change an authentication decision).

use actix_web::HttpResponse;
use actix_web::dev::RequestHead;
use actix_web::http::{Version as ActixVersion, header as actix_header};
use bytes::Bytes;
use http::request::Parts;

/// A request head or response that one `http` version accepts and the other does not.
#[derive(Debug)]
pub(crate) struct ConvertError(&'static str);

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "authmount: the request's {} cannot be represented as an `http` 1.x value", self.0)
    }
}

/// actix's request head as the core's [`Parts`]: method, URI (path and query), version and every
/// header (repeated ones too, in order). Extensions start empty; the body is not part of it.
pub(crate) fn request_parts(head: &RequestHead) -> Result<Parts, ConvertError> {
    let method =
        http::Method::from_bytes(head.method.as_str().as_bytes()).map_err(|_| ConvertError("method"))?;
    let uri = http::Uri::try_from(head.uri.to_string()).map_err(|_| ConvertError("URI"))?;
    let mut builder = http::Request::builder().method(method).uri(uri).version(version(head.version));
    if let Some(headers) = builder.headers_mut() {
        headers.reserve(head.headers.len());
        for (name, value) in head.headers.iter() {
            let name = http::HeaderName::from_bytes(name.as_str().as_bytes())
                .map_err(|_| ConvertError("header name"))?;
            let value =
                http::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| ConvertError("header value"))?;
            headers.append(name, value);
        }
    }
    builder.body(()).map(|request| request.into_parts().0).map_err(|_| ConvertError("head"))
}

fn version(version: ActixVersion) -> http::Version {
    match version {
        ActixVersion::HTTP_09 => http::Version::HTTP_09,
        ActixVersion::HTTP_10 => http::Version::HTTP_10,
        ActixVersion::HTTP_2 => http::Version::HTTP_2,
        ActixVersion::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

/// The core's response as an actix response: the same status, every header (repeated ones such
/// as several `Set-Cookie` too, in order) and the same body bytes.
pub(crate) fn response(response: http::Response<Bytes>) -> HttpResponse<Bytes> {
    let (parts, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut converted = HttpResponse::with_body(status, body);
    let headers = converted.headers_mut();
    // `HeaderMap::into_iter` yields a name only with the first of its values.
    let mut current = None;
    for (name, value) in parts.headers {
        if let Some(name) = name {
            current = actix_header::HeaderName::from_bytes(name.as_str().as_bytes()).ok();
            if current.is_none() {
                tracing::error!(header = %name, "authmount: dropped a response header actix cannot represent");
            }
        }
        let Some(name) = &current else { continue };
        match actix_header::HeaderValue::from_bytes(value.as_bytes()) {
            Ok(value) => headers.append(name.clone(), value),
            Err(_) => {
                tracing::error!(header = %name, "authmount: dropped a response header value actix cannot represent")
            }
        }
    }
    converted
}

/// A plain-text answer from the adapter itself (only for heads that cannot be converted, and
/// for a route whose middleware is missing).
pub(crate) fn plain_text(status: actix_web::http::StatusCode, text: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(text)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn request_heads_convert_with_repeated_headers_and_query() {
        let request = TestRequest::put()
            .uri("/a/b%20c/?x=1&y=%2F")
            .append_header(("x-twice", "one"))
            .append_header(("x-twice", "two"))
            .append_header(("authorization", "Bearer t"))
            .to_http_request();
        let parts = request_parts(request.head()).expect("converts");
        assert_eq!(parts.method, http::Method::PUT);
        assert_eq!(parts.uri, "/a/b%20c/?x=1&y=%2F");
        assert_eq!(parts.version, http::Version::HTTP_11);
        let twice: Vec<_> = parts.headers.get_all("x-twice").iter().collect();
        assert_eq!(twice, ["one", "two"]);
        assert_eq!(parts.headers["authorization"], "Bearer t");
    }

    #[test]
    fn extension_methods_and_versions_convert() {
        let request = TestRequest::default()
            .method(actix_web::http::Method::from_bytes(b"PROPFIND").expect("valid method"))
            .version(ActixVersion::HTTP_10)
            .uri("/")
            .to_http_request();
        let parts = request_parts(request.head()).expect("converts");
        assert_eq!(parts.method.as_str(), "PROPFIND");
        assert_eq!(parts.version, http::Version::HTTP_10);
    }

    #[test]
    fn responses_keep_status_every_header_and_body() {
        let core = http::Response::builder()
            .status(418)
            .header("set-cookie", "a=1")
            .header("content-type", "application/json")
            .header("set-cookie", "b=2")
            .header("www-authenticate", "Token")
            .body(Bytes::from_static(b"{}"))
            .expect("valid response");
        let converted = response(core);
        assert_eq!(converted.status().as_u16(), 418);
        let cookies: Vec<_> = converted.headers().get_all("set-cookie").collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(converted.headers().get("content-type").expect("kept"), "application/json");
        assert_eq!(converted.headers().get("www-authenticate").expect("kept"), "Token");
        assert_eq!(converted.body(), &Bytes::from_static(b"{}"));
    }
}
