//! The black-box suite: every dialect, hostile inputs, shared stores and real clients, against
//! real axum and actix-web servers. Each module is one area; they share one binary to keep
//! builds small (see `Cargo.toml`).

mod admin;
mod amcr;
mod cached_instances;
mod fail_closed;
mod hostile_accounts;
mod hostile_bodies;
mod hostile_headers;
mod hostile_tokens;
mod lockout;
mod meldeschein;
mod minisass;
mod minisass_account;
mod minisass_clients;
mod multi_instance;
mod oz;
mod oz_clients;
mod readme;
mod seed_clients;
mod tdar;
mod tdar_clients;
mod toy_dialect;
