//! Signed AVRS control packets (`avrs_ch_tsd_sign_pkt_verify`, spec §5).
//!
//! A cluster or session packet is an 8-byte sub-header plus TSD items. The
//! SIGN item (code 0xFFFF in cluster packets, 0x0001 in session packets; the
//! caller passes it) must be the last item, and its value is a `dap_sign_t`
//! over the packet's first `8 + offset` bytes: the header and every item
//! before it.
//!
//! Outcomes map to return codes: no SIGN item is SIGN_NOT_PRESENT; a SIGN
//! item that is misplaced, malformed or does not verify is SIGN_INCORRECT
//! with a text tag; a valid signature by someone other than the expected
//! signer is SIGN_ALIEN.

use crate::algorithm::Algorithm;
use crate::envelope::{self, SignEnvelope, SignOptions};
use crate::error::{CryptoError, Result};
use crate::keys::{PublicKey, SigningKey};
use avrs_proto::Hash32;
use avrs_proto::avrs::RetCode;
use avrs_proto::tsd::{self, TsdIter, TsdLimits};
use thiserror::Error;

/// Size of the AVRS cluster/session sub-header the signature also covers.
pub const HEADER_SIZE: usize = 8;

/// Why a SIGN item is incorrect; each has the C code's text tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignIncorrect {
    /// The SIGN item is not last, or its envelope is malformed.
    ArgSignCorrupted,
    /// The items are broken: a TSD runs past the packet (or over a cap),
    /// the envelope runs past its SIGN item, or the packet is shorter than
    /// its header.
    TsdTooSmall,
    /// The envelope is well formed but the signature does not verify.
    DoesntPassVerification,
}

impl SignIncorrect {
    pub const fn text_tag(self) -> &'static str {
        match self {
            SignIncorrect::ArgSignCorrupted => "PKT_ARG_SIGN_CORRUPTED",
            SignIncorrect::TsdTooSmall => "PKT_TSD_TOO_SMALL",
            SignIncorrect::DoesntPassVerification => "PKT_SIGN_DOESNT_PASS_VERIFICATION",
        }
    }
}

/// A failed signed-packet check.
#[derive(Debug, Error)]
pub enum SignCheckError {
    #[error("SIGN_NOT_PRESENT: the packet has no SIGN item")]
    NotPresent,

    #[error("SIGN_INCORRECT ({}): {cause}", .reason.text_tag())]
    Incorrect {
        reason: SignIncorrect,
        #[source]
        cause: Box<CryptoError>,
    },

    #[error("SIGN_ALIEN: signed by {signer}, expected {expected}")]
    Alien { signer: Hash32, expected: Hash32 },
}

impl SignCheckError {
    /// The return code to answer with.
    pub fn retcode(&self) -> RetCode {
        match self {
            SignCheckError::NotPresent => RetCode::SignNotPresent,
            SignCheckError::Incorrect { .. } => RetCode::SignIncorrect,
            SignCheckError::Alien { .. } => RetCode::SignAlien,
        }
    }

    /// The text tag of the `'r'` reply.
    pub fn text_tag(&self) -> &'static str {
        match self {
            SignCheckError::Incorrect { reason, .. } => reason.text_tag(),
            other => other.retcode().name(),
        }
    }

    fn incorrect(reason: SignIncorrect, cause: CryptoError) -> Self {
        SignCheckError::Incorrect {
            reason,
            cause: Box::new(cause),
        }
    }

    /// Sorts an envelope error into its tag.
    fn from_envelope(cause: CryptoError) -> Self {
        let reason = match cause {
            CryptoError::EnvelopeTruncated { .. } => SignIncorrect::TsdTooSmall,
            ref other if other.is_malformed_envelope() => SignIncorrect::ArgSignCorrupted,
            CryptoError::KeyNotEmbedded => SignIncorrect::ArgSignCorrupted,
            _ => SignIncorrect::DoesntPassVerification,
        };
        Self::incorrect(reason, cause)
    }
}

/// Who signed a packet that passed the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSigner {
    /// SHA3-256 of the signer's public key: the member or session id.
    pub id: Hash32,
    pub algorithm: Algorithm,
    /// Bytes covered by the signature: header plus every item before SIGN.
    pub signed_len: usize,
    pub public_key: PublicKey,
}

/// The located SIGN item.
struct SignItem<'a> {
    signed_len: usize,
    envelope: SignEnvelope<'a>,
}

/// Finds the SIGN item, checks it is last, and decodes its envelope.
fn locate_sign(packet: &[u8], sign_code: u16) -> Result<SignItem<'_>, SignCheckError> {
    use SignIncorrect::*;
    if packet.len() < HEADER_SIZE {
        let cause = CryptoError::PacketTooShort(packet.len());
        return Err(SignCheckError::incorrect(TsdTooSmall, cause));
    }
    let args = &packet[HEADER_SIZE..];
    for item in TsdIter::new(args, TsdLimits::DEFAULT) {
        let item = item.map_err(|e| SignCheckError::incorrect(TsdTooSmall, e.into()))?;
        if item.code != sign_code {
            continue;
        }
        // Nothing after SIGN is parsed: it must simply not exist.
        if item.offset + item.encoded_len() != args.len() {
            let cause = CryptoError::SignNotLast {
                offset: item.offset,
            };
            return Err(SignCheckError::incorrect(ArgSignCorrupted, cause));
        }
        let envelope = SignEnvelope::parse(item.value).map_err(SignCheckError::from_envelope)?;
        return Ok(SignItem {
            signed_len: HEADER_SIZE + item.offset,
            envelope,
        });
    }
    Err(SignCheckError::NotPresent)
}

/// Checks a signed cluster or session packet whose envelope carries the
/// signer's key. With `expected_signer`, a valid signature by another key is
/// [`SignCheckError::Alien`].
pub fn verify_packet(
    packet: &[u8],
    sign_code: u16,
    expected_signer: Option<&Hash32>,
) -> Result<VerifiedSigner, SignCheckError> {
    let sign = locate_sign(packet, sign_code)?;
    let signed = &packet[..sign.signed_len];
    let public_key = sign
        .envelope
        .verify(signed)
        .map_err(SignCheckError::from_envelope)?;
    let signer = VerifiedSigner {
        id: public_key.id(),
        algorithm: public_key.algorithm(),
        signed_len: sign.signed_len,
        public_key,
    };
    match expected_signer {
        Some(expected) if *expected != signer.id => Err(SignCheckError::Alien {
            signer: signer.id,
            expected: *expected,
        }),
        _ => Ok(signer),
    }
}

/// Checks a signed packet against a known key: the envelope may carry the
/// key or only its hash. A valid signature by another embedded key is
/// [`SignCheckError::Alien`]; an envelope naming another key by hash cannot
/// be verified and is SIGN_INCORRECT.
pub fn verify_packet_with_key(
    packet: &[u8],
    sign_code: u16,
    key: &PublicKey,
) -> Result<VerifiedSigner, SignCheckError> {
    let sign = locate_sign(packet, sign_code)?;
    if let envelope::KeyField::PublicKey(bytes) = sign.envelope.key()
        && bytes != key.as_bytes()
    {
        return verify_packet(packet, sign_code, Some(&key.id()));
    }
    let signed = &packet[..sign.signed_len];
    sign.envelope
        .verify_with_key(signed, key)
        .map_err(SignCheckError::from_envelope)?;
    Ok(VerifiedSigner {
        id: key.id(),
        algorithm: key.algorithm(),
        signed_len: sign.signed_len,
        public_key: key.clone(),
    })
}

/// Appends a SIGN item (code `sign_code`, key embedded, SHA3-256 pre-hash)
/// to an unsigned packet. The packet must be a header plus well-formed
/// items, none of them already a SIGN item.
pub fn sign_packet(unsigned_packet: &[u8], sign_code: u16, key: &SigningKey) -> Result<Vec<u8>> {
    check_unsigned(unsigned_packet, sign_code)?;
    let options = SignOptions::default();
    let envelope_len = envelope::envelope_len(key, options);
    let mut out = Vec::with_capacity(unsigned_packet.len() + tsd::HEADER_SIZE + envelope_len);
    out.extend_from_slice(unsigned_packet);
    out.extend_from_slice(&sign_code.to_le_bytes());
    // An envelope is at most a few KiB, so its size fits the u32 field.
    out.extend_from_slice(&(envelope_len as u32).to_le_bytes());
    envelope::sign_into(key, unsigned_packet, options, &mut out)?;
    debug_assert_eq!(out.len(), out.capacity());
    Ok(out)
}

fn check_unsigned(packet: &[u8], sign_code: u16) -> Result<()> {
    if packet.len() < HEADER_SIZE {
        return Err(CryptoError::PacketTooShort(packet.len()));
    }
    for item in TsdIter::new(&packet[HEADER_SIZE..], TsdLimits::DEFAULT) {
        let item = item?;
        if item.code == sign_code {
            return Err(CryptoError::AlreadySigned {
                offset: item.offset,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
