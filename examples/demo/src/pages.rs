//! The demo's two browser pages and their assets, served by both frameworks.
//!
//! | path | what |
//! |---|---|
//! | `GET /` | a login form for a cookie session: tDAR's `POST /api/login` with the form fields (the answer sets the HttpOnly session cookie), then who is logged in from `GET /api/whoami` (the cookie rides along), and a logout button (`POST /api/logout`) |
//! | `GET /minisass.html` | miniSASS from JavaScript: `token/` login, the access and refresh tokens kept in memory only (never `localStorage`), a refresh at 80% of the access token's lifetime (read from its `exp` and `iat`), `check-auth-status/`, `logout/` with the refresh token |
//! | `GET /docs` | the OpenAPI document (`GET /openapi.json`, [`crate::openapi`]) rendered by Swagger UI, vendored in `assets/swagger-ui` (no CDN: it works offline) |
//! | `GET /login.js`, `GET /minisass.js`, `GET /demo.css`, `GET /docs/...` | the pages' scripts and styles, as files: the pages have no inline script or style |
//!
//! Every asset is answered with [`SECURITY_HEADERS`]: a `Content-Security-Policy` that allows
//! scripts, styles and requests from this origin only (no inline script, no other site, no
//! framing, forms posting here only), `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.

use authmount::api::{ApiResponse, Reply};
use http::{HeaderName, HeaderValue, StatusCode};

/// The login page (tDAR form login and cookie session).
pub const LOGIN_PAGE_PATH: &str = "/";
/// The miniSASS page (JWTs from JavaScript).
pub const MINISASS_PAGE_PATH: &str = "/minisass.html";

/// The page rendering the OpenAPI document (`/openapi.json`) with the vendored Swagger UI.
pub const DOCS_PAGE_PATH: &str = "/docs";

/// The `Content-Security-Policy` of every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers sent with every page and asset, besides its `Content-Type`.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// A static page or asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Where it is served (GET and HEAD).
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content.
    pub body: &'static str,
}

/// Every page and asset.
pub const PAGES: [Page; 9] = [
    Page {
        path: LOGIN_PAGE_PATH,
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/index.html"),
    },
    Page {
        path: "/login.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/login.js"),
    },
    Page {
        path: MINISASS_PAGE_PATH,
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/minisass.html"),
    },
    Page {
        path: "/minisass.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/minisass.js"),
    },
    Page {
        path: "/demo.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/demo.css"),
    },
    Page {
        path: DOCS_PAGE_PATH,
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/docs.html"),
    },
    Page {
        path: "/docs/docs.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/docs.js"),
    },
    // Swagger UI, vendored from the npm package swagger-ui-dist (assets/swagger-ui/README.md).
    Page {
        path: "/docs/swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/swagger-ui/swagger-ui-bundle.js"),
    },
    Page {
        path: "/docs/swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/swagger-ui/swagger-ui.css"),
    },
];

/// The answer for `page`: 200, its content type and [`SECURITY_HEADERS`].
///
/// ```
/// use authmount_demo::pages::{PAGES, response};
/// let answer = response(&PAGES[0]);
/// assert_eq!(answer.status(), 200);
/// assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
/// assert!(std::str::from_utf8(answer.body()).unwrap().contains("<form"));
/// ```
pub fn response(page: &Page) -> ApiResponse {
    let mut reply = Reply::new(StatusCode::OK, HeaderValue::from_static(page.content_type), page.body);
    for (name, value) in SECURITY_HEADERS {
        reply = reply.header(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    reply.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_the_security_headers_and_no_inline_script() {
        for page in &PAGES {
            let answer = response(page);
            assert_eq!(answer.headers()["content-type"], page.content_type);
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(answer.headers()[name], value, "{} {name}", page.path);
            }
            if page.content_type.starts_with("text/html") {
                let html = page.body;
                assert!(!html.contains("<script>") && !html.contains("style="), "{}: inline code", page.path);
                assert!(!html.contains("http://") && !html.contains("https://"), "{}: external", page.path);
            }
        }
        let paths: std::collections::HashSet<_> = PAGES.iter().map(|p| p.path).collect();
        assert_eq!(paths.len(), PAGES.len());
    }

    #[test]
    fn the_login_form_posts_the_tdar_fields() {
        let html = PAGES[0].body;
        for field in [authmount::dialect::tdar::USERNAME_FIELD, authmount::dialect::tdar::PASSWORD_FIELD] {
            assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
        }
        assert!(html.contains("action=\"/api/login\""));
        assert!(
            html.contains("href=\"/docs\"") && html.contains("href=\"/openapi.json\""),
            "the API documents are linked"
        );
    }

    #[test]
    fn the_docs_page_loads_the_vendored_renderer_and_the_document() {
        let page = PAGES.iter().find(|page| page.path == DOCS_PAGE_PATH).expect("the docs page");
        for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/docs.js"] {
            assert!(page.body.contains(asset), "{asset}");
            assert!(PAGES.iter().any(|served| served.path == asset), "{asset} is served");
        }
        let script = PAGES.iter().find(|page| page.path == "/docs/docs.js").expect("the script").body;
        assert!(script.contains("url: \"/openapi.json\"") && script.contains("validatorUrl: null"));
    }

    #[test]
    fn the_tokens_never_reach_web_storage() {
        let js = PAGES[3].body;
        assert!(
            !js.contains("localStorage.")
                && !js.contains("sessionStorage.")
                && !js.contains("document.cookie")
        );
        assert!(js.contains("const API = \"/authentication/api/\";"));
        for path in ["\"token/\"", "\"refresh/\"", "\"check-auth-status/\"", "\"logout/\""] {
            assert!(js.contains(path), "{path}");
        }
    }
}
