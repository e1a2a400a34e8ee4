//! Member certificates: a member's public key bound to its roles,
//! attributes and a validity window by an issuer's `dap_sign_t` signature
//! (Ed25519 or ML-DSA-65 via avrs-crypto). Any node verifies one offline
//! with the authority's public key, taken from the authority's own
//! self-signed certificate (`ca_certificate_file`).
//!
//! Byte layout (little-endian; `docs/security.md` has the table): magic
//! `AVRSCRT1`, serial[16], key type u32, key length u32, key, roles u16,
//! not_before u64, not_after u64, issuer id[32], attribute count u16, each
//! attribute (key length u8, key, value length u16, value), envelope length
//! u32, envelope. The envelope signs every byte before its length field.
//! Armoured as base64 between `-----BEGIN AVRS CERTIFICATE-----` lines.

use crate::error::CertError;
use crate::revocation::{Revocations, RevokedKind};
use avrs_crypto::{Algorithm, PublicKey, SignEnvelope, SigningKey, envelope};
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;

pub const MAGIC: &[u8; 8] = b"AVRSCRT1";
pub const BEGIN: &str = "-----BEGIN AVRS CERTIFICATE-----";
pub const END: &str = "-----END AVRS CERTIFICATE-----";
/// Largest certificate accepted (an ML-DSA-65 one is about 7.3 KiB).
pub const MAX_BYTES: usize = 16 * 1024;
pub const MAX_ATTRS: usize = 32;
pub const MAX_ATTR_KEY: usize = 64;
pub const MAX_ATTR_VALUE: usize = 256;

/// A decoded certificate. Fields are only trustworthy after [`verify`].
///
/// [`verify`]: MemberCertificate::verify
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCertificate {
    pub serial: [u8; 16],
    pub public_key: PublicKey,
    pub roles: Roles,
    pub not_before: u64,
    pub not_after: u64,
    /// SHA3-256 of the issuer's public key.
    pub issuer: Hash32,
    pub attrs: BTreeMap<String, String>,
    /// The signed bytes and the envelope, as read or made.
    signed: Vec<u8>,
    envelope: Vec<u8>,
}

fn malformed(what: impl Into<String>) -> CertError {
    CertError::Malformed(what.into())
}

impl MemberCertificate {
    /// Makes and signs a certificate. `subject == issuer's key` makes the
    /// authority's self-signed certificate.
    pub fn issue(
        issuer: &SigningKey,
        subject: &PublicKey,
        roles: Roles,
        attrs: BTreeMap<String, String>,
        not_before: u64,
        not_after: u64,
    ) -> Result<Self, CertError> {
        if not_after <= not_before {
            return Err(malformed("not_after must be after not_before"));
        }
        check_attrs(&attrs)?;
        let serial: [u8; 16] =
            avrs_crypto::random_bytes().map_err(|e| malformed(format!("no randomness: {e}")))?;
        let mut signed = Vec::with_capacity(4096);
        signed.extend_from_slice(MAGIC);
        signed.extend_from_slice(&serial);
        let key = subject.as_bytes();
        signed.extend_from_slice(&subject.algorithm().sign_type_code().to_le_bytes());
        signed.extend_from_slice(&(key.len() as u32).to_le_bytes());
        signed.extend_from_slice(key);
        signed.extend_from_slice(&roles.mask().to_le_bytes());
        signed.extend_from_slice(&not_before.to_le_bytes());
        signed.extend_from_slice(&not_after.to_le_bytes());
        signed.extend_from_slice(issuer.id().as_bytes());
        signed.extend_from_slice(&(attrs.len() as u16).to_le_bytes());
        for (k, v) in &attrs {
            signed.push(k.len() as u8);
            signed.extend_from_slice(k.as_bytes());
            signed.extend_from_slice(&(v.len() as u16).to_le_bytes());
            signed.extend_from_slice(v.as_bytes());
        }
        let envelope =
            envelope::sign(issuer, &signed).map_err(|e| malformed(format!("cannot sign: {e}")))?;
        Self::from_bytes(
            &[
                signed,
                (envelope.len() as u32).to_le_bytes().to_vec(),
                envelope,
            ]
            .concat(),
        )
    }

    /// The member id: SHA3-256 of the member's public key.
    pub fn member_id(&self) -> Hash32 {
        self.public_key.id()
    }

    pub fn serial_hex(&self) -> String {
        hex::encode(self.serial)
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.signed.clone();
        out.extend_from_slice(&(self.envelope.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.envelope);
        out
    }

    /// The armoured text form written to files.
    pub fn to_armor(&self) -> String {
        let body = STANDARD.encode(self.to_bytes());
        let mut out = format!("{BEGIN}\n");
        for line in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(END);
        out.push('\n');
        out
    }

    /// Reads the armoured text form.
    pub fn from_armor(text: &[u8]) -> Result<Self, CertError> {
        if text.len() > MAX_BYTES * 2 {
            return Err(malformed("file too large"));
        }
        let text = std::str::from_utf8(text).map_err(|_| malformed("not UTF-8 text"))?;
        let inner = text
            .trim()
            .strip_prefix(BEGIN)
            .and_then(|t| t.strip_suffix(END))
            .ok_or_else(|| malformed(format!("expected {BEGIN} … {END}")))?;
        let body: String = inner.split_whitespace().collect();
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| malformed("bad base64 in the armour"))?;
        Self::from_bytes(&bytes)
    }

    /// Reads the binary form; every length is checked before it is used.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertError> {
        if bytes.len() > MAX_BYTES {
            return Err(malformed(format!("larger than {MAX_BYTES} bytes")));
        }
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err(malformed("not an AVRS certificate (magic)"));
        }
        let serial: [u8; 16] = r.take(16)?.try_into().map_err(|_| malformed("serial"))?;
        let algorithm = Algorithm::from_sign_type_code(r.u32()?)
            .map_err(|_| malformed("unknown key algorithm"))?;
        let key_len = r.u32()? as usize;
        if key_len != algorithm.public_key_len() {
            return Err(malformed("key length does not match its algorithm"));
        }
        let public_key = PublicKey::from_bytes(algorithm, r.take(key_len)?)
            .map_err(|e| malformed(e.to_string()))?;
        let roles = Roles::from_mask(r.u16()?).map_err(|_| malformed("unknown role bits"))?;
        let not_before = r.u64()?;
        let not_after = r.u64()?;
        let issuer = Hash32::from_slice(r.take(32)?).map_err(|_| malformed("issuer id"))?;
        let count = usize::from(r.u16()?);
        if count > MAX_ATTRS {
            return Err(malformed(format!("more than {MAX_ATTRS} attributes")));
        }
        let mut attrs = BTreeMap::new();
        for _ in 0..count {
            let k_len = usize::from(r.take(1)?[0]);
            let k = r.text(k_len)?;
            let v_len = usize::from(r.u16()?);
            let v = r.text(v_len)?;
            if attrs.insert(k, v).is_some() {
                return Err(malformed("an attribute appears twice"));
            }
        }
        check_attrs(&attrs)?;
        let signed = bytes[..r.at].to_vec();
        let envelope_len = r.u32()? as usize;
        let envelope = r.take(envelope_len)?.to_vec();
        if r.at != bytes.len() {
            return Err(malformed("bytes after the signature"));
        }
        SignEnvelope::parse(&envelope)
            .map_err(|e| malformed(format!("signature envelope: {e}")))?;
        Ok(Self {
            serial,
            public_key,
            roles,
            not_before,
            not_after,
            issuer,
            attrs,
            signed,
            envelope,
        })
    }

    /// Checks, in order: issued by `authority`, signature, not revoked,
    /// inside the validity window at `now`.
    pub fn verify(
        &self,
        authority: &PublicKey,
        revoked: &Revocations,
        now: u64,
    ) -> Result<(), CertError> {
        if self.issuer != authority.id() {
            return Err(CertError::WrongSigner(self.issuer.to_hex()));
        }
        let envelope = SignEnvelope::parse(&self.envelope).map_err(|_| CertError::BadSignature)?;
        envelope
            .verify_with_key(&self.signed, authority)
            .map_err(|e| match e {
                avrs_crypto::CryptoError::SignerMismatch { named, .. } => {
                    CertError::WrongSigner(named.to_hex())
                }
                _ => CertError::BadSignature,
            })?;
        if revoked.contains(RevokedKind::Serial, &self.serial_hex()) {
            return Err(CertError::Revoked(self.serial_hex()));
        }
        if now < self.not_before {
            return Err(CertError::NotYetValid(self.not_before));
        }
        if now >= self.not_after {
            return Err(CertError::Expired(self.not_after));
        }
        Ok(())
    }

    /// An authority certificate: self-signed, valid at `now`. Returns the
    /// authority's public key, the trust anchor for member certificates.
    pub fn authority_key(&self, now: u64) -> Result<PublicKey, CertError> {
        self.verify(&self.public_key, &Revocations::default(), now)?;
        Ok(self.public_key.clone())
    }
}

impl crate::Authorizer {
    /// A member certificate presented to join a cluster (binary form):
    /// issued by `host` (the cluster host's own key) or, failing that, by
    /// the configured authority (`ca_certificate_file`); valid at `now`;
    /// neither its serial nor its member id in this node's revocation list.
    /// What it certifies (member id, roles) is the caller's check.
    pub fn check_join_certificate(
        &self,
        bytes: &[u8],
        host: &PublicKey,
        now: u64,
    ) -> Result<MemberCertificate, crate::AuthError> {
        let cert = MemberCertificate::from_bytes(bytes)?;
        if cert.issuer == host.id() {
            let revoked = self.revocations.read().unwrap_or_else(|e| e.into_inner());
            cert.verify(host, &revoked, now)?;
        } else {
            // Without a configured authority the only one is the host.
            self.check_certificate(bytes, crate::Operation::MemberRequestAdd, now)
                .map_err(|e| match e {
                    crate::AuthError::Config(_) => {
                        CertError::WrongSigner(cert.issuer.to_hex()).into()
                    }
                    other => other,
                })?;
        }
        let member = cert.member_id().to_hex();
        let revoked = self.revocations.read().unwrap_or_else(|e| e.into_inner());
        if revoked.contains(RevokedKind::Sub, &member) {
            return Err(crate::AuthError::Revoked(format!("member {member}")));
        }
        Ok(cert)
    }
}

fn check_attrs(attrs: &BTreeMap<String, String>) -> Result<(), CertError> {
    if attrs.len() > MAX_ATTRS {
        return Err(malformed(format!("more than {MAX_ATTRS} attributes")));
    }
    for (k, v) in attrs {
        if k.is_empty() || k.len() > MAX_ATTR_KEY || v.len() > MAX_ATTR_VALUE {
            return Err(malformed(
                "attribute keys are 1-64 bytes, values at most 256",
            ));
        }
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CertError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| malformed("truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, CertError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().map_err(|_| malformed("u16"))?,
        ))
    }

    fn u32(&mut self) -> Result<u32, CertError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| malformed("u32"))?,
        ))
    }

    fn u64(&mut self) -> Result<u64, CertError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| malformed("u64"))?,
        ))
    }

    fn text(&mut self, n: usize) -> Result<String, CertError> {
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| malformed("attribute is not UTF-8"))
    }
}

#[cfg(test)]
#[path = "cert_tests.rs"]
mod tests;
