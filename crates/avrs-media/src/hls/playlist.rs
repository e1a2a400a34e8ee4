//! The live media playlist of a [`Timeline`], in LL-HLS form or plain.
//!
//! The LL-HLS form is also a valid plain HLS playlist: players without
//! LL-HLS ignore the PART, PART-INF, SERVER-CONTROL and PRELOAD-HINT tags and
//! see complete fMP4 segments.

use std::fmt::Write as _;

use super::names::{init_name, part_name};
use super::seconds::{SECOND, seconds};
use super::timeline::{Part, Timeline};

/// Compatibility version: EXT-X-MAP without I-frames-only needs 6, and
/// nothing we write needs more (RFC 8216bis §8).
pub const VERSION: u32 = 6;

/// PART-HOLD-BACK in part targets: the RFC asks at least 2, recommends 3.
const PART_HOLD_BACK_PARTS: u64 = 3;

/// The LL-HLS media playlist.
pub fn media_playlist(timeline: &Timeline) -> String {
    render(timeline, true)
}

/// The same playlist without the LL-HLS tags, for players that choke on
/// them.
pub fn plain_media_playlist(timeline: &Timeline) -> String {
    render(timeline, false)
}

fn render(timeline: &Timeline, low_latency: bool) -> String {
    let mut out = String::with_capacity(256 + 160 * timeline.segments().len());
    header(&mut out, timeline, low_latency);
    let parts_from = first_msn_with_parts(timeline);
    let mut init = None;
    for segment in timeline.segments() {
        segment_tags(&mut out, &mut init, segment.discontinuity, segment.init);
        if low_latency && segment.msn >= parts_from {
            parts(&mut out, &segment.parts);
        }
        let _ = writeln!(out, "#EXTINF:{},", seconds(segment.duration));
        let _ = writeln!(out, "{}", segment.name());
    }
    let open = timeline.open();
    if low_latency && !open.parts.is_empty() {
        segment_tags(&mut out, &mut init, open.discontinuity, open.init);
        parts(&mut out, &open.parts);
    }
    if timeline.is_ended() {
        out.push_str("#EXT-X-ENDLIST\n");
    } else if low_latency {
        let hint = part_name(timeline.next_part_number());
        let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"");
    }
    out
}

fn header(out: &mut String, timeline: &Timeline, low_latency: bool) {
    let _ = writeln!(out, "#EXTM3U");
    let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", timeline.target_duration());
    if low_latency {
        let part_target = timeline.part_target();
        let _ = writeln!(
            out,
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}",
            seconds(PART_HOLD_BACK_PARTS * part_target)
        );
        let _ = writeln!(out, "#EXT-X-PART-INF:PART-TARGET={}", seconds(part_target));
    }
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", timeline.media_sequence());
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        timeline.discontinuity_sequence()
    );
}

/// DISCONTINUITY and MAP go before a segment's first part (RFC 8216bis
/// §4.4.4.9); MAP only when the init segment changes.
fn segment_tags(out: &mut String, current: &mut Option<u32>, discontinuity: bool, init: u32) {
    if discontinuity {
        out.push_str("#EXT-X-DISCONTINUITY\n");
    }
    if *current != Some(init) {
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", init_name(init));
        *current = Some(init);
    }
}

fn parts(out: &mut String, parts: &[Part]) {
    for part in parts {
        let _ = write!(
            out,
            "#EXT-X-PART:DURATION={},URI=\"{}\"",
            seconds(part.duration),
            part.name()
        );
        out.push_str(if part.independent {
            ",INDEPENDENT=YES\n"
        } else {
            "\n"
        });
    }
}

/// Parts are listed for the segments that start within three target
/// durations of the playlist's end (RFC 8216bis §6.2.2 asks to remove
/// older ones).
fn first_msn_with_parts(timeline: &Timeline) -> u64 {
    let horizon = 3 * u64::from(timeline.target_duration()) * SECOND;
    let mut from_end = timeline.open().duration();
    let mut first = timeline.open().msn;
    for segment in timeline.segments().iter().rev() {
        from_end += segment.duration;
        if from_end > horizon {
            break;
        }
        first = segment.msn;
    }
    first
}
