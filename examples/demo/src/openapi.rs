//! `GET /openapi.json`: the OpenAPI 3.1 document of everything the demo serves as an API —
//! every mounted dialect ([`ApiDocument::with_dialects`]) and the demo's own routes
//! (`/api/whoami`, `/api/meldeschein/`), described here where they are mounted. `GET /docs`
//! renders it ([`crate::pages`]).
//!
//! The administration API (`/api/admin/...`) is not in it: it is not a dialect, and an
//! operator's tool rather than a client's.

use authmount::api::{ApiResponse, Gate, Reply};
use authmount::codec::BodyFormat;
use authmount::dialect::Dialects;
use authmount::openapi::schema::{field_errors, integer, nullable_string, object, string, xml_root};
use authmount::openapi::{Answer, ApiDocument, Endpoint};
use http::{HeaderValue, Method, StatusCode};

use crate::app::{BOOKING_PATH, WHOAMI_PATH};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The demo's document: the dialects of `dialects`, then `GET /api/whoami` behind `whoami`
/// (any dialect's token) and `POST /api/meldeschein/` behind `booking` (a Meldeschein JWT).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("demo", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let mailer = std::sync::Arc::new(authmount::mailer::OutboxMailer::new());
/// let dialects = authmount_demo::dialects::build(&services, &jwt, &Default::default(), mailer)?;
/// let meldeschein = dialects.get("meldeschein").unwrap().gate();
/// let document = authmount_demo::openapi::document(&dialects, &dialects.any_gate(services.users.clone()), &meldeschein);
/// let json: serde_json::Value = serde_json::from_str(&document.to_json())?;
/// assert!(json["paths"]["/api/whoami"]["get"].is_object());
/// assert!(json["paths"]["/api/meldeschein/"]["post"].is_object());
/// # Ok(()) }
/// ```
pub fn document(dialects: &Dialects, whoami: &Gate, booking: &Gate) -> ApiDocument {
    let whoami_twin = format!("{WHOAMI_PATH}/");
    let booking_twin = BOOKING_PATH.trim_end_matches('/');
    ApiDocument::new("authmount demo", env!("CARGO_PKG_VERSION"))
        .with_dialects(dialects)
        .with_route(
            &[WHOAMI_PATH, &whoami_twin],
            &[Method::GET],
            &whoami_endpoint(whoami),
            &**whoami.renderer(),
        )
        .with_route(
            &[BOOKING_PATH, booking_twin],
            &[Method::POST],
            &booking_endpoint(booking),
            &**booking.renderer(),
        )
}

fn whoami_endpoint(gate: &Gate) -> Endpoint {
    let who =
        object(&[("id", integer()), ("username", nullable_string()), ("email", nullable_string())], &[]);
    Endpoint::new("Who a token of any mounted dialect belongs to")
        .tag("demo")
        .secured_by(gate.guard().carriers().cloned())
        .answer(Answer::new(StatusCode::OK, "The user.").json(who))
        .fails_with(&[StatusCode::UNAUTHORIZED])
}

fn booking_endpoint(gate: &Gate) -> Endpoint {
    let meta = object(
        &[("gemeinde", integer()), ("vermieter", integer()), ("objekt", integer())],
        &[("description", string())],
    );
    let body = object(&[("meta", meta.clone())], &[]);
    let created = object(&[("meta", meta)], &[]);
    Endpoint::new("A Meldeschein business call: the `meta` object checked against the user's grants")
        .tag("demo")
        .description("The `meta` object beside the call's data (never alone), in JSON, XML or form data.")
        .secured_by(gate.guard().carriers().cloned())
        .body(&[BodyFormat::Json, BodyFormat::Xml, BodyFormat::Form], body)
        .answer(
            Answer::new(StatusCode::CREATED, "The `meta` object echoed.")
                .json(created.clone())
                .xml(xml_root("root", created)),
        )
        .answer(
            Answer::new(StatusCode::BAD_REQUEST, "No `meta`, a mistyped one, or `meta` alone.")
                .json(field_errors())
                .xml(xml_root("root", field_errors())),
        )
        .fails_with(&[StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN])
}

/// The answer of `GET /openapi.json`: the document as JSON.
pub fn response(document: &str) -> ApiResponse {
    Reply::new(StatusCode::OK, HeaderValue::from_static("application/json"), document.to_owned())
        .header(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
        .into_response()
}
