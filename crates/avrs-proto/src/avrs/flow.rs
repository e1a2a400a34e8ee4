//! Content flows: the `CONTENT_FLOWS` string (one character per elementary
//! stream; a flow id is an index into it) and the `CONTENT_FLOW_CODEC` value
//! (`flow id u8` + NUL-terminated codec/caps string).

use super::labels::{self, labelled};
use crate::error::{ProtoError, Result};
use crate::tsd::TsdItem;
use std::fmt;

/// Most flows one content item may have: one per printable ASCII character.
pub const MAX_FLOWS: usize = 94;
/// Longest codec/caps string, in bytes (NUL excluded). GStreamer caps with
/// inline codec data run to a few hundred bytes.
pub const MAX_CODEC: usize = 4096;

/// A validated flows string: 1 to 94 distinct printable ASCII characters
/// (`'!'..='~'`). ASCII only, so "one char per flow" means one byte per flow
/// and a flow id is both a char index and a byte index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flows(String);

impl Flows {
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_flows(&text)?;
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a flows string has at least one flow.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks that `flow_id` names a flow (`flow_id < len`). The error maps
    /// to `CONTENT_FLOW_WRONG_ID`.
    pub fn check(&self, flow_id: u8) -> Result<()> {
        if usize::from(flow_id) < self.len() {
            Ok(())
        } else {
            Err(ProtoError::UnknownValue {
                what: labels::FLOW_ID,
                value: u32::from(flow_id),
            })
        }
    }

    /// The character that names flow `flow_id`.
    pub fn name_of(&self, flow_id: u8) -> Option<char> {
        self.0
            .as_bytes()
            .get(usize::from(flow_id))
            .map(|&b| b as char)
    }

    /// The flow id of the flow named `name`.
    pub fn id_of(&self, name: char) -> Option<u8> {
        let index = self.0.chars().position(|c| c == name)?;
        // check_flows bounds the length to 94.
        u8::try_from(index).ok()
    }
}

fn check_flows(text: &str) -> Result<()> {
    let malformed = |reason| ProtoError::Malformed {
        what: labels::CONTENT_FLOWS,
        reason,
    };
    if text.is_empty() {
        return Err(malformed("no flow"));
    }
    if text.len() > MAX_FLOWS {
        return Err(ProtoError::TooLarge {
            what: labels::CONTENT_FLOWS,
            size: text.len(),
            max: MAX_FLOWS,
        });
    }
    let bytes = text.as_bytes();
    if !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(malformed("a flow name is not a printable ASCII character"));
    }
    let mut seen = [false; 128];
    for &b in bytes {
        if std::mem::replace(&mut seen[usize::from(b)], true) {
            return Err(malformed("a flow name appears twice"));
        }
    }
    Ok(())
}

impl std::str::FromStr for Flows {
    type Err = ProtoError;

    fn from_str(text: &str) -> Result<Self> {
        Self::new(text)
    }
}

impl fmt::Display for Flows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `CONTENT_FLOW_CODEC`: the codec (or GStreamer caps) of one flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowCodec {
    pub flow_id: u8,
    /// Non-empty, at most [`MAX_CODEC`] bytes, no NUL.
    pub codec: String,
}

impl FlowCodec {
    /// Smallest value: the flow id and a one-byte codec with its NUL.
    pub const MIN_SIZE: usize = 3;

    pub fn new(flow_id: u8, codec: impl Into<String>) -> Self {
        Self {
            flow_id,
            codec: codec.into(),
        }
    }

    /// The TSD value: `flow_id`, the codec text, NUL.
    pub fn encode_value(&self) -> Result<Vec<u8>> {
        self.check_codec()?;
        let mut out = Vec::with_capacity(self.codec.len() + 2);
        out.push(self.flow_id);
        out.extend_from_slice(self.codec.as_bytes());
        out.push(0);
        Ok(out)
    }

    /// Reads a TSD value. The flow id is not checked here: that needs the
    /// flows string ([`Flows::check`]).
    pub fn decode_value(value: &[u8]) -> Result<Self> {
        crate::error::need(labels::FLOW_CODEC, value, 1)?;
        let text = TsdItem {
            code: 0,
            value: &value[1..],
            offset: 0,
        };
        let codec = FlowCodec::new(
            value[0],
            text.str_max(MAX_CODEC)
                .map_err(labelled(labels::FLOW_CODEC))?,
        );
        codec.check_codec()?;
        Ok(codec)
    }

    fn check_codec(&self) -> Result<()> {
        if self.codec.is_empty() {
            return Err(ProtoError::Malformed {
                what: labels::FLOW_CODEC,
                reason: "empty codec string",
            });
        }
        if self.codec.len() > MAX_CODEC {
            return Err(ProtoError::TooLarge {
                what: labels::FLOW_CODEC,
                size: self.codec.len(),
                max: MAX_CODEC,
            });
        }
        if self.codec.as_bytes().contains(&0) {
            return Err(ProtoError::BadString {
                what: labels::FLOW_CODEC,
                reason: "NUL inside the string",
            });
        }
        Ok(())
    }
}

/// Checks a list of codecs against the flows: each flow id names a flow and
/// no flow has two codecs.
pub fn check_codecs(flows: &Flows, codecs: &[FlowCodec]) -> Result<()> {
    let mut seen = [false; 256];
    for codec in codecs {
        flows.check(codec.flow_id)?;
        if std::mem::replace(&mut seen[usize::from(codec.flow_id)], true) {
            return Err(ProtoError::Duplicate {
                what: labels::FLOW_CODEC,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flow_codec_value_is_id_then_nul_terminated_text() {
        let value = FlowCodec::new(2, "opus").encode_value().unwrap();
        assert_eq!(value, [0x02, b'o', b'p', b'u', b's', 0x00]);
        assert_eq!(
            FlowCodec::decode_value(&value).unwrap(),
            FlowCodec::new(2, "opus")
        );
    }

    #[test]
    fn bad_flow_codec_values_are_refused() {
        let bad = |value: &[u8]| FlowCodec::decode_value(value).unwrap_err();
        assert_eq!(
            bad(&[]),
            ProtoError::Truncated {
                what: labels::FLOW_CODEC,
                need: 1,
                have: 0
            }
        );
        assert!(matches!(
            bad(&[0]),
            ProtoError::BadString {
                what: labels::FLOW_CODEC,
                ..
            }
        ));
        assert!(matches!(bad(&[0, b'x']), ProtoError::BadString { .. }));
        assert!(matches!(
            bad(&[0, b'x', 0, b'y', 0]),
            ProtoError::BadString { .. }
        ));
        assert!(matches!(
            bad(&[0, 0]),
            ProtoError::Malformed {
                what: labels::FLOW_CODEC,
                ..
            }
        ));
        let mut long = vec![0u8];
        long.extend(std::iter::repeat_n(b'a', MAX_CODEC + 1));
        long.push(0);
        assert!(matches!(
            bad(&long),
            ProtoError::TooLarge {
                what: labels::FLOW_CODEC,
                ..
            }
        ));
        assert!(FlowCodec::new(0, "").encode_value().is_err());
        assert!(FlowCodec::new(0, "a\0b").encode_value().is_err());
        assert!(
            FlowCodec::new(0, "a".repeat(MAX_CODEC + 1))
                .encode_value()
                .is_err()
        );
        assert!(
            FlowCodec::new(0, "a".repeat(MAX_CODEC))
                .encode_value()
                .is_ok()
        );
    }

    #[test]
    fn flows_are_distinct_printable_ascii() {
        let flows = Flows::new("avz").unwrap();
        assert_eq!(flows.len(), 3);
        assert!(!flows.is_empty());
        assert_eq!(flows.name_of(1), Some('v'));
        assert_eq!(flows.name_of(3), None);
        assert_eq!(flows.id_of('z'), Some(2));
        assert_eq!(flows.id_of('q'), None);
        assert_eq!(flows.to_string(), "avz");
        assert_eq!("avz".parse::<Flows>().unwrap(), flows);
        for bad in ["", "aa", "a v", "a\u{e9}", "a\0"] {
            assert!(
                matches!(
                    Flows::new(bad),
                    Err(ProtoError::Malformed {
                        what: labels::CONTENT_FLOWS,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        let every: String = (b'!'..=b'~').map(char::from).collect();
        assert_eq!(Flows::new(every.clone()).unwrap().len(), MAX_FLOWS);
        assert!(matches!(
            Flows::new(format!("{every}!")),
            Err(ProtoError::TooLarge {
                what: labels::CONTENT_FLOWS,
                size: 95,
                max: 94
            })
        ));
    }

    #[test]
    fn flow_ids_must_be_below_the_flow_count() {
        let flows = Flows::new("av").unwrap();
        assert_eq!(flows.check(0), Ok(()));
        assert_eq!(flows.check(1), Ok(()));
        for id in [2u8, 3, 255] {
            assert_eq!(
                flows.check(id),
                Err(ProtoError::UnknownValue {
                    what: labels::FLOW_ID,
                    value: u32::from(id)
                })
            );
        }
    }

    #[test]
    fn codecs_are_checked_against_the_flows() {
        let flows = Flows::new("av").unwrap();
        let ok = [FlowCodec::new(1, "h264"), FlowCodec::new(0, "aac")];
        assert_eq!(check_codecs(&flows, &ok), Ok(()));
        assert_eq!(check_codecs(&flows, &[]), Ok(()));
        assert!(matches!(
            check_codecs(&flows, &[FlowCodec::new(2, "x")]),
            Err(ProtoError::UnknownValue {
                what: labels::FLOW_ID,
                value: 2
            })
        ));
        assert_eq!(
            check_codecs(&flows, &[FlowCodec::new(0, "x"), FlowCodec::new(0, "y")]),
            Err(ProtoError::Duplicate {
                what: labels::FLOW_CODEC
            })
        );
    }

    proptest! {
        #[test]
        fn flow_codec_round_trips(id in any::<u8>(), codec in "[^\u{0}]{1,200}") {
            let value = FlowCodec::new(id, codec.clone()).encode_value().unwrap();
            prop_assert_eq!(FlowCodec::decode_value(&value).unwrap(), FlowCodec::new(id, codec));
        }

        #[test]
        fn arbitrary_values_never_panic(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(codec) = FlowCodec::decode_value(&value) {
                prop_assert_eq!(codec.encode_value().unwrap(), value);
            }
        }
    }
}
