//! The seed documents' own Python client snippets (requests-based), run unchanged but for the
//! server address against both adapters: what real AMCR and Meldeschein clients do must keep
//! working.
//!
//! The interpreter is `$AUTHMOUNT_PYTHON` (scripts/test sets up a virtualenv with `requests`).
//! Without one, the tests print a notice and pass on a developer machine, and fail under
//! `CI=true`.

use authmount_conformance::external::{python, run_script};
use authmount_conformance::{PASSWORD, on_both_adapters};

const AMCR_AUTH: &str = include_str!("../clients/amcr_auth.py");
const AMCR_USERINFO: &str = include_str!("../clients/amcr_userinfo.py");
const MELDESCHEIN_TOKEN: &str = include_str!("../clients/meldeschein_token.py");
const MELDESCHEIN_CALL: &str = include_str!("../clients/meldeschein_call.py");

const SUITE: &str = "the AMCR and Meldeschein seed client tests";

fn run(python: &str, script: &str, stdin: &str, args: &[&str]) -> String {
    run_script(python, script, "py", stdin, args)
}

#[tokio::test(flavor = "multi_thread")]
async fn amcr_auth_and_userinfo_scripts_work_unchanged() {
    let Some(python) = python(SUITE) else { return };
    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            let base = t.client.base().to_owned();
            let auth = AMCR_AUTH.replace("https://amcr.aiscr.cz", &base);
            let userinfo = AMCR_USERINFO.replace("https://amcr.aiscr.cz", &base);
            let (token, xml) = tokio::task::spawn_blocking(move || {
                let printed = run(&python, &auth, &format!("ann\n{PASSWORD}\n"), &[]);
                // The prompts are printed without a newline: the token is the last word.
                let token = printed.split_whitespace().last().unwrap_or_default().to_owned();
                let xml = run(&python, &userinfo, &format!("{token}\n"), &[]);
                (token, xml)
            })
            .await
            .expect("scripts ran");
            assert!(token.len() >= 22, "auth.py printed a token, got {token:?}");
            assert!(xml.contains("<amcr:uzivatel>"), "userinfo.py printed the XML, got {xml}");
            assert!(xml.contains("<amcr:email>ann@example.org</amcr:email>"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn meldeschein_token_and_jwt_call_scripts_work_unchanged() {
    let Some(python) = python(SUITE) else { return };
    on_both_adapters(|t| {
        let python = python.clone();
        async move {
            let host = t.client.base().trim_start_matches("http://").to_owned();
            let base = t.client.base().to_owned();
            let token_script = MELDESCHEIN_TOKEN.replace("https://<API_URL>", &base);
            let call_script = MELDESCHEIN_CALL
                .replace("https://<API_URL>", &base)
                .replace("<anfrage>", "app/meldeschein/whoami");
            let (jwt, called) = tokio::task::spawn_blocking(move || {
                let printed = run(&python, &token_script, "", &[]);
                let jwt = printed.split_whitespace().last().unwrap_or_default().to_owned();
                let called = run(&python, &call_script, "", &[&jwt]);
                (jwt, called)
            })
            .await
            .expect("scripts ran");
            assert_eq!(jwt.split('.').count(), 3, "the token example printed a JWT, got {jwt:?} from {host}");
            let mut lines = called.lines();
            assert_eq!(lines.next(), Some("200"), "the JWT-prefixed call succeeded: {called}");
            assert!(called.contains("'username': 'demo'"), "{called}");
        }
    })
    .await;
}
