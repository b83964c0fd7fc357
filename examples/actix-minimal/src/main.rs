//! authmount on actix-web: the AMCR token API, an app route that needs an AMCR token, and
//! two routes for admins only (a policy on a middleware, and an extractor).
//! `cargo run -p actix-minimal`, then log in as ann / "correct horse battery".

use actix_web::{App, HttpServer, web};
use authmount::authz::{Admin, Policy};
use authmount::dialect::Dialect;
use authmount::dialect::amcr::{Amcr, AmcrConfig};
use authmount::services::Services;
use authmount::user::NewUser;
use authmount_actix::{AuthMiddleware, AuthUser, Authorized, configure};

async fn hello(user: AuthUser) -> String {
    format!("hello, user {}\n", user.user_id())
}

/// Admins only, for one handler: others get 401/403 in the dialect's shape.
async fn admin_me(admin: Authorized<Admin>) -> String {
    format!("admin {}\n", admin.user_id())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    actix_web::rt::System::new().block_on(async {
        let services = Services::in_memory()?;
        let hash = services.passwords.hash_new_password("correct horse battery").await?;
        services
            .users
            .create(NewUser::new("ann", std::time::SystemTime::now()).with_password_hash(hash))
            .await?;

        let amcr = Amcr::new(services, AmcrConfig::default());
        let (api, gate) = (amcr.api(), amcr.gate());
        let server = HttpServer::new(move || {
            App::new()
                .configure(configure(api.clone()))
                .service(
                    web::resource("/hello")
                        .wrap(AuthMiddleware::new(gate.clone()))
                        .route(web::get().to(hello)),
                )
                .service(
                    web::resource("/admin/me")
                        .wrap(AuthMiddleware::new(gate.clone()))
                        .route(web::get().to(admin_me)),
                )
                // Admins only, for a whole scope.
                .service(
                    web::scope("/admin")
                        .wrap(AuthMiddleware::new(gate.clone()).require(Policy::admin()))
                        .route("/stats", web::get().to(|| async { "for admins\n" })),
                )
        })
        // The same limits as authmount_axum::serve: the request head within 5 s (idle kept-alive
        // connections close after as long), at most 25,000 connections per worker.
        .client_request_timeout(std::time::Duration::from_secs(5))
        .keep_alive(std::time::Duration::from_secs(5))
        .max_connections(25_000)
        .bind(("127.0.0.1", 8080))?;
        println!(
            "POST http://127.0.0.1:8080/api/token-auth/, then GET /hello with Authorization: Bearer <token>"
        );
        server.run().await?;
        Ok(())
    })
}
