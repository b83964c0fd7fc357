//! Real servers on 127.0.0.1 (ephemeral ports), one per adapter, serving the same [`TestApp`].

use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::thread;

use authmount::admin::AdminApi;
use authmount::api::{Api, Gate};
use authmount::authz::{Admin, Policy};
use authmount::dialect::Dialects;
use authmount::services::Services;
use authmount::store::UserStore;

use crate::client::Client;

/// What a server under test serves: the dialects' APIs and the app's own protected routes.
#[derive(Clone)]
pub struct TestApp {
    /// Mounted as they are.
    pub apis: Vec<Api>,
    /// Routes (any method) answering `{"id", "username"}` for the gate's authenticated user,
    /// each served with and without a trailing slash.
    pub whoami: Vec<(String, Gate)>,
    /// Admin-only app routes, one per dialect (and the multi-dialect gate): `{path}/layer`
    /// behind the middleware with [`Policy::admin`] required, `{path}/extractor` behind the
    /// plain middleware taking `Authorized<Admin>`. Both answer like whoami.
    pub admin_only: Vec<(String, Gate)>,
    /// `POST /api/meldeschein/` behind this gate: the `Meta` extractor, answering 201 with the
    /// meta object echoed.
    pub booking: Gate,
}

impl TestApp {
    /// Every dialect's endpoints, `/app/<name>/whoami` behind each dialect's gate,
    /// `/app/any/whoami` behind the gate that takes any dialect's token (loading users from
    /// `users`), and the Meldeschein booking route.
    pub fn new(dialects: &Dialects, services: &Services) -> Self {
        let users: Arc<dyn UserStore> = services.users.clone();
        let meldeschein = dialects.get("meldeschein").expect("the Meldeschein dialect is registered");
        let mut whoami: Vec<(String, Gate)> =
            dialects.iter().map(|d| (format!("/app/{}/whoami", d.name()), d.gate())).collect();
        let any = dialects.any_gate(users);
        whoami.push((ANY_WHOAMI_PATH.to_owned(), any.clone()));
        let mut apis = dialects.apis();
        apis.push(AdminApi::new(services.clone(), any.clone()).api());
        let mut admin_only: Vec<(String, Gate)> =
            dialects.iter().map(|d| (format!("/app/{}/admin", d.name()), d.gate())).collect();
        admin_only.push(("/app/any/admin".to_owned(), any));
        Self { apis, whoami, admin_only, booking: meldeschein.gate() }
    }
}

/// The whoami route that takes a token of any mounted dialect.
pub const ANY_WHOAMI_PATH: &str = "/app/any/whoami";

/// The path of the Meldeschein booking route.
pub const BOOKING_PATH: &str = "/api/meldeschein/";

fn booking_body(request: &authmount::dialect::meldeschein::MetaRequest) -> serde_json::Value {
    let meta = &request.meta;
    let mut echoed =
        serde_json::json!({"gemeinde": meta.gemeinde, "vermieter": meta.vermieter, "objekt": meta.objekt});
    if let Some(description) = &meta.description {
        echoed["description"] = description.clone().into();
    }
    serde_json::json!({"meta": echoed})
}

/// The two adapters every case runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// `authmount-axum`.
    Axum,
    /// `authmount-actix`.
    Actix,
}

impl Adapter {
    /// Both adapters, in the order cases run.
    pub const ALL: [Adapter; 2] = [Adapter::Axum, Adapter::Actix];
}

/// A running server; stopped when dropped.
pub struct Running {
    /// A recording client for the server.
    pub client: Client,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// Starts `app` on `adapter`.
pub async fn start(adapter: Adapter, app: TestApp) -> Running {
    let (addr, stop) = match adapter {
        Adapter::Axum => start_axum(app).await,
        Adapter::Actix => start_actix(app),
    };
    Running { client: Client::new(format!("http://{addr}")), stop: Some(stop) }
}

fn whoami_body(authenticated: &authmount::api::Authenticated) -> serde_json::Value {
    serde_json::json!({
        "id": authenticated.identity.user_id.0,
        "username": authenticated.user.as_ref().map(|u| u.username.clone()),
    })
}

fn json_reply(status: http::StatusCode, value: serde_json::Value) -> impl axum::response::IntoResponse {
    (status, [(http::header::CONTENT_TYPE, "application/json")], value.to_string())
}

async fn start_axum(app: TestApp) -> (SocketAddr, Box<dyn FnOnce() + Send>) {
    use authmount_axum::{AuthLayer, AuthUser, router};
    use axum::routing::any;

    let mut routes = axum::Router::new();
    for api in app.apis {
        routes = routes.merge(router(api));
    }
    for (path, gate) in app.whoami {
        let whoami =
            any(|user: AuthUser| async move { json_reply(http::StatusCode::OK, whoami_body(&user.0)) });
        let protected = axum::Router::new()
            .route(&path, whoami.clone())
            .route(&format!("{path}/"), whoami)
            .layer(AuthLayer::new(gate));
        routes = routes.merge(protected);
    }
    for (path, gate) in app.admin_only {
        let whoami =
            any(|user: AuthUser| async move { json_reply(http::StatusCode::OK, whoami_body(&user.0)) });
        let by_layer = axum::Router::new()
            .route(&format!("{path}/layer"), whoami)
            .layer(AuthLayer::new(gate.clone()).require(Policy::admin()));
        let by_extractor = axum::Router::new()
            .route(
                &format!("{path}/extractor"),
                any(|admin: authmount_axum::Authorized<Admin>| async move {
                    json_reply(http::StatusCode::OK, whoami_body(&admin.0))
                }),
            )
            .layer(AuthLayer::new(gate));
        routes = routes.merge(by_layer).merge(by_extractor);
    }
    let booking = axum::Router::new()
        .route(
            BOOKING_PATH,
            axum::routing::post(|authmount_axum::Meta(request): authmount_axum::Meta| async move {
                json_reply(http::StatusCode::CREATED, booking_body(&request))
            }),
        )
        .layer(AuthLayer::new(app.booking));
    routes = routes.merge(booking);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, routes.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
            .expect("axum serves");
    });
    (
        addr,
        Box::new(move || {
            let _ = stop_tx.send(());
        }),
    )
}

fn start_actix(app: TestApp) -> (SocketAddr, Box<dyn FnOnce() + Send>) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use authmount_actix::{AuthMiddleware, AuthUser, configure};

    let (ready_tx, ready_rx) = mpsc::channel();
    thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let server = HttpServer::new(move || {
                let mut application = App::new();
                for api in &app.apis {
                    application = application.configure(configure(api.clone()));
                }
                for (path, gate) in &app.whoami {
                    application = application.service(
                        web::resource([path.clone(), format!("{path}/")])
                            .wrap(AuthMiddleware::new(gate.clone()))
                            .route(web::route().to(|user: AuthUser| async move {
                                HttpResponse::Ok().json(whoami_body(&user.0))
                            })),
                    );
                }
                for (path, gate) in &app.admin_only {
                    application = application
                        .service(
                            web::resource(format!("{path}/layer"))
                                .wrap(AuthMiddleware::new(gate.clone()).require(Policy::admin()))
                                .route(web::route().to(|user: AuthUser| async move {
                                    HttpResponse::Ok().json(whoami_body(&user.0))
                                })),
                        )
                        .service(
                            web::resource(format!("{path}/extractor"))
                                .wrap(AuthMiddleware::new(gate.clone()))
                                .route(web::route().to(
                                    |admin: authmount_actix::Authorized<Admin>| async move {
                                        HttpResponse::Ok().json(whoami_body(&admin.0))
                                    },
                                )),
                        );
                }
                application.service(
                    web::resource(BOOKING_PATH).wrap(AuthMiddleware::new(app.booking.clone())).route(
                        web::post().to(|authmount_actix::Meta(request): authmount_actix::Meta| async move {
                            HttpResponse::Created().json(booking_body(&request))
                        }),
                    ),
                )
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("a free port");
            let addr = server.addrs()[0];
            let server = server.run();
            ready_tx.send((addr, server.handle())).expect("the test waits");
            server.await.expect("actix serves");
        });
    });
    let (addr, handle) = ready_rx.recv().expect("the actix server starts");
    (addr, Box::new(move || drop(handle.stop(false))))
}
