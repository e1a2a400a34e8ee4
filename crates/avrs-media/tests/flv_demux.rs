//! The streaming FLV demuxer: any chunking gives the same tags, caps hold,
//! errors stick, and the ffmpeg fixture demuxes to the expected media.

use avrs_media::flv::{FileHeader, FlvDemuxer, FlvTag, TagMedia, TagType, build_tag, tag_to_media};
use avrs_media::{MediaError, TrackKind};
use proptest::prelude::*;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/testsrc2-720p30-aac.flv"
);

/// Feeds `data` in chunks of the given sizes (cycled) and collects tags.
fn demux_in_chunks(data: &[u8], sizes: &[usize]) -> Result<Vec<FlvTag>, MediaError> {
    let mut demuxer = FlvDemuxer::default();
    let mut tags = Vec::new();
    let mut rest = data;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
        rest = tail;
        demuxer.push(chunk);
        while let Some(tag) = demuxer.next_tag()? {
            tags.push(tag);
        }
    }
    assert_eq!(demuxer.buffered(), 0, "every byte belongs to a tag");
    Ok(tags)
}

fn tag_strategy() -> impl Strategy<Value = (TagType, u32, Vec<u8>)> {
    (
        prop::sample::select(vec![TagType::Audio, TagType::Video, TagType::Script]),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..600),
    )
}

proptest! {
    #[test]
    fn written_tags_demux_back_with_any_chunking(
        tags in prop::collection::vec(tag_strategy(), 0..12),
        sizes in prop::collection::vec(1usize..300, 1..8),
    ) {
        let header = FileHeader { has_audio: true, has_video: true };
        let mut file = header.to_bytes().to_vec();
        for (tag_type, timestamp, payload) in &tags {
            file.extend_from_slice(&build_tag(*tag_type, *timestamp, &[payload]).unwrap());
        }
        let demuxed = demux_in_chunks(&file, &sizes).unwrap();
        prop_assert_eq!(demuxed.len(), tags.len());
        for (got, (tag_type, timestamp, payload)) in demuxed.iter().zip(&tags) {
            prop_assert_eq!(got.tag_type, *tag_type);
            prop_assert_eq!(got.timestamp, *timestamp);
            prop_assert_eq!(&got.data[..], &payload[..]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..512),
        flv_prefix in any::<bool>(),
    ) {
        let mut demuxer = FlvDemuxer::new(256);
        if flv_prefix {
            demuxer.push(&FileHeader { has_audio: true, has_video: true }.to_bytes());
        }
        demuxer.push(&data);
        while let Ok(Some(tag)) = demuxer.next_tag() {
            prop_assert!(tag.data.len() <= 256);
            let _ = tag_to_media(&tag);
        }
    }
}

#[test]
fn fixture_demuxes_to_configs_and_frames() {
    let data = std::fs::read(FIXTURE).unwrap();
    let tags = demux_in_chunks(&data, &[4096]).unwrap();
    let mut configs = (0, 0);
    let mut frames = (0, 0);
    let mut keyframes = 0;
    let mut reordered = 0;
    for tag in &tags {
        match tag_to_media(tag).unwrap() {
            TagMedia::VideoConfig(v) => {
                configs.0 += 1;
                assert_eq!(
                    (v.width, v.height, v.codec.as_str()),
                    (1280, 720, "avc1.64001F")
                );
            }
            TagMedia::AudioConfig(a) => {
                configs.1 += 1;
                assert_eq!(
                    (a.sample_rate, a.channels, a.codec.as_str()),
                    (44100, 2, "mp4a.40.2")
                );
            }
            TagMedia::Frame(f) if f.track == TrackKind::Video => {
                frames.0 += 1;
                keyframes += usize::from(f.keyframe);
                reordered += usize::from(f.pts != f.dts);
                assert_eq!(f.dts % 90, 0);
            }
            TagMedia::Frame(_) => frames.1 += 1,
            TagMedia::EndOfSequence(_) | TagMedia::Skipped => {}
        }
    }
    assert_eq!(configs, (1, 1));
    assert_eq!(frames, (30, 45), "as ffprobe counts the packets");
    assert_eq!(keyframes, 2, "GOP of 15 over 30 frames");
    assert!(reordered > 0, "B-frames give PTS != DTS");
}

#[test]
fn byte_by_byte_equals_whole() {
    let data = std::fs::read(FIXTURE).unwrap();
    assert_eq!(
        demux_in_chunks(&data, &[1]).unwrap(),
        demux_in_chunks(&data, &[data.len()]).unwrap()
    );
}

#[test]
fn oversized_tag_is_refused_before_its_data_arrives() {
    let mut demuxer = FlvDemuxer::new(100);
    demuxer.push(&FileHeader::default_av().to_bytes());
    // A video tag header declaring 101 bytes, and nothing else.
    demuxer.push(&[9, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        demuxer.next_tag(),
        Err(MediaError::TooLarge {
            what: "FLV tag data",
            size: 101,
            max: 100
        })
    );
}

#[test]
fn errors_stick_and_drop_the_buffer() {
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(b"NOT");
    let first = demuxer.next_tag().unwrap_err();
    assert!(first.to_string().contains("signature"), "{first}");
    demuxer.push(&FileHeader::default_av().to_bytes());
    assert_eq!(demuxer.next_tag(), Err(first));
    assert_eq!(demuxer.buffered(), 0);
}

#[test]
fn wrong_signature_is_reported_from_the_first_byte() {
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(b"G");
    assert!(demuxer.next_tag().is_err());
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(b"FL");
    assert_eq!(demuxer.next_tag(), Ok(None));
    assert_eq!(demuxer.header(), None);
}

#[test]
fn header_is_exposed_once_read() {
    let mut demuxer = FlvDemuxer::default();
    let header = FileHeader {
        has_audio: false,
        has_video: true,
    };
    demuxer.push(&header.to_bytes());
    assert_eq!(demuxer.next_tag(), Ok(None));
    assert_eq!(demuxer.header(), Some(header));
}

#[test]
fn encrypted_tag_fails_the_stream() {
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(&FileHeader::default_av().to_bytes());
    demuxer.push(&[0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
    assert!(matches!(
        demuxer.next_tag(),
        Err(MediaError::Unsupported { .. })
    ));
}

trait DefaultAv {
    fn default_av() -> Self;
}

impl DefaultAv for FileHeader {
    fn default_av() -> Self {
        FileHeader {
            has_audio: true,
            has_video: true,
        }
    }
}
