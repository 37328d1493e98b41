//! New keys' secrets and their hashes: a secret from the operating
//! system's randomness, and the SHA-256 the store keeps instead of it.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

/// The SHA-256 of a presented or new secret. Compute it before taking the
/// store's lock: it is the costly part of authenticating and creating.
pub fn sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A new key's secret, with its hash and the key's id: made before taking
/// the store's lock, so creates do not serialise on the random generator
/// and the hash.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) sha256: [u8; 32],
}

impl NewKey {
    /// A random secret (`sk-` and 43 random alphanumerics), its hash, and a
    /// fresh id.
    pub fn generate() -> Self {
        Self::with_secret(new_secret())
    }

    /// A key with a known secret, such as the bootstrap admin key.
    pub fn with_secret(secret: String) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            sha256: sha256(&secret),
            secret,
        }
    }
}

/// A new secret: `sk-` and 43 random alphanumerics (over 256 bits) from the
/// thread-local CSPRNG, which is seeded from the operating system.
pub fn new_secret() -> String {
    format!("sk-{}", Alphanumeric.sample_string(&mut rand::rng(), 43))
}

/// The hint the server keeps of a secret: its last four characters.
pub fn hint(secret: &str) -> &str {
    let start = secret.char_indices().rev().nth(3).map_or(0, |(at, _)| at);
    &secret[start..]
}
