//! What every dialect is to an app: the [`Dialect`] trait, how one is built ([`BuildDialect`]
//! from a [`DialectContext`]), the [`Registration`]s that list them ([`BUILT_IN`](super::BUILT_IN)
//! is authmount's own list) and the built set an app mounts ([`Dialects`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::api::{Api, Gate};
use crate::carrier::Carrier;
use crate::guard::TokenVerifier;
use crate::mailer::Mailer;
use crate::services::Services;
use crate::store::UserStore;
use crate::token::jwt::JwtService;

/// A documented API, ready to mount: its endpoints ([`api`](Self::api), mounted by an adapter)
/// and the [`Gate`] that protects an app's own routes with its tokens and error shape.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::dialect::Dialect;
/// use authmount::dialect::amcr::{Amcr, AmcrConfig};
///
/// let amcr = Amcr::new(authmount::services::Services::in_memory()?, AmcrConfig::default());
/// assert_eq!(amcr.name(), "amcr");
/// assert_eq!(amcr.api().routes()[0].pattern(), "/api/token-auth/");
/// assert_eq!(amcr.carriers()[0].0, authmount::carrier::Carrier::bearer());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub trait Dialect: Send + Sync + 'static {
    /// The dialect's name (`"amcr"`): the key of its configuration and its place in logs.
    fn name(&self) -> &'static str;

    /// The endpoints to mount (login, token, refresh, logout...).
    fn api(&self) -> Api;

    /// The gate protecting an app's routes with this dialect's tokens; refusals in its shape.
    fn gate(&self) -> Gate;

    /// Where this dialect's tokens travel and what verifies them, in the order its gate tries
    /// them: what a gate accepting several dialects' tokens is built from
    /// ([`Dialects::any_gate`]). By default, the rules of [`gate`](Self::gate)'s guard.
    fn carriers(&self) -> Vec<(Carrier, Arc<dyn TokenVerifier>)> {
        self.gate().guard().rules().to_vec()
    }

    /// The OpenAPI 3.1 document of [`api`](Self::api): every route as mounted, its security
    /// schemes from [`carriers`](Self::carriers) ([`crate::openapi::describe_api`]). Merge
    /// several with [`ApiDocument`](crate::openapi::ApiDocument).
    fn openapi(&self) -> crate::openapi::model::OpenApi {
        let carriers: Vec<Carrier> = self.carriers().into_iter().map(|(carrier, _)| carrier).collect();
        crate::openapi::describe_api(&self.api(), &carriers)
    }
}

/// How a dialect is built from what an app shares ([`DialectContext`]) and its own
/// configuration: what a [`Registration`] calls.
pub trait BuildDialect: Dialect + Sized {
    /// The dialect's name, as [`Dialect::name`] gives it.
    const NAME: &'static str;

    /// Its configuration: a struct with documented defaults, taken from the context
    /// ([`DialectContext::with_config`]) or [`Default`].
    type Config: Clone + Default + Send + Sync + 'static;

    /// Why a configuration cannot work ([`std::convert::Infallible`] when every one does).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The dialect over the context's services with `config`.
    fn build(context: &DialectContext, config: Self::Config) -> Result<Self, Self::Error>;
}

/// What every dialect is built from: the shared [`Services`], the JWT key ring (each JWT
/// dialect sets its own audience), the [`Mailer`] that sends account mail, and the dialects'
/// configurations (each dialect's defaults where none is given).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use authmount::dialect::DialectContext;
/// use authmount::dialect::tdar::TdarConfig;
/// use authmount::mailer::OutboxMailer;
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
///
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("k1", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let context = DialectContext::new(services, jwt, Arc::new(OutboxMailer::new()))
///     .with_config(TdarConfig { session_key_name: "crowd.token_key".into(), ..Default::default() });
/// assert_eq!(context.config::<TdarConfig>().session_key_name, "crowd.token_key");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DialectContext {
    /// The stores, password service, clock and limits every dialect shares.
    pub services: Services,
    /// The JWT key ring (it should read the same clock as `services`).
    pub jwt: JwtService,
    /// Where account mail (reset links) goes.
    pub mailer: Arc<dyn Mailer>,
    configs: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for DialectContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialectContext")
            .field("services", &self.services)
            .field("configs", &self.configs.len())
            .finish_non_exhaustive()
    }
}

impl DialectContext {
    /// A context without configurations: every dialect gets its defaults.
    pub fn new(services: Services, jwt: JwtService, mailer: Arc<dyn Mailer>) -> Self {
        Self { services, jwt, mailer, configs: HashMap::new() }
    }

    /// Sets the configuration of the dialect whose [`BuildDialect::Config`] is `C` (replacing an
    /// earlier one).
    #[must_use]
    pub fn with_config<C: Clone + Send + Sync + 'static>(mut self, config: C) -> Self {
        self.configs.insert(TypeId::of::<C>(), Arc::new(config));
        self
    }

    /// The configuration of type `C`: the one set, else `C::default()`.
    pub fn config<C: Clone + Default + Send + Sync + 'static>(&self) -> C {
        self.configs
            .get(&TypeId::of::<C>())
            .and_then(|config| config.downcast_ref::<C>())
            .cloned()
            .unwrap_or_default()
    }
}

/// A dialect whose configuration cannot work, named.
#[derive(Debug, thiserror::Error)]
#[error("invalid [{dialect}] configuration: {source}")]
pub struct DialectError {
    /// The dialect's name.
    pub dialect: &'static str,
    /// What is wrong.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// A registry line: a dialect's name and how to build it.
///
/// ```
/// use authmount::dialect::{Registration, amcr::Amcr};
/// const LINE: Registration = Registration::of::<Amcr>();
/// assert_eq!(LINE.name(), "amcr");
/// ```
#[derive(Clone, Copy)]
pub struct Registration {
    name: &'static str,
    build: fn(&DialectContext) -> Result<Arc<dyn Dialect>, DialectError>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Registration").field(&self.name).finish()
    }
}

impl Registration {
    /// The line of dialect `D`.
    pub const fn of<D: BuildDialect>() -> Self {
        Self { name: D::NAME, build: build::<D> }
    }

    /// The dialect's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Builds the dialect with its configuration from `context`.
    pub fn build(&self, context: &DialectContext) -> Result<Arc<dyn Dialect>, DialectError> {
        (self.build)(context)
    }
}

fn build<D: BuildDialect>(context: &DialectContext) -> Result<Arc<dyn Dialect>, DialectError> {
    match D::build(context, context.config::<D::Config>()) {
        Ok(dialect) => Ok(Arc::new(dialect)),
        Err(error) => Err(DialectError { dialect: D::NAME, source: Box::new(error) }),
    }
}

/// Built dialects, in order: what an app mounts, and whose tokens a
/// [multi-dialect gate](Self::any_gate) accepts.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use authmount::dialect::{BUILT_IN, DialectContext, Dialects};
/// use authmount::mailer::OutboxMailer;
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
///
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("k1", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let dialects = Dialects::built_in(&DialectContext::new(services.clone(), jwt, Arc::new(OutboxMailer::new())))?;
/// let apis = dialects.apis(); // mount each with the adapter's `router`/`configure`
/// assert_eq!(apis.len(), BUILT_IN.len()); // every registered dialect
/// let gate = dialects.any_gate(services.users.clone()); // any dialect's token on the app's routes
/// # let _ = gate;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Dialects {
    dialects: Vec<Arc<dyn Dialect>>,
}

impl std::fmt::Debug for Dialects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.dialects.iter().map(|dialect| dialect.name())).finish()
    }
}

impl Dialects {
    /// Builds the dialects of `registrations`, in order.
    pub fn build(registrations: &[Registration], context: &DialectContext) -> Result<Self, DialectError> {
        let dialects = registrations.iter().map(|line| line.build(context)).collect::<Result<_, _>>()?;
        Ok(Self { dialects })
    }

    /// Builds authmount's own dialects ([`BUILT_IN`](super::BUILT_IN)).
    pub fn built_in(context: &DialectContext) -> Result<Self, DialectError> {
        Self::build(super::BUILT_IN, context)
    }

    /// Adds a dialect built by other means, after the others.
    #[must_use]
    pub fn with(mut self, dialect: Arc<dyn Dialect>) -> Self {
        self.dialects.push(dialect);
        self
    }

    /// The dialects, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Dialect>> {
        self.dialects.iter()
    }

    /// The dialect named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Dialect>> {
        self.dialects.iter().find(|dialect| dialect.name() == name)
    }

    /// Every dialect's endpoints, in order.
    pub fn apis(&self) -> Vec<Api> {
        self.dialects.iter().map(|dialect| dialect.api()).collect()
    }

    /// A gate for the app's own routes that accepts the token of any of these dialects, in any
    /// way that dialect carries it; see [`any_gate`](super::any_gate).
    pub fn any_gate(&self, users: Arc<dyn UserStore>) -> Gate {
        super::any_gate(self.dialects.iter().map(|dialect| &**dialect), users)
    }
}
