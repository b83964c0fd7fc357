//! `authmount-demo users ...`: the admin API's account actions from the command line
//! (`authmount::admin::Accounts`), on the stores named by `--users` and `--tokens`.
//!
//! A running server sees the change at once when it shares PostgreSQL or Redis with this
//! command (the change is published on the same invalidation bus its read cache listens to);
//! on SQLite it sees it within its cache's `max_staleness` (5 s by default).

use std::io::Write;

use authmount::admin::{AccountError, Accounts, Actor};
use authmount::cache::{ReadCache, ReadCacheConfig};
use authmount::services::Services;
use authmount::store::UserQuery;
use authmount::user::User;

use crate::DemoError;
use crate::cli::UsersAction;
use crate::stores::{StoreSpec, Stores, invalidation_bus};

/// Runs `action` and writes its outcome to `out`.
pub fn run(
    users: &StoreSpec,
    tokens: &StoreSpec,
    action: &UsersAction,
    out: &mut dyn Write,
) -> Result<(), DemoError> {
    if !users.is_persistent() {
        return Err(DemoError::Usage(format!(
            "users needs a persistent user store, not {users}: give --users sqlite:PATH or postgres://..."
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| DemoError::Other(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let stores = Stores::open(users, tokens).await?;
        let services = Services::new(stores.users.clone(), stores.tokens.clone(), stores.counters.clone())
            .map_err(DemoError::Password)?;
        // Publish each change to the running servers' caches where they share a bus.
        let cache = ReadCache::new(ReadCacheConfig::default());
        if let Some(bus) = invalidation_bus(users, tokens).await? {
            cache.attach(bus);
        }
        let services = services.with_read_cache(&cache);
        act(&Accounts::new(services.clone()), &services, action, out).await
    })
}

async fn act(
    accounts: &Accounts,
    services: &Services,
    action: &UsersAction,
    out: &mut dyn Write,
) -> Result<(), DemoError> {
    let by = Actor::command_line();
    let write = |out: &mut dyn Write, text: String| {
        out.write_all(text.as_bytes()).map_err(|error| DemoError::Other(format!("cannot write: {error}")))
    };
    let outcome = match action {
        UsersAction::List { search, limit, offset } => {
            let mut query = UserQuery::new(*offset, *limit);
            query.search = search.clone();
            let page = accounts.list(&query).await.map_err(failed)?;
            let mut text = format!(
                "{:>6}  {:<24} {:<32} {:<6} {:<5} groups\n",
                "id", "username", "email", "active", "admin"
            );
            for user in &page.users {
                text.push_str(&line(user));
            }
            text.push_str(&format!("{} of {} users\n", page.users.len(), page.total));
            return write(out, text);
        }
        UsersAction::Deactivate { login } => {
            let user = find(services, login).await?;
            accounts
                .deactivate(user.id, &by)
                .await
                .map(|user| (user, "deactivated; every session ended".to_owned()))
        }
        UsersAction::Activate { login } => {
            let user = find(services, login).await?;
            accounts.activate(user.id, &by).await.map(|user| (user, "activated".to_owned()))
        }
        UsersAction::Unlock { login } => {
            let user = find(services, login).await?;
            accounts.unlock(user.id, &by).await.map(|user| (user, "unlocked".to_owned()))
        }
        UsersAction::RevokeSessions { login } => {
            let user = find(services, login).await?;
            let revoked = accounts.revoke_sessions(user.id, &by).await;
            revoked.map(|n| (user, format!("{n} tokens and sessions ended")))
        }
    };
    let (user, done) = outcome.map_err(failed)?;
    write(out, format!("{} (id {}): {done}\n", user.username, user.id.0))
}

/// The user with this username or e-mail address.
async fn find(services: &Services, login: &str) -> Result<User, DemoError> {
    services
        .users
        .find_by_login(login)
        .await
        .map_err(|error| failed(error.into()))?
        .ok_or_else(|| DemoError::Other(format!("no user has the login {login:?}")))
}

fn line(user: &User) -> String {
    format!(
        "{:>6}  {:<24} {:<32} {:<6} {:<5} {}\n",
        user.id.0,
        user.username,
        user.email.as_deref().unwrap_or("-"),
        user.is_active,
        user.is_admin || user.is_superuser,
        user.groups.join(",")
    )
}

fn failed(error: AccountError) -> DemoError {
    DemoError::Other(format!("the stores failed: {error}"))
}
