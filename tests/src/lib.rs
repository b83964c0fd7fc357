//! The black-box conformance suite: each case is written once as HTTP exchanges and run against a
//! real axum server and a real actix-web server on 127.0.0.1; the two transcripts (status, the
//! headers that matter, body; tokens masked) must then be identical.
//!
//! ```no_run
//! # async fn example() {
//! authmount_conformance::on_both_adapters(|t| async move {
//!     let response = t.client.get("/api/uzivatel-info/").send().await;
//!     response.assert_status(401);
//! })
//! .await;
//! # }
//! ```

pub mod client;
pub mod dialect_calls;
pub mod external;
pub mod fixture;
pub mod hostile;
pub mod servers;
pub mod shared_stores;

use std::future::Future;

use authmount::dialect::minisass::MinisassConfig;
use authmount::dialect::{BUILT_IN, Registration};

pub use client::{Client, Recorded, Request, Response};
pub use fixture::{Fixture, PASSWORD, START};
pub use servers::{Adapter, TestApp};

/// What a case gets: a client for the server under test and the world behind it.
pub struct Case {
    /// The recording client.
    pub client: Client,
    /// The fixture the server was built from.
    pub fixture: Fixture,
    /// Which adapter is serving.
    pub adapter: Adapter,
}

/// Runs `case` against a fresh fixture served by axum, then by actix-web, and asserts the two
/// transcripts are identical.
pub async fn on_both_adapters<F, Fut>(case: F)
where
    F: Fn(Case) -> Fut,
    Fut: Future<Output = ()>,
{
    on_both_adapters_with(BUILT_IN, case).await;
}

/// [`on_both_adapters`] with the dialects of `registrations` mounted.
pub async fn on_both_adapters_with<F, Fut>(registrations: &[Registration], case: F)
where
    F: Fn(Case) -> Fut,
    Fut: Future<Output = ()>,
{
    compare_adapters(|| Fixture::with_dialects(registrations), case).await;
}

/// [`on_both_adapters`] with miniSASS configured by `minisass`.
pub async fn on_both_adapters_with_minisass<F, Fut>(minisass: MinisassConfig, case: F)
where
    F: Fn(Case) -> Fut,
    Fut: Future<Output = ()>,
{
    compare_adapters(|| Fixture::with_minisass(minisass.clone()), case).await;
}

/// Runs `case` against a fresh fixture from `fixture` on each adapter and compares the
/// transcripts.
async fn compare_adapters<B, BFut, F, Fut>(fixture: B, case: F)
where
    B: Fn() -> BFut,
    BFut: Future<Output = Fixture>,
    F: Fn(Case) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut transcripts: Vec<(Adapter, Vec<Recorded>)> = Vec::new();
    for adapter in Adapter::ALL {
        let fixture = fixture().await;
        let running = servers::start(adapter, fixture.app.clone()).await;
        let client = running.client.clone();
        case(Case { client: client.clone(), fixture, adapter }).await;
        transcripts.push((adapter, client.transcript()));
    }
    let (first, reference) = &transcripts[0];
    for (adapter, transcript) in &transcripts[1..] {
        assert_eq!(
            transcript.len(),
            reference.len(),
            "{adapter:?} made a different number of exchanges than {first:?}"
        );
        for (theirs, ours) in transcript.iter().zip(reference) {
            assert_eq!(theirs, ours, "{adapter:?} and {first:?} answered {} differently", ours.request);
        }
    }
}
