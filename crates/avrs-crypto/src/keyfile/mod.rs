//! The private key file.
//!
//! ```text
//! -----BEGIN AVRS PRIVATE KEY-----
//! base64 of the body, 64 characters per line
//! -----END AVRS PRIVATE KEY-----
//! ```
//!
//! Body (integers little-endian):
//!
//! ```text
//! magic "AVRSKEY1" | sign type u32 | private len u32 | private key
//! | public len u32 | public key | SHA3-256 of every byte before it
//! ```
//!
//! The private key is the algorithm's 32-byte seed (RFC 8032 private key for
//! Ed25519, FIPS 204 ξ for ML-DSA-65); the public key is stored so a damaged
//! or mismatched file is caught on load. [`decode`] is pure and takes any
//! bytes; [`load`] and [`save`] add the file-system rules (mode 0600,
//! atomic creation, no silent overwrite).

mod base64;
mod fs;

pub use fs::{load, load_public_key, save};

use crate::algorithm::Algorithm;
use crate::error::KeyFileProblem;
use crate::identity::sha3_256;
use crate::keys::SigningKey;
use zeroize::Zeroizing;

/// First line of the armour.
pub const BEGIN: &str = "-----BEGIN AVRS PRIVATE KEY-----";
/// Last line of the armour.
pub const END: &str = "-----END AVRS PRIVATE KEY-----";
/// First bytes of the body, naming the format and its version.
pub const MAGIC: &[u8; 8] = b"AVRSKEY1";
/// Largest key file read (an ML-DSA-65 file is about 2.9 KiB).
pub const MAX_FILE_SIZE: usize = 16 * 1024;

const LINE_LEN: usize = 64;
const CHECKSUM_LEN: usize = 32;

/// The armoured text of `key`. It holds the secret, so it is wiped on drop.
pub fn encode(key: &SigningKey) -> Zeroizing<String> {
    let body = encode_body(key);
    let b64 = Zeroizing::new(base64::encode(&body));
    let lines = b64.len().div_ceil(LINE_LEN);
    let mut out = Zeroizing::new(String::with_capacity(
        BEGIN.len() + END.len() + b64.len() + lines + 2,
    ));
    out.push_str(BEGIN);
    out.push('\n');
    // Base64 is ASCII, so every 64-byte chunk is a whole `str`.
    for start in (0..b64.len()).step_by(LINE_LEN) {
        out.push_str(&b64[start..b64.len().min(start + LINE_LEN)]);
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// Reads a key file's contents.
pub fn decode(text: &[u8]) -> Result<SigningKey, KeyFileProblem> {
    if text.len() > MAX_FILE_SIZE {
        return Err(KeyFileProblem::TooLarge {
            size: text.len() as u64,
            max: MAX_FILE_SIZE,
        });
    }
    let b64 = unarmour(text)?;
    let body = Zeroizing::new(base64::decode(&b64).map_err(KeyFileProblem::Base64)?);
    decode_body(&body)
}

fn encode_body(key: &SigningKey) -> Zeroizing<Vec<u8>> {
    let algorithm = key.algorithm();
    let public = key.public_key().as_bytes();
    let seed = key.seed();
    let len = MAGIC.len() + 4 + 4 + seed.len() + 4 + public.len() + CHECKSUM_LEN;
    let mut body = Zeroizing::new(Vec::with_capacity(len));
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&algorithm.sign_type_code().to_le_bytes());
    // Seed and key sizes are fixed by the algorithm (at most a few KiB).
    body.extend_from_slice(&(seed.len() as u32).to_le_bytes());
    body.extend_from_slice(seed);
    body.extend_from_slice(&(public.len() as u32).to_le_bytes());
    body.extend_from_slice(public);
    let checksum = sha3_256(&body);
    body.extend_from_slice(checksum.as_bytes());
    body
}

/// Strips the armour lines and joins the base64 lines.
fn unarmour(text: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyFileProblem> {
    let text = std::str::from_utf8(text).map_err(|_| KeyFileProblem::Armour("not UTF-8 text"))?;
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    if lines.next() != Some(BEGIN) {
        return Err(KeyFileProblem::Armour(
            "the first line is not -----BEGIN AVRS PRIVATE KEY-----",
        ));
    }
    let mut b64 = Zeroizing::new(Vec::with_capacity(text.len()));
    let mut ended = false;
    for line in lines {
        if ended {
            return Err(KeyFileProblem::Armour("text after the END line"));
        }
        if line == END {
            ended = true;
        } else {
            b64.extend_from_slice(line.as_bytes());
        }
    }
    if !ended {
        return Err(KeyFileProblem::Armour(
            "the -----END AVRS PRIVATE KEY----- line is missing",
        ));
    }
    Ok(b64)
}

/// Reads fields front to back, checking each length before taking bytes.
struct BodyReader<'a> {
    rest: &'a [u8],
}

impl<'a> BodyReader<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], KeyFileProblem> {
        if self.rest.len() < len {
            return Err(KeyFileProblem::Truncated { what });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, KeyFileProblem> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A `len u32 | bytes` field whose length must be `expected`.
    fn sized(&mut self, expected: usize, what: &'static str) -> Result<&'a [u8], KeyFileProblem> {
        // u32 always fits usize on the 32- and 64-bit targets we build for.
        let actual = self.u32(what)? as usize;
        if actual != expected {
            return Err(KeyFileProblem::WrongLength {
                what,
                expected,
                actual,
            });
        }
        self.take(actual, what)
    }
}

fn decode_body(body: &[u8]) -> Result<SigningKey, KeyFileProblem> {
    if body.len() < MAGIC.len() || &body[..MAGIC.len()] != MAGIC {
        return Err(KeyFileProblem::BadMagic);
    }
    let Some(content_len) = body.len().checked_sub(CHECKSUM_LEN) else {
        return Err(KeyFileProblem::Truncated { what: "checksum" });
    };
    let (content, checksum) = body.split_at(content_len);
    if content_len < MAGIC.len() || sha3_256(content).as_bytes() != checksum {
        return Err(KeyFileProblem::Checksum);
    }
    let mut reader = BodyReader {
        rest: &content[MAGIC.len()..],
    };
    let code = reader.u32("signature type")?;
    let algorithm =
        Algorithm::from_sign_type_code(code).map_err(|_| KeyFileProblem::UnknownAlgorithm(code))?;
    let seed = reader.sized(algorithm.seed_len(), "private key")?;
    let public = reader.sized(algorithm.public_key_len(), "public key")?;
    if !reader.rest.is_empty() {
        return Err(KeyFileProblem::TrailingBytes(reader.rest.len()));
    }
    let key =
        SigningKey::from_seed(algorithm, seed).map_err(|e| KeyFileProblem::BadKey(Box::new(e)))?;
    if key.public_key().as_bytes() != public {
        return Err(KeyFileProblem::KeyMismatch);
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
