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
//!
//! A [`CertificateChain`] is a member's certificate (the leaf) followed by
//! its issuer's: several armoured blocks in one file, or the binary forms
//! back to back (each ends where its envelope does). An operator whose own
//! certificate the authority signed may issue member certificates; the
//! rules are [`CertificateChain::verify`]'s.

use crate::error::CertError;
use crate::revocation::{CertLink, Revocations, RevokedKind};
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
/// Most certificates in one chain: the member's, its issuer's and,
/// optionally, the authority's own (ignored: trust comes from the node's
/// configuration, never from the chain).
pub const MAX_CHAIN: usize = 3;
/// Largest chain accepted, binary.
pub const MAX_CHAIN_BYTES: usize = MAX_CHAIN * MAX_BYTES;
/// Operator levels allowed between the authority and a member. One is
/// what the product needs; the walk in [`CertificateChain::path`] is
/// general and stops here.
pub const MAX_INTERMEDIATES: usize = 1;
/// Roles whose holder may issue certificates, and roles only the
/// authority itself may certify.
const AUTHORITY_ROLES: Roles = Roles::HOST.union(Roles::OPERATOR);
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

    /// What revokes this certificate: its serial and its member id.
    pub fn link(&self) -> CertLink {
        CertLink {
            serial: self.serial_hex(),
            member: self.member_id().to_hex(),
        }
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

    /// Reads the armoured text form: exactly one certificate.
    pub fn from_armor(text: &[u8]) -> Result<Self, CertError> {
        if text.len() > MAX_BYTES * 2 {
            return Err(malformed("file too large"));
        }
        match armor_bodies(text)?.as_slice() {
            [body] => Self::from_bytes(&decode_armor_body(body)?),
            bodies => Err(malformed(format!(
                "expected one certificate, found {}",
                bodies.len()
            ))),
        }
    }

    /// Reads the binary form: exactly one certificate.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertError> {
        if bytes.len() > MAX_BYTES {
            return Err(malformed(format!("larger than {MAX_BYTES} bytes")));
        }
        let (cert, rest) = Self::read_one(bytes)?;
        if !rest.is_empty() {
            return Err(malformed("bytes after the signature"));
        }
        Ok(cert)
    }

    /// Reads the certificate at the start of `bytes` and returns it with
    /// the bytes after it (the next certificate of a chain). Every length
    /// is checked before it is used.
    pub fn read_one(bytes: &[u8]) -> Result<(Self, &[u8]), CertError> {
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
        let envelope = r.take(envelope_len)?;
        if r.at > MAX_BYTES {
            return Err(malformed(format!("larger than {MAX_BYTES} bytes")));
        }
        let envelope = envelope.to_vec();
        SignEnvelope::parse(&envelope)
            .map_err(|e| malformed(format!("signature envelope: {e}")))?;
        let cert = Self {
            serial,
            public_key,
            roles,
            not_before,
            not_after,
            issuer,
            attrs,
            signed,
            envelope,
        };
        Ok((cert, &bytes[r.at..]))
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

/// A member's certificate (the leaf) followed by certificates of its
/// issuer: at most [`MAX_CHAIN`], no key certified twice. Only the leaf is
/// required; a lone certificate is a chain of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateChain {
    certs: Vec<MemberCertificate>,
}

impl CertificateChain {
    /// A chain of `certs`, leaf first.
    pub fn new(certs: Vec<MemberCertificate>) -> Result<Self, CertError> {
        if certs.is_empty() {
            return Err(malformed("no certificate"));
        }
        if certs.len() > MAX_CHAIN {
            return Err(CertError::ChainTooLong);
        }
        // A key certified twice would let the path walk in circles; no
        // honest chain needs it.
        for (at, cert) in certs.iter().enumerate() {
            if certs[..at]
                .iter()
                .any(|c| c.member_id() == cert.member_id())
            {
                return Err(malformed(format!(
                    "the chain holds two certificates for member {}",
                    cert.member_id().to_hex()
                )));
            }
        }
        Ok(Self { certs })
    }

    /// Reads the binary form: certificates back to back, leaf first.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertError> {
        if bytes.len() > MAX_CHAIN_BYTES {
            return Err(malformed(format!(
                "certificate chain larger than {MAX_CHAIN_BYTES} bytes"
            )));
        }
        let mut certs = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() || certs.is_empty() {
            if certs.len() == MAX_CHAIN {
                return Err(CertError::ChainTooLong);
            }
            let (cert, next) = MemberCertificate::read_one(rest).map_err(|e| nth(&certs, e))?;
            certs.push(cert);
            rest = next;
        }
        Self::new(certs)
    }

    /// Reads the armoured form: one block per certificate, leaf first.
    pub fn from_armor(text: &[u8]) -> Result<Self, CertError> {
        if text.len() > MAX_CHAIN_BYTES * 2 {
            return Err(malformed("file too large"));
        }
        let bodies = armor_bodies(text)?;
        if bodies.len() > MAX_CHAIN {
            return Err(CertError::ChainTooLong);
        }
        let mut certs = Vec::with_capacity(bodies.len());
        for body in bodies {
            let cert = decode_armor_body(body)
                .and_then(|bytes| MemberCertificate::from_bytes(&bytes))
                .map_err(|e| nth(&certs, e))?;
            certs.push(cert);
        }
        Self::new(certs)
    }

    /// Either form: armoured when it starts (after blanks) with the
    /// armour line, binary otherwise.
    pub fn parse(bytes: &[u8]) -> Result<Self, CertError> {
        if bytes.trim_ascii_start().starts_with(BEGIN.as_bytes()) {
            Self::from_armor(bytes)
        } else {
            Self::from_bytes(bytes)
        }
    }

    /// The member's own certificate.
    pub fn leaf(&self) -> &MemberCertificate {
        // `new` refuses an empty chain.
        &self.certs[0]
    }

    /// Every certificate, leaf first.
    pub fn certificates(&self) -> &[MemberCertificate] {
        &self.certs
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.certs.iter().flat_map(|c| c.to_bytes()).collect()
    }

    pub fn to_armor(&self) -> String {
        self.certs.iter().map(|c| c.to_armor()).collect()
    }

    /// The certificates from the leaf up to the one `authority` issued,
    /// each the issuer of the one before (found by its member id). Nothing
    /// is verified yet. Refused: an issuer that is neither the authority
    /// nor in the chain (`WrongSigner`, wrapped in `Issuer` above the
    /// leaf), and more than [`MAX_INTERMEDIATES`] levels.
    pub fn path(&self, authority: &PublicKey) -> Result<Vec<&MemberCertificate>, CertError> {
        let anchor = authority.id();
        let mut path = vec![self.leaf()];
        // Each round adds one certificate or returns: at most MAX_CHAIN.
        for _ in 0..MAX_CHAIN {
            let last = path[path.len() - 1];
            if last.issuer == anchor {
                return Ok(path);
            }
            // Member ids are unique in a chain, and one already on the path
            // (a self-signed leaf, say) is no issuer.
            let on_path = path.iter().any(|p| p.member_id() == last.issuer);
            let issuer = if on_path {
                None
            } else {
                self.certs.iter().find(|c| c.member_id() == last.issuer)
            };
            let Some(issuer) = issuer else {
                let wrong = CertError::WrongSigner(last.issuer.to_hex());
                return Err(if path.len() == 1 {
                    wrong
                } else {
                    issuer_error(last, wrong)
                });
            };
            if path.len() > MAX_INTERMEDIATES {
                return Err(CertError::ChainTooDeep(last.member_id().to_hex()));
            }
            path.push(issuer);
        }
        Err(CertError::ChainTooLong)
    }

    /// The whole chain against `authority` at `now`. The leaf is accepted
    /// when the authority issued it (as [`MemberCertificate::verify`]), or
    /// an operator did whose certificate is in the chain and:
    /// - was issued by the authority (one level only), verifies, is valid
    ///   at `now`, and neither its serial nor its member id is revoked;
    /// - holds the operator or host role;
    /// - and the leaf does not carry the host or operator role.
    ///
    /// Every certificate on the path must also not be revoked by member id.
    /// Any other certificate in the chain may only be the authority's own.
    /// Returns the path (leaf first); the leaf holds only while every one
    /// of them is valid.
    pub fn verify(
        &self,
        authority: &PublicKey,
        revoked: &Revocations,
        now: u64,
    ) -> Result<Vec<&MemberCertificate>, CertError> {
        let path = self.path(authority)?;
        self.check_off_path(&path, authority)?;
        // From the top down, so a refused issuer is named before its leaf.
        for (depth, cert) in path.iter().enumerate().rev() {
            let signer = path.get(depth + 1).map_or(authority, |c| &c.public_key);
            let checked = cert
                .verify(signer, revoked, now)
                .and_then(|()| check_member_revoked(cert, revoked));
            if depth == 0 {
                checked?;
            } else {
                checked.map_err(|e| issuer_error(cert, e))?;
                check_delegation(cert, path[depth - 1].roles)?;
            }
        }
        Ok(path)
    }

    /// Certificates not on `path` add nothing; only the authority's own is
    /// tolerated (people append the CA certificate out of habit).
    fn check_off_path(
        &self,
        path: &[&MemberCertificate],
        authority: &PublicKey,
    ) -> Result<(), CertError> {
        for (at, cert) in self.certs.iter().enumerate() {
            let id = cert.member_id();
            if id != authority.id() && path.iter().all(|p| p.member_id() != id) {
                return Err(malformed(format!(
                    "certificate {} of the chain (member {}) is not on the way from the leaf to the authority",
                    at + 1,
                    id.to_hex()
                )));
            }
        }
        Ok(())
    }
}

/// Whether `issuer`'s certificate lets it issue a certificate for `roles`:
/// it must hold the operator (or host) role, and only the authority itself
/// certifies host and operator. Also checked by `avrs cert issue --chain`.
pub fn check_delegation(issuer: &MemberCertificate, roles: Roles) -> Result<(), CertError> {
    let id = || issuer.member_id().to_hex();
    if !issuer.roles.intersects(AUTHORITY_ROLES) {
        return Err(CertError::IssuerNotAllowed {
            issuer: id(),
            roles: issuer.roles.to_string(),
        });
    }
    if roles.intersects(AUTHORITY_ROLES) {
        return Err(CertError::RoleEscalation {
            issuer: id(),
            roles: roles.intersection(AUTHORITY_ROLES).to_string(),
        });
    }
    Ok(())
}

fn check_member_revoked(cert: &MemberCertificate, revoked: &Revocations) -> Result<(), CertError> {
    let member = cert.member_id().to_hex();
    if revoked.contains(RevokedKind::Sub, &member) {
        return Err(CertError::MemberRevoked(member));
    }
    Ok(())
}

fn issuer_error(issuer: &MemberCertificate, reason: CertError) -> CertError {
    CertError::Issuer {
        issuer: issuer.member_id().to_hex(),
        reason: Box::new(reason),
    }
}

/// Names which certificate of a chain a parse error is about, past the
/// first (whose errors read as before chains existed).
fn nth(read: &[MemberCertificate], e: CertError) -> CertError {
    match e {
        CertError::Malformed(why) if !read.is_empty() => malformed(format!(
            "certificate {} of the chain: {why}",
            read.len() + 1
        )),
        other => other,
    }
}

/// The base64 bodies of the armoured blocks of `text`, in order; only
/// blanks may lie around them. Stops after `MAX_CHAIN + 1` blocks: a longer
/// file is refused either way.
fn armor_bodies(text: &[u8]) -> Result<Vec<&str>, CertError> {
    let text = std::str::from_utf8(text).map_err(|_| malformed("not UTF-8 text"))?;
    let expected = || malformed(format!("expected {BEGIN} … {END}"));
    let mut rest = text.trim_start();
    let mut bodies = Vec::new();
    while !rest.is_empty() && bodies.len() <= MAX_CHAIN {
        let inner = rest.strip_prefix(BEGIN).ok_or_else(expected)?;
        let (body, next) = inner.split_once(END).ok_or_else(expected)?;
        bodies.push(body);
        rest = next.trim_start();
    }
    if bodies.is_empty() {
        return Err(expected());
    }
    Ok(bodies)
}

fn decode_armor_body(body: &str) -> Result<Vec<u8>, CertError> {
    let body: String = body.split_whitespace().collect();
    STANDARD
        .decode(body)
        .map_err(|_| malformed("bad base64 in the armour"))
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
pub(crate) mod tests;
