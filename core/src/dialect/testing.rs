//! Test helpers shared by the dialect tests: services on a manual clock with fast hashing, and
//! calling an [`Api`] in process the way an adapter does.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::Value;

use crate::api::{Api, ApiResponse, RequestBody};
use crate::clock::ManualClock;
use crate::password::{Argon2Params, Argon2idHasher, PasswordService};
use crate::services::Services;
use crate::user::{NewUser, User};

/// The password every test user has.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// When the tests start: 2025-03-28T09:15:00Z.
pub(crate) const START: i64 = 1_743_153_300;

/// In-memory services on a manual clock, hashing with the fast test parameters.
pub(crate) fn services() -> (Services, ManualClock) {
    let clock = ManualClock::at_unix(START);
    let hasher = Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).expect("params");
    let services = Services::in_memory_with_clock(Arc::new(clock.clone()))
        .expect("services")
        .with_passwords(PasswordService::new(Arc::new(hasher)));
    (services, clock)
}

/// Stores `new` with [`PASSWORD`].
pub(crate) async fn add_user(services: &Services, new: NewUser) -> User {
    let hash = services.passwords.hash_new_password(PASSWORD).await.expect("hash");
    services.users.create(new.with_password_hash(hash)).await.expect("created")
}

/// A user named `name` created at [`START`].
pub(crate) fn new_user(name: &str) -> NewUser {
    NewUser::new(name, crate::clock::from_unix_seconds(START))
}

/// Calls the route of `api` whose pattern matches the request's path, as an adapter does.
pub(crate) async fn call(api: &Api, request: http::Request<Bytes>) -> ApiResponse {
    let (head, body) = request.into_parts();
    let index = api
        .routes()
        .iter()
        .position(|route| route.match_path(head.uri.path()).is_some())
        .unwrap_or_else(|| panic!("no route for {}", head.uri.path()));
    api.call(index, head, RequestBody::Complete(body)).await
}

/// A request with method, path, headers and body.
pub(crate) fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> http::Request<Bytes> {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::from(body.to_owned())).expect("request")
}

/// The body as text.
pub(crate) fn text(response: &ApiResponse) -> String {
    String::from_utf8(response.body().to_vec()).expect("utf-8 body")
}

/// The body as JSON.
pub(crate) fn json(response: &ApiResponse) -> Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|_| panic!("JSON body: {}", text(response)))
}

/// A header's value as text ("" when absent).
pub(crate) fn header(response: &ApiResponse, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Unused-time check helper: a `SystemTime` `seconds` after [`START`].
#[allow(dead_code)]
pub(crate) fn at(seconds: u64) -> SystemTime {
    crate::clock::from_unix_seconds(START) + std::time::Duration::from_secs(seconds)
}
