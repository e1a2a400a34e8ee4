//! Reading fragmented MP4 just far enough to find each sample: the video
//! track and its NAL length size in the init segment, then the samples'
//! byte ranges from each fragment's `moof` (ISO/IEC 14496-12 §8.8).

use anyhow::{Context, Result, bail};
use avrs_media::codec::AvcDecoderConfig;

/// What the bench needs from an init segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitInfo {
    /// Track id and NAL length size of the H.264 track.
    pub video: Option<(u32, u8)>,
    pub audio_track: Option<u32>,
    /// `trex` default sample sizes per track, for fragments that omit them.
    pub default_sizes: Vec<(u32, u32)>,
}

/// Reads `moov`'s tracks and `mvex` defaults.
pub fn parse_init(data: &[u8]) -> Result<InitInfo> {
    let moov = child(data, b"moov")?.context("init segment without moov")?;
    let mut info = InitInfo::default();
    for (kind, body) in boxes(moov) {
        match &kind {
            b"trak" => read_track(body?, &mut info)?,
            b"mvex" => {
                for (kind, trex) in boxes(body?) {
                    if &kind == b"trex" {
                        let trex = trex?;
                        // version/flags, track_ID, description index,
                        // duration, size, flags.
                        info.default_sizes.push((be32(trex, 4)?, be32(trex, 16)?));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

fn read_track(trak: &[u8], info: &mut InitInfo) -> Result<()> {
    let tkhd = child(trak, b"tkhd")?.context("trak without tkhd")?;
    let id_at = if tkhd.first() == Some(&1) { 20 } else { 12 };
    let track_id = be32(tkhd, id_at)?;
    let mdia = child(trak, b"mdia")?.context("trak without mdia")?;
    let hdlr = child(mdia, b"hdlr")?.context("mdia without hdlr")?;
    match hdlr.get(8..12) {
        Some(b"vide") => {
            let stsd = child(mdia, b"minf")?
                .and_then(|minf| child(minf, b"stbl").ok().flatten())
                .and_then(|stbl| child(stbl, b"stsd").ok().flatten())
                .context("video track without stsd")?;
            // version/flags and entry_count, then the first sample entry.
            let entry = stsd.get(8..).context("short stsd")?;
            let (kind, avc1) = boxes(entry).next().context("empty stsd")?;
            if &kind != b"avc1" && &kind != b"avc3" {
                return Ok(()); // not H.264: no stamps to read
            }
            // A visual sample entry has 78 bytes of fields before its boxes.
            let children = avc1?.get(78..).context("short avc1")?;
            let avcc = child(children, b"avcC")?.context("avc1 without avcC")?;
            let config = AvcDecoderConfig::parse(avcc)?;
            info.video = Some((track_id, config.nal_length_size));
        }
        Some(b"soun") => info.audio_track = Some(track_id),
        _ => {}
    }
    Ok(())
}

/// One sample found in a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample<'a> {
    Video(&'a [u8]),
    Audio,
}

/// Calls `on_sample` for every video and audio sample of the fragments in
/// `data` (one or more `moof` + `mdat` pairs, as a part or segment holds).
pub fn for_each_sample<'a>(
    data: &'a [u8],
    init: &InitInfo,
    mut on_sample: impl FnMut(Sample<'a>),
) -> Result<()> {
    let mut at = 0;
    while at < data.len() {
        let (kind, size, header) = box_header(&data[at..])?;
        if &kind == b"moof" {
            let moof = &data[at..at + size];
            for (kind, traf) in boxes(&moof[header..]) {
                if &kind == b"traf" {
                    read_traf(data, at, traf?, init, &mut on_sample)?;
                }
            }
        }
        at += size;
    }
    Ok(())
}

/// Field presence flags of `tfhd` and `trun`.
const TFHD_BASE_DATA_OFFSET: u32 = 0x01;
const TFHD_DESCRIPTION_INDEX: u32 = 0x02;
const TFHD_DEFAULT_DURATION: u32 = 0x08;
const TFHD_DEFAULT_SIZE: u32 = 0x10;
const TRUN_DATA_OFFSET: u32 = 0x001;
const TRUN_FIRST_FLAGS: u32 = 0x004;
const TRUN_DURATION: u32 = 0x100;
const TRUN_SIZE: u32 = 0x200;
const TRUN_FLAGS: u32 = 0x400;
const TRUN_CTS: u32 = 0x800;

fn read_traf<'a>(
    data: &'a [u8],
    moof_at: usize,
    traf: &[u8],
    init: &InitInfo,
    on_sample: &mut impl FnMut(Sample<'a>),
) -> Result<()> {
    let tfhd = child(traf, b"tfhd")?.context("traf without tfhd")?;
    let flags = be32(tfhd, 0)? & 0xFF_FFFF;
    let track_id = be32(tfhd, 4)?;
    let mut at = 8;
    // Without an explicit base, offsets count from the moof (the CMAF
    // default-base-is-moof case, and the first traf of any moof).
    let mut base = moof_at as u64;
    if flags & TFHD_BASE_DATA_OFFSET != 0 {
        base = u64::from(be32(tfhd, at)?) << 32 | u64::from(be32(tfhd, at + 4)?);
        at += 8;
    }
    at += 4 * usize::from(flags & TFHD_DESCRIPTION_INDEX != 0);
    at += 4 * usize::from(flags & TFHD_DEFAULT_DURATION != 0);
    let default_size = if flags & TFHD_DEFAULT_SIZE != 0 {
        Some(be32(tfhd, at)?)
    } else {
        init.default_sizes
            .iter()
            .find(|(id, _)| *id == track_id)
            .map(|(_, size)| *size)
    };
    let kind = match (init.video, init.audio_track) {
        (Some((video, _)), _) if video == track_id => Some(true),
        (_, Some(audio)) if audio == track_id => Some(false),
        _ => None,
    };
    for (name, trun) in boxes(traf) {
        if &name != b"trun" {
            continue;
        }
        let trun = trun?;
        let flags = be32(trun, 0)? & 0xFF_FFFF;
        let count = be32(trun, 4)?;
        let mut at = 8;
        let mut offset = base;
        if flags & TRUN_DATA_OFFSET != 0 {
            let delta = i64::from(be32(trun, at)? as i32);
            offset = offset
                .checked_add_signed(delta)
                .context("bad trun offset")?;
            at += 4;
        }
        at += 4 * usize::from(flags & TRUN_FIRST_FLAGS != 0);
        let per_sample = [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS]
            .iter()
            .filter(|&&f| flags & f != 0)
            .count()
            * 4;
        let size_at = 4 * usize::from(flags & TRUN_DURATION != 0);
        for i in 0..count as usize {
            let entry = at + i * per_sample;
            let size = if flags & TRUN_SIZE != 0 {
                be32(trun, entry + size_at)?
            } else {
                default_size.context("sample size given nowhere")?
            };
            let start = usize::try_from(offset)?;
            let end = start + size as usize;
            let bytes = data.get(start..end).context("sample beyond the data")?;
            match kind {
                Some(true) => on_sample(Sample::Video(bytes)),
                Some(false) => on_sample(Sample::Audio),
                None => {}
            }
            offset += u64::from(size);
        }
    }
    Ok(())
}

/// The body of the first child box named `kind`.
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>> {
    for (name, body) in boxes(data) {
        if &name == kind {
            return body.map(Some);
        }
    }
    Ok(None)
}

/// Iterates the boxes in `data`: name and body (an error ends it).
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], Result<&[u8]>)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        match box_header(&data[at..]) {
            Ok((kind, size, header)) => {
                let body = &data[at + header..at + size];
                at += size;
                Some((kind, Ok(body)))
            }
            Err(e) => {
                at = data.len();
                Some((*b"????", Err(e)))
            }
        }
    })
}

/// Name, total size and header length of the box at the start of `data`.
fn box_header(data: &[u8]) -> Result<([u8; 4], usize, usize)> {
    let size32 = be32(data, 0)?;
    let kind: [u8; 4] = data.get(4..8).context("short box header")?.try_into()?;
    let (size, header) = match size32 {
        0 => (data.len(), 8),
        1 => {
            let high = u64::from(be32(data, 8)?);
            let low = u64::from(be32(data, 12)?);
            (usize::try_from(high << 32 | low)?, 16)
        }
        n => (n as usize, 8),
    };
    if size < header || size > data.len() {
        bail!(
            "box {} of {size} bytes does not fit",
            String::from_utf8_lossy(&kind)
        );
    }
    Ok((kind, size, header))
}

fn be32(data: &[u8], at: usize) -> Result<u32> {
    let bytes = data.get(at..at + 4).context("box too short")?;
    Ok(u32::from_be_bytes(bytes.try_into()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_media::fmp4::{CmafWriter, TrackRun};
    use avrs_media::{MediaFrame, TrackKind};
    use bytes::Bytes;

    fn configs() -> (avrs_media::VideoConfig, avrs_media::AudioConfig) {
        let source = crate::publish::source_for_tests();
        (
            source.video_config.clone().unwrap(),
            source.audio_config.clone().unwrap(),
        )
    }

    fn frame(track: TrackKind, dts: i64, data: &'static [u8]) -> MediaFrame {
        MediaFrame {
            track,
            dts,
            pts: dts,
            keyframe: true,
            data: Bytes::from_static(data),
        }
    }

    #[test]
    fn samples_of_a_cmaf_fragment() {
        let (video, audio) = configs();
        let mut writer = CmafWriter::new(Some(video), Some(audio)).unwrap();
        let init = parse_init(&writer.init_segment()).unwrap();
        let video_id = writer.track_id(TrackKind::Video).unwrap();
        assert_eq!(init.video, Some((video_id, 4)));
        assert_eq!(init.audio_track, writer.track_id(TrackKind::Audio));

        let v = [
            frame(TrackKind::Video, 0, &[0, 0, 0, 2, 0x65, 1]),
            frame(TrackKind::Video, 3000, &[0, 0, 0, 2, 0x41, 2]),
        ];
        let a = [frame(TrackKind::Audio, 0, &[0x21, 9, 9])];
        let runs = [
            TrackRun::new(TrackKind::Video, &v),
            TrackRun::new(TrackKind::Audio, &a),
        ];
        let mut part = writer.fragment(1, &runs).unwrap().to_vec();
        let second = writer.fragment(2, &runs[..1]).unwrap();
        part.extend_from_slice(&second);
        let mut seen = Vec::new();
        for_each_sample(&part, &init, |s| seen.push(s)).unwrap();
        assert_eq!(
            seen,
            [
                Sample::Video(&v[0].data),
                Sample::Video(&v[1].data),
                Sample::Audio,
                Sample::Video(&v[0].data),
                Sample::Video(&v[1].data),
            ]
        );
    }

    #[test]
    fn broken_boxes_are_errors() {
        let init = InitInfo::default();
        assert!(for_each_sample(&[0, 0, 0, 50, b'm', b'o', b'o', b'f'], &init, |_| {}).is_err());
        assert!(parse_init(&[0, 0, 0, 8, b'f', b't', b'y', b'p']).is_err());
    }
}
