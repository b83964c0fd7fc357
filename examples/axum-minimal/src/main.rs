//! authmount on axum: the AMCR token API, an app route that needs an AMCR token, and two
//! routes for admins only (a policy on a layer, and an extractor).
//! `cargo run -p axum-minimal`, then log in as ann / "correct horse battery".

use authmount::authz::{Admin, Policy};
use authmount::dialect::Dialect;
use authmount::dialect::amcr::{Amcr, AmcrConfig};
use authmount::services::Services;
use authmount::user::NewUser;
use authmount_axum::{AuthLayer, AuthUser, Authorized, ServeLimits, router, serve};
use axum::{Router, routing::get};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let services = Services::in_memory()?;
    let hash = services.passwords.hash_new_password("correct horse battery").await?;
    services.users.create(NewUser::new("ann", std::time::SystemTime::now()).with_password_hash(hash)).await?;

    let amcr = Amcr::new(services, AmcrConfig::default());
    // Admins only, for a whole router: others get 401/403 in the dialect's shape.
    let admin = Router::new()
        .route("/admin/stats", get(|| async { "for admins\n" }))
        .layer(AuthLayer::new(amcr.gate()).require(Policy::admin()));
    let app = Router::new()
        .route("/hello", get(|user: AuthUser| async move { format!("hello, user {}\n", user.user_id()) }))
        // Admins only, for one handler.
        .route(
            "/admin/me",
            get(|admin: Authorized<Admin>| async move { format!("admin {}\n", admin.user_id()) }),
        )
        .layer(AuthLayer::new(amcr.gate()))
        .merge(admin)
        .merge(router(amcr.api()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!(
        "POST http://{}/api/token-auth/, then GET /hello with Authorization: Bearer <token>",
        listener.local_addr()?
    );
    // `serve` closes connections that send half a request header (after 5 s), bounds body
    // reads (10 s) and open connections (25,000), and drains in-flight requests on Ctrl-C.
    let shutdown = async { tokio::signal::ctrl_c().await.unwrap_or(()) };
    serve(listener, app, ServeLimits::default(), shutdown).await?;
    Ok(())
}
