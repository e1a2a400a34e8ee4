//! Cluster (`'C'`) and session (`'S'`) control packets: an 8-byte header
//! `type u8 | padding[7]` followed by TSD arguments, the SIGN item last.
//!
//! Decoding here is the structural pass: header, TSD framing, SIGN placement.
//! Meaning (which arguments, what sizes) is the typed requests' job
//! ([`crate::avrs::Request`]); the signature itself is the crypto crate's.

use super::labels;
use super::subtype::SubType;
use crate::error::{ProtoError, Result};
use crate::tsd::{TsdBuilder, TsdItem, TsdLimits, TsdList};
use std::fmt;

/// Size of the control header: `type u8 | padding[7]`.
pub const HEADER_SIZE: usize = 8;

/// A packet-type enum of a control sub-packet: [`crate::avrs::ClusterType`]
/// or [`crate::avrs::SessionType`].
pub trait ControlKind: Copy + Eq + fmt::Debug + fmt::Display + 'static {
    /// The channel-header sub-type that carries this kind of packet.
    const SUBTYPE: SubType;
    /// The TSD code of the SIGN item (it differs between cluster and session).
    const SIGN_CODE: u16;

    /// The type byte.
    fn type_code(self) -> u8;

    /// Reads a type byte; unknown bytes are refused.
    fn from_type_code(code: u8) -> Result<Self>;
}

/// The header bytes of a control packet: type, then seven zero bytes.
pub fn header<K: ControlKind>(kind: K) -> [u8; HEADER_SIZE] {
    let mut out = [0u8; HEADER_SIZE];
    out[0] = kind.type_code();
    out
}

/// The SIGN item of a decoded packet and the bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignItem<'a> {
    /// The `dap_sign_t` bytes (the item's value).
    pub value: &'a [u8],
    /// Where the SIGN item's TSD header starts, relative to the arguments.
    pub offset: usize,
    /// What the signature covers: the packet's first `8 + offset` bytes.
    pub signed_bytes: &'a [u8],
}

/// A structurally valid control packet over borrowed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket<'a, K> {
    kind: K,
    bytes: &'a [u8],
    items: TsdList<'a>,
    signed: bool,
}

impl<'a, K: ControlKind> ControlPacket<'a, K> {
    /// Decodes with the default TSD caps ([`TsdLimits::DEFAULT`]).
    pub fn decode(data: &'a [u8]) -> Result<Self> {
        Self::decode_with(data, TsdLimits::DEFAULT)
    }

    /// Decodes the data part of a `'C'` or `'S'` packet: the header must be
    /// complete with zero padding, the type known, the arguments a sequence of
    /// complete TSD items within `limits`, and a SIGN item, if any, last.
    pub fn decode_with(data: &'a [u8], limits: TsdLimits) -> Result<Self> {
        let (kind, args) = split_header::<K>(data)?;
        let items = TsdList::parse(args, limits)?;
        let signed = sign_is_last(items.items(), K::SIGN_CODE)?;
        Ok(Self {
            kind,
            bytes: data,
            items,
            signed,
        })
    }

    pub fn kind(&self) -> K {
        self.kind
    }

    /// The whole packet (header and arguments).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The argument bytes, after the header.
    pub fn args(&self) -> &'a [u8] {
        &self.bytes[HEADER_SIZE..]
    }

    /// Every item, the SIGN item included.
    pub fn items(&self) -> &TsdList<'a> {
        &self.items
    }

    /// The items before the SIGN item (all of them if unsigned): the
    /// arguments a typed request reads.
    pub fn unsigned_items(&self) -> &[TsdItem<'a>] {
        let all = self.items.items();
        if self.signed {
            &all[..all.len() - 1]
        } else {
            all
        }
    }

    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// The SIGN item, if the packet ends with one.
    pub fn sign(&self) -> Option<SignItem<'a>> {
        let item = self.items.last().filter(|_| self.signed)?;
        Some(SignItem {
            value: item.value,
            offset: item.offset,
            signed_bytes: &self.bytes[..HEADER_SIZE + item.offset],
        })
    }

    /// The SIGN item, which must be present (`Missing` maps to
    /// `SIGN_NOT_PRESENT`).
    pub fn require_sign(&self) -> Result<SignItem<'a>> {
        self.sign()
            .ok_or(ProtoError::Missing { what: labels::SIGN })
    }

    /// Header plus `args` (already TSD-encoded) as one packet.
    pub fn encode(kind: K, args: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_SIZE + args.len());
        out.extend_from_slice(&header(kind));
        out.extend_from_slice(args);
        out
    }
}

fn split_header<K: ControlKind>(data: &[u8]) -> Result<(K, &[u8])> {
    crate::error::need(labels::CONTROL_HEADER, data, HEADER_SIZE)?;
    let (head, args) = data.split_at(HEADER_SIZE);
    let kind = K::from_type_code(head[0])?;
    if head[1..].iter().any(|&b| b != 0) {
        return Err(ProtoError::Malformed {
            what: labels::CONTROL_HEADER,
            reason: "padding is not zero",
        });
    }
    Ok((kind, args))
}

/// Whether the list ends with the SIGN item; a SIGN item anywhere else (so
/// also a second one) is refused, as nothing may follow the signature.
fn sign_is_last(items: &[TsdItem<'_>], sign_code: u16) -> Result<bool> {
    match items.iter().position(|item| item.code == sign_code) {
        None => Ok(false),
        Some(index) if index + 1 == items.len() => Ok(true),
        Some(_) => Err(ProtoError::Malformed {
            what: labels::SIGN,
            reason: "an item follows the SIGN item",
        }),
    }
}

/// Writes a control packet: header first, then arguments, then (optionally)
/// the SIGN item over everything before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlBuilder<K> {
    kind: K,
    tsd: TsdBuilder,
}

impl<K: ControlKind> ControlBuilder<K> {
    pub fn new(kind: K) -> Self {
        Self {
            kind,
            tsd: TsdBuilder::with_prefix(header(kind).to_vec()),
        }
    }

    pub fn kind(&self) -> K {
        self.kind
    }

    /// Where arguments are appended. Do not put the SIGN item here: use
    /// [`Self::finish_signed`], which keeps it last.
    pub fn args_mut(&mut self) -> &mut TsdBuilder {
        &mut self.tsd
    }

    /// Header and arguments so far: exactly what a SIGN item appended now
    /// covers, so what the signer signs.
    pub fn unsigned_bytes(&self) -> &[u8] {
        self.tsd.as_bytes()
    }

    /// The offset, relative to the arguments, at which the SIGN item would
    /// start if appended now.
    pub fn sign_offset(&self) -> usize {
        self.tsd.len() - HEADER_SIZE
    }

    /// The packet without a signature.
    pub fn finish(self) -> Vec<u8> {
        self.tsd.finish()
    }

    /// Appends the SIGN item (`sign` is the `dap_sign_t` over
    /// [`Self::unsigned_bytes`]) and returns the packet.
    pub fn finish_signed(mut self, sign: &[u8]) -> Result<Vec<u8>> {
        self.tsd.put(K::SIGN_CODE, sign)?;
        Ok(self.tsd.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avrs::{ClusterType, SessionType};

    #[test]
    fn header_is_type_then_seven_zero_bytes() {
        assert_eq!(HEADER_SIZE, 8);
        assert_eq!(header(ClusterType::Create), [0x01, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(header(ClusterType::RouteCheck), [0x43, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(header(SessionType::ContentAdd), [0x10, 0, 0, 0, 0, 0, 0, 0]);
        let packet = ControlBuilder::new(SessionType::Close).finish();
        assert_eq!(packet, [0x03, 0, 0, 0, 0, 0, 0, 0]);
        let decoded = ControlPacket::<SessionType>::decode(&packet).unwrap();
        assert_eq!(decoded.kind(), SessionType::Close);
        assert!(decoded.items().is_empty());
        assert!(!decoded.is_signed());
    }

    #[test]
    fn sign_item_is_last_and_covers_every_prior_byte() {
        let mut b = ControlBuilder::new(ClusterType::Destroy);
        b.args_mut().put_u8(0x0004, 1);
        assert_eq!(b.sign_offset(), 7);
        assert_eq!(
            b.unsigned_bytes(),
            [2, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0, 1]
        );
        let packet = b.finish_signed(&[0xAA, 0xBB]).unwrap();
        assert_eq!(
            packet,
            [
                2, 0, 0, 0, 0, 0, 0, 0, // header: DESTROY
                4, 0, 1, 0, 0, 0, 1, // ENCRYPTED = 1
                0xFF, 0xFF, 2, 0, 0, 0, 0xAA, 0xBB, // SIGN
            ]
        );
        let decoded = ControlPacket::<ClusterType>::decode(&packet).unwrap();
        let sign = decoded.require_sign().unwrap();
        assert_eq!(sign.value, [0xAA, 0xBB]);
        assert_eq!(sign.offset, 7);
        assert_eq!(sign.signed_bytes, &packet[..15]);
        assert_eq!(decoded.unsigned_items().len(), 1);
        assert_eq!(decoded.items().len(), 2);
        assert_eq!(decoded.args(), &packet[8..]);
        assert_eq!(decoded.as_bytes(), &packet[..]);
    }

    #[test]
    fn session_sign_uses_code_one() {
        let packet = ControlBuilder::new(SessionType::Open)
            .finish_signed(&[7])
            .unwrap();
        assert_eq!(packet, [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 7]);
        let decoded = ControlPacket::<SessionType>::decode(&packet).unwrap();
        assert_eq!(decoded.sign().unwrap().signed_bytes, &packet[..8]);
        assert!(decoded.unsigned_items().is_empty());
        // The same bytes as a cluster packet: code 1 is ID there, not SIGN.
        let as_cluster = ControlPacket::<ClusterType>::decode(&packet).unwrap();
        assert!(as_cluster.sign().is_none());
        assert_eq!(
            as_cluster.require_sign(),
            Err(ProtoError::Missing { what: labels::SIGN })
        );
    }

    #[test]
    fn an_item_after_sign_is_refused() {
        let mut packet = ControlBuilder::new(ClusterType::Info)
            .finish_signed(&[1, 2, 3])
            .unwrap();
        packet.extend_from_slice(&[0x01, 0x00, 0, 0, 0, 0]);
        assert_eq!(
            ControlPacket::<ClusterType>::decode(&packet),
            Err(ProtoError::Malformed {
                what: labels::SIGN,
                reason: "an item follows the SIGN item"
            })
        );
        // A second SIGN is an item after the first.
        let twice = ControlBuilder::new(SessionType::Open)
            .finish_signed(&[1])
            .unwrap();
        let mut twice = twice.clone();
        twice.extend_from_slice(&[1, 0, 0, 0, 0, 0]);
        assert!(ControlPacket::<SessionType>::decode(&twice).is_err());
    }

    #[test]
    fn header_errors() {
        for len in 0..HEADER_SIZE {
            assert_eq!(
                ControlPacket::<ClusterType>::decode(&[1; HEADER_SIZE][..len]),
                Err(ProtoError::Truncated {
                    what: labels::CONTROL_HEADER,
                    need: 8,
                    have: len
                })
            );
        }
        assert_eq!(
            ControlPacket::<ClusterType>::decode(&[0x07, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtoError::UnknownValue {
                what: labels::CLUSTER_TYPE,
                value: 7
            })
        );
        assert_eq!(
            ControlPacket::<SessionType>::decode(&[0x04, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtoError::UnknownValue {
                what: labels::SESSION_TYPE,
                value: 4
            })
        );
        for pad in 1..HEADER_SIZE {
            let mut bytes = [1, 0, 0, 0, 0, 0, 0, 0];
            bytes[pad] = 0x80;
            assert!(matches!(
                ControlPacket::<ClusterType>::decode(&bytes),
                Err(ProtoError::Malformed {
                    what: labels::CONTROL_HEADER,
                    ..
                })
            ));
        }
    }

    #[test]
    fn tsd_structure_errors_pass_through_and_caps_apply() {
        let cut = [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 16, 0, 0, 0, 1];
        assert!(matches!(
            ControlPacket::<ClusterType>::decode(&cut),
            Err(ProtoError::Truncated {
                what: "TSD value",
                ..
            })
        ));
        let mut b = ControlBuilder::new(ClusterType::Info);
        b.args_mut().put_u8(2, 0).put_u8(3, 0);
        let packet = b.finish();
        let tight = TsdLimits {
            max_items: 1,
            max_item_size: 16,
        };
        assert!(matches!(
            ControlPacket::<ClusterType>::decode_with(&packet, tight),
            Err(ProtoError::TooMany { max: 1, .. })
        ));
        assert!(ControlPacket::<ClusterType>::decode(&packet).is_ok());
    }

    #[test]
    fn encode_matches_the_builder() {
        let mut b = ControlBuilder::new(SessionType::ContentRemove);
        b.args_mut().put_u32(0x0021, 5);
        let built = b.finish();
        assert_eq!(
            ControlPacket::encode(SessionType::ContentRemove, &built[8..]),
            built
        );
    }
}
