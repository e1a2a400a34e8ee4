//! The CMAF header (init segment): `ftyp` + `moov` with one `trak` per track
//! and an `mvex` announcing that the media comes in movie fragments.
//! Box layouts follow ISO/IEC 14496-12; `esds` follows ISO/IEC 14496-1.

use super::boxes::BoxWriter;
use super::track::{Track, TrackCodec};
use crate::{AudioConfig, Result, VideoConfig};

/// The unity transformation matrix of `mvhd` and `tkhd` (16.16 and 2.30).
const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Timescale of `mvhd`: only its (zero) duration uses it.
const MOVIE_TIMESCALE: u32 = 1000;

/// `und` (undetermined) as three 5-bit letters, each minus 0x60.
const LANGUAGE_UND: u16 = 0x55C4;

/// Writes the init segment of `tracks`.
pub(crate) fn init_segment(tracks: &[Track]) -> Result<Vec<u8>> {
    let mut w = BoxWriter::with_capacity(1024);
    ftyp(&mut w)?;
    w.boxed(*b"moov", |w| {
        mvhd(w, next_track_id(tracks))?;
        for track in tracks {
            trak(w, track)?;
        }
        w.boxed(*b"mvex", |w| tracks.iter().try_for_each(|t| trex(w, t.id)))
    })?;
    Ok(w.into_vec())
}

fn next_track_id(tracks: &[Track]) -> u32 {
    tracks
        .iter()
        .map(|t| t.id)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}

/// `iso6` covers `tfdt` version 1 and the other fragment features we use;
/// `cmfc` declares CMAF structural conformance.
fn ftyp(w: &mut BoxWriter) -> Result<()> {
    w.boxed(*b"ftyp", |w| {
        w.bytes(b"iso6");
        w.u32(0);
        for brand in [b"iso6", b"cmfc", b"mp41"] {
            w.bytes(brand);
        }
        Ok(())
    })
}

fn mvhd(w: &mut BoxWriter, next_track_id: u32) -> Result<()> {
    w.full_box(*b"mvhd", 0, 0, |w| {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(MOVIE_TIMESCALE);
        w.u32(0); // duration: unknown, the fragments carry the media
        w.u32(0x0001_0000); // rate 1.0
        w.u16(0x0100); // volume 1.0
        w.zeros(2 + 8); // reserved
        UNITY_MATRIX.iter().for_each(|&v| w.u32(v));
        w.zeros(24); // pre_defined
        w.u32(next_track_id);
        Ok(())
    })
}

/// Fragment defaults: sample description 1; durations, sizes and flags
/// come with every sample in the `trun`s.
fn trex(w: &mut BoxWriter, track_id: u32) -> Result<()> {
    w.full_box(*b"trex", 0, 0, |w| {
        w.u32(track_id);
        w.u32(1); // default_sample_description_index
        w.zeros(12); // default duration, size, flags
        Ok(())
    })
}

fn trak(w: &mut BoxWriter, track: &Track) -> Result<()> {
    w.boxed(*b"trak", |w| {
        tkhd(w, track)?;
        w.boxed(*b"mdia", |w| {
            mdhd(w, track.timescale())?;
            hdlr(w, &track.codec)?;
            minf(w, &track.codec)
        })
    })
}

/// Flags 3: track enabled and used in the presentation.
fn tkhd(w: &mut BoxWriter, track: &Track) -> Result<()> {
    let (volume, width, height) = match &track.codec {
        TrackCodec::Video(v) => (0, v.width, v.height),
        TrackCodec::Audio(_) => (0x0100, 0, 0),
    };
    w.full_box(*b"tkhd", 0, 3, |w| {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(track.id);
        w.u32(0); // reserved
        w.u32(0); // duration
        w.zeros(8); // reserved
        w.u16(0); // layer
        w.u16(0); // alternate_group
        w.u16(volume);
        w.u16(0); // reserved
        UNITY_MATRIX.iter().for_each(|&v| w.u32(v));
        w.u32(width << 16); // 16.16 fixed point; checked to fit 16 bits
        w.u32(height << 16);
        Ok(())
    })
}

fn mdhd(w: &mut BoxWriter, timescale: u32) -> Result<()> {
    w.full_box(*b"mdhd", 0, 0, |w| {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(timescale);
        w.u32(0); // duration
        w.u16(LANGUAGE_UND);
        w.u16(0); // pre_defined
        Ok(())
    })
}

fn hdlr(w: &mut BoxWriter, codec: &TrackCodec) -> Result<()> {
    let (handler, name): (&[u8; 4], &[u8]) = match codec {
        TrackCodec::Video(_) => (b"vide", b"VideoHandler\0"),
        TrackCodec::Audio(_) => (b"soun", b"SoundHandler\0"),
    };
    w.full_box(*b"hdlr", 0, 0, |w| {
        w.u32(0); // pre_defined
        w.bytes(handler);
        w.zeros(12); // reserved
        w.bytes(name);
        Ok(())
    })
}

fn minf(w: &mut BoxWriter, codec: &TrackCodec) -> Result<()> {
    w.boxed(*b"minf", |w| {
        match codec {
            // Flags 1 is mandatory for vmhd; graphics mode copy, no colour.
            TrackCodec::Video(_) => w.full_box(*b"vmhd", 0, 1, |w| {
                w.zeros(8);
                Ok(())
            })?,
            TrackCodec::Audio(_) => w.full_box(*b"smhd", 0, 0, |w| {
                w.zeros(4); // balance, reserved
                Ok(())
            })?,
        }
        dinf(w)?;
        stbl(w, codec)
    })
}

/// One data reference, flag 1: the media is in this same file.
fn dinf(w: &mut BoxWriter) -> Result<()> {
    w.boxed(*b"dinf", |w| {
        w.full_box(*b"dref", 0, 0, |w| {
            w.u32(1);
            w.full_box(*b"url ", 0, 1, |_| Ok(()))
        })
    })
}

/// The sample description; the sample tables stay empty, as fragmented
/// files keep their samples in `trun`s.
fn stbl(w: &mut BoxWriter, codec: &TrackCodec) -> Result<()> {
    w.boxed(*b"stbl", |w| {
        w.full_box(*b"stsd", 0, 0, |w| {
            w.u32(1);
            match codec {
                TrackCodec::Video(video) => avc1(w, video),
                TrackCodec::Audio(audio) => mp4a(w, audio),
            }
        })?;
        for table in [*b"stts", *b"stsc", *b"stco"] {
            w.full_box(table, 0, 0, |w| {
                w.u32(0); // entry_count
                Ok(())
            })?;
        }
        w.full_box(*b"stsz", 0, 0, |w| {
            w.u32(0); // sample_size
            w.u32(0); // sample_count
            Ok(())
        })
    })
}

/// Six reserved bytes and data_reference_index 1 start every sample entry.
fn sample_entry_head(w: &mut BoxWriter) {
    w.zeros(6);
    w.u16(1);
}

fn avc1(w: &mut BoxWriter, video: &VideoConfig) -> Result<()> {
    w.boxed(*b"avc1", |w| {
        sample_entry_head(w);
        w.zeros(2 + 2 + 12); // pre_defined, reserved, pre_defined
        w.u16(video.width as u16); // fits: checked in `track::tracks`
        w.u16(video.height as u16);
        w.u32(0x0048_0000); // 72 dpi horizontal
        w.u32(0x0048_0000); // 72 dpi vertical
        w.u32(0); // reserved
        w.u16(1); // frame_count
        w.zeros(32); // compressorname: empty Pascal string
        w.u16(0x0018); // depth: colour, no alpha
        w.u16(0xFFFF); // pre_defined -1
        w.boxed(*b"avcC", |w| {
            w.bytes(&video.avcc);
            Ok(())
        })
    })
}

fn mp4a(w: &mut BoxWriter, audio: &AudioConfig) -> Result<()> {
    // Channel configuration 0 means "described in the ASC"; decoders read
    // the ASC, the entry just needs a plausible count.
    let channels = if audio.channels == 0 {
        2
    } else {
        audio.channels
    };
    // The entry's rate is 16.16 and cannot hold rates above 65535 Hz; the
    // ASC and the media timescale carry the real rate then.
    let rate = if audio.sample_rate <= u32::from(u16::MAX) {
        audio.sample_rate << 16
    } else {
        0
    };
    w.boxed(*b"mp4a", |w| {
        sample_entry_head(w);
        w.zeros(8); // reserved
        w.u16(u16::from(channels));
        w.u16(16); // samplesize
        w.zeros(4); // pre_defined, reserved
        w.u32(rate);
        esds(w, &audio.asc)
    })
}

/// ES descriptor (tag 3) holding a decoder configuration (tag 4) for AAC
/// (object type 0x40, audio stream) with the ASC (tag 5), and the SL
/// configuration (tag 6) that MP4 files fix to "predefined 2".
fn esds(w: &mut BoxWriter, asc: &[u8]) -> Result<()> {
    let mut specific = Vec::with_capacity(asc.len() + 4);
    descriptor(&mut specific, 0x05, asc);

    let mut config = vec![0x40, 0x15]; // AAC; streamType 5 << 2 | reserved 1
    config.extend_from_slice(&[0, 0, 0]); // bufferSizeDB
    config.extend_from_slice(&[0; 8]); // maxBitrate, avgBitrate: unknown
    config.extend_from_slice(&specific);

    let mut es = vec![0, 0, 0]; // ES_ID 0 (the track names the stream), flags
    descriptor(&mut es, 0x04, &config);
    descriptor(&mut es, 0x06, &[0x02]);

    w.full_box(*b"esds", 0, 0, |w| {
        let mut body = Vec::with_capacity(es.len() + 4);
        descriptor(&mut body, 0x03, &es);
        w.bytes(&body);
        Ok(())
    })
}

/// Appends a descriptor: tag, size in 7-bit groups (high bit = more), body.
fn descriptor(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    let len = body.len();
    let groups = (1..4).take_while(|&i| len >> (7 * i) != 0).count();
    for i in (1..=groups).rev() {
        out.push(0x80 | ((len >> (7 * i)) & 0x7F) as u8);
    }
    out.push((len & 0x7F) as u8);
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_descriptor_has_one_size_byte() {
        let mut out = Vec::new();
        descriptor(&mut out, 0x05, &[0x12, 0x10]);
        assert_eq!(out, [0x05, 0x02, 0x12, 0x10]);
    }

    #[test]
    fn long_descriptor_size_uses_continuation_bits() {
        let mut out = Vec::new();
        descriptor(&mut out, 0x05, &[0xAA; 200]);
        // 200 = 1 * 128 + 72
        assert_eq!(&out[..3], &[0x05, 0x81, 0x48]);
        assert_eq!(out.len(), 3 + 200);
    }

    #[test]
    fn ftyp_bytes() {
        let mut w = BoxWriter::default();
        ftyp(&mut w).unwrap();
        assert_eq!(
            w.into_vec(),
            b"\0\0\0\x1cftypiso6\0\0\0\0iso6cmfcmp41".to_vec()
        );
    }

    #[test]
    fn esds_for_a_two_byte_asc() {
        let mut w = BoxWriter::default();
        esds(&mut w, &[0x12, 0x10]).unwrap();
        let expected: Vec<u8> = [
            &[0, 0, 0, 0x27][..],
            b"esds",
            &[0, 0, 0, 0],          // version, flags
            &[0x03, 0x19, 0, 0, 0], // ES_Descriptor, 25 bytes
            &[0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0x05, 0x02, 0x12, 0x10],
            &[0x06, 0x01, 0x02],
        ]
        .concat();
        assert_eq!(w.into_vec(), expected);
    }

    #[test]
    fn mdhd_bytes_with_language_und() {
        let mut w = BoxWriter::default();
        mdhd(&mut w, 44_100).unwrap();
        let mut expected = vec![0, 0, 0, 32];
        expected.extend_from_slice(b"mdhd");
        expected.extend_from_slice(&[0; 12]);
        expected.extend_from_slice(&44_100u32.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 0, 0x55, 0xC4, 0, 0]);
        assert_eq!(w.into_vec(), expected);
    }
}
