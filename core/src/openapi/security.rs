//! Carriers as OpenAPI security schemes: `Authorization: Bearer` is HTTP bearer
//! authentication, any other `Authorization` scheme (Meldeschein's `JWT`) an API key in the
//! `Authorization` header whose value starts with the scheme, a header of its own (Oz's
//! `X-Forensic-Access-Token`), a query parameter or a cookie an API key there.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::carrier::Carrier;

/// The name of `carrier`'s security scheme in the document's components and requirements, for
/// an app's own routes (a dialect's are prefixed with its name: `amcr-bearer`)
/// (`bearer`, `authorization-jwt`, `header-x-forensic-access-token`, `query-jwt`,
/// `cookie-session.tokenkey`); `None` for an app's [custom carrier](Carrier::custom), which
/// the app describes itself.
///
/// ```
/// use authmount::carrier::Carrier;
/// use authmount::openapi::scheme_name;
/// assert_eq!(scheme_name(&Carrier::bearer()).as_deref(), Some("bearer"));
/// assert_eq!(scheme_name(&Carrier::authorization("JWT", false)).as_deref(), Some("authorization-jwt"));
/// assert_eq!(scheme_name(&Carrier::cookie("session.tokenkey")).as_deref(), Some("cookie-session.tokenkey"));
/// ```
pub fn scheme_name(carrier: &Carrier) -> Option<String> {
    let safe = |name: &str| -> String {
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
            .collect()
    };
    match carrier {
        Carrier::Authorization { scheme, .. } if scheme.eq_ignore_ascii_case("bearer") => {
            Some("bearer".to_owned())
        }
        Carrier::Authorization { scheme, .. } => {
            Some(format!("authorization-{}", safe(&scheme.to_ascii_lowercase())))
        }
        Carrier::Header(name) => Some(format!("header-{}", safe(name.as_str()))),
        Carrier::Query(name) => Some(format!("query-{}", safe(name))),
        Carrier::Cookie(name) => Some(format!("cookie-{}", safe(name))),
        _ => None,
    }
}

/// The security scheme of `carrier` ([`scheme_name`] names it); `None` for a custom carrier.
///
/// ```
/// use authmount::carrier::Carrier;
/// let scheme = authmount::openapi::security_scheme(&Carrier::header(http::HeaderName::from_static("x-forensic-access-token"))).unwrap();
/// let json = serde_json::to_value(&scheme).unwrap();
/// assert_eq!((json["type"].as_str(), json["in"].as_str(), json["name"].as_str()), (Some("apiKey"), Some("header"), Some("x-forensic-access-token")));
/// ```
pub fn security_scheme(carrier: &Carrier) -> Option<SecurityScheme> {
    let scheme = match carrier {
        Carrier::Authorization { scheme, case_sensitive } if scheme.eq_ignore_ascii_case("bearer") => {
            let note =
                if *case_sensitive { "the keyword `Bearer` exactly" } else { "the keyword in any case" };
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(format!("`Authorization: Bearer <token>`, {note}.")))
                    .build(),
            )
        }
        Carrier::Authorization { scheme, case_sensitive } => {
            let note = if *case_sensitive { "exactly" } else { "in any case" };
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization".to_owned(),
                format!(
                    "`Authorization: {scheme} <token>`: the value is the keyword `{scheme}` ({note}), a space and the token."
                ),
            )))
        }
        Carrier::Header(name) => SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            name.as_str().to_owned(),
            format!("The token alone in the `{name}` header."),
        ))),
        Carrier::Query(name) => SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            name.to_string(),
            format!("The token as the query parameter `{name}` (URLs end up in logs: prefer a header)."),
        ))),
        Carrier::Cookie(name) => SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            name.to_string(),
            format!("The token in the cookie `{name}`."),
        ))),
        _ => return None,
    };
    Some(scheme)
}
