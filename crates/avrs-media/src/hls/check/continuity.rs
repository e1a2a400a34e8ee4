//! Rules between two successive versions of a live playlist (RFC 8216bis
//! §6.2.1, §6.2.2): a server may only append, remove from the front,
//! increment the sequence numbers and add ENDLIST.

use super::Violations;
use super::report::{PlaylistReport, ReportSegment, Rule, Violation};

const EPSILON: f64 = 1e-5;

/// Checks that `next` may follow `prev`. Line numbers refer to `next`.
pub fn check_continuity(
    prev: &PlaylistReport,
    next: &PlaylistReport,
) -> Result<(), Vec<Violation>> {
    let mut out = Violations::default();
    sequences(prev, next, &mut out);
    if prev.target_duration != next.target_duration {
        let detail = format!(
            "{:?} became {:?}",
            prev.target_duration, next.target_duration
        );
        out.push(0, Rule::TargetDurationChanged, detail);
    }
    segments(prev, next, &mut out);
    parts(prev, next, &mut out);
    if prev.ended && (!next.ended || uris(prev) != uris(next)) {
        out.push(0, Rule::HistoryChanged, "an ended playlist changed".into());
    }
    window(prev, next, &mut out);
    out.into_result()
}

fn sequences(prev: &PlaylistReport, next: &PlaylistReport, out: &mut Violations) {
    if next.media_sequence < prev.media_sequence {
        let detail = format!(
            "MEDIA-SEQUENCE {} after {}",
            next.media_sequence, prev.media_sequence
        );
        out.push(0, Rule::SequenceWentBack, detail);
    }
    if next.discontinuity_sequence < prev.discontinuity_sequence {
        let detail = format!(
            "DISCONTINUITY-SEQUENCE {} after {}",
            next.discontinuity_sequence, prev.discontinuity_sequence
        );
        out.push(0, Rule::SequenceWentBack, detail);
    }
}

/// A segment keeps its URI, duration and discontinuity number, and none
/// disappears from the end.
fn segments(prev: &PlaylistReport, next: &PlaylistReport, out: &mut Violations) {
    for segment in &next.segments {
        let Some(before) = segment_at(prev, segment.msn) else {
            continue;
        };
        let same = before.uri == segment.uri
            && (before.duration - segment.duration).abs() <= EPSILON
            && before.discontinuity_number == segment.discontinuity_number;
        if !same {
            let detail = format!("segment {} changed from {before:?}", segment.msn);
            out.push(segment.line, Rule::HistoryChanged, detail);
        }
    }
    if prev.last_msn() > next.last_msn() {
        let detail = format!(
            "last segment {:?} after {:?}",
            next.last_msn(),
            prev.last_msn()
        );
        out.push(0, Rule::HistoryChanged, detail);
    }
}

/// A part keeps its parent segment and duration.
fn parts(prev: &PlaylistReport, next: &PlaylistReport, out: &mut Violations) {
    for part in next.parts() {
        let Some(before) = prev.parts().find(|p| p.uri == part.uri) else {
            continue;
        };
        if before.msn != part.msn || (before.duration - part.duration).abs() > EPSILON {
            let detail = format!("part {} changed from {before:?}", part.uri);
            out.push(part.line, Rule::HistoryChanged, detail);
        }
    }
}

/// §6.2.2: removing segments must leave three target durations.
fn window(prev: &PlaylistReport, next: &PlaylistReport, out: &mut Violations) {
    let removed = next.media_sequence > prev.media_sequence;
    let target = next.target_duration.unwrap_or(0) as f64;
    if removed && !next.ended && next.duration() < 3.0 * target - EPSILON {
        let detail = format!("{} s left after removing segments", next.duration());
        out.push(0, Rule::WindowTooShort, detail);
    }
}

fn segment_at(report: &PlaylistReport, msn: u64) -> Option<&ReportSegment> {
    let index = msn.checked_sub(report.media_sequence)?;
    report.segments.get(usize::try_from(index).ok()?)
}

fn uris(report: &PlaylistReport) -> Vec<&str> {
    report.segments.iter().map(|s| s.uri.as_str()).collect()
}
