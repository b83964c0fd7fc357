//! `authmount-demo useradd`: creates a user in the configured user store.

use std::io::BufRead;
use std::time::SystemTime;

use authmount::password::PasswordService;
use authmount::store::{ConflictField, StoreError, UserStore};
use authmount::user::{NewUser, User};

use crate::DemoError;
use crate::cli::UserAddArgs;

/// Reads the password: `--password`, or the first line of `stdin` (without its line ending)
/// with `--password-stdin`.
pub fn read_password(args: &UserAddArgs, stdin: &mut dyn BufRead) -> Result<String, DemoError> {
    if let Some(password) = &args.password {
        return Ok(password.expose().to_owned());
    }
    let mut line = String::new();
    stdin.read_line(&mut line).map_err(|source| DemoError::Io {
        what: "cannot read the password from",
        path: "standard input".into(),
        source,
    })?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

/// Creates the user `args` describe with `password` (hashed with `passwords`, so the password
/// policy applies: a refused password is a usage error, exit code 2). A username or e-mail
/// address that is taken is [`DemoError::Duplicate`] (exit code 1).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use clap::Parser;
/// use authmount::services::Services;
/// use authmount_demo::cli::{Cli, Command};
///
/// let cli = Cli::try_parse_from(["authmount-demo", "useradd", "--username", "ann", "--password-stdin",
///     "--attr", r#"meldeschein={"gemeinden":[1],"vermieter":[1],"objekte":[1]}"#])?;
/// let Some(Command::Useradd(args)) = cli.command else { unreachable!() };
/// let services = Services::in_memory()?;
/// let user = authmount_demo::useradd::create_user(&*services.users, &services.passwords, &args, "correct horse battery".into()).await?;
/// assert_eq!(user.username, "ann");
/// assert_eq!(user.attributes["meldeschein"]["objekte"][0], 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn create_user(
    users: &dyn UserStore,
    passwords: &PasswordService,
    args: &UserAddArgs,
    password: String,
) -> Result<User, DemoError> {
    let username = args.username.trim();
    if username.is_empty() {
        return Err(DemoError::Usage("--username must not be empty".to_owned()));
    }
    let email = args.email.as_deref().map(str::trim).filter(|email| !email.is_empty());
    if let Some(email) = email {
        let valid =
            email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !valid || email.chars().any(char::is_whitespace) {
            return Err(DemoError::Usage(format!("--email {email:?} is not an e-mail address")));
        }
    }
    let mut groups: Vec<String> = Vec::new();
    for group in args.groups.iter().map(|group| group.trim()) {
        if group.is_empty() {
            return Err(DemoError::Usage("--group must not be empty".to_owned()));
        }
        if !groups.iter().any(|known| known == group) {
            groups.push(group.to_owned());
        }
    }
    let hash = passwords.hash_new_password(&password).await.map_err(|error| {
        if error.is_policy_violation() {
            DemoError::Usage(format!("the password is refused: {error}"))
        } else {
            DemoError::Password(error)
        }
    })?;
    let mut new = NewUser::new(username, SystemTime::now())
        .with_names(args.first_name.trim(), args.last_name.trim())
        .with_password_hash(hash);
    if let Some(email) = email {
        new = new.with_email(email);
    }
    new.is_admin = args.admin;
    new.groups = groups;
    for attribute in &args.attributes {
        new = new.with_attribute(attribute.key.clone(), attribute.value.clone());
    }
    users.create(new).await.map_err(|error| match error {
        StoreError::Conflict(ConflictField::Email) => DemoError::Duplicate("e-mail address"),
        StoreError::Conflict(_) => DemoError::Duplicate("username"),
        other => DemoError::store("cannot create the user", other),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use authmount::password::{Argon2Params, Argon2idHasher};
    use authmount::services::Services;
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(extra: &[&str]) -> UserAddArgs {
        let cli = Cli::try_parse_from(["authmount-demo", "useradd"].iter().chain(extra.iter()).copied())
            .expect("valid arguments");
        match cli.command {
            Some(Command::Useradd(args)) => args,
            _ => panic!("useradd"),
        }
    }

    fn services() -> Services {
        let hasher =
            Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).expect("test params");
        Services::in_memory().expect("services").with_passwords(PasswordService::new(Arc::new(hasher)))
    }

    #[test]
    fn the_password_comes_from_the_flag_or_one_line_of_stdin() {
        let from_flag = args(&["--username", "a", "--password", "from the flag"]);
        assert_eq!(read_password(&from_flag, &mut &b"ignored\n"[..]).expect("read"), "from the flag");
        let from_stdin = args(&["--username", "a", "--password-stdin"]);
        assert_eq!(
            read_password(&from_stdin, &mut &b"line one\r\nline two\n"[..]).expect("read"),
            "line one"
        );
        assert_eq!(read_password(&from_stdin, &mut &b"no newline"[..]).expect("read"), "no newline");
        assert_eq!(read_password(&from_stdin, &mut &b""[..]).expect("read"), "");
    }

    #[tokio::test]
    async fn creates_the_user_with_every_field_and_a_verifiable_hash() {
        let services = services();
        let args = args(&[
            "--username",
            " ann ",
            "--email",
            "ann@example.org",
            "--password-stdin",
            "--first-name",
            "Ann",
            "--last-name",
            "Novák",
            "--admin",
            "--group",
            "Badatel",
            "--group",
            " Archeolog ",
            "--group",
            "Badatel",
            "--attr",
            r#"osoba={"id":"OS-1","name":"Novák, Ann"}"#,
        ]);
        let user = create_user(&*services.users, &services.passwords, &args, "correct horse battery".into())
            .await
            .expect("created");
        assert_eq!((user.username.as_str(), user.email.as_deref()), ("ann", Some("ann@example.org")));
        assert_eq!((user.first_name.as_str(), user.last_name.as_str()), ("Ann", "Novák"));
        assert!(user.is_admin && user.is_active && !user.is_superuser);
        assert_eq!(user.attributes["osoba"]["id"], "OS-1");
        assert_eq!(user.groups, ["Badatel", "Archeolog"], "in order, trimmed, once each");
        let logged_in =
            services.authenticator().authenticate("ann@example.org", "correct horse battery").await;
        assert_eq!(logged_in.expect("logs in").id, user.id);
    }

    #[tokio::test]
    async fn duplicates_are_refused_and_nothing_is_stored() {
        let services = services();
        let first = args(&["--username", "ann", "--email", "ann@example.org", "--password-stdin"]);
        create_user(&*services.users, &services.passwords, &first, "correct horse battery".into())
            .await
            .expect("created");
        let same_name = args(&["--username", "ANN", "--password-stdin"]);
        let error = create_user(&*services.users, &services.passwords, &same_name, "another password".into())
            .await
            .expect_err("duplicate");
        assert!(matches!(error, DemoError::Duplicate("username")), "{error}");
        assert_eq!(error.exit_code(), 1);
        let same_email = args(&["--username", "bob", "--email", "ann@example.org", "--password-stdin"]);
        let error =
            create_user(&*services.users, &services.passwords, &same_email, "another password".into())
                .await
                .expect_err("duplicate");
        assert!(matches!(error, DemoError::Duplicate(_)), "{error}");
        assert!(services.users.find_by_login("bob").await.expect("store").is_none());
    }

    #[tokio::test]
    async fn the_password_policy_and_bad_input_are_usage_errors() {
        let services = services();
        for (extra, password) in [
            (&["--username", "ann", "--password-stdin"][..], "short"),
            (&["--username", "  ", "--password-stdin"][..], "correct horse battery"),
            (
                &["--username", "ann", "--email", "not-an-address", "--password-stdin"][..],
                "correct horse battery",
            ),
            (&["--username", "ann", "--group", " ", "--password-stdin"][..], "correct horse battery"),
        ] {
            let error = create_user(&*services.users, &services.passwords, &args(extra), password.into())
                .await
                .expect_err("refused");
            assert_eq!(error.exit_code(), 2, "{error}");
        }
        assert!(services.users.find_by_login("ann").await.expect("store").is_none());
    }
}
