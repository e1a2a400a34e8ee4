//! A CMAF fragment (chunk): `moof` describing one run of samples per track,
//! then `mdat` holding their bytes (ISO/IEC 14496-12 §8.8).

use super::boxes::BoxWriter;
use super::timing::RunTiming;
use crate::{MediaError, MediaFrame, Result};

/// Sample flags of a sync sample: depends on no other sample.
pub const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// Sample flags of a non-sync sample: depends on others, not a sync sample.
pub const NON_SYNC_SAMPLE_FLAGS: u32 = 0x0101_0000;

/// Most bytes of media one fragment may carry: keeps every offset and size
/// inside 32 bits and a fragment's memory bounded.
pub const MAX_FRAGMENT_DATA: usize = 256 * 1024 * 1024;
/// Most samples of one track in one fragment.
pub const MAX_RUN_SAMPLES: usize = 65_536;

/// `tfhd` flag: data offsets count from the start of the `moof` (CMAF).
const DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags: data offset, then per sample duration, size and flags.
const TRUN_AUDIO_FLAGS: u32 = 0x0701;
/// `trun` flags of video: the audio ones plus composition time offsets.
const TRUN_VIDEO_FLAGS: u32 = 0x0F01;

/// What one `traf` describes.
#[derive(Debug)]
pub(crate) struct TrafPlan<'a> {
    pub(crate) track_id: u32,
    pub(crate) timing: RunTiming,
    pub(crate) frames: &'a [MediaFrame],
    /// Video carries composition offsets and non-sync samples.
    pub(crate) video: bool,
}

/// Writes `moof` + `mdat` for `plans`, in order.
pub(crate) fn write_fragment(sequence: u32, plans: &[TrafPlan<'_>]) -> Result<Vec<u8>> {
    let data_len = check_limits(plans)?;
    let mut w = BoxWriter::with_capacity(data_len + 256 + 16 * plans.len());
    let mut offset_fields = Vec::with_capacity(plans.len());
    w.boxed(*b"moof", |w| {
        w.full_box(*b"mfhd", 0, 0, |w| {
            w.u32(sequence);
            Ok(())
        })?;
        plans
            .iter()
            .try_for_each(|plan| traf(w, plan, &mut offset_fields))
    })?;
    // The sample data follows the moof and the 8-byte mdat header.
    let mut data_offset = w.position() + 8;
    for (&field, plan) in offset_fields.iter().zip(plans) {
        w.patch_u32(field, data_offset as u32); // < 2^31: see check_limits
        data_offset += run_bytes(plan.frames);
    }
    w.u32((8 + data_len) as u32);
    w.bytes(b"mdat");
    for plan in plans {
        plan.frames.iter().for_each(|f| w.bytes(&f.data));
    }
    Ok(w.into_vec())
}

fn run_bytes(frames: &[MediaFrame]) -> usize {
    frames.iter().map(|f| f.data.len()).sum()
}

fn check_limits(plans: &[TrafPlan<'_>]) -> Result<usize> {
    if let Some(plan) = plans.iter().find(|p| p.frames.len() > MAX_RUN_SAMPLES) {
        return Err(MediaError::TooLarge {
            what: "fragment track run",
            size: plan.frames.len(),
            max: MAX_RUN_SAMPLES,
        });
    }
    let data_len: usize = plans.iter().map(|p| run_bytes(p.frames)).sum();
    if data_len > MAX_FRAGMENT_DATA {
        return Err(MediaError::TooLarge {
            what: "fragment media data",
            size: data_len,
            max: MAX_FRAGMENT_DATA,
        });
    }
    Ok(data_len)
}

/// Writes one `traf`, noting where its `trun` data offset goes.
fn traf(w: &mut BoxWriter, plan: &TrafPlan<'_>, offset_fields: &mut Vec<usize>) -> Result<()> {
    w.boxed(*b"traf", |w| {
        w.full_box(*b"tfhd", 0, DEFAULT_BASE_IS_MOOF, |w| {
            w.u32(plan.track_id);
            Ok(())
        })?;
        // Version 1: a 64-bit decode time never wraps.
        w.full_box(*b"tfdt", 1, 0, |w| {
            w.u64(plan.timing.base_decode_time);
            Ok(())
        })?;
        trun(w, plan, offset_fields)
    })
}

/// Version 1 makes composition offsets signed, which B-frames may need.
fn trun(w: &mut BoxWriter, plan: &TrafPlan<'_>, offset_fields: &mut Vec<usize>) -> Result<()> {
    let (version, flags) = if plan.video {
        (1, TRUN_VIDEO_FLAGS)
    } else {
        (0, TRUN_AUDIO_FLAGS)
    };
    let samples = sample_fields(plan)?;
    w.full_box(*b"trun", version, flags, |w| {
        w.u32(plan.frames.len() as u32); // <= MAX_RUN_SAMPLES
        offset_fields.push(w.position());
        w.i32(0); // data_offset, patched once the moof size is known
        for sample in &samples {
            w.u32(sample.duration);
            w.u32(sample.size);
            w.u32(sample.flags);
            if plan.video {
                w.i32(sample.composition_offset);
            }
        }
        Ok(())
    })
}

struct SampleFields {
    duration: u32,
    size: u32,
    flags: u32,
    composition_offset: i32,
}

fn sample_fields(plan: &TrafPlan<'_>) -> Result<Vec<SampleFields>> {
    plan.frames
        .iter()
        .zip(&plan.timing.durations)
        .map(|(frame, &duration)| {
            Ok(SampleFields {
                duration,
                size: frame.data.len() as u32, // <= MAX_FRAGMENT_DATA
                flags: sample_flags(plan.video, frame.keyframe),
                composition_offset: if plan.video {
                    composition_offset(frame)?
                } else {
                    0
                },
            })
        })
        .collect()
}

fn sample_flags(video: bool, keyframe: bool) -> u32 {
    if !video || keyframe {
        SYNC_SAMPLE_FLAGS
    } else {
        NON_SYNC_SAMPLE_FLAGS
    }
}

fn composition_offset(frame: &MediaFrame) -> Result<i32> {
    frame
        .pts
        .checked_sub(frame.dts)
        .and_then(|d| i32::try_from(d).ok())
        .ok_or_else(|| MediaError::Malformed {
            what: "video frame",
            reason: format!(
                "presentation time {} too far from decode time {}",
                frame.pts, frame.dts
            ),
        })
}
