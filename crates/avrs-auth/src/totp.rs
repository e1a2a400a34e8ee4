//! Time-based one-time passwords (RFC 6238): HMAC-SHA1, 6 digits, 30 s
//! steps, the previous and next step accepted for clock drift. A code is
//! accepted once: its step must be later than the last accepted one, so a
//! code seen on the wire cannot be replayed.
//!
//! HMAC goes through aws-lc-rs (the workspace's one crypto provider), which
//! is why this is not the `totp-rs` crate (RustCrypto).

use crate::error::AuthError;
use crate::files;
use aws_lc_rs::hmac;
use std::path::Path;
use std::sync::Mutex;
use zeroize::Zeroizing;

pub const STEP_SECS: u64 = 30;
pub const DIGITS: u32 = 6;
/// Secret size: 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A TOTP secret and the last step a code was accepted for.
pub struct Totp {
    secret: Zeroizing<Vec<u8>>,
    last_step: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Totp(<secret>)")
    }
}

impl Totp {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: Zeroizing::new(secret.to_vec()),
            last_step: Mutex::new(None),
        }
    }

    /// A new random secret.
    pub fn generate() -> Result<Self, AuthError> {
        let secret: [u8; SECRET_LEN] = avrs_crypto::random_bytes()
            .map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
        Ok(Self::new(&secret))
    }

    /// Reads a secret file: base32 (RFC 4648, padding optional), mode 0600.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = files::read_secret(path, 1024)?;
        let text = std::str::from_utf8(&text).unwrap_or("").trim();
        let secret = base32_decode(text)
            .filter(|s| s.len() >= 10)
            .ok_or_else(|| {
                AuthError::Config(format!(
                    "{} does not hold a TOTP secret (base32, at least 80 bits); make one with `avrs mfa enroll`",
                    path.display()
                ))
            })?;
        Ok(Self::new(&secret))
    }

    /// Writes the secret as base32 to a new 0600 file.
    pub fn save(&self, path: &Path, replace: bool) -> Result<(), AuthError> {
        let text = Zeroizing::new(format!("{}\n", base32_encode(&self.secret)));
        files::write_atomic(path, text.as_bytes(), replace)
    }

    /// The code for the step holding `unix` seconds.
    pub fn code_at(&self, unix: u64) -> String {
        self.code_for_step(unix / STEP_SECS)
    }

    fn code_for_step(&self, step: u64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.secret);
        let mac = hmac::sign(&key, &step.to_be_bytes());
        let mac = mac.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let word = u32::from_be_bytes([
            mac[offset],
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let code = (word & 0x7fff_ffff) % 10u32.pow(DIGITS);
        format!("{code:06}")
    }

    /// Accepts `code` for the step of `now` or the one before or after,
    /// once. Comparison is constant-time.
    pub fn check(&self, code: &str, now: u64) -> Result<(), AuthError> {
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::Totp("a 6-digit TOTP code is required".into()));
        }
        let current = now / STEP_SECS;
        let mut last = self.last_step.lock().unwrap_or_else(|e| e.into_inner());
        for step in [current.saturating_sub(1), current, current + 1] {
            if files::same_secret(self.code_for_step(step).as_bytes(), code.as_bytes()) {
                if last.is_some_and(|l| step <= l) {
                    return Err(AuthError::Totp(
                        "TOTP code already used; wait for the next one".into(),
                    ));
                }
                *last = Some(step);
                return Ok(());
            }
        }
        Err(AuthError::Totp("wrong TOTP code".into()))
    }

    /// The `otpauth://` URI authenticator apps enrol from.
    pub fn otpauth_uri(&self, account: &str) -> String {
        format!(
            "otpauth://totp/avrs:{}?secret={}&issuer=avrs&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            percent_encode(account),
            base32_encode(&self.secret)
        )
    }
}

pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (upper or lower case, `=` padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b' ')) {
        let value = BASE32.iter().position(|&b| b == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= 0xff;
    }
    Some(out)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA1, last 6 of the 8 digits.
        let totp = Totp::new(b"12345678901234567890");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp.code_at(time), code, "{time}");
        }
    }

    #[test]
    fn codes_are_accepted_within_one_step_and_only_once() {
        let totp = Totp::new(&[5; 20]);
        let now = 1_700_000_000;
        assert!(totp.check(&totp.code_at(now - 30), now).is_ok());
        // The same step again: a replay.
        let replay = totp.check(&totp.code_at(now - 30), now).unwrap_err();
        assert!(replay.to_string().contains("already used"));
        assert!(totp.check(&totp.code_at(now), now).is_ok());
        assert!(totp.check(&totp.code_at(now + 30), now).is_ok());
        // Two steps away: refused.
        let fresh = Totp::new(&[5; 20]);
        assert!(fresh.check(&fresh.code_at(now - 60), now).is_err());
        assert!(fresh.check(&fresh.code_at(now + 60), now).is_err());
        for bad in ["", "12345", "1234567", "12a456", "000000"] {
            assert!(fresh.check(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn base32_round_trips_and_uri_is_well_formed() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert!(base32_decode("1!").is_none());
        let totp = Totp::new(b"12345678901234567890");
        let uri = totp.otpauth_uri("admin@local cluster");
        assert!(
            uri.starts_with("otpauth://totp/avrs:admin@local%20cluster?secret="),
            "{uri}"
        );
        assert!(uri.contains("&digits=6&period=30"));
    }

    #[test]
    fn secret_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.totp");
        let totp = Totp::generate().unwrap();
        totp.save(&path, false).unwrap();
        assert!(totp.save(&path, false).is_err(), "no silent overwrite");
        let back = Totp::load(&path).unwrap();
        assert_eq!(back.code_at(1000), totp.code_at(1000));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Totp::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
