//! Return codes (`msgnum`) and the `'r'` sub-packet that carries them.
//!
//! Layout: `msgnum i32 | msglen i32 | msg[msglen]`. `msglen` counts the text
//! and its NUL terminator and the packet must end exactly there; a zero
//! `msglen` means no text. (The C sender never filled `msglen` and its
//! reader looked one byte past the end: both fixed here.)

use crate::error::{ProtoError, Result};

/// Every return code of the protocol, with its wire number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RetCode {
    Success = 0,
    ArgIncorrect = 1,
    SignNotPresent = 0xF0,
    SignIncorrect = 0xF1,
    /// A valid signature by someone who is not the expected signer.
    SignAlien = 0xF2,
    ClusterWrongRequest = 0x101,
    ClusterNotFound = 0x102,
    /// `CONTENT_UNAVAILBLE` in the C headers.
    ContentUnavailable = 0x200,
    ContentNotFound = 0x201,
    ContentInfoCorrupted = 0x202,
    ContentCorrupted = 0x203,
    ContentFlowWrongId = 0x210,
    MemberNotFound = 0x300,
    MemberSecurityIssue = 0x301,
    MemberInfoProblem = 0x302,
    SessionWrongRequest = 0x400,
    SessionNotOpened = 0x401,
    SessionAlreadyOpened = 0x402,
    SessionContentIdWrong = 0x404,
    /// The generic error, `0xFFFFFFFF` (−1 as the wire's `i32`).
    Error = 0xFFFF_FFFF,
}

impl RetCode {
    /// Every code, in wire order.
    pub const ALL: [RetCode; 20] = [
        RetCode::Success,
        RetCode::ArgIncorrect,
        RetCode::SignNotPresent,
        RetCode::SignIncorrect,
        RetCode::SignAlien,
        RetCode::ClusterWrongRequest,
        RetCode::ClusterNotFound,
        RetCode::ContentUnavailable,
        RetCode::ContentNotFound,
        RetCode::ContentInfoCorrupted,
        RetCode::ContentCorrupted,
        RetCode::ContentFlowWrongId,
        RetCode::MemberNotFound,
        RetCode::MemberSecurityIssue,
        RetCode::MemberInfoProblem,
        RetCode::SessionWrongRequest,
        RetCode::SessionNotOpened,
        RetCode::SessionAlreadyOpened,
        RetCode::SessionContentIdWrong,
        RetCode::Error,
    ];

    /// The wire number.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The number as the `msgnum` field holds it.
    pub const fn msgnum(self) -> i32 {
        self as u32 as i32
    }

    /// Looks a wire number up; unknown numbers are refused.
    pub fn from_code(code: u32) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|rc| rc.code() == code)
            .ok_or(ProtoError::UnknownValue {
                what: "return code",
                value: code,
            })
    }

    /// The upper-case name, also the default text tag of a reply.
    pub const fn name(self) -> &'static str {
        match self {
            RetCode::Success => "SUCCESS",
            RetCode::ArgIncorrect => "ARG_INCORRECT",
            RetCode::SignNotPresent => "SIGN_NOT_PRESENT",
            RetCode::SignIncorrect => "SIGN_INCORRECT",
            RetCode::SignAlien => "SIGN_ALIEN",
            RetCode::ClusterWrongRequest => "CLUSTER_WRONG_REQUEST",
            RetCode::ClusterNotFound => "CLUSTER_NOT_FOUND",
            RetCode::ContentUnavailable => "CONTENT_UNAVAILABLE",
            RetCode::ContentNotFound => "CONTENT_NOT_FOUND",
            RetCode::ContentInfoCorrupted => "CONTENT_INFO_CORRUPTED",
            RetCode::ContentCorrupted => "CONTENT_CORRUPTED",
            RetCode::ContentFlowWrongId => "CONTENT_FLOW_WRONG_ID",
            RetCode::MemberNotFound => "MEMBER_NOT_FOUND",
            RetCode::MemberSecurityIssue => "MEMBER_SECURITY_ISSUE",
            RetCode::MemberInfoProblem => "MEMBER_INFO_PROBLEM",
            RetCode::SessionWrongRequest => "SESSION_WRONG_REQUEST",
            RetCode::SessionNotOpened => "SESSION_NOT_OPENED",
            RetCode::SessionAlreadyOpened => "SESSION_ALREADY_OPENED",
            RetCode::SessionContentIdWrong => "SESSION_CONTENT_ID_WRONG",
            RetCode::Error => "ERROR",
        }
    }
}

impl std::fmt::Display for RetCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (0x{:X})", self.name(), self.code())
    }
}

/// A decoded or to-be-sent `'r'` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetCodePacket {
    pub code: RetCode,
    /// The text tag, such as `SESSION_NOT_OPENED` or a decimal content id.
    pub text: String,
}

impl RetCodePacket {
    /// `msgnum` + `msglen`.
    pub const HEADER_SIZE: usize = 8;
    /// Longest text accepted, NUL included.
    pub const MAX_TEXT: usize = 4096;

    /// A reply whose text is the code's own name.
    pub fn new(code: RetCode) -> Self {
        Self {
            code,
            text: code.name().to_owned(),
        }
    }

    pub fn with_text(code: RetCode, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    /// Encodes with `msglen` filled. Text with a NUL or over the cap is refused.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let text = self.text.as_bytes();
        if text.contains(&0) {
            return Err(ProtoError::BadString {
                what: "return code text",
                reason: "NUL inside the string",
            });
        }
        let msglen = if text.is_empty() { 0 } else { text.len() + 1 };
        if msglen > Self::MAX_TEXT {
            return Err(ProtoError::TooLarge {
                what: "return code text",
                size: msglen,
                max: Self::MAX_TEXT,
            });
        }
        let mut out = Vec::with_capacity(Self::HEADER_SIZE + msglen);
        out.extend_from_slice(&self.code.msgnum().to_le_bytes());
        // msglen <= MAX_TEXT, so it fits an i32.
        out.extend_from_slice(&(msglen as i32).to_le_bytes());
        if msglen > 0 {
            out.extend_from_slice(text);
            out.push(0);
        }
        Ok(out)
    }

    /// Decodes the data part of an `'r'` packet, which must end with the text.
    pub fn decode(data: &[u8]) -> Result<Self> {
        crate::error::need("return code header", data, Self::HEADER_SIZE)?;
        let msgnum = i32::from_le_bytes(data[0..4].try_into().expect("4 bytes"));
        let msglen = i32::from_le_bytes(data[4..8].try_into().expect("4 bytes"));
        let code = RetCode::from_code(msgnum as u32)?;
        let msglen = usize::try_from(msglen).map_err(|_| ProtoError::Malformed {
            what: "return code",
            reason: "negative msglen",
        })?;
        if msglen > Self::MAX_TEXT {
            return Err(ProtoError::TooLarge {
                what: "return code text",
                size: msglen,
                max: Self::MAX_TEXT,
            });
        }
        let body = &data[Self::HEADER_SIZE..];
        if body.len() < msglen {
            return Err(ProtoError::Truncated {
                what: "return code text",
                need: msglen,
                have: body.len(),
            });
        }
        if body.len() > msglen {
            return Err(ProtoError::TrailingBytes {
                what: "return code",
                extra: body.len() - msglen,
            });
        }
        let text = if msglen == 0 {
            String::new()
        } else {
            let item = crate::tsd::TsdItem {
                code: 0,
                value: body,
                offset: 0,
            };
            item.str()
                .map_err(|_| ProtoError::BadString {
                    what: "return code text",
                    reason: "not NUL-terminated UTF-8 without inner NUL",
                })?
                .to_owned()
        };
        Ok(Self { code, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_numbers_are_pinned() {
        let pinned: Vec<(RetCode, u32, &str)> = vec![
            (RetCode::Success, 0, "SUCCESS"),
            (RetCode::ArgIncorrect, 1, "ARG_INCORRECT"),
            (RetCode::SignNotPresent, 0xF0, "SIGN_NOT_PRESENT"),
            (RetCode::SignIncorrect, 0xF1, "SIGN_INCORRECT"),
            (RetCode::SignAlien, 0xF2, "SIGN_ALIEN"),
            (RetCode::ClusterWrongRequest, 0x101, "CLUSTER_WRONG_REQUEST"),
            (RetCode::ClusterNotFound, 0x102, "CLUSTER_NOT_FOUND"),
            (RetCode::ContentUnavailable, 0x200, "CONTENT_UNAVAILABLE"),
            (RetCode::ContentNotFound, 0x201, "CONTENT_NOT_FOUND"),
            (
                RetCode::ContentInfoCorrupted,
                0x202,
                "CONTENT_INFO_CORRUPTED",
            ),
            (RetCode::ContentCorrupted, 0x203, "CONTENT_CORRUPTED"),
            (RetCode::ContentFlowWrongId, 0x210, "CONTENT_FLOW_WRONG_ID"),
            (RetCode::MemberNotFound, 0x300, "MEMBER_NOT_FOUND"),
            (RetCode::MemberSecurityIssue, 0x301, "MEMBER_SECURITY_ISSUE"),
            (RetCode::MemberInfoProblem, 0x302, "MEMBER_INFO_PROBLEM"),
            (RetCode::SessionWrongRequest, 0x400, "SESSION_WRONG_REQUEST"),
            (RetCode::SessionNotOpened, 0x401, "SESSION_NOT_OPENED"),
            (
                RetCode::SessionAlreadyOpened,
                0x402,
                "SESSION_ALREADY_OPENED",
            ),
            (
                RetCode::SessionContentIdWrong,
                0x404,
                "SESSION_CONTENT_ID_WRONG",
            ),
            (RetCode::Error, 0xFFFF_FFFF, "ERROR"),
        ];
        assert_eq!(pinned.len(), RetCode::ALL.len());
        for (rc, code, name) in pinned {
            assert_eq!(rc.code(), code);
            assert_eq!(rc.name(), name);
            assert_eq!(RetCode::from_code(code).unwrap(), rc);
        }
        assert_eq!(RetCode::Error.msgnum(), -1);
        assert!(RetCode::from_code(0x403).is_err());
    }

    #[test]
    fn retcode_packet_has_msglen_filled_and_text_nul_terminated() {
        let bytes = RetCodePacket::with_text(RetCode::SessionNotOpened, "NO")
            .encode()
            .unwrap();
        assert_eq!(
            bytes,
            [
                0x01, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, b'N', b'O', 0x00
            ]
        );
        assert_eq!(RetCodePacket::HEADER_SIZE, 8);
        let back = RetCodePacket::decode(&bytes).unwrap();
        assert_eq!(back.code, RetCode::SessionNotOpened);
        assert_eq!(back.text, "NO");
    }

    #[test]
    fn generic_error_is_minus_one_on_the_wire() {
        let bytes = RetCodePacket::with_text(RetCode::Error, "")
            .encode()
            .unwrap();
        assert_eq!(bytes, [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]);
        assert_eq!(RetCodePacket::decode(&bytes).unwrap().code, RetCode::Error);
    }

    #[test]
    fn bad_retcode_packets_are_refused() {
        let ok = RetCodePacket::new(RetCode::Success).encode().unwrap();
        // Cut short, too long, negative msglen, unknown code, missing NUL.
        assert!(matches!(
            RetCodePacket::decode(&ok[..5]),
            Err(ProtoError::Truncated { .. })
        ));
        assert!(matches!(
            RetCodePacket::decode(&ok[..ok.len() - 1]),
            Err(ProtoError::Truncated { .. })
        ));
        let mut extra = ok.clone();
        extra.push(0);
        assert!(matches!(
            RetCodePacket::decode(&extra),
            Err(ProtoError::TrailingBytes { extra: 1, .. })
        ));
        let mut neg = ok.clone();
        neg[4..8].copy_from_slice(&(-5i32).to_le_bytes());
        assert!(RetCodePacket::decode(&neg).is_err());
        let mut unknown = ok.clone();
        unknown[0..4].copy_from_slice(&7i32.to_le_bytes());
        assert!(matches!(
            RetCodePacket::decode(&unknown),
            Err(ProtoError::UnknownValue { value: 7, .. })
        ));
        let mut no_nul = ok;
        *no_nul.last_mut().unwrap() = b'X';
        assert!(matches!(
            RetCodePacket::decode(&no_nul),
            Err(ProtoError::BadString { .. })
        ));
        let huge = [0, 0, 0, 0, 0xFF, 0xFF, 0, 0];
        assert!(matches!(
            RetCodePacket::decode(&huge),
            Err(ProtoError::TooLarge { .. })
        ));
        assert!(
            RetCodePacket::with_text(RetCode::Success, "a\0b")
                .encode()
                .is_err()
        );
    }
}
