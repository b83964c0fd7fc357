//! [`Argon2idHasher`]: the argon2id implementation of the [`PasswordHasher`] port.

use std::fmt;

use argon2::password_hash::{self, phc::Output, phc::ParamsString, phc::PasswordHash, phc::Salt};
use argon2::{Algorithm, Argon2, Params, Version};

use super::block_pool::BlockPool;
use super::{BackendError, ConfigProblem, HashingFailure, PasswordError, PasswordHasher, Verification};

/// Argon2 cost parameters.
///
/// The default is the OWASP floor for argon2id: **m = 19456 KiB (19 MiB), t = 2, p = 1**
/// ([OWASP Password Storage Cheat Sheet]). Memory is what makes GPU/ASIC cracking expensive; 19 MiB
/// with two passes costs about 10–20 ms on one core of a current server, which keeps a login cheap
/// for the server while costing an attacker the same per guess. Raise it if your hardware allows.
///
/// [`Argon2idHasher::new`] refuses parameters below OWASP's published equivalent settings:
///
/// | iterations (t) | minimum memory (m)  |
/// |----------------|---------------------|
/// | 1              | 47104 KiB (46 MiB)  |
/// | 2              | 19456 KiB (19 MiB)  |
/// | 3              | 12288 KiB (12 MiB)  |
/// | 4              | 9216 KiB (9 MiB)    |
/// | 5 or more      | 7168 KiB (7 MiB)    |
///
/// and at least one lane (p ≥ 1).
///
/// ```
/// use authmount::password::Argon2Params;
/// let p = Argon2Params::default();
/// assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19456, 2, 1));
/// assert!(p.check_floor().is_ok());
/// assert!(Argon2Params { memory_kib: 4096, ..p }.check_floor().is_err());
/// ```
///
/// [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory cost `m`, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory, `t`.
    pub iterations: u32,
    /// Degree of parallelism (lanes), `p`. The crate computes lanes on one thread, so raising it
    /// does not make a hash faster here.
    pub parallelism: u32,
}

impl Argon2Params {
    /// The OWASP floor for argon2id: m = 19456 KiB, t = 2, p = 1. Also the [`Default`].
    pub const OWASP_MINIMUM: Self = Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };

    /// Tiny parameters (m = 64 KiB, t = 1, p = 1) that hash in well under a millisecond.
    ///
    /// **Insecure: for tests only.** [`Argon2idHasher::new`] rejects them; use
    /// [`Argon2idHasher::insecure_for_tests`].
    pub const fn insecure_fast_for_tests() -> Self {
        Self { memory_kib: 64, iterations: 1, parallelism: 1 }
    }

    /// Check these parameters against the OWASP floor (see the table on [`Argon2Params`]).
    ///
    /// # Errors
    /// [`PasswordError::InvalidConfig`] with [`ConfigProblem::ZeroParallelism`],
    /// [`ConfigProblem::ZeroIterations`] or [`ConfigProblem::BelowOwaspFloor`].
    pub fn check_floor(&self) -> Result<(), PasswordError> {
        if self.parallelism == 0 {
            return Err(ConfigProblem::ZeroParallelism.into());
        }
        let min_memory = match self.iterations {
            0 => {
                return Err(ConfigProblem::ZeroIterations.into());
            }
            1 => 46 * 1024,
            2 => 19 * 1024,
            3 => 12 * 1024,
            4 => 9 * 1024,
            _ => 7 * 1024,
        };
        if self.memory_kib < min_memory {
            return Err(ConfigProblem::BelowOwaspFloor { params: *self, min_memory_kib: min_memory }.into());
        }
        Ok(())
    }

    /// The argon2 crate's parameters (validated by the crate: e.g. m ≥ 8·p).
    fn to_argon2(self) -> Result<Params, PasswordError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            ConfigProblem::RejectedByArgon2 { params: self, source: BackendError::argon2(e) }.into()
        })
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP_MINIMUM
    }
}

/// Argon2id password hashing (RFC 9106), storing PHC strings such as
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// - **Hashing** uses argon2id, version 0x13, the configured [`Argon2Params`], a fresh random
///   16-byte salt from the operating system and a 32-byte output.
/// - **Verifying** accepts PHC strings of every argon2 variant (`argon2id`, `argon2i`, `argon2d`)
///   and version (0x10, 0x13), reading the cost from the string, and compares in constant time.
///   A match reports `needs_rehash: true` when the stored hash's variant, version, m, t, p or output
///   length differ from what [`hash`](PasswordHasher::hash) would produce now.
/// - **Unusable stored hashes** — not a PHC string, not argon2 (e.g. a bcrypt `$2b$` hash),
///   invalid parameters, or a cost above the verification limits (more than
///   [`MAX_VERIFY_MEMORY_KIB`](Self::MAX_VERIFY_MEMORY_KIB), [`MAX_VERIFY_ITERATIONS`](Self::MAX_VERIFY_ITERATIONS)
///   or [`MAX_VERIFY_PARALLELISM`](Self::MAX_VERIFY_PARALLELISM), unless configured higher; a
///   corrupt `m=4000000000` must not allocate 4 TiB) — verify as
///   [`Verification::Mismatch`] after a dummy verify (same cost as a real one), with a
///   `tracing::warn!` that names the problem but never the hash or the password. A corrupt row thus
///   locks that one account out visibly in the logs instead of turning logins into 500s.
///
/// Construction hashes a random password once with the current parameters (one hash of cost) to
/// have the target of [`dummy_verify`](PasswordHasher::dummy_verify).
///
/// ```
/// use authmount::password::{Argon2Params, Argon2idHasher, PasswordHasher, Verification};
///
/// let hasher = Argon2idHasher::new(Argon2Params::default())?;
/// let phc = hasher.hash("correct horse battery staple".as_bytes())?;
/// assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert_eq!(
///     hasher.verify(b"correct horse battery staple", &phc)?,
///     Verification::Match { needs_rehash: false }
/// );
/// assert_eq!(hasher.verify(b"Tr0ub4dor&3", &phc)?, Verification::Mismatch);
/// assert_eq!(hasher.verify(b"anything", "not a hash")?, Verification::Mismatch);
/// # Ok::<(), authmount::password::PasswordError>(())
/// ```
pub struct Argon2idHasher {
    params: Argon2Params,
    argon2: Argon2<'static>,
    /// A hash of a random password with the current parameters: the target of `dummy_verify`.
    dummy_phc: String,
    /// Working memory reused across hashes (see [`BlockPool`]).
    blocks: BlockPool,
}

/// Why a stored hash could not be checked.
enum Checked {
    Match { needs_rehash: bool },
    Mismatch,
    Unusable(&'static str, Option<password_hash::Error>),
}

impl Argon2idHasher {
    /// Stored hashes asking for more memory than this (2 GiB, RFC 9106's first recommended
    /// setting), or than the configured memory if higher, are refused rather than computed.
    pub const MAX_VERIFY_MEMORY_KIB: u32 = 2 * 1024 * 1024;
    /// Stored hashes asking for more passes than this (or the configured count if higher) are
    /// refused rather than computed.
    pub const MAX_VERIFY_ITERATIONS: u32 = 64;
    /// Stored hashes asking for more lanes than this (or the configured count if higher) are
    /// refused rather than computed.
    pub const MAX_VERIFY_PARALLELISM: u32 = 64;

    /// A hasher with `params`, which must meet the OWASP floor ([`Argon2Params::check_floor`]).
    ///
    /// Costs one hash (the dummy hash for [`dummy_verify`](PasswordHasher::dummy_verify)).
    ///
    /// # Errors
    /// [`PasswordError::InvalidConfig`] for parameters below the floor (see
    /// [`check_floor`](Argon2Params::check_floor)) or invalid for argon2
    /// ([`ConfigProblem::RejectedByArgon2`]); [`PasswordError::Hashing`] with
    /// [`HashingFailure::Randomness`] if the operating system's random generator fails.
    pub fn new(params: Argon2Params) -> Result<Self, PasswordError> {
        params.check_floor()?;
        Self::build(params)
    }

    /// A hasher with `params` **without** the security floor check, for tests that need fast
    /// hashing (see [`Argon2Params::insecure_fast_for_tests`]). Never use it in production.
    ///
    /// # Errors
    /// As [`new`](Self::new), minus the floor.
    pub fn insecure_for_tests(params: Argon2Params) -> Result<Self, PasswordError> {
        if params.check_floor().is_err() {
            tracing::warn!(
                memory_kib = params.memory_kib,
                iterations = params.iterations,
                parallelism = params.parallelism,
                "argon2 parameters below the OWASP floor: for tests only"
            );
        }
        Self::build(params)
    }

    fn build(params: Argon2Params) -> Result<Self, PasswordError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        // One buffer per core: the password service runs one hash per core by default.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let blocks = BlockPool::new(argon2.params().block_count(), cores);
        let mut hasher = Self { params, argon2, dummy_phc: String::new(), blocks };
        let mut dummy_password = [0u8; 16];
        getrandom::fill(&mut dummy_password)
            .map_err(|e| HashingFailure::Randomness(BackendError::random(e)))?;
        hasher.dummy_phc = hasher.hash(&dummy_password)?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Parse `phc` and check `password` against it; the one code path of `verify` and
    /// `dummy_verify`, so both cost the same.
    fn check(&self, password: &[u8], phc: &str) -> Checked {
        // The PHC parser also decodes the salt (and checks its length) since password-hash 0.6.
        let parsed = match PasswordHash::new(phc) {
            Ok(parsed) => parsed,
            Err(e) => return Checked::Unusable("not a PHC string", Some(e.into())),
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return Checked::Unusable("not an argon2 hash", None);
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(version) => version,
            Err(e) => return Checked::Unusable("unknown argon2 version", Some(e.into())),
        };
        let params = match Params::try_from(&parsed) {
            Ok(params) => params,
            Err(e) => return Checked::Unusable("invalid argon2 parameters", Some(e)),
        };
        if params.m_cost() > Self::MAX_VERIFY_MEMORY_KIB.max(self.params.memory_kib)
            || params.t_cost() > Self::MAX_VERIFY_ITERATIONS.max(self.params.iterations)
            || params.p_cost() > Self::MAX_VERIFY_PARALLELISM.max(self.params.parallelism)
        {
            return Checked::Unusable("argon2 cost above the verification limits", None);
        }
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Checked::Unusable("no salt or no hash output", None);
        };
        // Recomputes with the algorithm, version and parameters of `parsed` (not of
        // `self.argon2`) and compares the outputs in constant time (`Output`'s `PartialEq`).
        let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
        match self.compute(&argon2, password, salt, expected.len()) {
            Ok(computed) if computed == *expected => Checked::Match {
                needs_rehash: algorithm != Algorithm::Argon2id
                    || version != Some(Version::V0x13)
                    || params.m_cost() != self.params.memory_kib
                    || params.t_cost() != self.params.iterations
                    || params.p_cost() != self.params.parallelism
                    || params.output_len() != Some(Params::DEFAULT_OUTPUT_LEN),
            },
            Ok(_) => Checked::Mismatch,
            Err(e) => Checked::Unusable("argon2 rejected the stored hash", Some(e)),
        }
    }

    /// The argon2 output for `password` and `salt`, computed in pooled working memory.
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        output_len: usize,
    ) -> Result<Output, password_hash::Error> {
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let out = buffer.get_mut(..output_len).ok_or(password_hash::Error::OutputSize)?;
        self.blocks.with_blocks(argon2.params().block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password, salt, out, blocks)
        })?;
        Ok(Output::new(out)?)
    }
}

impl PasswordHasher for Argon2idHasher {
    fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
        // The recommended 16 bytes (`argon2::RECOMMENDED_SALT_LEN`) from the operating system.
        let salt = password_hash::try_generate_salt()
            .map_err(|e| HashingFailure::Randomness(BackendError::random(e)))?;
        let salt_phc = Salt::new(&salt)
            .map_err(|e| HashingFailure::SaltEncoding(BackendError::password_hash(e.into())))?;
        let argon2_failure = |e| HashingFailure::Argon2(BackendError::password_hash(e));
        let output = self
            .compute(&self.argon2, password, &salt, Params::DEFAULT_OUTPUT_LEN)
            .map_err(argon2_failure)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(argon2_failure)?,
            salt: Some(salt_phc),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    fn verify(&self, password: &[u8], phc: &str) -> Result<Verification, PasswordError> {
        Ok(match self.check(password, phc) {
            Checked::Match { needs_rehash } => Verification::Match { needs_rehash },
            Checked::Mismatch => Verification::Mismatch,
            Checked::Unusable(problem, detail) => {
                // `detail` is the parser's error kind ("salt invalid: value too short"...): it
                // never quotes the hash.
                match detail {
                    Some(detail) => tracing::warn!(
                        problem,
                        %detail,
                        "stored password hash is unusable; treating the login as a mismatch"
                    ),
                    None => tracing::warn!(
                        problem,
                        "stored password hash is unusable; treating the login as a mismatch"
                    ),
                }
                self.dummy_verify(password);
                Verification::Mismatch
            }
        })
    }

    fn dummy_verify(&self, password: &[u8]) {
        let outcome = self.check(password, &self.dummy_phc);
        std::hint::black_box(&outcome);
    }
}

impl fmt::Debug for Argon2idHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2idHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PHC string made by the argon2 crate itself, with any variant/version/cost.
    fn raw_hash(algorithm: Algorithm, version: Version, m: u32, t: u32, p: u32, pw: &[u8]) -> String {
        let params = Params::new(m, t, p, None).unwrap();
        let argon2 = Argon2::new(algorithm, version, params);
        let hash: PasswordHash =
            argon2::PasswordHasher::hash_password_with_salt(&argon2, pw, b"0123456789abcdef").unwrap();
        hash.to_string()
    }

    fn default_hasher() -> Argon2idHasher {
        Argon2idHasher::new(Argon2Params::default()).unwrap()
    }

    /// The pooled working memory is not cleared between hashes: outputs must still be argon2's
    /// own, in both directions, whatever ran in that memory before.
    #[test]
    fn reused_working_memory_gives_the_reference_output() {
        let params = Argon2Params { memory_kib: 256, iterations: 2, parallelism: 2 };
        let hasher = Argon2idHasher::insecure_for_tests(params).unwrap();
        for password in [b"first password".as_slice(), b"another one", b"first password"] {
            let reference = raw_hash(Algorithm::Argon2id, Version::V0x13, 256, 2, 2, password);
            assert_eq!(
                hasher.verify(password, &reference).unwrap(),
                Verification::Match { needs_rehash: false }
            );
            assert_eq!(hasher.verify(b"not it", &reference).unwrap(), Verification::Mismatch);
            let ours = hasher.hash(password).unwrap();
            let parsed = PasswordHash::new(&ours).unwrap();
            argon2::PasswordVerifier::verify_password(&Argon2::default(), password, &parsed)
                .expect("the argon2 crate accepts our hash");
        }
    }

    #[test]
    fn default_params_are_the_owasp_floor() {
        let p = Argon2Params::default();
        assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19456, 2, 1));
        let hasher = default_hasher();
        let phc = hasher.hash(b"password1").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn salts_are_random_16_bytes() {
        let hasher = Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).unwrap();
        let a = hasher.hash(b"same password").unwrap();
        let b = hasher.hash(b"same password").unwrap();
        assert_ne!(a, b);
        let parsed = PasswordHash::new(&a).unwrap();
        assert_eq!(parsed.salt.unwrap().len(), 16);
        assert_eq!(parsed.hash.unwrap().len(), 32);
    }

    #[test]
    fn floor_is_enforced_on_normal_construction() {
        for (m, t, p, min_memory_kib) in
            [(19455, 2, 1, 19456), (4096, 3, 1, 12288), (47103, 1, 1, 47104), (7167, 9, 1, 7168)]
        {
            let params = Argon2Params { memory_kib: m, iterations: t, parallelism: p };
            assert_eq!(
                Argon2idHasher::new(params).unwrap_err(),
                PasswordError::InvalidConfig(ConfigProblem::BelowOwaspFloor { params, min_memory_kib }),
                "m={m} t={t} p={p}"
            );
        }
        let zero_t = Argon2Params { iterations: 0, ..Argon2Params::default() };
        assert_eq!(
            Argon2idHasher::new(zero_t).unwrap_err(),
            PasswordError::InvalidConfig(ConfigProblem::ZeroIterations)
        );
        let zero_p = Argon2Params { parallelism: 0, ..Argon2Params::default() };
        assert_eq!(
            Argon2idHasher::new(zero_p).unwrap_err(),
            PasswordError::InvalidConfig(ConfigProblem::ZeroParallelism)
        );
        assert_eq!(
            Argon2Params { memory_kib: 4096, iterations: 3, parallelism: 1 }
                .check_floor()
                .unwrap_err()
                .to_string(),
            "argon2 memory 4096 KiB with t=3 is below the OWASP floor of 12288 KiB"
        );
        for (m, t) in [(47104, 1), (12288, 3), (9216, 4), (7168, 5)] {
            let params = Argon2Params { memory_kib: m, iterations: t, parallelism: 1 };
            assert!(params.check_floor().is_ok(), "m={m} t={t} refused");
        }
        assert!(Argon2Params::insecure_fast_for_tests().check_floor().is_err());
        // argon2's own rule (m >= 8 p) is still checked on the insecure path.
        let bad = Argon2Params { memory_kib: 8, iterations: 1, parallelism: 4 };
        let err = Argon2idHasher::insecure_for_tests(bad).unwrap_err();
        assert_eq!(
            err,
            PasswordError::InvalidConfig(ConfigProblem::RejectedByArgon2 {
                params: bad,
                source: BackendError::argon2(argon2::Error::MemoryTooLittle),
            })
        );
        assert_eq!(err.to_string(), "argon2 rejected the parameters m=8 KiB, t=1, p=4");
        let source = std::error::Error::source(&err).expect("argon2's reason as the source");
        assert_eq!(source.to_string(), "argon2: memory cost is too small");
    }

    #[test]
    fn roundtrip_and_wrong_password() {
        let hasher = default_hasher();
        let phc = hasher.hash(b"correct horse").unwrap();
        assert_eq!(
            hasher.verify(b"correct horse", &phc).unwrap(),
            Verification::Match { needs_rehash: false }
        );
        assert_eq!(hasher.verify(b"correct hors", &phc).unwrap(), Verification::Mismatch);
        assert_eq!(hasher.verify(b"", &phc).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn verifies_every_variant_and_flags_rehash() {
        let hasher = default_hasher();
        let pw = b"legacy-password";
        let cases = [
            // (hash, needs_rehash)
            (raw_hash(Algorithm::Argon2id, Version::V0x13, 19456, 2, 1, pw), false),
            (raw_hash(Algorithm::Argon2id, Version::V0x13, 4096, 3, 1, pw), true),
            (raw_hash(Algorithm::Argon2id, Version::V0x13, 19456, 2, 2, pw), true),
            (raw_hash(Algorithm::Argon2id, Version::V0x13, 19456, 3, 1, pw), true),
            (raw_hash(Algorithm::Argon2i, Version::V0x13, 19456, 2, 1, pw), true),
            (raw_hash(Algorithm::Argon2d, Version::V0x13, 19456, 2, 1, pw), true),
            (raw_hash(Algorithm::Argon2id, Version::V0x10, 19456, 2, 1, pw), true),
        ];
        for (phc, needs_rehash) in &cases {
            assert_eq!(
                hasher.verify(pw, phc).unwrap(),
                Verification::Match { needs_rehash: *needs_rehash },
                "{phc}"
            );
            assert_eq!(hasher.verify(b"wrong", phc).unwrap(), Verification::Mismatch, "{phc}");
        }
        assert!(cases[4].0.starts_with("$argon2i$v=19$"));
        assert!(cases[6].0.starts_with("$argon2id$v=16$"));
    }

    #[test]
    fn unusable_hashes_are_a_mismatch_not_an_error() {
        let hasher = Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests()).unwrap();
        let good = hasher.hash(b"pw").unwrap();
        let truncated = &good[..good.len() - 10];
        let cases = [
            "",
            "not a hash",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", // bcrypt
            "$pbkdf2-sha256$29000$N2ZqbGVZ$9pH5oiUh4iUHaDCnLdvvPFt2I2JVZkCjRDpuUanYmZk",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=42$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "$argon2id$v=19$m=4000000000,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "$argon2id$v=19$m=64,t=1000000,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "$argon2id$v=19$m=64,t=1,p=1,x=3$MDEyMzQ1Njc4OWFiY2RlZg$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // short salt
            truncated,
        ];
        for phc in cases {
            assert_eq!(hasher.verify(b"pw", phc), Ok(Verification::Mismatch), "{phc:?}");
        }
    }

    #[test]
    fn dummy_verify_runs_and_debug_hides_the_dummy_hash() {
        let hasher = default_hasher();
        hasher.dummy_verify(b"whatever");
        let debug = format!("{hasher:?}");
        assert!(debug.contains("19456"));
        assert!(!debug.contains("$argon2id$"));
    }
}
