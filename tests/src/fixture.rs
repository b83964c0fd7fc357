//! The state every case starts from: in-memory stores on a manual clock, the dialects' users,
//! and the app (every registered dialect) served by both adapters.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::cache::{ReadCache, ReadCacheConfig};
use authmount::clock::{self, ManualClock};
use authmount::dialect::minisass::MinisassConfig;
use authmount::dialect::tdar::TdarConfig;
use authmount::dialect::{BUILT_IN, DialectContext, Dialects, Registration};
use authmount::mailer::OutboxMailer;
use authmount::password::{Argon2Params, Argon2idHasher, PasswordHasher, PasswordService};
use authmount::services::Services;
use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
use authmount::user::{NewUser, ProfileUpdate, User};
use serde_json::json;

use crate::servers::TestApp;

/// Where every run's clock starts (2025-06-15T15:33:20Z), so both adapters see the same times.
pub const START: i64 = 1_750_000_000;

/// The password of every fixture user but `demo`.
pub const PASSWORD: &str = "correct horse battery";

/// A fresh world for one run of one case.
pub struct Fixture {
    /// The clock everything reads; advance it to expire tokens.
    pub clock: ManualClock,
    /// The stores, for checks and for changes behind the API's back (deactivation, revocation).
    pub services: Services,
    /// `ann`: active, every AMCR attribute set, Meldeschein grants.
    pub ann: User,
    /// `ivan`: deactivated.
    pub ivan: User,
    /// The app both adapters serve.
    pub app: TestApp,
    /// Where the miniSASS dialect sends its mail (reset links go to [`MINISASS_RESET_BASE`]).
    pub outbox: OutboxMailer,
}

/// The configured base of miniSASS reset links.
pub const MINISASS_RESET_BASE: &str = "https://minisass.example.org/reset-password/";

/// The group whose members may use the tDAR API (ann's; demo is not in it).
pub const TDAR_GROUP: &str = "Badatel";

/// What the dialects of every suite are built from: `services`, `jwt`, mail into `outbox`,
/// and the suites' configurations. The servers are plain HTTP, so tDAR's cookie is not
/// `Secure` (a real client would not send it back); only [`TDAR_GROUP`] may use the tDAR API;
/// miniSASS reset links start with [`MINISASS_RESET_BASE`]. Every other dialect keeps its
/// defaults.
pub fn context(services: &Services, jwt: JwtService, outbox: &OutboxMailer) -> DialectContext {
    context_with(services, jwt, outbox, minisass_config())
}

/// The suites' miniSASS configuration: reset links start with [`MINISASS_RESET_BASE`], the
/// rest is the default.
pub fn minisass_config() -> MinisassConfig {
    MinisassConfig { reset_link_base: MINISASS_RESET_BASE.to_owned(), ..Default::default() }
}

/// [`context`] with another miniSASS configuration.
pub fn context_with(
    services: &Services,
    jwt: JwtService,
    outbox: &OutboxMailer,
    minisass: MinisassConfig,
) -> DialectContext {
    DialectContext::new(services.clone(), jwt, Arc::new(outbox.clone()))
        .with_config(TdarConfig {
            insecure_cookies: true,
            api_group: Some(TDAR_GROUP.into()),
            ..Default::default()
        })
        .with_config(minisass)
}

impl Fixture {
    /// Builds the world with authmount's dialects ([`BUILT_IN`]).
    pub async fn new() -> Self {
        Self::with_dialects(BUILT_IN).await
    }

    /// Builds the world with the dialects of `registrations`.
    pub async fn with_dialects(registrations: &[Registration]) -> Self {
        Self::build(registrations, minisass_config()).await
    }

    /// Builds the world with authmount's dialects, miniSASS configured by `minisass`.
    pub async fn with_minisass(minisass: MinisassConfig) -> Self {
        Self::build(BUILT_IN, minisass).await
    }

    async fn build(registrations: &[Registration], minisass: MinisassConfig) -> Self {
        let clock = ManualClock::at_unix(START);
        // Cheap hashing parameters: the suite tests behaviour, the benchmarks measure cost.
        let hasher = Arc::new(
            Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).expect("test params"),
        );
        // The read cache is on, as in the demo: every case also proves that changes made
        // through authmount hold at once with it.
        let services = Services::in_memory_with_clock(Arc::new(clock.clone()))
            .expect("services")
            .with_passwords(PasswordService::new(hasher.clone()))
            .with_read_cache(&ReadCache::new(ReadCacheConfig::default()));

        let created_at = clock::from_unix_seconds(START - 86_400 * 30);
        let hash = |password: &str| hasher.hash(password.as_bytes()).expect("hashes");
        let ann = NewUser::new("ann", created_at)
            .with_email("ann@example.org")
            .with_names("Ann", "Novák")
            .with_password_hash(hash(PASSWORD))
            .with_attribute("ident_cely", "U-000042")
            .with_attribute("osoba", json!({"id": "OS-1", "name": "Novák, Ann"}))
            .with_attribute(
                "organizace",
                json!({"id": "ORG-7", "name": "Archeologický ústav <AV>", "lang": "cs"}),
            )
            .with_attribute("jazyk", "cs")
            .with_attribute("meldeschein", json!({"gemeinden": [1, 2], "vermieter": [1], "objekte": [1, 3]}));
        let ann = services.users.create(ann).await.expect("ann");
        let ann = services
            .users
            .update_profile(
                ann.id,
                ProfileUpdate { groups: Some(vec![TDAR_GROUP.into()]), ..Default::default() },
            )
            .await
            .expect("groups");
        let ivan = NewUser::new("ivan", created_at)
            .with_email("ivan@example.org")
            .with_password_hash(hash(PASSWORD));
        let ivan = services.users.create(ivan).await.expect("ivan");
        let ivan = services
            .users
            .update_profile(ivan.id, ProfileUpdate { is_active: Some(false), ..Default::default() })
            .await
            .expect("deactivated");
        // The Meldeschein seed's Python example logs in as demo/demo.
        let demo =
            NewUser::new("demo", created_at).with_email("demo@example.org").with_password_hash(hash("demo"));
        services.users.create(demo).await.expect("demo");

        let key = JwtKey::hs256(b"conformance-suite-secret-of-32-bytes!").expect("key");
        let jwt = JwtService::new(KeyRing::new("k1", key).expect("ring"), Arc::new(clock.clone()));
        let outbox = OutboxMailer::new();
        let dialects = Dialects::build(registrations, &context_with(&services, jwt, &outbox, minisass))
            .expect("dialects");
        let app = TestApp::new(&dialects, &services);
        Self { clock, services, ann, ivan, app, outbox }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The clock's current time.
    pub fn now(&self) -> SystemTime {
        clock::Clock::now(&self.clock)
    }
}
