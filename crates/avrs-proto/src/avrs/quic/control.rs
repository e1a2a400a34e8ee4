//! Session arguments native sessions add for access and playback control:
//! the access token of an OPEN, a VoD's start position and quality wish,
//! and the client's CONTENT_UPDATE (pause, resume, seek).

use super::{ControlBuilder, ControlPacket, arg, not_allowed, set_once};
use crate::avrs::content::ContentState;
use crate::avrs::labels::{self, labelled};
use crate::avrs::session::{SessionArg, SessionType};
use crate::error::{ProtoError, Result};
use crate::tsd::TsdItem;

/// Longest access token (as the HTTP and RTMP paths allow).
pub const MAX_TOKEN: usize = 8 * 1024;

pub(super) const TOKEN_LABEL: &str = "access token";
pub(super) const RESUME_LABEL: &str = "resume";
pub(super) const RELAY_LABEL: &str = "relay";
pub(super) const KEY_ONLY_LABEL: &str = "key only";
pub(super) const POSITION_LABEL: &str = "start position";
pub(super) const QUALITY_LABEL: &str = "quality";
const STATE_LABEL: &str = "content state";

/// Largest position accepted: beyond `i64::MAX` ticks no media time fits.
const MAX_POSITION: u64 = i64::MAX as u64;

pub(super) fn check_token(token: &str) -> Result<()> {
    if token.is_empty() {
        return Err(ProtoError::Malformed {
            what: TOKEN_LABEL,
            reason: "empty token",
        });
    }
    if token.len() > MAX_TOKEN {
        return Err(ProtoError::TooLarge {
            what: TOKEN_LABEL,
            size: token.len(),
            max: MAX_TOKEN,
        });
    }
    Ok(())
}

pub(super) fn read_token(item: &TsdItem<'_>) -> Result<String> {
    // The cap (with its NUL) is checked before the text is read.
    let text = item.str_max(MAX_TOKEN).map_err(labelled(TOKEN_LABEL))?;
    check_token(text)?;
    Ok(text.to_owned())
}

/// A u8 that must be 1 (its presence is the flag).
pub(super) fn read_flag(item: &TsdItem<'_>, what: &'static str) -> Result<bool> {
    match item.u8().map_err(labelled(what))? {
        1 => Ok(true),
        value => Err(ProtoError::UnknownValue {
            what,
            value: u32::from(value),
        }),
    }
}

pub(super) fn read_position(item: &TsdItem<'_>) -> Result<u64> {
    let ticks = item.u64().map_err(labelled(POSITION_LABEL))?;
    if ticks > MAX_POSITION {
        return Err(ProtoError::Malformed {
            what: POSITION_LABEL,
            reason: "position beyond i64::MAX ticks",
        });
    }
    Ok(ticks)
}

/// Which rendition a VoD viewer wishes for: `kind u8 · value u32 LE`,
/// kind 0 a rendition index, kind 1 the highest bit rate (bit/s) wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Rendition(u32),
    MaxBitrate(u32),
}

impl Quality {
    pub fn to_value(self) -> [u8; 5] {
        let (kind, value) = match self {
            Quality::Rendition(index) => (0u8, index),
            Quality::MaxBitrate(bits) => (1u8, bits),
        };
        let mut out = [kind, 0, 0, 0, 0];
        out[1..].copy_from_slice(&value.to_le_bytes());
        out
    }

    pub fn from_value(value: &[u8]) -> Result<Self> {
        let bytes: [u8; 5] = value.try_into().map_err(|_| ProtoError::WrongSize {
            what: QUALITY_LABEL,
            expected: 5,
            actual: value.len(),
        })?;
        let number = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        match bytes[0] {
            0 => Ok(Quality::Rendition(number)),
            1 => Ok(Quality::MaxBitrate(number)),
            kind => Err(ProtoError::UnknownValue {
                what: QUALITY_LABEL,
                value: u32::from(kind),
            }),
        }
    }
}

/// The client's CONTENT_UPDATE on one of its VoD slots:
/// `[CONTENT_ID, CONTENT_STATE?, START_POSITION?]`, at least one of the
/// two: pause (PAUSED), resume (PLAYING), seek (a position; playback
/// restarts there at the group of pictures containing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentControl {
    pub content_id: u32,
    /// PLAYING or PAUSED; IDLE is refused.
    pub state: Option<ContentState>,
    pub seek: Option<u64>,
}

impl ContentControl {
    pub fn to_packet(&self) -> Result<ControlBuilder<SessionType>> {
        self.check()?;
        let mut builder = ControlBuilder::new(SessionType::ContentUpdate);
        let args = builder.args_mut();
        args.put_u32(SessionArg::ContentId.code(), self.content_id);
        if let Some(state) = self.state {
            args.put_u8(arg::CONTENT_STATE, state.code());
        }
        if let Some(seek) = self.seek {
            args.put_u64(arg::START_POSITION, seek);
        }
        Ok(builder)
    }

    pub fn from_packet(packet: &ControlPacket<'_, SessionType>) -> Result<Self> {
        if packet.kind() != SessionType::ContentUpdate {
            return Err(ProtoError::Malformed {
                what: labels::REQUEST_TYPE,
                reason: "the packet type does not match the request",
            });
        }
        let (mut content_id, mut state, mut seek) = (None, None, None);
        for item in packet.unsigned_items() {
            match item.code {
                code if code == SessionArg::ContentId.code() => {
                    let id = item.u32().map_err(labelled(labels::SESSION_CONTENT_ID))?;
                    set_once(&mut content_id, id, labels::SESSION_CONTENT_ID)?;
                }
                arg::CONTENT_STATE => {
                    let code = item.u8().map_err(labelled(STATE_LABEL))?;
                    set_once(&mut state, ContentState::from_code(code)?, STATE_LABEL)?;
                }
                arg::START_POSITION => {
                    set_once(&mut seek, read_position(item)?, POSITION_LABEL)?;
                }
                code => return Err(not_allowed(code)),
            }
        }
        let control = Self {
            content_id: content_id.ok_or(ProtoError::Missing {
                what: labels::SESSION_CONTENT_ID,
            })?,
            state,
            seek,
        };
        control.check()?;
        Ok(control)
    }

    fn check(&self) -> Result<()> {
        if self.state.is_none() && self.seek.is_none() {
            return Err(ProtoError::Missing {
                what: "content state or start position",
            });
        }
        if self.state == Some(ContentState::Idle) {
            return Err(ProtoError::UnknownValue {
                what: STATE_LABEL,
                value: 0,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avrs::quic::{BINDING_SIZE, BoundOpen, ContentRequest};

    #[test]
    fn content_control_layout_is_pinned() {
        let control = ContentControl {
            content_id: 2,
            state: Some(ContentState::Paused),
            seek: Some(0x0102),
        };
        let bytes = control.to_packet().unwrap().finish();
        let expected: &[u8] = &[
            0x12, 0, 0, 0, 0, 0, 0, 0, // CONTENT_UPDATE, padding
            0x21, 0, 4, 0, 0, 0, 2, 0, 0, 0, // CONTENT_ID 2
            0x08, 0x01, 1, 0, 0, 0, 2, // CONTENT_STATE PAUSED
            0x06, 0x01, 8, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0, // START_POSITION
        ];
        assert_eq!(bytes, expected);
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert_eq!(ContentControl::from_packet(&packet).unwrap(), control);
    }

    #[test]
    fn content_control_needs_an_action_and_a_real_state() {
        let mut builder = ControlBuilder::new(SessionType::ContentUpdate);
        builder.args_mut().put_u32(SessionArg::ContentId.code(), 1);
        let bytes = builder.finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert!(matches!(
            ContentControl::from_packet(&packet),
            Err(ProtoError::Missing { .. })
        ));
        let mut builder = ControlBuilder::new(SessionType::ContentUpdate);
        builder
            .args_mut()
            .put_u32(SessionArg::ContentId.code(), 1)
            .put_u8(arg::CONTENT_STATE, 0);
        let bytes = builder.finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert!(ContentControl::from_packet(&packet).is_err());
    }

    #[test]
    fn quality_round_trips_and_refuses_unknown_kinds() {
        for quality in [Quality::Rendition(3), Quality::MaxBitrate(2_500_000)] {
            assert_eq!(Quality::from_value(&quality.to_value()), Ok(quality));
        }
        assert_eq!(Quality::Rendition(1).to_value(), [0, 1, 0, 0, 0]);
        assert!(Quality::from_value(&[2, 0, 0, 0, 0]).is_err());
        assert!(Quality::from_value(&[0, 0, 0, 0]).is_err());
    }

    #[test]
    fn open_carries_token_and_resume_and_caps_the_token() {
        let open = BoundOpen {
            binding: [7; BINDING_SIZE],
            token: Some("abc.def.ghi".into()),
            resume: true,
        };
        let signed = open.to_packet().unwrap().finish_signed(b"sig").unwrap();
        let packet = ControlPacket::<SessionType>::decode(&signed).unwrap();
        assert_eq!(BoundOpen::from_packet(&packet).unwrap(), open);
        let long = BoundOpen {
            token: Some("x".repeat(MAX_TOKEN + 1)),
            ..open.clone()
        };
        assert!(long.to_packet().is_err());
    }

    #[test]
    fn vod_content_add_carries_start_and_quality() {
        let request = ContentRequest {
            start: Some(270_000),
            quality: Some(Quality::Rendition(0)),
            ..ContentRequest::watch("vod/0123")
        };
        let bytes = request.to_packet().unwrap().finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert_eq!(ContentRequest::from_packet(&packet).unwrap(), request);
    }

    #[test]
    fn a_key_only_request_round_trips() {
        let request = ContentRequest {
            key_only: true,
            ..ContentRequest::watch("live/a")
        };
        let bytes = request.to_packet().unwrap().finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert_eq!(ContentRequest::from_packet(&packet).unwrap(), request);
    }

    #[test]
    fn a_relay_says_so_in_its_content_add() {
        let request = ContentRequest {
            relay: true,
            ..ContentRequest::watch("live/a")
        };
        let bytes = request.to_packet().unwrap().finish();
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert_eq!(ContentRequest::from_packet(&packet).unwrap(), request);
        // Only the value 1, only in the name form.
        let mut two = bytes.clone();
        let last = two.len() - 1;
        two[last] = 2;
        let packet = ControlPacket::<SessionType>::decode(&two).unwrap();
        assert!(ContentRequest::from_packet(&packet).is_err());
        let by_uuid = ContentRequest {
            target: super::super::ContentTarget::Uuid {
                cluster: crate::Guuid::new(1, 2),
                content: crate::Guuid::new(3, 4),
            },
            relay: true,
            ..ContentRequest::watch("x")
        };
        assert!(by_uuid.to_packet().is_err());
    }
}
