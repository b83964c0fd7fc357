//! The custom-store demo: the AMCR token API on axum over [`JsonUserStore`] and the
//! [`LegacyAwareHasher`], with tokens and counters in memory.
//!
//! ```text
//! cargo run -p custom-store [-- USERS_FILE]
//! ```
//!
//! It listens on `127.0.0.1:8080`, or on the address in `CUSTOM_STORE_ADDR`.
//!
//! Without an argument the users live in `custom-store-users.json` in the system's temporary
//! directory, seeded from the sample `users.json` next to this crate's manifest the first time
//! (so running the demo never changes the committed sample). Log in as `ann` (legacy Django
//! PBKDF2 hash) or `bob` (argon2id); the passwords are in the example's README. After Ann's first
//! login her entry in the file holds an argon2id hash.

use std::path::PathBuf;
use std::sync::Arc;

use authmount::dialect::Dialect;
use authmount::dialect::amcr::{Amcr, AmcrConfig, TOKEN_AUTH_PATH, USER_INFO_PATH};
use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
use authmount::services::Services;
use authmount::store::{MemoryCounterStore, MemoryTokenStore};
use authmount_axum::{AuthLayer, AuthUser, router};
use axum::{Router, routing::get};
use custom_store::{JsonUserStore, LegacyAwareHasher};

/// The sample users: one with a Django PBKDF2 hash, one with an argon2id hash.
const SAMPLE_USERS: &str = include_str!("../users.json");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => seed_sample(std::env::temp_dir().join("custom-store-users.json"))?,
    };
    let users = Arc::new(JsonUserStore::open(&path)?);

    let argon2 = Argon2idHasher::new(Argon2Params::default())?;
    let services =
        Services::new(users, Arc::new(MemoryTokenStore::new()), Arc::new(MemoryCounterStore::new()))?
            .with_passwords(PasswordService::new(Arc::new(LegacyAwareHasher::new(argon2))));

    let amcr = Amcr::new(services, AmcrConfig::default());
    let app = Router::new()
        .route("/hello", get(|user: AuthUser| async move { format!("hello, user {}\n", user.user_id()) }))
        .layer(AuthLayer::new(amcr.gate()))
        .merge(router(amcr.api()));

    let address = std::env::var("CUSTOM_STORE_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let address = listener.local_addr()?;
    println!("users from {}", path.display());
    println!("POST http://{address}{TOKEN_AUTH_PATH} {{\"username\": \"ann\", \"password\": ...}}");
    println!("then GET {USER_INFO_PATH} or /hello with Authorization: Bearer <token>");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Writes the sample users to `path` unless a file is already there; returns `path`.
fn seed_sample(path: PathBuf) -> std::io::Result<PathBuf> {
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut file) => std::io::Write::write_all(&mut file, SAMPLE_USERS.as_bytes())?,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    Ok(path)
}
