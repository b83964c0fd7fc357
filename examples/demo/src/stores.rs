//! Which stores hold users and tokens: `--users` and `--tokens` take `sqlite:PATH`,
//! `postgres://...`, `redis://...` (tokens only) or `memory`.
//!
//! A store named by both flags is opened once and backs both ports (one connection pool).
//! Lockout counters live with the tokens.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use authmount::cache::InvalidationBus;
use authmount::store::{
    CounterStore, MemoryCounterStore, MemoryTokenStore, MemoryUserStore, TokenStore, UserStore,
};
use authmount_redis::{RedisBus, RedisStore};
use authmount_sqlx::{PostgresBus, PostgresStore, SqliteStore};

use crate::DemoError;

/// The default of `--users` and `--tokens`: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:authmount-demo.db";

const REDIS_USERS: &str =
    "Redis stores tokens and counters only: give --users sqlite:PATH, postgres://... or memory";

/// A store named on the command line.
///
/// ```
/// use authmount_demo::stores::StoreSpec;
/// assert_eq!("memory".parse::<StoreSpec>()?, StoreSpec::Memory);
/// assert_eq!("sqlite:data/auth.db".parse::<StoreSpec>()?.sqlite_file().unwrap(), std::path::Path::new("data/auth.db"));
/// // Credentials in URLs are masked when printed:
/// let postgres: StoreSpec = "postgres://app:hunter2@db/auth".parse()?;
/// assert_eq!(postgres.to_string(), "postgres://app:****@db/auth");
/// assert!("mysql://db".parse::<StoreSpec>().is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// In process memory: gone when the server stops.
    Memory,
    /// A SQLite database, as a `sqlite:` URL.
    Sqlite(String),
    /// A PostgreSQL database, as a `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// A Redis server, as a `redis://` URL (tokens and counters only).
    Redis(String),
}

impl FromStr for StoreSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "memory" {
            Ok(Self::Memory)
        } else if text.starts_with("sqlite:") && text.len() > "sqlite:".len() {
            Ok(Self::Sqlite(text.to_owned()))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(text.to_owned()))
        } else if text.starts_with("redis://") || text.starts_with("redis+unix://") {
            Ok(Self::Redis(text.to_owned()))
        } else {
            Err(format!(
                "{:?} is not a store: use sqlite:PATH, postgres://..., redis://... (tokens only) or memory",
                StoreSpec::mask(text)
            ))
        }
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Sqlite(url) | Self::Postgres(url) | Self::Redis(url) => f.write_str(&Self::mask(url)),
        }
    }
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreSpec({self})")
    }
}

impl StoreSpec {
    /// Parses a `--users` value: like [`FromStr`], but Redis is refused (it holds tokens and
    /// counters only).
    ///
    /// ```
    /// use authmount_demo::stores::StoreSpec;
    /// assert!(StoreSpec::parse_users("redis://localhost").unwrap_err().contains("tokens and counters only"));
    /// ```
    pub fn parse_users(text: &str) -> Result<Self, String> {
        match text.parse()? {
            Self::Redis(_) => Err(REDIS_USERS.to_owned()),
            spec => Ok(spec),
        }
    }

    /// The database file of a `sqlite:` store (`None` for an in-memory SQLite database and for
    /// other stores).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let Self::Sqlite(url) = self else { return None };
        let rest = url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" || path.starts_with(":memory") {
            return None;
        }
        Some(PathBuf::from(path))
    }

    /// The folder of the SQLite database of `first`, else of `second`; else the working
    /// directory (an empty path): where the demo keeps its generated files (the JWT secret, the
    /// mail folder).
    pub fn folder_beside_database(first: &Self, second: &Self) -> PathBuf {
        let database = first.sqlite_file().or_else(|| second.sqlite_file());
        database.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
    }

    /// Whether the data survives a restart.
    pub fn is_persistent(&self) -> bool {
        match self {
            Self::Memory => false,
            Self::Sqlite(_) => self.sqlite_file().is_some(),
            Self::Postgres(_) | Self::Redis(_) => true,
        }
    }

    /// `url` with the password of its user-info part replaced by `****` (also for the SMTP URL
    /// of `[mail]`).
    pub(crate) fn mask(url: &str) -> String {
        let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
        match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****{}", &rest[at..]),
            None => url.to_owned(),
        }
    }
}

/// A user store that can tell whether it holds any user (the port cannot).
#[derive(Clone)]
enum UserBackend {
    Memory,
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

/// The opened stores, as the ports the dialects use.
#[derive(Clone)]
pub struct Stores {
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Tokens, sessions and revocations.
    pub tokens: Arc<dyn TokenStore>,
    /// Lockout and rate counters (beside the tokens).
    pub counters: Arc<dyn CounterStore>,
    backend: UserBackend,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// An opened store of any kind.
#[derive(Clone)]
enum Opened {
    Memory,
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
    Redis(Arc<RedisStore>),
}

async fn open(spec: &StoreSpec) -> Result<Opened, DemoError> {
    let what = || format!("cannot open the store {spec}");
    Ok(match spec {
        StoreSpec::Memory => Opened::Memory,
        StoreSpec::Sqlite(url) => {
            let file = spec.sqlite_file();
            let parent = file.as_deref().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty());
            if let Some(parent) = parent.filter(|parent| !parent.exists()) {
                return Err(DemoError::Usage(format!(
                    "{}: the directory {} does not exist",
                    what(),
                    parent.display()
                )));
            }
            Opened::Sqlite(Arc::new(
                SqliteStore::connect(url).await.map_err(|e| DemoError::store(what(), e))?,
            ))
        }
        StoreSpec::Postgres(url) => Opened::Postgres(Arc::new(
            PostgresStore::connect(url).await.map_err(|e| DemoError::store(what(), e))?,
        )),
        StoreSpec::Redis(url) => {
            Opened::Redis(Arc::new(RedisStore::connect(url).await.map_err(|e| DemoError::store(what(), e))?))
        }
    })
}

impl Stores {
    /// Opens the stores named by `--users` and `--tokens` (the same one once).
    pub async fn open(users: &StoreSpec, tokens: &StoreSpec) -> Result<Self, DemoError> {
        if let StoreSpec::Redis(_) = users {
            return Err(DemoError::Usage(REDIS_USERS.to_owned()));
        }
        let user_store = open(users).await?;
        let token_store = if users == tokens && !matches!(users, StoreSpec::Memory) {
            user_store.clone()
        } else {
            open(tokens).await?
        };
        let (users, backend): (Arc<dyn UserStore>, UserBackend) = match user_store {
            Opened::Memory => (Arc::new(MemoryUserStore::new()), UserBackend::Memory),
            Opened::Sqlite(store) => (store.clone(), UserBackend::Sqlite(store)),
            Opened::Postgres(store) => (store.clone(), UserBackend::Postgres(store)),
            Opened::Redis(_) => return Err(DemoError::Usage(REDIS_USERS.to_owned())),
        };
        let (tokens, counters): (Arc<dyn TokenStore>, Arc<dyn CounterStore>) = match token_store {
            Opened::Memory => (Arc::new(MemoryTokenStore::new()), Arc::new(MemoryCounterStore::new())),
            Opened::Sqlite(store) => (store.clone(), store),
            Opened::Postgres(store) => (store.clone(), store),
            Opened::Redis(store) => (store.clone(), store),
        };
        Ok(Self { users, tokens, counters, backend })
    }

    /// Opens only a user store (for `useradd`).
    pub async fn open_users(users: &StoreSpec) -> Result<Arc<dyn UserStore>, DemoError> {
        Ok(Self::open(users, &StoreSpec::Memory).await?.users)
    }

    /// Whether the user store holds no user at all.
    pub async fn users_empty(&self) -> Result<bool, DemoError> {
        use authmount_sqlx::sqlx;
        const ANY_USER: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS any_user";
        let what = || "cannot count the users".to_owned();
        let count: i64 = match &self.backend {
            // A memory store starts empty with the process.
            UserBackend::Memory => 0,
            UserBackend::Sqlite(store) => sqlx::query_scalar(ANY_USER)
                .fetch_one(store.pool())
                .await
                .map_err(|e| DemoError::store(what(), authmount::store::StoreError::backend(e)))?,
            UserBackend::Postgres(store) => sqlx::query_scalar(ANY_USER)
                .fetch_one(store.pool())
                .await
                .map_err(|e| DemoError::store(what(), authmount::store::StoreError::backend(e)))?,
        };
        Ok(count == 0)
    }
}

/// The bus that keeps the read caches of several demo instances exact, chosen from the stores
/// they share: Redis pub/sub when tokens are in Redis, else PostgreSQL `LISTEN`/`NOTIFY` when
/// tokens or users are in PostgreSQL, else none (SQLite and memory serve one process; changes
/// made by another process, such as `useradd`, are seen within `cache.max_staleness`).
pub async fn invalidation_bus(
    users: &StoreSpec,
    tokens: &StoreSpec,
) -> Result<Option<Arc<dyn InvalidationBus>>, DemoError> {
    let unreachable = |what: &str, error: authmount::cache::BusError| {
        DemoError::Other(format!("cannot connect the cache invalidation bus ({what}): {error}"))
    };
    Ok(match (users, tokens) {
        (_, StoreSpec::Redis(url)) => {
            Some(Arc::new(RedisBus::connect(url).await.map_err(|e| unreachable("Redis pub/sub", e))?))
        }
        (_, StoreSpec::Postgres(url)) | (StoreSpec::Postgres(url), _) => Some(Arc::new(
            PostgresBus::connect(url).await.map_err(|e| unreachable("PostgreSQL LISTEN/NOTIFY", e))?,
        )),
        _ => None,
    })
}

/// How the read caches of several instances stay exact with these stores: for the banner.
pub fn invalidation_description(users: &StoreSpec, tokens: &StoreSpec) -> &'static str {
    match (users, tokens) {
        (_, StoreSpec::Redis(_)) => "changes from other instances arrive by Redis pub/sub",
        (_, StoreSpec::Postgres(_)) | (StoreSpec::Postgres(_), _) => {
            "changes from other instances arrive by PostgreSQL LISTEN/NOTIFY"
        }
        _ => "one instance: changes from other processes are seen within cache.max_staleness",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_parses() {
        assert_eq!("memory".parse::<StoreSpec>(), Ok(StoreSpec::Memory));
        assert_eq!("sqlite:a.db".parse::<StoreSpec>(), Ok(StoreSpec::Sqlite("sqlite:a.db".into())));
        assert!(matches!("postgres://u@h/db".parse::<StoreSpec>(), Ok(StoreSpec::Postgres(_))));
        assert!(matches!("postgresql://u@h/db".parse::<StoreSpec>(), Ok(StoreSpec::Postgres(_))));
        assert!(matches!("redis://127.0.0.1:6379/0".parse::<StoreSpec>(), Ok(StoreSpec::Redis(_))));
        for bad in ["", "sqlite:", "mysql://x", "Memory", "a.db"] {
            assert!(bad.parse::<StoreSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn users_cannot_live_in_redis() {
        let error = StoreSpec::parse_users("redis://localhost:6379").expect_err("refused");
        assert!(error.contains("tokens and counters only"), "{error}");
        assert!(StoreSpec::parse_users("sqlite:x.db").is_ok());
    }

    #[test]
    fn sqlite_files_are_found_in_each_url_form() {
        let file = |url: &str| url.parse::<StoreSpec>().ok().and_then(|s| s.sqlite_file());
        assert_eq!(file("sqlite:authmount-demo.db"), Some(PathBuf::from("authmount-demo.db")));
        assert_eq!(file("sqlite:///var/lib/a.db"), Some(PathBuf::from("/var/lib/a.db")));
        assert_eq!(file("sqlite://rel/a.db?mode=rwc"), Some(PathBuf::from("rel/a.db")));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("memory"), None);
        assert!(!"sqlite::memory:".parse::<StoreSpec>().expect("ok").is_persistent());
        assert!("sqlite:a.db".parse::<StoreSpec>().expect("ok").is_persistent());
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        let spec: StoreSpec = "redis://:s3cret@cache:6379/0".parse().expect("ok");
        assert_eq!(spec.to_string(), "redis://:****@cache:6379/0");
        assert!(!format!("{spec:?}").contains("s3cret"));
        let spec: StoreSpec = "postgres://app@db/auth".parse().expect("ok");
        assert_eq!(spec.to_string(), "postgres://app@db/auth");
        let error = "mysql://root:pw@db".parse::<StoreSpec>().expect_err("unknown");
        assert!(!error.contains("pw@"), "{error}");
    }

    #[tokio::test]
    async fn one_sqlite_file_backs_both_ports_and_reports_emptiness() {
        let dir = std::env::temp_dir().join(format!("authmount-demo-stores-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let spec: StoreSpec = format!("sqlite:{}", dir.join("s.db").display()).parse().expect("ok");
        let stores = Stores::open(&spec, &spec).await.expect("opens");
        assert!(stores.users_empty().await.expect("counts"));
        stores
            .users
            .create(authmount::user::NewUser::new("ann", std::time::SystemTime::now()))
            .await
            .expect("created");
        assert!(!stores.users_empty().await.expect("counts"));
        let memory = Stores::open(&StoreSpec::Memory, &StoreSpec::Memory).await.expect("opens");
        assert!(memory.users_empty().await.expect("counts"));
        drop(stores);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_missing_directory_is_a_usage_error() {
        let spec: StoreSpec = "sqlite:/nonexistent-authmount-dir/a.db".parse().expect("ok");
        let error = Stores::open(&spec, &StoreSpec::Memory).await.expect_err("no directory");
        assert_eq!(error.exit_code(), 2, "{error}");
    }
}
