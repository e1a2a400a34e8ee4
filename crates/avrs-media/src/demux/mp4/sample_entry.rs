//! `stsd` sample entries: `avc1`/`avc3` + `avcC` and `mp4a` + `esds` are
//! stored; every other codec is refused by name.

use super::boxes::{Mp4Box, boxes, children, find, full_box, require};
use crate::codec::cursor::Cursor;
use crate::codec::{audio_config_from_asc, video_config_from_avcc};
use crate::demux::assemble::{check_aac, unsupported_codec};
use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, VideoConfig};

/// The codec configuration of a track.
#[derive(Debug, Clone)]
pub(super) enum SampleEntry {
    Video(VideoConfig),
    Audio(AudioConfig),
}

/// Bytes of a `VisualSampleEntry` before its child boxes.
const VISUAL_ENTRY_LEN: usize = 78;
/// Bytes of a version 0 `AudioSampleEntry` before its child boxes; QuickTime
/// versions 1 and 2 add 16 and 36 bytes.
const AUDIO_ENTRY_LEN: usize = 28;

/// Parses the first (and only) entry of `stsd`.
pub(super) fn parse_stsd(stsd: &Mp4Box<'_>) -> Result<SampleEntry> {
    let (_, _, mut c) = full_box(stsd)?;
    let count = c.u32()?;
    if count != 1 {
        return Err(MediaError::Unsupported {
            what: "MP4 track",
            detail: format!("{count} sample descriptions (exactly one is supported)"),
        });
    }
    let base = stsd.body_start + 8;
    let entry = boxes(c.rest(), base)
        .next()
        .ok_or_else(|| malformed("empty 'stsd'".into()))??;
    match &entry.kind {
        b"avc1" | b"avc3" => video_entry(&entry).map(SampleEntry::Video),
        b"mp4a" => audio_entry(&entry).map(SampleEntry::Audio),
        other => Err(refuse(other)),
    }
}

fn video_entry(entry: &Mp4Box<'_>) -> Result<VideoConfig> {
    let inner = sub_box(entry, VISUAL_ENTRY_LEN)?;
    let avcc = require(&inner, b"avcC")?;
    video_config_from_avcc(avcc.body)
}

fn audio_entry(entry: &Mp4Box<'_>) -> Result<AudioConfig> {
    let version = Cursor::new(entry.body.get(8..).unwrap_or_default(), "mp4a entry").u16()?;
    let skip = match version {
        0 => AUDIO_ENTRY_LEN,
        1 => AUDIO_ENTRY_LEN + 16,
        2 => AUDIO_ENTRY_LEN + 36,
        other => return Err(malformed(format!("'mp4a' entry version {other}"))),
    };
    let inner = sub_box(entry, skip)?;
    // QuickTime files may nest `esds` inside a `wave` box.
    let esds = match find(&inner, b"esds")? {
        Some(esds) => esds,
        None => {
            let wave = require(&inner, b"wave")?;
            require(&wave, b"esds")?
        }
    };
    let asc = decoder_specific_info(&esds)?;
    check_aac(audio_config_from_asc(asc)?)
}

/// A view of `entry` whose body starts after its `skip` fixed bytes, so its
/// child boxes can be walked.
fn sub_box<'a>(entry: &Mp4Box<'a>, skip: usize) -> Result<Mp4Box<'a>> {
    let body = entry.body.get(skip..).ok_or(MediaError::Truncated {
        what: "MP4 sample entry",
        need: skip,
        have: entry.body.len(),
    })?;
    let inner = Mp4Box {
        body_start: entry.body_start + skip,
        body,
        ..*entry
    };
    // Walk once so a broken child is reported here with the entry's name.
    children(&inner).try_for_each(|b| b.map(drop))?;
    Ok(inner)
}

/// ES_DescrTag, DecoderConfigDescrTag and DecSpecificInfoTag (ISO/IEC
/// 14496-1 §7.2.2.1).
const ES_DESCRIPTOR: u8 = 0x03;
const DECODER_CONFIG: u8 = 0x04;
const DECODER_SPECIFIC_INFO: u8 = 0x05;

/// The `AudioSpecificConfig` in `esds`, after checking the object type
/// indication names AAC.
fn decoder_specific_info<'a>(esds: &Mp4Box<'a>) -> Result<&'a [u8]> {
    let (_, _, mut c) = full_box(esds)?;
    let mut es = descriptor(&mut c, ES_DESCRIPTOR)?;
    es.take(2)?; // ES_ID
    let flags = es.u8()?;
    if flags & 0x80 != 0 {
        es.take(2)?; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        let url_len = usize::from(es.u8()?);
        es.take(url_len)?;
    }
    if flags & 0x20 != 0 {
        es.take(2)?; // OCR_ES_Id
    }
    let mut config = descriptor(&mut es, DECODER_CONFIG)?;
    let object_type = config.u8()?;
    match object_type {
        0x40 | 0x66..=0x68 => {}
        other => {
            let name = if matches!(other, 0x69 | 0x6B) {
                "MP3"
            } else {
                "non-AAC"
            };
            let code = format!("mp4a, object type 0x{other:02X}");
            return Err(unsupported_codec(name, "audio", &code));
        }
    }
    config.take(12)?; // streamType, bufferSizeDB, maxBitrate, avgBitrate
    Ok(descriptor(&mut config, DECODER_SPECIFIC_INFO)?.rest())
}

/// Reads a descriptor header (tag, then a size of 1–4 bytes of 7 bits) and
/// returns a cursor over its body.
fn descriptor<'a>(c: &mut Cursor<'a>, tag: u8) -> Result<Cursor<'a>> {
    let found = c.u8()?;
    if found != tag {
        return Err(malformed(format!(
            "'esds' descriptor tag 0x{found:02X} where 0x{tag:02X} was expected"
        )));
    }
    let mut size = 0usize;
    for _ in 0..4 {
        let byte = c.u8()?;
        size = (size << 7) | usize::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            break;
        }
    }
    Ok(Cursor::new(c.take(size)?, "'esds' descriptor"))
}

/// Names a sample entry type we do not store.
fn refuse(kind: &[u8; 4]) -> MediaError {
    let code = String::from_utf8_lossy(kind).into_owned();
    let (name, what) = match kind {
        b"hvc1" | b"hev1" => ("HEVC", "video"),
        b"vp08" => ("VP8", "video"),
        b"vp09" => ("VP9", "video"),
        b"av01" => ("AV1", "video"),
        b"mp4v" => ("MPEG-4 Part 2", "video"),
        b"s263" => ("H.263", "video"),
        b"encv" => ("encrypted", "video"),
        b"Opus" => ("Opus", "audio"),
        b"fLaC" => ("FLAC", "audio"),
        b"ac-3" => ("AC-3", "audio"),
        b"ec-3" => ("E-AC-3", "audio"),
        b".mp3" => ("MP3", "audio"),
        b"alac" => ("ALAC", "audio"),
        b"enca" => ("encrypted", "audio"),
        _ => ("unknown", "codec"),
    };
    unsupported_codec(name, what, &code)
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "MP4 sample description",
        reason,
    }
}
