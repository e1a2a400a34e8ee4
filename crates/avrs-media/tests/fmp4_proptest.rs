//! Property tests of the CMAF writer: what a fragment says matches what
//! went in, times run on across fragments, and no input panics.

mod fmp4_support;

use avrs_media::fmp4::{CmafWriter, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, TrackRun};
use avrs_media::{MediaFrame, TrackKind};
use bytes::Bytes;
use fmp4_support::{audio_config, boxes, child, trafs, video_config};
use proptest::prelude::*;

/// A video run: per frame, duration (ticks), composition offset, keyframe
/// and size.
fn video_run() -> impl Strategy<Value = Vec<(u32, i32, bool, usize)>> {
    prop::collection::vec(
        (1u32..20_000, -9000i32..9000, any::<bool>(), 0usize..300),
        1..60,
    )
}

fn video_frames(start: i64, spec: &[(u32, i32, bool, usize)]) -> (Vec<MediaFrame>, i64) {
    let mut dts = start;
    let mut frames = Vec::new();
    for (i, &(duration, offset, keyframe, size)) in spec.iter().enumerate() {
        frames.push(MediaFrame {
            track: TrackKind::Video,
            dts,
            pts: dts + i64::from(offset),
            keyframe,
            data: Bytes::from(vec![i as u8; size]),
        });
        dts += i64::from(duration);
    }
    (frames, dts)
}

fn audio_frames(first_index: i64, count: usize, rate: u32) -> Vec<MediaFrame> {
    (0..count as i64)
        .map(|i| {
            let samples = (first_index + i) * 1024;
            // Whole milliseconds, as RTMP carries them.
            let ms = (samples * 1000 + i64::from(rate) / 2) / i64::from(rate);
            MediaFrame {
                track: TrackKind::Audio,
                dts: ms * 90,
                pts: ms * 90,
                keyframe: true,
                data: Bytes::from(vec![0xA0 ^ i as u8; 7]),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(fmp4_support::proptest_config(128))]

    #[test]
    fn fragments_describe_their_frames(
        start in 0i64..1_000_000_000,
        runs in prop::collection::vec((video_run(), 0usize..50), 1..5),
        rate in prop::sample::select(vec![8_000u32, 22_050, 44_100, 48_000, 96_000]),
    ) {
        let mut audio = audio_config();
        audio.sample_rate = rate;
        let mut writer = CmafWriter::new(Some(video_config()), Some(audio)).unwrap();
        let mut video_start = start;
        let mut audio_index = 0i64;
        let mut audio_time: Option<u64> = None;
        for (sequence, (spec, audio_count)) in runs.iter().enumerate() {
            let (video, next) = video_frames(video_start, spec);
            let audio = audio_frames(audio_index, *audio_count, rate);
            let chunk = writer.fragment(sequence as u32 + 1, &[
                TrackRun::new(TrackKind::Video, &video).followed_by(next),
                TrackRun::new(TrackKind::Audio, &audio),
            ]).unwrap();

            let moof = child(&chunk, b"moof");
            let mdat = child(&chunk, b"mdat");
            prop_assert_eq!(boxes(&chunk).len(), 2);
            prop_assert_eq!(&moof.body[12..16], &(sequence as u32 + 1).to_be_bytes());
            let trafs = trafs(&chunk);
            prop_assert_eq!(trafs.len(), if audio.is_empty() { 1 } else { 2 });

            let v = &trafs[0];
            prop_assert_eq!(v.base_decode_time, video_start as u64);
            prop_assert_eq!(v.samples.len(), video.len());
            let offset = v.data_offset as usize;
            for (i, (sample, frame)) in v.samples.iter().zip(&video).enumerate() {
                prop_assert_eq!(sample.duration, spec[i].0);
                prop_assert_eq!(sample.size as usize, frame.data.len());
                prop_assert_eq!(sample.composition_offset, spec[i].1);
                let flags = if frame.keyframe { SYNC_SAMPLE_FLAGS } else { NON_SYNC_SAMPLE_FLAGS };
                prop_assert_eq!(sample.flags, flags);
            }
            let video_bytes: Vec<u8> = video.iter().flat_map(|f| f.data.to_vec()).collect();
            prop_assert_eq!(&chunk[offset..offset + video_bytes.len()], video_bytes.as_slice());
            prop_assert_eq!(offset, moof.bytes.len() + 8, "video data opens the mdat");

            if let Some(a) = trafs.get(1) {
                prop_assert!(a.samples.iter().all(|s| s.duration == 1024 && s.flags == SYNC_SAMPLE_FLAGS));
                // Regular AAC frames: decode times are exact sample counts.
                prop_assert_eq!(a.base_decode_time, audio_index as u64 * 1024);
                if let Some(expected) = audio_time {
                    prop_assert_eq!(a.base_decode_time, expected);
                }
                audio_time = Some(a.base_decode_time + 1024 * a.samples.len() as u64);
                let audio_bytes: Vec<u8> = audio.iter().flat_map(|f| f.data.to_vec()).collect();
                let at = a.data_offset as usize;
                prop_assert_eq!(at, offset + video_bytes.len());
                prop_assert_eq!(&chunk[at..at + audio_bytes.len()], audio_bytes.as_slice());
            }
            prop_assert_eq!(mdat.body.len(), video_bytes.len() + 7 * audio.len());
            video_start = next;
            audio_index += *audio_count as i64;
        }
    }

    #[test]
    fn any_frames_give_a_fragment_or_an_error(
        frames in prop::collection::vec(
            (any::<bool>(), any::<i64>(), any::<i64>(), any::<bool>(), 0usize..64), 0..20),
        next in proptest::option::of(any::<i64>()),
    ) {
        let mut writer = CmafWriter::new(Some(video_config()), Some(audio_config())).unwrap();
        let frames: Vec<MediaFrame> = frames.into_iter().map(|(video, dts, pts, keyframe, size)| MediaFrame {
            track: if video { TrackKind::Video } else { TrackKind::Audio },
            dts,
            pts,
            keyframe,
            data: Bytes::from(vec![0; size]),
        }).collect();
        let (video, audio): (Vec<_>, Vec<_>) = frames.iter().cloned().partition(|f| f.track == TrackKind::Video);
        let mut run = TrackRun::new(TrackKind::Video, &video);
        run.next_dts = next;
        let _ = writer.fragment(1, &[run, TrackRun::new(TrackKind::Audio, &audio)]);
        let _ = writer.fragment(2, &[TrackRun::new(TrackKind::Audio, &frames)]);
    }
}
