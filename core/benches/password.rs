//! Cost of one argon2id verification with the default (OWASP floor) parameters: through
//! `authmount::password::Argon2idHasher`, and through the `argon2` crate directly for comparison.
//!
//! `cargo bench -p authmount --bench password -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use authmount::password::{Argon2Params, Argon2idHasher, PasswordHasher, Verification};
use criterion::{Criterion, criterion_group, criterion_main};

const PASSWORD: &[u8] = b"correct horse battery staple";

fn verify(c: &mut Criterion) {
    let hasher = Argon2idHasher::new(Argon2Params::default()).expect("default params are valid");
    let phc = hasher.hash(PASSWORD).expect("hashing works");
    assert_eq!(
        hasher.verify(PASSWORD, &phc).expect("verifying works"),
        Verification::Match { needs_rehash: false }
    );

    let mut group = c.benchmark_group("argon2id_verify_m19456_t2_p1");
    group.bench_function("authmount_Argon2idHasher", |b| {
        b.iter(|| hasher.verify(black_box(PASSWORD), black_box(&phc)))
    });
    // The crate's own path: parse the PHC string, recompute, compare.
    let argon2 = Argon2::default();
    group.bench_function("argon2_crate", |b| {
        b.iter(|| {
            let parsed = PasswordHash::new(black_box(&phc)).expect("valid PHC string");
            argon2.verify_password(black_box(PASSWORD), &parsed)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = verify
}
criterion_main!(benches);
