use crate::MediaError;
use crate::demux::tests::{idr_frame, test_video_config};
use crate::demux::{Container, demux};
use crate::frame::TrackKind;

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    let mut data = vec![version, 0, 0, 0];
    data.extend_from_slice(body);
    bx(kind, &data)
}

fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn avc1() -> Vec<u8> {
    let mut body = vec![0u8; 78];
    body.extend_from_slice(&bx(b"avcC", &test_video_config().avcc));
    bx(b"avc1", &body)
}

/// A progressive file with one video track of `samples` copies of an IDR
/// frame, 3000 ticks apart in a 90 kHz timescale; `entry` is the sample
/// entry and `stsz` overrides the size table.
fn movie(entry: Vec<u8>, samples: u32, stsz: Option<Vec<u8>>) -> Vec<u8> {
    let frame = idr_frame();
    let ftyp = bx(b"ftyp", b"isom\0\0\0\0");
    let mdat_body: Vec<u8> = (0..samples).flat_map(|_| frame.clone()).collect();
    let mdat_offset = (ftyp.len() + 8) as u32;
    let stsd = full(b"stsd", 0, &[&words(&[1])[..], &entry].concat());
    let stbl = [
        stsd,
        full(b"stts", 0, &words(&[1, samples, 3000])),
        full(b"stsc", 0, &words(&[1, 1, samples, 1])),
        stsz.unwrap_or_else(|| full(b"stsz", 0, &words(&[frame.len() as u32, samples]))),
        full(b"stco", 0, &words(&[1, mdat_offset])),
    ]
    .concat();
    let minf = bx(b"minf", &bx(b"stbl", &stbl));
    let mdia = [
        full(b"mdhd", 0, &words(&[0, 0, 90_000, 0, 0])),
        full(b"hdlr", 0, &[&words(&[0])[..], b"vide", &[0; 12]].concat()),
        minf,
    ]
    .concat();
    let trak = [
        full(b"tkhd", 0, &words(&[0, 0, 1, 0, 0])),
        bx(b"mdia", &mdia),
    ]
    .concat();
    let moov = bx(b"moov", &bx(b"trak", &trak));
    [ftyp, bx(b"mdat", &mdat_body), moov].concat()
}

#[test]
fn a_minimal_progressive_file_with_moov_at_the_end() {
    let demuxed = demux(&movie(avc1(), 3, None)).unwrap();
    assert_eq!(demuxed.container, Container::Mp4);
    assert_eq!(demuxed.video.as_ref().unwrap().width, 1280);
    let times: Vec<i64> = demuxed.frames.iter().map(|f| f.dts).collect();
    assert_eq!(times, [0, 3000, 6000]);
    assert!(
        demuxed
            .frames
            .iter()
            .all(|f| f.keyframe && f.track == TrackKind::Video)
    );
    assert_eq!(&demuxed.frames[0].data[..], &idr_frame()[..]);
}

#[test]
fn a_size_table_larger_than_its_box_is_refused_before_allocating() {
    let stsz = full(b"stsz", 0, &words(&[0, 0x0FFF_FFFF, 7]));
    let error = demux(&movie(avc1(), 1, Some(stsz))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("'stsz' declares 268435455 entries"),
        "{error}"
    );
}

#[test]
fn fixed_size_samples_beyond_the_file_are_refused() {
    let stsz = full(b"stsz", 0, &words(&[1000, 0x00FF_FFFF]));
    let error = demux(&movie(avc1(), 1, Some(stsz))).unwrap_err();
    assert!(error.to_string().contains("byte file"), "{error}");
}

#[test]
fn hevc_is_refused_by_name() {
    let entry = bx(b"hvc1", &[0u8; 78]);
    match demux(&movie(entry, 1, None)) {
        Err(MediaError::Unsupported { detail, .. }) => {
            assert!(detail.contains("HEVC video (hvc1)"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_box_running_past_the_file_is_truncated() {
    let mut file = movie(avc1(), 2, None);
    file.truncate(file.len() - 1);
    let error = demux(&file).unwrap_err();
    assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
}

#[test]
fn largesize_and_size_zero_boxes_are_walked() {
    let file = movie(avc1(), 2, None);
    // The final `moov` with size 0 ("to the end of the file").
    let ftyp_len = 16;
    let mdat_len = u32::from_be_bytes(file[ftyp_len..ftyp_len + 4].try_into().unwrap()) as usize;
    let mut zero = file.clone();
    let moov_start = ftyp_len + mdat_len;
    zero[moov_start..moov_start + 4].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(demux(&zero).unwrap().frames.len(), 2);

    // The same `mdat` with a 64-bit largesize header moves the samples by 8.
    let mut large = file[..ftyp_len].to_vec();
    large.extend_from_slice(&1u32.to_be_bytes());
    large.extend_from_slice(b"mdat");
    large.extend_from_slice(&((mdat_len + 8) as u64).to_be_bytes());
    large.extend_from_slice(&file[ftyp_len + 8..moov_start]);
    let offset = (ftyp_len + 16) as u32;
    let mut moov = file[moov_start..].to_vec();
    let stco = moov.windows(4).position(|w| w == b"stco").unwrap();
    moov[stco + 12..stco + 16].copy_from_slice(&offset.to_be_bytes());
    large.extend_from_slice(&moov);
    let demuxed = demux(&large).unwrap();
    assert_eq!(&demuxed.frames[1].data[..], &idr_frame()[..]);
}
