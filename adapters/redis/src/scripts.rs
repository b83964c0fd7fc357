//! The Lua scripts behind every operation that must be atomic, compiled once per process.
//!
//! Each script is the shared prelude (`lua/prelude.lua`: key layout, record helpers, family
//! revocation) followed by its own body. `redis::Script` runs them with `EVALSHA` and loads them
//! on a `NOSCRIPT` answer, so a restarted Redis needs no extra step.

use std::sync::LazyLock;

use authmount::store::{FAMILY_RETENTION, TOUCH_GRANULARITY};
use redis::Script;

const PRELUDE: &str = include_str!("lua/prelude.lua");

fn script(body: &str) -> Script {
    Script::new(&format!(
        "local RETENTION = {}\nlocal TOUCH_GRANULARITY = {TOUCH_GRANULARITY}\n{PRELUDE}\n{body}",
        FAMILY_RETENTION.as_millis()
    ))
}

macro_rules! scripts {
    ($($name:ident = $file:literal;)+) => {
        $(
            pub(crate) static $name: LazyLock<Script> =
                LazyLock::new(|| script(include_str!(concat!("lua/", $file))));
        )+
    };
}

scripts! {
    PUT = "put.lua";
    TOUCH = "touch.lua";
    REVOKE = "revoke.lua";
    REVOKE_USER = "revoke_user.lua";
    REVOKE_FAMILY = "revoke_family.lua";
    ROTATE = "rotate.lua";
    CONSUME = "consume.lua";
    REVOKE_JTI = "revoke_jti.lua";
    PURGE = "purge.lua";
    INCREMENT = "increment.lua";
}
