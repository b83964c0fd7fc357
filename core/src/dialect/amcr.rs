//! AMCR (Archeologická mapa České republiky): DRF token authentication with the `Bearer`
//! keyword and the user's profile as an AMCR XML document.
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST /api/token-auth/` | `{"username", "password"}` (JSON, form or multipart) → 200 `{"token": "<opaque>"}`, valid 24 h from issue |
//! | `OPTIONS /api/token-auth/` | DRF's description of the endpoint ("Obtain Auth Token") |
//! | `GET /api/uzivatel-info/` | `Authorization: Bearer <token>` → 200 `application/xml; charset=utf-8`, the `amcr:amcr` document |
//!
//! Errors are DRF's `{"detail": ...}` JSON; every 401 carries `WWW-Authenticate: Bearer`.
//! Login failures: missing or invalid fields 400 with field errors, bad credentials (and
//! deactivated accounts, which are not told apart) 401
//! `{"non_field_errors": ["Unable to log in with provided credentials."]}` as the seed documents
//! (the original answers 400: [`AmcrConfig::invalid_credentials_status`]).
//!
//! `username` may be the username or the e-mail address. Each login issues a fresh 256-bit
//! token, stored only as its hash with a fixed (not sliding) expiry; the original hands out one
//! 40-hex key per user and repeats it, which this does not copy.
//!
//! ## The user document
//!
//! The core fields of [`User`] fill most of `amcr:uzivatel`; the rest comes from the user's
//! attribute map:
//!
//! | element | source | shape of the attribute |
//! |---|---|---|
//! | `ident_cely` | attribute `ident_cely`, else `U-` and the id zero-padded to 6 digits (`U-000042`) | string |
//! | `jmeno`, `prijmeni` | `first_name`, `last_name` | |
//! | `email` | `email` (empty element when none) | |
//! | `osoba`? (`@id`) | attribute `osoba` (left out without an `id`) | `{"id": "OS-...", "name": "..."}` |
//! | `orcid`? | attribute `orcid` | string |
//! | `organizace` (`@xml:lang`, `@id`) | attribute `organizace`; when absent or without an `id`, [`AmcrConfig::default_organisation`] | `{"id": "ORG-...", "name": "...", "lang": "cs"}` (`lang` optional, default `cs`) |
//! | `jazyk`? | attribute `jazyk` | string |
//! | `telefon`? | attribute `telefon` | string |
//! | `aktivni`, `admin`, `superadmin` | `is_active`, `is_admin`, `is_superuser` (`true`/`false`) | |
//! | `skupina`+ (`@xml:lang="cs"`) | `groups`, in order; a user without groups gets [`AmcrConfig::default_group`] | |
//! | `notifikace`* | attribute `notifikace` | `["...", ...]` |
//! | `hlidaci_pes`* (`@xml:lang`, `@id`) | attribute `hlidaci_pes` (entries without an `id` left out) | `[{"id": "ruian-...", "name": "...", "lang": "cs"}, ...]` (`lang` optional) |
//! | `datum_registrace` | `created_at`, RFC 3339 in UTC | |
//! | `historie`* | attribute `historie` | `[{"id", "datum_zmeny", "uzivatel", "poznamka"?, "typ_zmeny"}, ...]`; `uzivatel` may be a string (the user's `ident_cely`, written as text and `@id`, as the original does) or `{"id", "name"}` |
//!
//! Strings may also be given as numbers. Optional elements whose attribute is absent (or not of
//! the shape above) are left out; all text and attribute values are escaped.
//!
//! The document is valid against the original's schema (`amcr.xsd` of ARUP-CAS/aiscr-webamcr,
//! type `uzivatelType`): elements in its order, at least one `skupina`, an `id` on every
//! reference (`organizace`, `osoba`, `hlidaci_pes`, a change's `uzivatel`). Values taken from
//! attributes must have the XSD's types themselves (`datum_zmeny` an `xs:dateTime`, `orcid` a
//! URI).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use super::drf::{self, DrfRenderer};
use super::{BuildDialect, kit};
use crate::api::{
    Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, HandlerResult, Refusal, Reply, Route,
    UserCheck,
};
use crate::carrier::Carrier;
use crate::codec::{BodyFormat, XmlDeclaration, XmlWriter};
use crate::guard::{Guard, OpaqueVerifier};
use crate::openapi::{Answer, Endpoint};
use crate::services::Services;
use crate::store::{TokenKind, TokenRecord};
use crate::time_format::rfc3339;
use crate::user::User;

/// The audience of AMCR tokens in the token store: other dialects' tokens are refused.
pub const AUDIENCE: &str = "amcr";
/// The login endpoint.
pub const TOKEN_AUTH_PATH: &str = "/api/token-auth/";
/// The user-information endpoint.
pub const USER_INFO_PATH: &str = "/api/uzivatel-info/";

const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";
const GML_NAMESPACE: &str = "http://www.opengis.net/gml/3.2";
const DEFAULT_LANG: &str = "cs";
const LOGIN_FORMATS: [BodyFormat; 3] = [BodyFormat::Json, BodyFormat::Form, BodyFormat::Multipart];

/// How the AMCR endpoints behave where the seed and the live system differ or a deployment
/// chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmcrConfig {
    /// How long a token works after it is issued (default 24 hours, fixed, not sliding).
    pub token_ttl: Duration,
    /// The AMCR schema version in the XML namespace `https://api.aiscr.cz/schema/amcr/<version>/`
    /// (default `2.1` as in the seed; the live system uses `2.2`).
    pub schema_version: String,
    /// The status of a login with bad credentials: 401 as the seed documents (default), or 400
    /// as the original answers. A 401 carries `WWW-Authenticate: Bearer`.
    pub invalid_credentials_status: StatusCode,
    /// A group a user must belong to for API access. Without it, a correct login and
    /// `uzivatel-info` answer 403 `{"detail": "You do not have permission to perform this
    /// action."}`. Default: none.
    pub required_group: Option<String>,
    /// The `skupina` of a user without groups: the schema requires at least one. Default
    /// [`DEFAULT_GROUP`] (`Badatel`, the role the original gives every new account).
    pub default_group: String,
    /// The `organizace` of a user whose `organizace` attribute is absent or has no `id`: the
    /// schema requires the element with an `id`. Default [`AmcrOrganisation::unspecified`]
    /// (`ORG-000000`, `Neuvedeno`).
    pub default_organisation: AmcrOrganisation,
}

/// The group the original gives every new account (its role `ROLE_BADATEL_ID`, "researcher"),
/// the default of [`AmcrConfig::default_group`].
pub const DEFAULT_GROUP: &str = "Badatel";

/// An organisation as `uzivatel-info` writes it: `<amcr:organizace xml:lang="cs" id="...">name</amcr:organizace>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmcrOrganisation {
    /// Its identifier (the original's `ORG-` + 6 digits).
    pub id: String,
    /// Its name.
    pub name: String,
}

impl AmcrOrganisation {
    /// `ORG-000000` named `Neuvedeno` ("not given"), the default of
    /// [`AmcrConfig::default_organisation`].
    ///
    /// ```
    /// let unspecified = authmount::dialect::amcr::AmcrOrganisation::unspecified();
    /// assert_eq!((unspecified.id.as_str(), unspecified.name.as_str()), ("ORG-000000", "Neuvedeno"));
    /// ```
    pub fn unspecified() -> Self {
        Self { id: "ORG-000000".to_owned(), name: "Neuvedeno".to_owned() }
    }
}

impl Default for AmcrConfig {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(24 * 60 * 60),
            schema_version: "2.1".to_owned(),
            invalid_credentials_status: StatusCode::UNAUTHORIZED,
            required_group: None,
            default_group: DEFAULT_GROUP.to_owned(),
            default_organisation: AmcrOrganisation::unspecified(),
        }
    }
}

impl AmcrConfig {
    /// The XML namespace of the configured schema version.
    ///
    /// ```
    /// let config = authmount::dialect::amcr::AmcrConfig { schema_version: "2.2".into(), ..Default::default() };
    /// assert_eq!(config.namespace(), "https://api.aiscr.cz/schema/amcr/2.2/");
    /// ```
    pub fn namespace(&self) -> String {
        format!("https://api.aiscr.cz/schema/amcr/{}/", self.schema_version)
    }
}

/// The AMCR dialect ([`Dialect`](super::Dialect)). Cheap to clone.
///
/// - Its [`Api`]: `POST /api/token-auth/` (route 0) and `GET /api/uzivatel-info/` (route 1).
/// - Its [`Gate`] protects an app's routes with AMCR tokens (`Authorization: Bearer <token>`,
///   keyword in any case), loading the user and refusing deactivated accounts (401 "User
///   inactive or deleted."). Refusals are DRF JSON with `WWW-Authenticate: Bearer`.
#[derive(Clone)]
pub struct Amcr {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    config: AmcrConfig,
    renderer: Arc<DrfRenderer>,
    gate: Gate,
}

dialect!(Amcr, "amcr", AmcrConfig, Infallible, |context, config| Ok(Amcr::new(
    context.services.clone(),
    config
)));

impl Amcr {
    /// The dialect over `services` with `config`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    /// use authmount::api::RequestBody;
    /// use authmount::dialect::Dialect;
    /// use authmount::dialect::amcr::{Amcr, AmcrConfig};
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// use authmount::services::Services;
    /// use authmount::user::NewUser;
    ///
    /// # let fast = PasswordService::new(Arc::new(Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?));
    /// let services = Services::in_memory()?;
    /// # let services = services.with_passwords(fast);
    /// let hash = services.passwords.hash_new_password("correct horse battery").await?;
    /// services.users.create(NewUser::new("ann", SystemTime::now()).with_password_hash(hash)).await?;
    ///
    /// let amcr = Amcr::new(services, AmcrConfig::default());
    /// let api = amcr.api(); // mount its routes; protect the app's routes with `amcr.gate()`
    ///
    /// let login = http::Request::post("/api/token-auth/")
    ///     .header("content-type", "application/json")
    ///     .body(())?
    ///     .into_parts()
    ///     .0;
    /// let body = br#"{"username": "ann", "password": "correct horse battery"}"#;
    /// let response = api.call(0, login, RequestBody::Complete(body[..].into())).await;
    /// assert_eq!(response.status(), 200);
    /// let token: serde_json::Value = serde_json::from_slice(response.body())?;
    ///
    /// let info = http::Request::get("/api/uzivatel-info/")
    ///     .header("authorization", format!("Bearer {}", token["token"].as_str().unwrap()))
    ///     .body(())?
    ///     .into_parts()
    ///     .0;
    /// let response = api.call(1, info, RequestBody::Complete(Default::default())).await;
    /// assert_eq!(response.headers()["content-type"], "application/xml; charset=utf-8");
    /// assert!(std::str::from_utf8(response.body())?.contains("<amcr:ident_cely>U-000001</amcr:ident_cely>"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(services: Services, config: AmcrConfig) -> Self {
        let renderer = Arc::new(DrfRenderer::new(HeaderValue::from_static("Bearer")));
        let verifier = OpaqueVerifier::new(services.tokens.clone(), TokenKind::Access, AUDIENCE);
        let guard = Guard::new().with(Carrier::bearer(), verifier);
        let gate = Gate::new(guard, renderer.clone() as Arc<dyn ErrorRenderer>)
            .with_user_check(UserCheck::RequireActive(services.users.clone()));
        Self { inner: Arc::new(Inner { services, config, renderer, gate }) }
    }

    /// The `amcr:amcr` document describing `user`, as `GET /api/uzivatel-info/` sends it (see
    /// the [module docs](self) for where each element comes from).
    pub fn user_document(&self, user: &User) -> String {
        user_document(user, &self.inner.config)
    }
}

impl Inner {
    /// `POST /api/token-auth/` (route 0) and `GET /api/uzivatel-info/` (route 1).
    fn api(self: &Arc<Self>) -> Api {
        let token_auth = Route::stateful(TOKEN_AUTH_PATH, &[Method::POST], self.clone(), Self::token_auth);
        let user_info = Route::stateful(USER_INFO_PATH, &[Method::GET], self.clone(), Self::user_info);
        Api::new(Amcr::NAME, self.renderer.clone())
            .route(token_auth.with_options("Obtain Auth Token", "").with_doc(self.token_auth_doc()))
            .route(user_info.with_doc(self.user_info_doc()))
    }

    fn token_auth_doc(&self) -> Endpoint {
        use crate::openapi::schema::{field_errors, object, string, string_list, text};
        let credentials = object(&[("username", text()), ("password", text())], &[]);
        let status = self.config.invalid_credentials_status;
        let mut bad = Answer::new(status, "Bad credentials (or a deactivated account, not told apart).")
            .json(object(&[("non_field_errors", string_list())], &[]));
        if status == StatusCode::UNAUTHORIZED {
            bad = self.renderer.challenged(bad);
        }
        let mut endpoint = Endpoint::new("Obtain a token (DRF's ObtainAuthToken)")
            .description("`username` may be the username or the e-mail address. Each login issues a fresh opaque token.")
            .body(&LOGIN_FORMATS, credentials)
            .answer(Answer::new(StatusCode::OK, "The token.").json(object(&[("token", string())], &[])))
            .answer(Answer::new(StatusCode::BAD_REQUEST, "Missing or invalid fields.").json(field_errors()))
            .answer(bad)
            .fails_with(&[StatusCode::TOO_MANY_REQUESTS]);
        if self.config.required_group.is_some() {
            endpoint = endpoint.fails_with(&[StatusCode::FORBIDDEN]);
        }
        endpoint
    }

    fn user_info_doc(&self) -> Endpoint {
        use crate::openapi::schema::{object, string, xml_root};
        let document = xml_root(
            "amcr:amcr",
            object(&[("uzivatel", object(&[("ident_cely", string()), ("email", string())], &[]))], &[]),
        );
        let mut endpoint = Endpoint::new("The user's profile as an AMCR XML document")
            .secured()
            .answer(
                Answer::new(StatusCode::OK, "The `amcr:amcr` document of the token's user.")
                    .content("application/xml", document),
            )
            .fails_with(&[StatusCode::UNAUTHORIZED]);
        if self.config.required_group.is_some() {
            endpoint = endpoint.fails_with(&[StatusCode::FORBIDDEN]);
        }
        endpoint
    }

    async fn token_auth(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let bad_credentials = || Refusal::Shaped(self.bad_credentials());
        let user =
            drf::log_in(&self.services, &request, &LOGIN_FORMATS, &self.renderer, bad_credentials).await?;
        self.check_access(&user)?;
        let now = self.services.clock.now();
        let record = TokenRecord::new(TokenKind::Access, user.id, AUDIENCE, now, self.config.token_ttl);
        let token = kit::issue_opaque(&*self.services.tokens, record).await?;
        Ok(Reply::json(StatusCode::OK, &json!({ "token": token.as_str() })).no_store().into_response())
    }

    fn bad_credentials(&self) -> ApiResponse {
        let body = drf::non_field_errors([drf::UNABLE_TO_LOG_IN]);
        let status = self.config.invalid_credentials_status;
        let reply = Reply::json(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            reply.header(WWW_AUTHENTICATE, self.renderer.www_authenticate().clone()).into_response()
        } else {
            reply.into_response()
        }
    }

    /// 403 unless `user` is in the [required group](AmcrConfig::required_group).
    fn check_access(&self, user: &User) -> Result<(), ApiError> {
        let allowed =
            self.config.required_group.as_ref().is_none_or(|group| user.groups.iter().any(|g| g == group));
        if allowed { Ok(()) } else { Err(ApiError::Forbidden(drf::PERMISSION_DENIED)) }
    }

    async fn user_info(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let user = self.gate.require_user(&request.head).await?;
        self.check_access(&user)?;
        Ok(Reply::xml(StatusCode::OK, user_document(&user, &self.config)).no_store().into_response())
    }
}

/// A scalar attribute value as text: strings as they are, numbers and booleans printed.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A vocabulary reference: `{"id", "name", "lang"?}`, or a plain string (a name without id).
#[derive(Default)]
struct Labelled {
    id: Option<String>,
    name: String,
    lang: Option<String>,
}

impl Labelled {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self {
                id: map.get("id").and_then(text_of),
                name: map.get("name").and_then(text_of).unwrap_or_default(),
                lang: map.get("lang").and_then(text_of),
            }),
            other => text_of(other).map(|name| Self { name, ..Self::default() }),
        }
    }

    /// `xml:lang` (default `cs`) then `id`, the order of the seed's example.
    fn write_with_lang(&self, w: &mut XmlWriter, name: &str) {
        let lang = self.lang.as_deref().unwrap_or(DEFAULT_LANG);
        match &self.id {
            Some(id) => w.leaf(name, &[("xml:lang", lang), ("id", id)], &self.name),
            None => w.leaf(name, &[("xml:lang", lang)], &self.name),
        };
    }

    fn write_with_id(&self, w: &mut XmlWriter, name: &str) {
        if let Some(id) = &self.id {
            w.leaf(name, &[("id", id)], &self.name);
        }
    }

    /// The reference itself when it has an `id` (the schema's `refType` requires one).
    fn with_id(self) -> Option<Self> {
        self.id.is_some().then_some(self)
    }
}

fn boolean(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// The items of a list attribute (absent or not a list: none).
fn list<'u>(user: &'u User, key: &str) -> &'u [Value] {
    user.attribute(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Builds the `amcr:amcr` document for `user` with the namespace and defaults of `config`.
fn user_document(user: &User, config: &AmcrConfig) -> String {
    let namespace = &config.namespace();
    let location = format!("{namespace} {namespace}amcr.xsd");
    let text = |key: &str| user.attribute(key).and_then(text_of);
    let mut w = XmlWriter::new(XmlDeclaration::Lxml).pretty();
    w.start(
        "amcr:amcr",
        &[
            ("xmlns:xsi", XSI_NAMESPACE),
            ("xmlns:gml", GML_NAMESPACE),
            ("xmlns:amcr", namespace),
            ("xsi:schemaLocation", &location),
        ],
    );
    w.start("amcr:uzivatel", &[]);
    let ident = text("ident_cely").unwrap_or_else(|| format!("U-{:06}", user.id.0));
    w.leaf("amcr:ident_cely", &[], &ident);
    w.leaf("amcr:jmeno", &[], &user.first_name);
    w.leaf("amcr:prijmeni", &[], &user.last_name);
    w.leaf("amcr:email", &[], user.email.as_deref().unwrap_or_default());
    if let Some(osoba) = user.attribute("osoba").and_then(Labelled::from_value) {
        osoba.write_with_id(&mut w, "amcr:osoba");
    }
    if let Some(orcid) = text("orcid") {
        w.leaf("amcr:orcid", &[], &orcid);
    }
    user.attribute("organizace")
        .and_then(Labelled::from_value)
        .and_then(Labelled::with_id)
        .unwrap_or_else(|| {
            let fallback = &config.default_organisation;
            Labelled { id: Some(fallback.id.clone()), name: fallback.name.clone(), lang: None }
        })
        .write_with_lang(&mut w, "amcr:organizace");
    if let Some(jazyk) = text("jazyk") {
        w.leaf("amcr:jazyk", &[], &jazyk);
    }
    if let Some(telefon) = text("telefon") {
        w.leaf("amcr:telefon", &[], &telefon);
    }
    w.leaf("amcr:aktivni", &[], boolean(user.is_active));
    w.leaf("amcr:admin", &[], boolean(user.is_admin));
    w.leaf("amcr:superadmin", &[], boolean(user.is_superuser));
    let groups =
        if user.groups.is_empty() { std::slice::from_ref(&config.default_group) } else { &user.groups };
    for group in groups {
        w.leaf("amcr:skupina", &[("xml:lang", DEFAULT_LANG)], group);
    }
    for notifikace in list(user, "notifikace").iter().filter_map(text_of) {
        w.leaf("amcr:notifikace", &[], &notifikace);
    }
    for pes in list(user, "hlidaci_pes").iter().filter_map(Labelled::from_value).filter_map(Labelled::with_id)
    {
        pes.write_with_lang(&mut w, "amcr:hlidaci_pes");
    }
    w.leaf("amcr:datum_registrace", &[], &rfc3339(user.created_at));
    for entry in list(user, "historie").iter().filter_map(Value::as_object) {
        let field = |key: &str| entry.get(key).and_then(text_of).unwrap_or_default();
        w.start("amcr:historie", &[]);
        w.leaf("amcr:id", &[], &field("id"));
        w.leaf("amcr:datum_zmeny", &[], &field("datum_zmeny"));
        let mut by = entry.get("uzivatel").and_then(Labelled::from_value).unwrap_or_default();
        // The original writes the user's ident_cely as both text and id.
        by.id.get_or_insert_with(|| by.name.clone());
        by.write_with_id(&mut w, "amcr:uzivatel");
        if let Some(poznamka) = entry.get("poznamka").and_then(text_of) {
            w.leaf("amcr:poznamka", &[], &poznamka);
        }
        w.leaf("amcr:typ_zmeny", &[], &field("typ_zmeny"));
        w.end();
    }
    w.end();
    w.end();
    w.finish()
}

#[cfg(test)]
mod tests;
