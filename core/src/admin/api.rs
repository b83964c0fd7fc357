//! [`AdminApi`]: the account operations over HTTP, for administrators, in DRF's shape.

use std::sync::Arc;

use http::header::HeaderValue;
use http::request::Parts;
use http::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use super::{AccountError, Accounts, Actor};
use crate::api::{Api, ApiError, ApiRequest, Gate, HandlerResult, Refusal, Reply, Route};
use crate::authz::{PERMISSION_DENIED, Policy};
use crate::codec::BodyFormat;
use crate::dialect::drf::{self, DrfRenderer, FieldErrors};
use crate::dialect::kit::store_error;
use crate::services::Services;
use crate::store::UserQuery;
use crate::time_format::rfc3339;
use crate::user::{User, UserId};

/// Where the users are listed; each user's actions are under `{USERS_PATH}{id}/`.
pub const USERS_PATH: &str = "/api/admin/users/";
/// The largest `per_page` a listing accepts.
pub const MAX_PER_PAGE: u32 = 100;
const DEFAULT_PER_PAGE: u32 = 20;
/// The most groups a user may be given at once, and the longest group name (Django's).
const MAX_GROUPS: usize = 100;
const MAX_GROUP_NAME: usize = 150;
const MAX_SEARCH: usize = 254;
const NOT_FOUND: &str = "Not found.";

/// The administration API, JSON in Django REST framework's shapes, for administrators only
/// ([`Policy::admin`]): any token the given gate accepts (such as a
/// [multi-dialect gate](crate::dialect::Dialects::any_gate)) of a user with the admin or
/// superuser flag. Anonymous requests get 401, other users 403
/// `{"detail": "You do not have permission to perform this action."}`; a malformed request (a
/// bad page, id or group list) is refused with 400 and changes nothing.
///
/// | route | answer |
/// |---|---|
/// | `GET /api/admin/users/?page=&per_page=&q=` | 200 `{"count", "page", "per_page", "next", "previous", "results": [user]}`, users in id order, `q` a part of the username or e-mail; `per_page` 1–100 (default 20); a page past the last 404 `{"detail": "Invalid page."}` |
/// | `GET /api/admin/users/{id}/` | 200 user, or 404 `{"detail": "Not found."}` |
/// | `POST …/{id}/deactivate/` | deactivates and ends every session → 200 user |
/// | `POST …/{id}/activate/` | 200 user |
/// | `POST …/{id}/sessions/revoke/` | ends every token, session and refresh family → 200 `{"revoked": n}` |
/// | `POST …/{id}/unlock/` | clears the lockout → 200 user |
/// | `POST …/{id}/groups/` `{"groups": ["…"]}` | replaces the groups → 200 user |
///
/// A user is `{"id", "username", "email", "first_name", "last_name", "is_active", "is_admin",
/// "is_superuser", "groups", "date_joined"}`: never a password hash or the attribute map.
/// Each action is an audit event naming the acting administrator.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::admin::AdminApi;
/// use authmount::dialect::amcr::{Amcr, AmcrConfig};
/// use authmount::dialect::Dialect;
/// use authmount::services::Services;
///
/// let services = Services::in_memory()?;
/// let amcr = Amcr::new(services.clone(), AmcrConfig::default());
/// let admin = AdminApi::new(services, amcr.gate()).api(); // mount it beside the dialects
/// let (head, ()) = http::Request::get("/api/admin/users/").body(()).unwrap().into_parts();
/// let index = admin.routes().iter().position(|r| r.match_path(head.uri.path()).is_some()).unwrap();
/// let response = admin.call(index, head, authmount::api::RequestBody::Complete(Default::default())).await;
/// assert_eq!(response.status(), 401);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct AdminApi {
    inner: Arc<Inner>,
}

struct Inner {
    accounts: Accounts,
    services: Services,
    gate: Gate,
    policy: Policy,
    renderer: Arc<DrfRenderer>,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi").field("policy", &self.inner.policy).finish_non_exhaustive()
    }
}

type Action =
    fn(Arc<Inner>, UserId, Actor, ApiRequest) -> futures_util::future::BoxFuture<'static, HandlerResult>;

impl AdminApi {
    /// The API over `services`, accepting the tokens `gate` accepts.
    pub fn new(services: Services, gate: Gate) -> Self {
        let renderer = Arc::new(DrfRenderer::new(HeaderValue::from_static("Bearer")));
        let inner = Inner {
            accounts: Accounts::new(services.clone()),
            services,
            gate,
            policy: Policy::admin(),
            renderer,
        };
        Self { inner: Arc::new(inner) }
    }

    /// The routes to mount.
    pub fn api(&self) -> Api {
        let inner = &self.inner;
        let user_route = |suffix: &str, method: Method, action: Action| {
            Route::stateful(
                format!("{USERS_PATH}{{id}}/{suffix}"),
                &[method],
                Arc::clone(inner),
                move |inner, request| run(inner, request, action),
            )
        };
        Api::new("admin", inner.renderer.clone())
            .route(Route::stateful(USERS_PATH, &[Method::GET], Arc::clone(inner), Inner::list))
            .route(user_route("", Method::GET, |inner, id, _, _| {
                Box::pin(async move { inner.detail(id).await })
            }))
            .route(user_route("deactivate/", Method::POST, |inner, id, by, _| {
                Box::pin(async move { inner.answer(inner.accounts.deactivate(id, &by)).await })
            }))
            .route(user_route("activate/", Method::POST, |inner, id, by, _| {
                Box::pin(async move { inner.answer(inner.accounts.activate(id, &by)).await })
            }))
            .route(user_route("sessions/revoke/", Method::POST, |inner, id, by, _| {
                Box::pin(async move {
                    let revoked =
                        inner.accounts.revoke_sessions(id, &by).await.map_err(|e| inner.refusal(e))?;
                    Ok(Reply::json(StatusCode::OK, &json!({ "revoked": revoked })).no_store().into_response())
                })
            }))
            .route(user_route("unlock/", Method::POST, |inner, id, by, _| {
                Box::pin(async move { inner.answer(inner.accounts.unlock(id, &by)).await })
            }))
            .route(user_route("groups/", Method::POST, |inner, id, by, request| {
                Box::pin(async move { inner.set_groups(id, by, request).await })
            }))
    }
}

/// Checks the administrator, parses the id, then runs `action`.
async fn run(inner: Arc<Inner>, request: ApiRequest, action: Action) -> HandlerResult {
    let by = inner.administrator(&request.head).await?;
    let id = request.params.get("id").and_then(|id| id.parse::<i64>().ok()).filter(|id| *id > 0);
    let Some(id) = id else {
        return Err(bad_request(drf::detail("A user id is a positive whole number.")));
    };
    action(inner, UserId(id), by, request).await
}

fn bad_request(body: Value) -> Refusal {
    Refusal::Shaped(Reply::json(StatusCode::BAD_REQUEST, &body).into_response())
}

fn not_found(message: &str) -> Refusal {
    Refusal::Shaped(Reply::json(StatusCode::NOT_FOUND, &drf::detail(message)).into_response())
}

impl Inner {
    /// The acting administrator, or the refusal: 401 (the gate's reason), 403.
    async fn administrator(&self, head: &Parts) -> Result<Actor, Refusal> {
        let user = self.gate.require_user(head).await?;
        if !self.policy.allows(&user) {
            return Err(ApiError::Forbidden(PERMISSION_DENIED).into());
        }
        Ok(Actor::admin(user.id, self.services.client_ip(head)))
    }

    fn refusal(&self, error: AccountError) -> Refusal {
        match error {
            AccountError::NotFound => not_found(NOT_FOUND),
            AccountError::Store(error) => store_error(error).into(),
        }
    }

    /// The user an operation left, or its refusal.
    async fn answer(&self, operation: impl Future<Output = Result<User, AccountError>>) -> HandlerResult {
        let user = operation.await.map_err(|error| self.refusal(error))?;
        Ok(Reply::json(StatusCode::OK, &user_json(&user)).no_store().into_response())
    }

    async fn detail(&self, id: UserId) -> HandlerResult {
        self.answer(self.accounts.get(id)).await
    }

    async fn list(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        self.administrator(&request.head).await?;
        let page = Page::parse(request.head.uri.query().unwrap_or_default()).map_err(bad_request)?;
        let offset = u64::from(page.per_page) * (page.page - 1);
        let mut query = UserQuery::new(offset, page.per_page);
        query.search = page.search.clone();
        let found = self.accounts.list(&query).await.map_err(|error| self.refusal(error))?;
        if page.page > 1 && offset >= found.total {
            return Err(not_found("Invalid page."));
        }
        let link = |n: u64| Value::String(page.link(n));
        let body = json!({
            "count": found.total,
            "page": page.page,
            "per_page": page.per_page,
            "next": if offset + u64::from(page.per_page) < found.total { link(page.page + 1) } else { Value::Null },
            "previous": if page.page > 1 { link(page.page - 1) } else { Value::Null },
            "results": found.users.iter().map(user_json).collect::<Vec<_>>(),
        });
        Ok(Reply::json(StatusCode::OK, &body).no_store().into_response())
    }

    async fn set_groups(&self, id: UserId, by: Actor, request: ApiRequest) -> HandlerResult {
        let decoded = request.decode(&[BodyFormat::Json]).await.map_err(ApiError::Codec)?;
        let groups = parse_groups(&decoded.fields).map_err(|errors| bad_request(errors.into_value()))?;
        self.answer(self.accounts.set_groups(id, groups, &by)).await
    }
}

/// The user as the API shows it: no password hash, no attributes.
fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.0,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_admin": user.is_admin,
        "is_superuser": user.is_superuser,
        "groups": user.groups,
        "date_joined": rfc3339(user.created_at),
    })
}

/// `{"groups": ["name", …]}`: at most [`MAX_GROUPS`] names of 1 to [`MAX_GROUP_NAME`]
/// characters (trimmed), duplicates dropped.
fn parse_groups(fields: &Map<String, Value>) -> Result<Vec<String>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut groups = Vec::new();
    match fields.get("groups") {
        None => errors.add("groups", drf::REQUIRED),
        Some(Value::Array(items)) if items.len() > MAX_GROUPS => {
            errors.add("groups", format!("Ensure this field has no more than {MAX_GROUPS} elements."));
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().map(str::trim) {
                    Some(name) if !name.is_empty() && name.chars().count() <= MAX_GROUP_NAME => {
                        if !groups.iter().any(|group| group == name) {
                            groups.push(name.to_owned());
                        }
                    }
                    _ => {
                        let message = format!("Each group is a name of 1 to {MAX_GROUP_NAME} characters.");
                        errors.add("groups", message);
                        break;
                    }
                }
            }
        }
        Some(_) => errors.add("groups", "Expected a list of items."),
    }
    if errors.is_empty() { Ok(groups) } else { Err(errors) }
}

/// The listing's query string.
#[derive(Debug, PartialEq)]
struct Page {
    page: u64,
    per_page: u32,
    search: Option<String>,
}

impl Page {
    fn parse(query: &str) -> Result<Self, Value> {
        let mut page = Self { page: 1, per_page: DEFAULT_PER_PAGE, search: None };
        let mut errors = FieldErrors::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned();
            match key {
                "page" => match value.parse::<u64>() {
                    Ok(number) if number >= 1 => page.page = number,
                    _ => errors.add("page", "A page is a whole number from 1."),
                },
                "per_page" => match value.parse::<u32>() {
                    Ok(number) if (1..=MAX_PER_PAGE).contains(&number) => page.per_page = number,
                    _ => errors
                        .add("per_page", format!("per_page is a whole number from 1 to {MAX_PER_PAGE}.")),
                },
                "q" if value.chars().count() > MAX_SEARCH => {
                    errors.add("q", format!("Ensure this field has no more than {MAX_SEARCH} characters."));
                }
                "q" => page.search = Some(value).filter(|q| !q.trim().is_empty()),
                _ => {}
            }
        }
        if errors.is_empty() { Ok(page) } else { Err(errors.into_value()) }
    }

    /// The listing's URL for page `number`, with the same size and search.
    fn link(&self, number: u64) -> String {
        let mut link = format!("{USERS_PATH}?page={number}&per_page={}", self.per_page);
        if let Some(search) = &self.search {
            let encoded = percent_encoding::utf8_percent_encode(search, percent_encoding::NON_ALPHANUMERIC);
            link.push_str(&format!("&q={encoded}"));
        }
        link
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parameters_are_checked() {
        assert_eq!(Page::parse(""), Ok(Page { page: 1, per_page: 20, search: None }));
        assert_eq!(
            Page::parse("page=3&per_page=100&q=Ann%40Example+org&other=x"),
            Ok(Page { page: 3, per_page: 100, search: Some("Ann@Example org".into()) })
        );
        for bad in ["page=0", "page=-1", "page=x", "per_page=0", "per_page=101", "per_page=1.5"] {
            assert!(Page::parse(bad).is_err(), "{bad}");
        }
        assert!(Page::parse(&format!("q={}", "a".repeat(255))).is_err());
        assert_eq!(Page::parse("q=+").map(|p| p.search), Ok(None), "a blank search lists everyone");
    }

    #[test]
    fn group_lists_are_checked() {
        let groups = |value: Value| parse_groups(value.as_object().expect("object"));
        assert_eq!(
            groups(json!({"groups": [" a ", "b", "a"]})).ok(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(groups(json!({"groups": []})).ok(), Some(vec![]));
        for bad in [json!({}), json!({"groups": "a"}), json!({"groups": [1]}), json!({"groups": [""]})] {
            assert!(groups(bad.clone()).is_err(), "{bad}");
        }
        assert!(groups(json!({"groups": vec!["g"; 101]})).is_err());
        assert!(groups(json!({"groups": ["x".repeat(151)]})).is_err());
    }
}
