//! Two-step sign-in with time-based one-time codes (TOTP, RFC 6238 over RFC 4226 HOTP).
//!
//! HMAC-SHA1, 6 digits and a 30-second step: what every authenticator app understands.
//! A code of the step before or after the current one is accepted for clock drift, but never
//! a step at or before the last one accepted, so a code overheard on the wire is useless.
//! Recovery codes are kept only as SHA-256, like every other secret of the appliance; the
//! TOTP secret itself must be kept as is, since verifying needs it.
//!
//! The pending second step of a sign-in (password right, code still to come) is a random
//! token in a cookie whose SHA-256 is stored with the user and a five-minute expiry.

use ring::hmac;
use serde::{Deserialize, Serialize};

use super::roles::Role;
use super::tokens::{digest, hex, random_bytes, random_secret};
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Each user's two-step record, keyed by user id.
pub const MFA: Table = Table::new("mfa_v1");
/// Pending second steps, keyed by the SHA-256 of their token.
pub const PENDING: Table = Table::new("mfa_pending_v1");

/// Digits of a code shown by authenticator apps.
pub const DIGITS: u32 = 6;
/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// How long a pending second step lives.
pub const PENDING_MS: i64 = 5 * 60_000;
/// How many recovery codes are issued at a time.
pub const RECOVERY_CODES: usize = 10;
/// Most pending second steps examined when pruning expired ones.
const PRUNE_LIMIT: usize = 1_000;

/// A user's two-step sign-in state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MfaRecord {
    /// The TOTP secret, base32 (RFC 4648, no padding).
    pub secret: String,
    /// Whether enrolment was confirmed with a code; until then the secret is only offered.
    pub enabled: bool,
    /// The last step whose code was accepted (a code is refused for this step or earlier).
    pub last_step: Option<i64>,
    /// SHA-256 (hex) of each recovery code not used yet.
    pub recovery: Vec<String>,
}

/// A sign-in waiting for its second step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// The user whose password was right.
    pub user_id: String,
    /// The throttle account (the typed e-mail, lowercase), so that wrong codes count with
    /// wrong passwords.
    pub account: String,
    /// Where to go after sign-in (already checked to be local).
    pub next: Option<String>,
    /// Expiry, unix ms.
    pub expires_ms: i64,
}

/// The HOTP value of `counter` (RFC 4226 §5.3) with `digits` digits, zero-padded.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    // Dynamic truncation: the low nibble of the last byte picks four bytes.
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let mut word = [0u8; 4];
    for (i, w) in word.iter_mut().enumerate() {
        *w = mac.get(offset + i).copied().unwrap_or(0);
    }
    let value = u32::from_be_bytes(word) & 0x7fff_ffff;
    let modulus = 10u64.pow(digits);
    let code = u64::from(value) % modulus;
    format!("{code:0width$}", width = digits as usize)
}

/// The step a unix time falls in.
pub fn step_of(now_secs: i64) -> i64 {
    now_secs.div_euclid(STEP_SECS)
}

/// The TOTP code at `now_secs` (what the user's app shows).
pub fn totp(secret: &[u8], now_secs: i64, digits: u32) -> String {
    hotp(
        secret,
        u64::try_from(step_of(now_secs)).unwrap_or(0),
        digits,
    )
}

/// The step whose code `code` is, among the current one and its two neighbours, if it is
/// later than `last_step`; `None` when the code is wrong or already used.
pub fn verify(secret: &[u8], code: &str, now_secs: i64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now_secs);
    [now - 1, now, now + 1].into_iter().find(|&step| {
        step >= 0
            && last_step.is_none_or(|last| step > last)
            && super::tokens::constant_time_eq(
                hotp(secret, u64::try_from(step).unwrap_or(0), DIGITS).as_bytes(),
                code.as_bytes(),
            )
    })
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 of RFC 4648 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_char(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_char(buffer << (5 - bits)));
    }
    out
}

fn base32_char(index: u32) -> char {
    BASE32
        .get((index & 31) as usize)
        .map_or('A', |&c| char::from(c))
}

/// Decodes base32 (case, spaces and padding ignored); `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let c = c.to_ascii_uppercase();
        let value = BASE32.iter().position(|&b| char::from(b) == c)?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

/// A fresh secret: 20 random bytes (160 bits, RFC 4226's recommendation), base32.
pub fn new_secret() -> String {
    base32_encode(&random_bytes::<20>())
}

/// The secret in groups of four, easier to type into an app.
pub fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` URI that authenticator apps import.
pub fn otpauth_uri(email: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/Lantern:{}?secret={secret}&issuer=Lantern",
        uri_escape(email)
    )
}

/// Percent-encodes all but the unreserved characters of RFC 3986 (and `@`, common in labels).
fn uri_escape(s: &str) -> String {
    use std::fmt::Write;
    s.bytes()
        .fold(String::with_capacity(s.len()), |mut out, b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
            out
        })
}

/// Ten fresh recovery codes (`xxxxx-xxxxx`, 40 random bits each) and their stored form.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let h = hex(&random_bytes::<5>());
            let code = format!("{}-{}", h.get(..5).unwrap_or(""), h.get(5..).unwrap_or(""));
            let stored = recovery_digest(&code);
            (code, stored)
        })
        .unzip()
}

/// The stored form of a recovery code: SHA-256 of its lowercase hex digits (so the dash and
/// case as typed do not matter).
fn recovery_digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex(&digest(&normal))
}

/// Whether `typed` looks like a recovery code rather than a six-digit code.
pub fn looks_like_recovery(typed: &str) -> bool {
    typed.chars().filter(char::is_ascii_alphanumeric).count() == 10
}

impl MfaRecord {
    /// Checks a code (six digits or a recovery code) at `now_secs`; on success records its
    /// use (the step, or removes the recovery code) and says which kind it was.
    pub fn accept(&mut self, typed: &str, now_secs: i64) -> Option<CodeKind> {
        if looks_like_recovery(typed) {
            let wanted = recovery_digest(typed);
            let at = self
                .recovery
                .iter()
                .position(|d| super::tokens::constant_time_eq(d.as_bytes(), wanted.as_bytes()))?;
            self.recovery.remove(at);
            return Some(CodeKind::Recovery);
        }
        let secret = base32_decode(&self.secret)?;
        let step = verify(&secret, typed, now_secs, self.last_step)?;
        self.last_step = Some(step);
        Some(CodeKind::Totp)
    }
}

/// Which kind of code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// The six digits of the authenticator app.
    Totp,
    /// A one-time recovery code.
    Recovery,
}

/// The key of the two-step policy in [`super::settings::SETTINGS`].
const POLICY_KEY: &[u8] = b"mfa_policy";

/// Who must use two-step sign-in, set by a Company Admin. Nobody by default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MfaPolicy {
    /// Everyone must.
    pub everyone: bool,
    /// Holders of any of these roles must.
    pub roles: Vec<Role>,
}

impl MfaPolicy {
    /// Whether a user with these (effective) roles must use two-step sign-in.
    pub fn requires(&self, roles: &[Role]) -> bool {
        self.everyone || roles.iter().any(|r| self.roles.contains(r))
    }
}

/// The stored policy (the default when nothing is stored).
pub fn policy(tx: &impl Reads) -> Result<MfaPolicy, StoreError> {
    Ok(tx
        .get_json_value(&super::settings::SETTINGS, POLICY_KEY)?
        .unwrap_or_default())
}

/// Stores the policy.
pub fn set_policy(tx: &mut WriteTx<'_>, policy: &MfaPolicy) -> Result<(), StoreError> {
    tx.put_json(&super::settings::SETTINGS, POLICY_KEY, policy)
}

/// Whether this user must set up two-step sign-in before anything else: the policy covers
/// their roles and they have not confirmed it yet.
pub fn must_enrol(tx: &impl Reads, user_id: &str, roles: &[Role]) -> Result<bool, StoreError> {
    Ok(policy(tx)?.requires(roles) && !is_enabled(tx, user_id)?)
}

/// The user's record, if any.
pub fn get(tx: &impl Reads, user_id: &str) -> Result<Option<MfaRecord>, StoreError> {
    tx.get_json_value(&MFA, user_id.as_bytes())
}

/// Whether the user has confirmed two-step sign-in.
pub fn is_enabled(tx: &impl Reads, user_id: &str) -> Result<bool, StoreError> {
    Ok(get(tx, user_id)?.is_some_and(|r| r.enabled))
}

/// Stores the user's record.
pub fn put(tx: &mut WriteTx<'_>, user_id: &str, record: &MfaRecord) -> Result<(), StoreError> {
    tx.put_json(&MFA, user_id.as_bytes(), record)
}

/// Removes the user's record (two-step sign-in off).
pub fn remove(tx: &mut WriteTx<'_>, user_id: &str) -> Result<(), StoreError> {
    tx.delete(&MFA, user_id.as_bytes()).map(|_| ())
}

/// Starts a pending second step; returns the token for the cookie. Expired ones are pruned
/// on the way so the table stays small.
pub fn start_pending(
    tx: &mut WriteTx<'_>,
    pending: &Pending,
    now_ms: i64,
) -> Result<String, StoreError> {
    let expired: Vec<Vec<u8>> = tx
        .scan_prefix(&PENDING, b"", PRUNE_LIMIT)?
        .into_iter()
        .filter(|(_, v)| {
            serde_json::from_slice::<Pending>(v).map_or(true, |p| p.expires_ms <= now_ms)
        })
        .map(|(k, _)| k)
        .collect();
    for k in expired {
        tx.delete(&PENDING, &k)?;
    }
    let token = random_secret();
    tx.put_json(&PENDING, &digest(&token), pending)?;
    Ok(token)
}

/// The live pending second step of this token, if any.
pub fn find_pending(
    tx: &impl Reads,
    token: &str,
    now_ms: i64,
) -> Result<Option<Pending>, StoreError> {
    let found: Option<Pending> = tx.get_json_value(&PENDING, &digest(token))?;
    Ok(found.filter(|p| p.expires_ms > now_ms))
}

/// Ends a pending second step (used, or abandoned).
pub fn end_pending(tx: &mut WriteTx<'_>, token: &str) -> Result<(), StoreError> {
    tx.delete(&PENDING, &digest(token)).map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column: 8 digits, ASCII secret "12345678901234567890".
    #[test]
    fn rfc6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, want) in vectors {
            assert_eq!(totp(secret, t, 8), want, "T = {t}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(hotp(secret, 0, 6), "755224");
        assert_eq!(hotp(secret, 9, 6), "520489");
    }

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_decode("mzxw 6ytb oi").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW6YQ=").unwrap(), b"foob");
        assert!(base32_decode("M1").is_none());
        let s = new_secret();
        assert_eq!(s.len(), 32);
        assert_eq!(base32_decode(&s).unwrap().len(), 20);
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }

    #[test]
    fn verify_accepts_one_step_of_drift_and_refuses_reuse() {
        let secret = b"12345678901234567890";
        let now = 1_800_000_000;
        let code = totp(secret, now, DIGITS);
        let step = verify(secret, &code, now, None).unwrap();
        assert_eq!(step, step_of(now));
        assert_eq!(verify(secret, &code, now, Some(step)), None, "reuse");
        let earlier = totp(secret, now - 30, DIGITS);
        assert!(verify(secret, &earlier, now, None).is_some());
        let later = totp(secret, now + 30, DIGITS);
        assert!(verify(secret, &later, now, None).is_some());
        let far = totp(secret, now - 90, DIGITS);
        assert_eq!(verify(secret, &far, now, None), None);
        assert_eq!(verify(secret, "12345", now, None), None);
        assert_eq!(verify(secret, "abcdef", now, None), None);
    }

    #[test]
    fn recovery_codes_work_once() {
        let (codes, stored) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(stored.iter().all(|s| s.len() == 64 && !codes.contains(s)));
        let mut r = MfaRecord {
            secret: new_secret(),
            enabled: true,
            last_step: None,
            recovery: stored,
        };
        let typed = codes[3].to_uppercase();
        assert_eq!(r.accept(&typed, 0), Some(CodeKind::Recovery));
        assert_eq!(r.accept(&codes[3], 0), None);
        assert_eq!(r.recovery.len(), RECOVERY_CODES - 1);
    }

    #[test]
    fn policy_covers_everyone_or_listed_roles() {
        assert!(!MfaPolicy::default().requires(&[Role::CompanyAdmin]));
        let admins = MfaPolicy {
            everyone: false,
            roles: vec![Role::CompanyAdmin],
        };
        assert!(admins.requires(&[Role::Developer, Role::CompanyAdmin]));
        assert!(!admins.requires(&[Role::Developer]));
        let all = MfaPolicy {
            everyone: true,
            roles: vec![],
        };
        assert!(all.requires(&[]));
    }

    #[test]
    fn uri_names_the_account_and_issuer() {
        assert_eq!(
            otpauth_uri("a b@x.org", "ABC"),
            "otpauth://totp/Lantern:a%20b@x.org?secret=ABC&issuer=Lantern"
        );
    }
}
