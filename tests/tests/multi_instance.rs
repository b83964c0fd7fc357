//! Two instances of an app behind a load balancer: one served by axum, one by actix-web, each
//! with its own `Services` (own password service, own dialect values and so own verified-JWT
//! caches), sharing one PostgreSQL user store and one Redis token/counter store, or PostgreSQL
//! for both. What one instance issues or revokes holds on the other at once, and everything
//! survives a restart of both.
//!
//! Every case runs for both token backends and in both orders (A = axum, B = actix-web, then
//! the reverse). Needs `DATABASE_URL` and `REDIS_URL` (`scripts/test` sets them); without them
//! each test prints a notice and passes, except under `CI=true`, where it fails. Each test uses
//! a fresh PostgreSQL schema, a fresh Redis key prefix and random usernames.

use std::future::Future;
use std::time::Duration;

use authmount::user::User;
use authmount_conformance::PASSWORD;
use authmount_conformance::dialect_calls as calls;
use authmount_conformance::fixture::MINISASS_RESET_BASE;
use authmount_conformance::servers::{self, Adapter, Running};
use authmount_conformance::shared_stores::{
    Accounts, Instance, Names, ServiceUrls, Stores, TokenBackend, seed_accounts, service_urls,
};
use authmount_conformance::{Client, Response};
use serde_json::json;

/// The two running instances of one deployment.
struct Two {
    /// Instance A's server.
    a: Client,
    /// Instance B's server (the other adapter).
    b: Client,
    /// Instance A (its outbox receives the reset mails A sends).
    a_instance: Instance,
    /// The accounts, created for this run.
    accounts: Accounts,
    /// The adapters serving A and B.
    adapters: (Adapter, Adapter),
}

impl Two {
    fn ann(&self) -> &User {
        &self.accounts.ann
    }

    fn ann_name(&self) -> String {
        self.accounts.ann.username.clone()
    }
}

/// Runs `case` for A = axum, B = actix-web and then the reverse, on a fresh deployment of
/// `backend` (new schema and prefix; new accounts for each order).
async fn on_two_instances<F, Fut>(backend: TokenBackend, case: F)
where
    F: Fn(Two) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(urls) = service_urls() else {
        return;
    };
    let names = Names::fresh();
    for adapters in [(Adapter::Axum, Adapter::Actix), (Adapter::Actix, Adapter::Axum)] {
        // Two connections of each kind, as two processes would have.
        let stores_a = Stores::connect(&urls, &names, backend).await;
        let stores_b = Stores::connect(&urls, &names, backend).await;
        let accounts = seed_accounts(stores_a.users.as_ref()).await;
        let a_instance = Instance::new(&stores_a);
        let b_instance = Instance::new(&stores_b);
        let a = servers::start(adapters.0, a_instance.app.clone()).await;
        let b = servers::start(adapters.1, b_instance.app.clone()).await;
        let two = Two { a: a.client.clone(), b: b.client.clone(), a_instance, accounts, adapters };
        eprintln!("{backend:?} tokens, A = {:?}, B = {:?}", adapters.0, adapters.1);
        case(two).await;
        drop((a, b));
    }
    names.drop_schema(&urls.database).await;
}

#[track_caller]
fn assert_refused(response: &Response, what: &str) {
    assert!(
        matches!(response.status, 401 | 403),
        "{what}: expected a refusal (401/403), got {} {}",
        response.status,
        response.text()
    );
}

fn whoami_is(response: &Response, user: &User) {
    response.assert_status(200);
    assert_eq!(response.json(), json!({"id": user.id.0, "username": user.username}));
}

// ---- tokens issued on A work on B ----------------------------------------------------------

async fn tokens_cross_instances(t: Two) {
    let (name, ann) = (t.ann_name(), t.ann().clone());

    let amcr = calls::amcr_token(&t.a, &name, PASSWORD).await;
    let info = calls::amcr_user_info(&t.b, &amcr).await;
    info.assert_status(200);
    assert!(info.text().contains(&format!("<amcr:email>{name}@example.org</amcr:email>")), "{}", info.text());

    let jwt = calls::meldeschein_token(&t.a, &name, PASSWORD).await;
    let config = calls::meldeschein_config(&t.b, &jwt).await;
    config.assert_status(200);
    assert!(config.text().contains(&name), "{}", config.text());

    let oz = calls::oz_token(&t.a, &name, PASSWORD).await;
    whoami_is(&calls::oz_whoami(&t.b, &oz).await, &ann);

    let key = calls::tdar_key(&t.a, &name, PASSWORD).await;
    whoami_is(&calls::tdar_whoami(&t.b, &key).await, &ann);

    let (access, refresh) = calls::minisass_pair(&t.a, &name, PASSWORD).await;
    let status = calls::minisass_status(&t.b, &access).await;
    status.assert_status(200);
    assert_eq!(status.json()["username"], name.as_str());
    // A refresh token issued on A rotates on B, and B's new access token works on A.
    let rotated = calls::minisass_refresh(&t.b, &refresh).await;
    rotated.assert_status(200);
    let newer = rotated.json()["access"].as_str().expect("access").to_owned();
    calls::minisass_status(&t.a, &newer).await.assert_status(200);

    // And the other way round: B issues, A accepts.
    let amcr = calls::amcr_token(&t.b, &name, PASSWORD).await;
    calls::amcr_user_info(&t.a, &amcr).await.assert_status(200);
    let jwt = calls::meldeschein_token(&t.b, &name, PASSWORD).await;
    calls::meldeschein_config(&t.a, &jwt).await.assert_status(200);
}

#[tokio::test]
async fn tokens_issued_on_one_instance_work_on_the_other_redis() {
    on_two_instances(TokenBackend::Redis, tokens_cross_instances).await;
}

#[tokio::test]
async fn tokens_issued_on_one_instance_work_on_the_other_postgres() {
    on_two_instances(TokenBackend::Postgres, tokens_cross_instances).await;
}

// ---- a logout on A is refused on B at once ---------------------------------------------------

async fn logout_crosses_instances(t: Two) {
    let name = t.ann_name();

    // tDAR: B has seen the session (and slid it), A ends it, B refuses it on the next request.
    let key = calls::tdar_key(&t.a, &name, PASSWORD).await;
    whoami_is(&calls::tdar_whoami(&t.b, &key).await, t.ann());
    calls::tdar_logout(&t.a, &key).await.assert_status(200);
    let refused = calls::tdar_whoami(&t.b, &key).await;
    refused.assert_status(403);
    assert!(refused.text().contains("<tdar:errors>"), "{}", refused.text());

    // miniSASS: B has verified (and cached) the access token; A's logout ends the session, so
    // B refuses the access token and the refresh token at once.
    let (access, refresh) = calls::minisass_pair(&t.a, &name, PASSWORD).await;
    calls::minisass_status(&t.b, &access).await.assert_status(200);
    let logout = calls::minisass_logout(&t.a, &access, &refresh).await;
    logout.assert_status(200);
    assert_eq!(logout.json(), json!({"message": "Logout successful"}));
    let status = calls::minisass_status(&t.b, &access).await;
    status.assert_status(401);
    assert_eq!(status.json()["code"], "token_not_valid");
    let refreshed = calls::minisass_refresh(&t.b, &refresh).await;
    refreshed.assert_status(401);
    assert_eq!(refreshed.json(), json!({"detail": "Token is blacklisted", "code": "token_not_valid"}));
    // The logout on A ended only that session: a new login on B works.
    let (access, _) = calls::minisass_pair(&t.b, &name, PASSWORD).await;
    calls::minisass_status(&t.a, &access).await.assert_status(200);
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other_at_once_redis() {
    on_two_instances(TokenBackend::Redis, logout_crosses_instances).await;
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other_at_once_postgres() {
    on_two_instances(TokenBackend::Postgres, logout_crosses_instances).await;
}

// ---- refresh-token reuse detected on A revokes the family on B ------------------------------

async fn reuse_crosses_instances(t: Two) {
    let name = t.ann_name();
    let (first_access, first_refresh) = calls::minisass_pair(&t.a, &name, PASSWORD).await;
    let rotated = calls::minisass_refresh(&t.a, &first_refresh).await;
    rotated.assert_status(200);
    let body = rotated.json();
    let newer_access = body["access"].as_str().expect("access").to_owned();
    let newer_refresh = body["refresh"].as_str().expect("refresh").to_owned();
    // B verifies (and caches) the newer access token.
    calls::minisass_status(&t.b, &newer_access).await.assert_status(200);

    // The spent refresh token is presented again on A: a replay, the session is revoked.
    calls::minisass_refresh(&t.a, &first_refresh).await.assert_status(401);

    // B refuses the newer tokens at once, and the older access token too.
    let status = calls::minisass_status(&t.b, &newer_access).await;
    status.assert_status(401);
    assert_eq!(status.json()["code"], "token_not_valid");
    calls::minisass_status(&t.b, &first_access).await.assert_status(401);
    calls::minisass_refresh(&t.b, &newer_refresh).await.assert_status(401);
    whoami_refused_on_minisass_gate(&t.b, &newer_access).await;
}

async fn whoami_refused_on_minisass_gate(client: &Client, access: &str) {
    let response =
        client.get("/app/minisass/whoami").header("authorization", format!("Bearer {access}")).send().await;
    response.assert_status(401);
}

#[tokio::test]
async fn refresh_reuse_on_one_instance_revokes_the_family_on_the_other_redis() {
    on_two_instances(TokenBackend::Redis, reuse_crosses_instances).await;
}

#[tokio::test]
async fn refresh_reuse_on_one_instance_revokes_the_family_on_the_other_postgres() {
    on_two_instances(TokenBackend::Postgres, reuse_crosses_instances).await;
}

// ---- a password reset on A ends access on B --------------------------------------------------

async fn reset_crosses_instances(t: Two) {
    let name = t.ann_name();
    let email = t.ann().email.clone().expect("ann has an address");
    // Sessions of every kind, used on B first (B's caches are warm).
    let (access, refresh) = calls::minisass_pair(&t.a, &name, PASSWORD).await;
    calls::minisass_status(&t.b, &access).await.assert_status(200);
    let amcr = calls::amcr_token(&t.a, &name, PASSWORD).await;
    calls::amcr_user_info(&t.b, &amcr).await.assert_status(200);
    let key = calls::tdar_key(&t.a, &name, PASSWORD).await;
    calls::tdar_whoami(&t.b, &key).await.assert_status(200);
    let jwt = calls::meldeschein_token(&t.a, &name, PASSWORD).await;
    calls::meldeschein_config(&t.b, &jwt).await.assert_status(200);

    // The reset, on A: request the link, follow it with a new password.
    t.a.post(calls::MINISASS_REQUEST_RESET).json(&json!({ "email": email })).send().await.assert_status(200);
    let mails = t.a_instance.outbox.wait_for(1, Duration::from_secs(5)).await;
    let mail = mails.last().expect("a reset mail");
    let link = mail.text_body.lines().find(|l| l.starts_with(MINISASS_RESET_BASE)).expect("the link");
    let path = link.strip_prefix(MINISASS_RESET_BASE).unwrap_or_default();
    let new_password = "a brand new passphrase";
    let updated =
        t.a.post(&format!("/authentication/api/update-password-reset/{path}"))
            .json(&json!({ "newPassword": new_password }))
            .send()
            .await;
    updated.assert_status(200);
    assert_eq!(updated.json(), json!({"message": "Password updated successfully"}));

    // B: every earlier session of the user is over, at once.
    calls::minisass_status(&t.b, &access).await.assert_status(401);
    calls::minisass_refresh(&t.b, &refresh).await.assert_status(401);
    assert_refused(&calls::amcr_user_info(&t.b, &amcr).await, "AMCR token after the reset");
    assert_refused(&calls::tdar_whoami(&t.b, &key).await, "tDAR session after the reset");
    assert_refused(&calls::meldeschein_config(&t.b, &jwt).await, "Meldeschein JWT after the reset");
    // The old password is refused on B (B hashes with its own password service), the new works.
    calls::minisass_token_pair(&t.b, &name, PASSWORD).await.assert_status(401);
    let (access, _) = calls::minisass_pair(&t.b, &name, new_password).await;
    calls::minisass_status(&t.a, &access).await.assert_status(200);
}

#[tokio::test]
async fn a_password_reset_on_one_instance_ends_access_on_the_other_redis() {
    on_two_instances(TokenBackend::Redis, reset_crosses_instances).await;
}

#[tokio::test]
async fn a_password_reset_on_one_instance_ends_access_on_the_other_postgres() {
    on_two_instances(TokenBackend::Postgres, reset_crosses_instances).await;
}

// ---- tokens survive a restart of both instances ----------------------------------------------

/// Tokens of every dialect, issued before the restart.
struct Issued {
    amcr: String,
    meldeschein: String,
    oz: String,
    tdar: String,
    minisass: (String, String),
}

async fn issue_everything(client: &Client, name: &str) -> Issued {
    Issued {
        amcr: calls::amcr_token(client, name, PASSWORD).await,
        meldeschein: calls::meldeschein_token(client, name, PASSWORD).await,
        oz: calls::oz_token(client, name, PASSWORD).await,
        tdar: calls::tdar_key(client, name, PASSWORD).await,
        minisass: calls::minisass_pair(client, name, PASSWORD).await,
    }
}

async fn assert_all_work(client: &Client, issued: &Issued, ann: &User) {
    calls::amcr_user_info(client, &issued.amcr).await.assert_status(200);
    calls::meldeschein_config(client, &issued.meldeschein).await.assert_status(200);
    whoami_is(&calls::oz_whoami(client, &issued.oz).await, ann);
    whoami_is(&calls::tdar_whoami(client, &issued.tdar).await, ann);
    calls::minisass_status(client, &issued.minisass.0).await.assert_status(200);
}

async fn start_pair(urls: &ServiceUrls, names: &Names, backend: TokenBackend) -> (Running, Running) {
    let a = Instance::new(&Stores::connect(urls, names, backend).await);
    let b = Instance::new(&Stores::connect(urls, names, backend).await);
    (servers::start(Adapter::Axum, a.app).await, servers::start(Adapter::Actix, b.app).await)
}

async fn survive_restart(backend: TokenBackend) {
    let Some(urls) = service_urls() else {
        return;
    };
    let names = Names::fresh();
    let accounts = seed_accounts(Stores::connect(&urls, &names, backend).await.users.as_ref()).await;
    let name = accounts.ann.username.clone();

    let (a, b) = start_pair(&urls, &names, backend).await;
    let from_a = issue_everything(&a.client, &name).await;
    let from_b = issue_everything(&b.client, &name).await;
    assert_all_work(&b.client, &from_a, &accounts.ann).await;
    // Both servers stop; their services, pools and connections go with them.
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (a, b) = start_pair(&urls, &names, backend).await;
    for client in [&a.client, &b.client] {
        assert_all_work(client, &from_a, &accounts.ann).await;
        assert_all_work(client, &from_b, &accounts.ann).await;
    }
    // The refresh tokens too: rotate A's on the new B, B's on the new A.
    calls::minisass_refresh(&b.client, &from_a.minisass.1).await.assert_status(200);
    calls::minisass_refresh(&a.client, &from_b.minisass.1).await.assert_status(200);
    // A revocation made before the restart still holds after it.
    calls::tdar_logout(&a.client, &from_a.tdar).await.assert_status(200);
    drop((a, b));
    let (a, b) = start_pair(&urls, &names, backend).await;
    calls::tdar_whoami(&b.client, &from_a.tdar).await.assert_status(403);
    calls::tdar_whoami(&a.client, &from_b.tdar).await.assert_status(200);
    drop((a, b));
    names.drop_schema(&urls.database).await;
}

#[tokio::test]
async fn tokens_survive_a_restart_of_both_instances_redis() {
    survive_restart(TokenBackend::Redis).await;
}

#[tokio::test]
async fn tokens_survive_a_restart_of_both_instances_postgres() {
    survive_restart(TokenBackend::Postgres).await;
}

/// The deactivated account is refused on both instances, the same way (the stores share it).
async fn inactive_everywhere(t: Two) {
    let ivan = t.accounts.ivan.username.clone();
    for client in [&t.a, &t.b] {
        let response = calls::minisass_token_pair(client, &ivan, PASSWORD).await;
        response.assert_status(401);
        assert_eq!(response.json(), json!({"detail": "No active account found with the given credentials"}));
    }
    eprintln!("served by {:?}", t.adapters);
}

#[tokio::test]
async fn a_deactivated_account_is_refused_on_both_instances() {
    on_two_instances(TokenBackend::Redis, inactive_everywhere).await;
}
