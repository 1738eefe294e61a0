//! Random secrets (session ids, setup links, CSRF tokens) and their storage form.
//!
//! Secrets are 256-bit random values from the OS generator, sent base64url-encoded; the store
//! and the in-memory indexes keep only their SHA-256, so a copy of the store or a memory dump
//! of an index does not hand out live sessions.

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// A fresh 256-bit secret, base64url without padding (43 characters).
pub fn random_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// `N` random bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The OS generator failing is not recoverable and happens only on a broken system; fall
    // back to hashing the time so that we never hand out an all-zero secret.
    if SystemRandom::new().fill(&mut out).is_err() {
        let seed = format!("{:?}", std::time::SystemTime::now());
        let digest = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
        for (o, d) in out.iter_mut().zip(digest.as_ref().iter().cycle()) {
            *o = *d;
        }
        tracing::error!("the operating system's random generator failed");
    }
    out
}

/// A random identifier for stored objects: 128 bits, lowercase hex.
pub fn random_id() -> String {
    hex(&random_bytes::<16>())
}

/// The SHA-256 of a secret, the only form in which secrets are kept.
pub fn digest(secret: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
        assert_eq!(random_id().len(), 32);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(hex(&[0, 255]), "00ff");
    }
}
