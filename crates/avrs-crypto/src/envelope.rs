//! The `dap_sign_t` envelope (spec §3.2).
//!
//! Layout (little-endian, packed):
//!
//! ```text
//! type u32 | hash_type u8 | padding u8 | sign_size u32 | sign_pkey_size u32
//! pkey[sign_pkey_size] | sig[sign_size]
//! ```
//!
//! `hash_type` 1 (SHA3-256, the default) signs SHA3-256(data); 0 signs the
//! data itself. Bit 7 of `hash_type` set means the pkey field holds the
//! 32-byte SHA3-256 of the key instead of the key.
//!
//! Decoding borrows from the input and allocates nothing; every declared
//! size is checked against the buffer and then against the algorithm's exact
//! sizes before any slice is taken.

use crate::algorithm::Algorithm;
use crate::error::{CryptoError, Result};
use crate::identity::sha3_256;
use crate::keys::{PublicKey, SigningKey};
use avrs_proto::Hash32;

/// Size of the fixed header.
pub const HEADER_SIZE: usize = 14;

/// `hash_type` flag: the pkey field holds the key's SHA3-256 hash.
pub const KEY_HASH_FLAG: u8 = 0x80;

/// What the signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum HashType {
    /// The data itself.
    None = 0,
    /// SHA3-256 of the data (DAP's default).
    #[default]
    Sha3_256 = 1,
}

impl HashType {
    fn from_wire(value: u8) -> Result<Self> {
        match value {
            0 => Ok(HashType::None),
            1 => Ok(HashType::Sha3_256),
            other => Err(CryptoError::UnsupportedHashType(other)),
        }
    }
}

/// The pkey field: the signer's key, or only its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField<'a> {
    PublicKey(&'a [u8]),
    KeyHash(Hash32),
}

impl KeyField<'_> {
    fn wire_len(&self) -> usize {
        match self {
            KeyField::PublicKey(bytes) => bytes.len(),
            KeyField::KeyHash(_) => Hash32::SIZE,
        }
    }
}

/// How to build an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignOptions {
    pub hash_type: HashType,
    /// Put only the key's hash in the pkey field (the verifier must know the
    /// key already). Saves 32 bytes (Ed25519) or 1920 (ML-DSA-65).
    pub key_hash_only: bool,
}

/// A decoded, size-checked envelope borrowing from its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignEnvelope<'a> {
    algorithm: Algorithm,
    hash_type: HashType,
    key: KeyField<'a>,
    signature: &'a [u8],
}

/// The header fields as read, before any check.
struct RawHeader {
    sign_type: u32,
    hash_type: u8,
    padding: u8,
    sig_len: usize,
    pkey_len: usize,
}

impl RawHeader {
    fn read(buf: &[u8]) -> Result<Self> {
        let header: &[u8; HEADER_SIZE] = buf
            .get(..HEADER_SIZE)
            .and_then(|h| h.try_into().ok())
            .ok_or(CryptoError::EnvelopeTruncated {
                need: HEADER_SIZE,
                have: buf.len(),
            })?;
        let u32_at = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        // u32 always fits usize on the 32- and 64-bit targets we build for.
        Ok(Self {
            sign_type: u32_at(0),
            hash_type: header[4],
            padding: header[5],
            sig_len: u32_at(6) as usize,
            pkey_len: u32_at(10) as usize,
        })
    }

    /// DAP's size sanity check (its −2 cases), before the algorithm matters.
    fn check_sanity(&self, available: usize) -> Result<usize> {
        if self.sign_type == 0 {
            return Err(CryptoError::MalformedEnvelope("null signature type"));
        }
        if self.sig_len == 0 || self.pkey_len == 0 {
            return Err(CryptoError::MalformedEnvelope("zero key or signature size"));
        }
        let need = HEADER_SIZE
            .checked_add(self.pkey_len)
            .and_then(|n| n.checked_add(self.sig_len))
            .ok_or(CryptoError::MalformedEnvelope("sizes overflow"))?;
        if need > available {
            return Err(CryptoError::EnvelopeTruncated {
                need,
                have: available,
            });
        }
        if self.padding != 0 {
            return Err(CryptoError::MalformedEnvelope("non-zero padding byte"));
        }
        Ok(need)
    }
}

fn exact(algorithm: Algorithm, what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected != actual {
        return Err(CryptoError::WrongSize {
            algorithm,
            what,
            expected,
            actual,
        });
    }
    Ok(())
}

impl<'a> SignEnvelope<'a> {
    /// Builds an envelope from parts, checking every size.
    pub fn new(
        algorithm: Algorithm,
        hash_type: HashType,
        key: KeyField<'a>,
        signature: &'a [u8],
    ) -> Result<Self> {
        if let KeyField::PublicKey(bytes) = key {
            exact(
                algorithm,
                "public key",
                algorithm.public_key_len(),
                bytes.len(),
            )?;
        }
        exact(
            algorithm,
            "signature",
            algorithm.signature_len(),
            signature.len(),
        )?;
        Ok(Self {
            algorithm,
            hash_type,
            key,
            signature,
        })
    }

    /// Decodes an envelope that must fill `buf` exactly (a SIGN item's value).
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let (envelope, used) = Self::parse_prefix(buf)?;
        if used != buf.len() {
            return Err(CryptoError::EnvelopeTrailingBytes(buf.len() - used));
        }
        Ok(envelope)
    }

    /// Decodes the envelope at the start of `buf`; returns it and its length.
    pub fn parse_prefix(buf: &'a [u8]) -> Result<(Self, usize)> {
        let raw = RawHeader::read(buf)?;
        let used = raw.check_sanity(buf.len())?;
        let algorithm = Algorithm::from_sign_type_code(raw.sign_type)?;
        let key_hash_only = raw.hash_type & KEY_HASH_FLAG != 0;
        let hash_type = HashType::from_wire(raw.hash_type & !KEY_HASH_FLAG)?;
        let pkey = &buf[HEADER_SIZE..HEADER_SIZE + raw.pkey_len];
        let signature = &buf[HEADER_SIZE + raw.pkey_len..used];
        let key = if key_hash_only {
            exact(algorithm, "key hash", Hash32::SIZE, pkey.len())?;
            KeyField::KeyHash(
                Hash32::from_slice(pkey)
                    .map_err(|_| CryptoError::MalformedEnvelope("key hash is not 32 bytes"))?,
            )
        } else {
            KeyField::PublicKey(pkey)
        };
        Ok((Self::new(algorithm, hash_type, key, signature)?, used))
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn hash_type(&self) -> HashType {
        self.hash_type
    }

    pub fn key(&self) -> KeyField<'a> {
        self.key
    }

    pub fn signature(&self) -> &'a [u8] {
        self.signature
    }

    /// The signer's id: the key hash, computed or as carried.
    pub fn signer_id(&self) -> Hash32 {
        match self.key {
            KeyField::PublicKey(bytes) => sha3_256(bytes),
            KeyField::KeyHash(hash) => hash,
        }
    }

    /// Bytes this envelope takes on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_SIZE + self.key.wire_len() + self.signature.len()
    }

    /// Appends the wire form to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        let key_len = self.key.wire_len();
        write_header(out, self.algorithm, self.hash_byte(), key_len);
        match &self.key {
            KeyField::PublicKey(bytes) => out.extend_from_slice(bytes),
            KeyField::KeyHash(hash) => out.extend_from_slice(hash.as_bytes()),
        }
        out.extend_from_slice(self.signature);
    }

    /// The wire form.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn hash_byte(&self) -> u8 {
        let flag = match self.key {
            KeyField::PublicKey(_) => 0,
            KeyField::KeyHash(_) => KEY_HASH_FLAG,
        };
        self.hash_type as u8 | flag
    }

    /// Verifies with the key the envelope carries and returns that key.
    /// An envelope holding only a key hash gives [`CryptoError::KeyNotEmbedded`].
    pub fn verify(&self, data: &[u8]) -> Result<PublicKey> {
        let KeyField::PublicKey(bytes) = self.key else {
            return Err(CryptoError::KeyNotEmbedded);
        };
        let key = PublicKey::from_bytes(self.algorithm, bytes)?;
        self.verify_signature(&key, data)?;
        Ok(key)
    }

    /// Verifies with a key known from elsewhere, which must be the key the
    /// envelope names (by bytes or by hash).
    pub fn verify_with_key(&self, data: &[u8], key: &PublicKey) -> Result<()> {
        let named = match self.key {
            KeyField::PublicKey(bytes) if bytes == key.as_bytes() => key.id(),
            KeyField::PublicKey(bytes) => sha3_256(bytes),
            KeyField::KeyHash(hash) => hash,
        };
        if self.algorithm != key.algorithm() || named != key.id() {
            return Err(CryptoError::SignerMismatch {
                named,
                given: key.id(),
            });
        }
        self.verify_signature(key, data)
    }

    fn verify_signature(&self, key: &PublicKey, data: &[u8]) -> Result<()> {
        match self.hash_type {
            HashType::Sha3_256 => key.verify_raw(sha3_256(data).as_bytes(), self.signature),
            HashType::None => key.verify_raw(data, self.signature),
        }
    }
}

fn write_header(out: &mut Vec<u8>, algorithm: Algorithm, hash_byte: u8, key_len: usize) {
    // Both sizes are bounded by the algorithm (at most a few KiB), so the
    // casts keep every bit.
    out.extend_from_slice(&algorithm.sign_type_code().to_le_bytes());
    out.push(hash_byte);
    out.push(0);
    out.extend_from_slice(&(algorithm.signature_len() as u32).to_le_bytes());
    out.extend_from_slice(&(key_len as u32).to_le_bytes());
}

/// Size of the envelope `key` makes with `options`.
pub fn envelope_len(key: &SigningKey, options: SignOptions) -> usize {
    let algorithm = key.algorithm();
    let key_len = if options.key_hash_only {
        Hash32::SIZE
    } else {
        algorithm.public_key_len()
    };
    HEADER_SIZE + key_len + algorithm.signature_len()
}

/// Signs `data` into a new envelope: SHA3-256 pre-hash, key embedded.
pub fn sign(key: &SigningKey, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(envelope_len(key, SignOptions::default()));
    sign_into(key, data, SignOptions::default(), &mut out)?;
    Ok(out)
}

/// Appends an envelope over `data` to `out`.
pub fn sign_into(
    key: &SigningKey,
    data: &[u8],
    options: SignOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let public = key.public_key();
    let id = public.id();
    let (flag, key_field): (u8, &[u8]) = if options.key_hash_only {
        (KEY_HASH_FLAG, id.as_bytes())
    } else {
        (0, public.as_bytes())
    };
    out.reserve(envelope_len(key, options));
    let hash_byte = options.hash_type as u8 | flag;
    write_header(out, key.algorithm(), hash_byte, key_field.len());
    out.extend_from_slice(key_field);
    match options.hash_type {
        HashType::Sha3_256 => key.sign_append(sha3_256(data).as_bytes(), out),
        HashType::None => key.sign_append(data, out),
    }
}

#[cfg(test)]
mod tests;
