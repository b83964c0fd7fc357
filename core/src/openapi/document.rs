//! Building the OpenAPI document: an [`Api`]'s routes with their [`Endpoint`]s, its
//! [`ErrorRenderer`]'s common failures and its carriers' security schemes; several APIs (and an
//! app's own routes) merged into one [`ApiDocument`].

use http::{Method, StatusCode};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder, Responses, ResponsesBuilder};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Components, Info, OpenApi, OpenApiBuilder, Paths, Required};

use super::schema::{self, xml_root};
use super::{Answer, Endpoint, Security, scheme_name, security_scheme};
use crate::api::{Api, ErrorRenderer};
use crate::carrier::Carrier;
use crate::codec::BodyFormat;
use crate::dialect::{Dialect, Dialects};

/// An OpenAPI 3.1 document: the APIs it describes merged, each of their routes at every path an
/// adapter mounts it on (with and without the trailing slash), plus the app's own routes.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use authmount::dialect::Dialect;
/// use authmount::dialect::amcr::{Amcr, AmcrConfig};
/// use authmount::openapi::{Answer, ApiDocument, Endpoint};
/// use authmount::openapi::schema::{object, string};
/// use http::{Method, StatusCode};
///
/// let amcr = Amcr::new(authmount::services::Services::in_memory()?, AmcrConfig::default());
/// // The app's own route behind AMCR's gate: described where it is mounted.
/// let hello = Endpoint::new("Greets the caller")
///     .secured_by(amcr.carriers().into_iter().map(|(carrier, _)| carrier))
///     .answer(Answer::new(StatusCode::OK, "A greeting.").json(object(&[("hello", string())], &[])));
/// let document = ApiDocument::new("My app", "1.0.0")
///     .with_dialect(&amcr)
///     .with_route(&["/hello"], &[Method::GET], &hello, &**amcr.gate().renderer());
/// let json: serde_json::Value = serde_json::from_str(&document.to_json())?;
/// assert_eq!(json["openapi"], "3.1.0");
/// assert!(json["paths"]["/api/token-auth/"]["post"].is_object());
/// assert!(json["paths"]["/api/token-auth"]["post"].is_object());
/// assert_eq!(json["paths"]["/hello"]["get"]["security"][0]["bearer"], serde_json::json!([]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ApiDocument {
    openapi: OpenApi,
}

impl ApiDocument {
    /// An empty document titled `title`, of the app's `version`.
    pub fn new(title: &str, version: &str) -> Self {
        Self { openapi: OpenApiBuilder::new().info(Info::new(title, version)).paths(Paths::new()).build() }
    }

    /// Adds the routes of `api`, whose tokens travel in `carriers` (for its
    /// [secured](Endpoint::secured) endpoints).
    #[must_use]
    pub fn with_api(mut self, api: &Api, carriers: &[Carrier]) -> Self {
        self.openapi.merge(describe_api(api, carriers));
        self
    }

    /// Adds a dialect's routes ([`Dialect::openapi`]).
    #[must_use]
    pub fn with_dialect(mut self, dialect: &dyn Dialect) -> Self {
        self.openapi.merge(dialect.openapi());
        self
    }

    /// Adds every dialect's routes, in order.
    #[must_use]
    pub fn with_dialects(self, dialects: &Dialects) -> Self {
        dialects.iter().fold(self, |document, dialect| document.with_dialect(&**dialect))
    }

    /// Adds an app's own route: `endpoint` answering `methods` at each of `paths`, its common
    /// failures (see [`Endpoint::common_failures`]) shaped by `renderer` (the renderer of the
    /// gate in front of it).
    #[must_use]
    pub fn with_route(
        mut self,
        paths: &[&str],
        methods: &[Method],
        endpoint: &Endpoint,
        renderer: &dyn ErrorRenderer,
    ) -> Self {
        let mut components = Components::new();
        for path in paths {
            for method in methods {
                let operation = operation(
                    &Context { tag: None, scheme_prefix: None, carriers: &[], renderer },
                    path,
                    method,
                    endpoint,
                    &mut components,
                );
                add_operation(&mut self.openapi.paths, path, method, operation);
            }
        }
        add_components(&mut self.openapi, components);
        self
    }

    /// The document.
    pub fn openapi(&self) -> &OpenApi {
        &self.openapi
    }

    /// The document, to change further with utoipa's model.
    pub fn into_openapi(self) -> OpenApi {
        self.openapi
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        // The model holds only strings, numbers and maps with string keys: it always serializes.
        self.openapi.to_pretty_json().unwrap_or_default()
    }
}

/// What describing one API's operations needs.
struct Context<'a> {
    tag: Option<&'a str>,
    /// Names the security schemes of a dialect's carriers `<dialect>-<carrier>`: two dialects'
    /// tokens in one carrier (AMCR's and miniSASS's `Bearer`) are not interchangeable.
    scheme_prefix: Option<&'a str>,
    carriers: &'a [Carrier],
    renderer: &'a dyn ErrorRenderer,
}

/// The document of one API: each route at each of its [paths](crate::api::Route::paths), for
/// each method it allows (`HEAD` as `GET` without a body, `OPTIONS` where it has DRF's
/// description); a route without an [`Endpoint`] is listed with its common failures only. The
/// security schemes of `carriers` are named `<api>-<carrier>` (`amcr-bearer`,
/// `minisass-bearer`: their tokens are not interchangeable; see [`scheme_name`]).
pub fn describe_api(api: &Api, carriers: &[Carrier]) -> OpenApi {
    let context = Context {
        tag: Some(api.name()),
        scheme_prefix: Some(api.name()),
        carriers,
        renderer: &**api.renderer(),
    };
    let mut document = ApiDocument::new(api.name(), env!("CARGO_PKG_VERSION")).openapi;
    let mut components = Components::new();
    for route in api.routes() {
        let fallback;
        let endpoint = match route.doc() {
            Some(endpoint) => endpoint,
            None => {
                fallback = Endpoint::new(route.pattern());
                &fallback
            }
        };
        for path in route.paths() {
            for method in route.methods() {
                let operation = operation(&context, &path, method, endpoint, &mut components);
                add_operation(&mut document.paths, &path, method, operation);
            }
            if let Some(metadata) = route.options_metadata() {
                let operation = options_operation(&context, &path, metadata);
                add_operation(&mut document.paths, &path, &Method::OPTIONS, operation);
            }
        }
    }
    add_components(&mut document, components);
    document
}

fn add_components(document: &mut OpenApi, components: Components) {
    if components.security_schemes.is_empty() {
        return;
    }
    let existing = document.components.get_or_insert_with(Components::new);
    for (name, scheme) in components.security_schemes {
        existing.security_schemes.entry(name).or_insert(scheme);
    }
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        Method::TRACE => HttpMethod::Trace,
        _ => return None,
    })
}

fn add_operation(paths: &mut Paths, path: &str, method: &Method, operation: Operation) {
    if let Some(method) = http_method(method) {
        paths.add_path_operation(path, vec![method], operation);
    }
}

/// A unique, stable id: method and path (`post_api_token-auth_`).
fn operation_id(method: &Method, path: &str) -> String {
    let path: String =
        path.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("{}{}", method.as_str().to_ascii_lowercase(), path)
}

fn operation(
    context: &Context<'_>,
    path: &str,
    method: &Method,
    endpoint: &Endpoint,
    components: &mut Components,
) -> Operation {
    let is_head = *method == Method::HEAD;
    let mut builder = OperationBuilder::new()
        .summary(Some(endpoint.summary()))
        .description(endpoint.long_description())
        .operation_id(Some(operation_id(method, path)))
        .tags(endpoint.group().or(context.tag).map(|tag| [tag]));
    for name in path_parameters(path) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(schema::string())),
        );
    }
    for (name, description) in endpoint.query_parameters() {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema::string())),
        );
    }
    if let Some((formats, schema)) = endpoint.request_body()
        && !is_head
    {
        let mut body = RequestBodyBuilder::new().required(Some(if endpoint.body_required() {
            Required::True
        } else {
            Required::False
        }));
        for format in formats {
            let schema = match format {
                BodyFormat::Xml => xml_root("root", schema.clone()),
                _ => schema.clone(),
            };
            for media_type in format.media_types() {
                body = body.content(*media_type, ContentBuilder::new().schema(Some(schema.clone())).build());
            }
        }
        builder = builder.request_body(Some(body.build()));
    }
    let carriers: Vec<&Carrier> = match endpoint.security() {
        Security::Public => Vec::new(),
        Security::Dialect => context.carriers.iter().collect(),
        Security::Carriers(carriers) => carriers.iter().collect(),
    };
    for carrier in carriers {
        if let (Some(name), Some(scheme)) = (scheme_name(carrier), security_scheme(carrier)) {
            let name = match context.scheme_prefix {
                Some(prefix) => format!("{prefix}-{name}"),
                None => name,
            };
            builder = builder.security(SecurityRequirement::new(name.clone(), Vec::<String>::new()));
            components.security_schemes.entry(name).or_insert(scheme);
        }
    }
    builder.responses(responses(context, endpoint, is_head)).build()
}

/// The endpoint's answers, then the common failures it did not describe itself (or folded into
/// its own answer of that status as an alternative body), in status order.
fn responses(context: &Context<'_>, endpoint: &Endpoint, is_head: bool) -> Responses {
    let mut answers: Vec<Answer> = endpoint.answers().to_vec();
    for status in endpoint.common_failures() {
        let common = context.renderer.describe(status);
        match answers.iter_mut().find(|answer| answer.status() == status) {
            Some(answer) => answer.absorb(&common),
            None => answers.push(common),
        }
    }
    answers.sort_by_key(Answer::status);
    let mut builder = ResponsesBuilder::new();
    for answer in &answers {
        builder = builder.response(answer.status().as_str(), response(answer, is_head));
    }
    builder.build()
}

fn response(answer: &Answer, is_head: bool) -> Response {
    let mut builder = ResponseBuilder::new().description(answer.description());
    if !is_head {
        for (media_type, schema) in answer.contents() {
            builder = builder.content(media_type, ContentBuilder::new().schema(Some(schema.clone())).build());
        }
    }
    for (name, description) in answer.headers() {
        builder = builder.header(
            name,
            HeaderBuilder::new().schema(schema::string()).description(Some(description)).build(),
        );
    }
    builder.build()
}

/// `OPTIONS`: DRF's description of the endpoint.
fn options_operation(context: &Context<'_>, path: &str, metadata: &serde_json::Value) -> Operation {
    let name = metadata.get("name").and_then(serde_json::Value::as_str).unwrap_or("the endpoint");
    let description = object_schema_of_metadata();
    let ok = Answer::new(StatusCode::OK, format!("DRF's description of {name}: what it renders and parses."))
        .json(description)
        .header("Allow", "The methods the endpoint answers.");
    let endpoint = Endpoint::new(format!("Describe {name}")).answer(ok);
    OperationBuilder::new()
        .summary(Some(endpoint.summary()))
        .operation_id(Some(operation_id(&Method::OPTIONS, path)))
        .tags(context.tag.map(|tag| [tag]))
        .responses(responses(context, &endpoint, false))
        .build()
}

fn object_schema_of_metadata() -> utoipa::openapi::schema::Schema {
    use schema::{object, string, string_list};
    object(
        &[
            ("name", string()),
            ("description", string()),
            ("renders", string_list()),
            ("parses", string_list()),
        ],
        &[],
    )
}

/// The `{name}` segments of a path pattern.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// Every `(path, method)` an adapter mounts `api` at: each route's
/// [paths](crate::api::Route::paths) with each method it answers (`OPTIONS` where described).
/// What the document must list, no more, no less ([`documented_operations`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::collections::BTreeSet;
/// use authmount::dialect::Dialect;
/// use authmount::dialect::oz::{Oz, OzConfig};
/// use authmount::openapi::{documented_operations, mounted_operations};
///
/// let oz = Oz::new(authmount::services::Services::in_memory()?, OzConfig::default());
/// let mounted: BTreeSet<_> = mounted_operations(&oz.api()).into_iter().map(|(p, m)| (p, m.to_string())).collect();
/// let documented: BTreeSet<_> = documented_operations(&oz.openapi()).into_iter().map(|(p, m)| (p, m.to_string())).collect();
/// assert_eq!(mounted, documented);
/// assert!(mounted.contains(&("/api/authorize/auth/".to_owned(), "POST".to_owned())));
/// # Ok(()) }
/// ```
pub fn mounted_operations(api: &Api) -> Vec<(String, Method)> {
    let mut operations = Vec::new();
    for route in api.routes() {
        for path in route.paths() {
            for method in route.methods() {
                operations.push((path.clone(), method.clone()));
            }
            if route.options_metadata().is_some() {
                operations.push((path.clone(), Method::OPTIONS));
            }
        }
    }
    operations
}

/// Every `(path, method)` `document` lists (see [`mounted_operations`] for an example).
pub fn documented_operations(document: &OpenApi) -> Vec<(String, Method)> {
    let mut operations = Vec::new();
    for (path, item) in &document.paths.paths {
        let methods: [(&Option<Operation>, Method); 8] = [
            (&item.get, Method::GET),
            (&item.put, Method::PUT),
            (&item.post, Method::POST),
            (&item.delete, Method::DELETE),
            (&item.options, Method::OPTIONS),
            (&item.head, Method::HEAD),
            (&item.patch, Method::PATCH),
            (&item.trace, Method::TRACE),
        ];
        for (operation, method) in methods {
            if operation.is_some() {
                operations.push((path.clone(), method));
            }
        }
    }
    operations
}
