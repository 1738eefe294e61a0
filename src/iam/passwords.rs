//! Password hashing and policy: argon2id with the OWASP parameters of `DEFAULTS.md`
//! (m = 19 MiB, t = 2, p = 1), computed off the async runtime with a bounded number at once,
//! and the ASVS 6.2 rules (8–128 characters, no composition rules, common passwords refused).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::IamError;

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters (longer ones would only cost hashing time).
pub const MAX_LEN: usize = 128;

/// Frequently used passwords of eight characters or more, refused whatever their case.
/// A short list of the most common ones seen in public breach corpora; the length rule
/// already refuses the shorter ones.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "12341234",
    "11223344",
    "12121212",
    "123123123",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "q1w2e3r4",
    "asdfghjk",
    "asdfghjkl",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "basketball",
    "superman",
    "batman123",
    "starwars",
    "whatever",
    "trustno1",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "abc12345",
    "abcd1234",
    "abcdefgh",
    "aa123456",
    "monkey123",
    "dragon123",
    "master123",
    "shadow123",
    "michael1",
    "jennifer",
    "jordan23",
    "computer",
    "internet",
    "changeme",
    "changeme1",
    "administrator",
    "admin123",
    "admin1234",
    "adminadmin",
    "rootroot",
    "lantern123",
    "lantern1",
    "secret123",
    "mypassword",
    "loveme123",
    "freedom1",
    "chocolate",
    "butterfly",
    "liverpool",
    "chelsea1",
    "arsenal1",
    "pokemon1",
    "minecraft",
    "samsung1",
    "google123",
    "default1",
    "test1234",
    "testtest",
    "guest123",
    "hello123",
    "helloworld",
    "qazwsxedc",
    "1qazxsw2",
    "passwort",
    "motdepasse",
    "contraseña",
    "999999999",
    "987654321",
    "147258369",
    "123654789",
    "112233445566",
    "123qweasd",
    "qweasdzxc",
    "access14",
    "mustang1",
    "michelle",
    "jessica1",
    "charlie1",
    "summer2024",
    "winter2024",
    "spring2024",
    "autumn2024",
    "summer2025",
    "winter2025",
    "company1",
];

/// Checks a new password against the policy; the error names the field `field`.
pub fn check_policy(field: &'static str, password: &str, email: &str) -> Result<(), IamError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(IamError::invalid(
            field,
            format!("use at least {MIN_LEN} characters"),
        ));
    }
    if chars > MAX_LEN {
        return Err(IamError::invalid(
            field,
            format!("use at most {MAX_LEN} characters"),
        ));
    }
    let lower = password.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    if COMMON.contains(&lower.as_str()) || (!local_part.is_empty() && lower == local_part) {
        return Err(IamError::invalid(
            field,
            "this password is too common or too easy to guess; choose another",
        ));
    }
    Ok(())
}

/// Hashes and verifies passwords with a bound on concurrent work.
///
/// Each hash takes 19 MiB and tens of milliseconds of one core. Beyond `permits` hashes at
/// once, up to `permits * 2` callers wait; past that, callers get [`IamError::Throttled`] at
/// once, so that a flood of sign-ins answers 429 instead of queueing without end (QUALITY P8).
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    /// A real hash of a random password, verified against when the user is unknown so that an
    /// unknown e-mail costs the same time as a wrong password.
    decoy: Arc<String>,
}

fn argon2() -> Result<Argon2<'static>, IamError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| IamError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string, synchronously (for CLI and start-up code).
pub fn hash_blocking(password: &str) -> Result<String, IamError> {
    let salt = super::tokens::random_bytes::<16>();
    argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IamError::Hash(e.to_string()))
}

/// Verifies `password` against a PHC string, synchronously.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    match argon2() {
        Ok(a) => a.verify_password(password.as_bytes(), phc).is_ok(),
        Err(_) => false,
    }
}

impl PasswordHasher {
    /// A hasher running at most `permits` hashes at once.
    pub fn new(permits: usize) -> Result<Self, IamError> {
        let permits = permits.max(1);
        let decoy = hash_blocking(&super::tokens::random_secret())?;
        Ok(PasswordHasher {
            permits: Arc::new(Semaphore::new(permits)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: permits * 2,
            decoy: Arc::new(decoy),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, IamError> {
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = WaitingGuard(&self.waiting);
        if queued >= self.max_waiting {
            return Err(IamError::Throttled {
                retry_after_secs: 1,
            });
        }
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| IamError::Hash(e.to_string()))?;
        drop(guard);
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|e| IamError::Hash(e.to_string()))
    }

    /// Hashes a password.
    pub async fn hash(&self, password: String) -> Result<String, IamError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Verifies a password against a stored hash; with `None` (unknown user) it spends the
    /// same time on a decoy hash and answers false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, IamError> {
        let decoy = Arc::clone(&self.decoy);
        self.run(move || match phc {
            Some(phc) => verify_blocking(&password, &phc),
            None => {
                let _ = verify_blocking(&password, &decoy);
                false
            }
        })
        .await
    }
}

struct WaitingGuard<'a>(&'a AtomicUsize);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_asvs() {
        assert!(check_policy("p", "short", "a@b.c").is_err());
        assert!(check_policy("p", &"x".repeat(129), "a@b.c").is_err());
        assert!(check_policy("p", "Password123", "a@b.c").is_err());
        assert!(check_policy("p", "alice.smith", "alice.smith@example.org").is_err());
        // No composition rules: a long lowercase phrase is fine.
        assert!(check_policy("p", "correct horse battery staple", "a@b.c").is_ok());
        let e = check_policy("new_password", "abc", "a@b.c").unwrap_err();
        assert!(matches!(
            e,
            IamError::Invalid {
                field: "new_password",
                ..
            }
        ));
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_fail() {
        let h = PasswordHasher::new(2).unwrap();
        let phc = h.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            h.verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!h.verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(!h.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_flood_is_refused_instead_of_queued() {
        let h = PasswordHasher::new(1).unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.verify("x".into(), None).await })
            })
            .collect();
        let mut throttled = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(IamError::Throttled { .. })) {
                throttled += 1;
            }
        }
        assert!(
            throttled > 0,
            "some of 12 concurrent hashes with 1 permit are refused"
        );
    }
}
