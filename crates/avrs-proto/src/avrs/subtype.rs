//! The channel-header `type` byte of a channel-`'A'` packet: which AVRS
//! sub-packet the data holds.

use super::wire_enum::wire_enum;
use crate::avrs::labels;

wire_enum! {
    /// The sub-packet kinds of channel `'A'` (ASCII letters on the wire).
    pub enum SubType: u8, what = labels::SUBTYPE {
        /// Cluster control, `'C'`.
        Cluster = 0x43 => "CLUSTER",
        /// Session control, `'S'`.
        Session = 0x53 => "SESSION",
        /// Content data, `'c'`.
        Content = 0x63 => "CONTENT",
        /// Return code, `'r'`.
        RetCode = 0x72 => "RETCODE",
    }
}

impl SubType {
    /// The letter that stands for this sub-type.
    pub const fn letter(self) -> char {
        self.code() as char
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProtoError;

    #[test]
    fn subtype_bytes_are_the_ascii_letters() {
        let pinned = [
            (SubType::Cluster, 0x43, b'C'),
            (SubType::Session, 0x53, b'S'),
            (SubType::Content, 0x63, b'c'),
            (SubType::RetCode, 0x72, b'r'),
        ];
        assert_eq!(pinned.len(), SubType::ALL.len());
        for (subtype, code, letter) in pinned {
            assert_eq!(subtype.code(), code);
            assert_eq!(code, letter);
            assert_eq!(subtype.letter(), letter as char);
            assert_eq!(SubType::from_code(code).unwrap(), subtype);
            assert_eq!(SubType::from_name(subtype.name()), Some(subtype));
        }
    }

    #[test]
    fn every_other_byte_is_refused() {
        let known: Vec<u8> = SubType::ALL.iter().map(|s| s.code()).collect();
        for byte in (0..=u8::MAX).filter(|b| !known.contains(b)) {
            assert_eq!(
                SubType::try_from(byte),
                Err(ProtoError::UnknownValue {
                    what: labels::SUBTYPE,
                    value: u32::from(byte)
                })
            );
        }
    }
}
