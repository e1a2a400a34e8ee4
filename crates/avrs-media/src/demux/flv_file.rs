//! An FLV file to a [`Demuxed`].

use super::{Container, Demuxed, normalise};
use crate::error::{MediaError, Result};
use crate::flv::{DEFAULT_MAX_TAG_SIZE, FlvDemuxer, TagMedia, tag_to_media};

pub(super) fn demux(data: &[u8]) -> Result<Demuxed> {
    let mut demuxer = FlvDemuxer::new(DEFAULT_MAX_TAG_SIZE);
    demuxer.push(data);
    let mut out = Demuxed {
        container: Container::Flv,
        video: None,
        audio: None,
        frames: Vec::new(),
    };
    while let Some(tag) = demuxer.next_tag()? {
        match tag_to_media(&tag)? {
            TagMedia::VideoConfig(config) => out.video = Some(config),
            TagMedia::AudioConfig(config) => out.audio = Some(config),
            TagMedia::Frame(frame) => {
                let configured = match frame.track {
                    crate::TrackKind::Video => out.video.is_some(),
                    crate::TrackKind::Audio => out.audio.is_some(),
                };
                if !configured {
                    return Err(MediaError::MissingConfig { what: "FLV frame" });
                }
                out.frames.push(frame);
            }
            TagMedia::EndOfSequence(_) | TagMedia::Skipped => {}
        }
    }
    if demuxer.buffered() > 0 {
        return Err(MediaError::Truncated {
            what: "FLV file",
            need: demuxer.buffered() + 1,
            have: demuxer.buffered(),
        });
    }
    if out.frames.is_empty() {
        return Err(MediaError::Malformed {
            what: "FLV file",
            reason: "no audio or video frames".into(),
        });
    }
    normalise(&mut out.frames);
    Ok(out)
}
