//! The command line (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::config::Secret;
use crate::stores::{DEFAULT_STORE, StoreSpec};

/// The default of `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// `authmount-demo [OPTIONS] [COMMAND]`.
///
/// ```
/// use clap::Parser;
/// use authmount_demo::cli::{Cli, Command, Framework};
/// let cli = Cli::try_parse_from(["authmount-demo", "--framework", "actix", "--tokens", "memory"])?;
/// assert_eq!(cli.framework, Framework::Actix);
/// assert_eq!(cli.tokens.to_string(), "memory");
/// assert_eq!(cli.users.to_string(), "sqlite:authmount-demo.db");
/// assert!(cli.command.is_none());
///
/// let cli = Cli::try_parse_from(["authmount-demo", "useradd", "--username", "ann", "--password-stdin"])?;
/// assert!(matches!(cli.command, Some(Command::Useradd(_))));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Debug, Parser)]
#[command(
    name = "authmount-demo",
    version,
    about = "Serves every authmount dialect (AMCR, Meldeschein, ...) on one server, on axum or actix-web.",
    long_about = None
)]
pub struct Cli {
    /// Where users are stored: sqlite:PATH, postgres://... or memory.
    #[arg(
        long,
        global = true,
        env = "AUTHMOUNT_USERS",
        value_name = "STORE",
        default_value = DEFAULT_STORE,
        value_parser = StoreSpec::parse_users
    )]
    pub users: StoreSpec,

    /// Where tokens, sessions and counters are stored: sqlite:PATH, postgres://..., redis://... or memory.
    #[arg(
        long,
        global = true,
        env = "AUTHMOUNT_TOKENS",
        value_name = "STORE",
        default_value = DEFAULT_STORE,
        value_parser = parse_store
    )]
    pub tokens: StoreSpec,

    /// A TOML configuration file (see the crate documentation); AUTHMOUNT_* variables override it.
    #[arg(long, global = true, env = "AUTHMOUNT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, env = "AUTHMOUNT_ADDR", value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    pub addr: String,

    /// Deliver mail (password-reset links) through this SMTP server, e.g. smtp://127.0.0.1:25 or
    /// smtp://user:pass@host:587 (else: .eml files beside the database). Overrides mail.smtp;
    /// prefer AUTHMOUNT_MAIL_SMTP for a URL with a password (the process list shows flags).
    #[arg(long, value_name = "URL", value_parser = parse_secret)]
    pub smtp: Option<Secret>,

    /// The web framework to serve with.
    #[arg(long, env = "AUTHMOUNT_FRAMEWORK", value_enum, default_value_t = Framework::Axum)]
    pub framework: Framework,

    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_store(text: &str) -> Result<StoreSpec, String> {
    text.parse()
}

/// The web framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Framework {
    /// axum 0.8 (`authmount-axum`).
    Axum,
    /// actix-web 4 (`authmount-actix`).
    Actix,
}

impl std::fmt::Display for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Axum => "axum",
            Self::Actix => "actix-web",
        })
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates a user in the --users store.
    Useradd(UserAddArgs),
    /// Lists users or acts on one (what the admin API does, from the command line).
    Users(UsersArgs),
}

/// `useradd`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    /// The username (unique; users log in with it or their e-mail address).
    #[arg(long)]
    pub username: String,
    /// The e-mail address (unique).
    #[arg(long)]
    pub email: Option<String>,
    /// The password (visible to other local users in the process list: prefer --password-stdin).
    #[arg(long, value_parser = parse_secret, conflicts_with = "password_stdin", required_unless_present = "password_stdin")]
    pub password: Option<Secret>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Given name.
    #[arg(long, default_value = "")]
    pub first_name: String,
    /// Family name.
    #[arg(long, default_value = "")]
    pub last_name: String,
    /// Make the user an admin (staff).
    #[arg(long)]
    pub admin: bool,
    /// A group the user belongs to, repeatable (e.g. --group Badatel --group Archeolog): AMCR's
    /// `skupina`, tDAR's API group, the admin API's groups.
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// An attribute as KEY=JSON, repeatable (e.g. --attr 'jazyk="cs"' --attr 'osoba={"id":"OS-1","name":"Ann"}').
    #[arg(long = "attr", value_name = "KEY=JSON", value_parser = parse_attribute)]
    pub attributes: Vec<Attribute>,
}

fn parse_secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// One `--attr KEY=JSON`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute's name.
    pub key: String,
    /// Its value.
    pub value: Value,
}

/// Parses `KEY=JSON`.
///
/// ```
/// use authmount_demo::cli::parse_attribute;
/// let attribute = parse_attribute(r#"jazyk="cs""#)?;
/// assert_eq!((attribute.key.as_str(), attribute.value.as_str()), ("jazyk", Some("cs")));
/// assert!(parse_attribute("jazyk=cs").unwrap_err().contains("not JSON"));
/// # Ok::<(), String>(())
/// ```
pub fn parse_attribute(text: &str) -> Result<Attribute, String> {
    let Some((key, json)) = text.split_once('=') else {
        return Err(format!("{text:?} is not KEY=JSON"));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("{text:?} has no key before '='"));
    }
    let value = serde_json::from_str(json).map_err(|error| {
        format!("the value of {key} is not JSON ({error}); quote strings: --attr '{key}=\"text\"'")
    })?;
    Ok(Attribute { key: key.to_owned(), value })
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("authmount-demo").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let cli = parse(&[]).expect("no arguments needed");
        assert_eq!(cli.addr, DEFAULT_ADDR);
        assert_eq!(cli.framework, Framework::Axum);
        assert_eq!(cli.users.to_string(), DEFAULT_STORE);
        assert_eq!(cli.tokens.to_string(), DEFAULT_STORE);
        assert!(cli.config.is_none());
        assert!(cli.smtp.is_none());
        let smtp = parse(&["--smtp", "smtp://ann:secret@127.0.0.1:2525"]).expect("valid");
        assert_eq!(smtp.smtp.as_ref().map(Secret::expose), Some("smtp://ann:secret@127.0.0.1:2525"));
        assert!(!format!("{smtp:?}").contains("secret"), "Debug masks the URL");
    }

    #[test]
    fn redis_is_for_tokens_only() {
        assert!(parse(&["--tokens", "redis://127.0.0.1:6379", "--users", "sqlite:u.db"]).is_ok());
        let error = parse(&["--users", "redis://127.0.0.1:6379"]).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("tokens and counters only"), "{error}");
    }

    #[test]
    fn useradd_takes_global_flags_after_the_subcommand() {
        let cli = parse(&[
            "useradd",
            "--username",
            "ann",
            "--email",
            "ann@example.org",
            "--password",
            "correct horse battery",
            "--first-name",
            "Ann",
            "--last-name",
            "Novák",
            "--admin",
            "--group",
            "Badatel",
            "--group",
            "Archeolog",
            "--attr",
            "jazyk=\"cs\"",
            "--attr",
            r#"meldeschein={"gemeinden":[1]}"#,
            "--users",
            "memory",
        ])
        .expect("valid");
        let Some(Command::Useradd(args)) = cli.command else { panic!("useradd") };
        assert_eq!(cli.users, StoreSpec::Memory);
        assert_eq!(args.username, "ann");
        assert_eq!(args.password.as_ref().map(Secret::expose), Some("correct horse battery"));
        assert!(args.admin && !args.password_stdin);
        assert_eq!(args.groups, ["Badatel", "Archeolog"]);
        assert_eq!(args.attributes.len(), 2);
        assert_eq!(args.attributes[1].value["gemeinden"][0], 1);
        assert!(!format!("{args:?}").contains("horse"), "Debug masks the password");
    }

    #[test]
    fn useradd_needs_exactly_one_password_source() {
        let missing = parse(&["useradd", "--username", "ann"]).expect_err("no password");
        assert_eq!(missing.exit_code(), 2);
        let both =
            parse(&["useradd", "--username", "ann", "--password", "x", "--password-stdin"]).expect_err("two");
        assert_eq!(both.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn invalid_attribute_json_is_a_usage_error() {
        let error = parse(&["useradd", "--username", "a", "--password-stdin", "--attr", "osoba={bad"])
            .expect_err("invalid JSON");
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("not JSON"), "{error}");
        assert!(parse_attribute("=1").is_err());
        assert!(parse_attribute("novalue").is_err());
        assert_eq!(parse_attribute("n=null").expect("null is JSON").value, Value::Null);
    }

    #[test]
    fn unknown_frameworks_are_refused() {
        assert!(parse(&["--framework", "rocket"]).is_err());
        assert_eq!(parse(&["--framework", "actix"]).expect("ok").framework.to_string(), "actix-web");
    }
}

/// `users`: operator actions on accounts, on the stores named by `--users` and `--tokens`.
#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: UsersAction,
}

/// A `users` action.
#[derive(Debug, Clone, Subcommand)]
pub enum UsersAction {
    /// Lists users (id, username, e-mail, active, admin, groups), in id order.
    List {
        /// Only users whose username or e-mail contains this.
        #[arg(long, short)]
        search: Option<String>,
        /// How many to show at most.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// How many to skip first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Deactivates the account and ends every session of it.
    Deactivate {
        /// The username or e-mail address.
        login: String,
    },
    /// Activates the account again.
    Activate {
        /// The username or e-mail address.
        login: String,
    },
    /// Clears the account's lockout after failed logins.
    Unlock {
        /// The username or e-mail address.
        login: String,
    },
    /// Ends every token, session and refresh family of the account.
    RevokeSessions {
        /// The username or e-mail address.
        login: String,
    },
}
