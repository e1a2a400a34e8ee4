//! Second pass of the checker: rules over the whole report.

use std::collections::HashSet;

use super::Violations;
use super::report::{PlaylistReport, ReportPart, Rule};
use crate::hls::names::Resource;

/// Rounding room when comparing printed durations: playlists print a few
/// decimals, so equal media can differ by half a unit of the last one.
const EPSILON: f64 = 1e-5;
/// §4.4.4.9: parts last at least 85 % of PART-TARGET, with exceptions.
const PART_FLOOR: f64 = 0.85;

pub(crate) fn check(report: &PlaylistReport, out: &mut Violations) {
    version(report, out);
    segment_durations(report, out);
    parts(report, out);
    server_control(report, out);
    maps(report, out);
    preload_hints(report, out);
    duplicate_uris(report, out);
    if report.playlist_type.as_deref() == Some("VOD") && !report.ended {
        out.push(
            0,
            Rule::VodWithoutEndlist,
            "a VOD playlist needs EXT-X-ENDLIST".into(),
        );
    }
    naming(report, out);
}

fn version(report: &PlaylistReport, out: &mut Violations) {
    let required = report.required_version;
    let declared = report.version.unwrap_or(1);
    if required > declared {
        out.push(
            0,
            Rule::VersionTooLow,
            format!("the playlist needs EXT-X-VERSION {required}, declares {declared}"),
        );
    }
}

/// §4.4.3.1: each EXTINF, rounded to the nearest integer, at most the
/// target duration.
fn segment_durations(report: &PlaylistReport, out: &mut Violations) {
    let Some(target) = report.target_duration else {
        return;
    };
    for segment in &report.segments {
        let rounded = (segment.duration + 0.5).floor();
        if rounded > target as f64 {
            out.push(
                segment.line,
                Rule::SegmentOverTarget,
                format!("EXTINF {} rounds above {target}", segment.duration),
            );
        }
    }
}

fn parts(report: &PlaylistReport, out: &mut Violations) {
    let first = report.parts().next();
    let Some(target) = report.part_target else {
        if let Some(part) = first {
            out.push(
                part.line,
                Rule::MissingPartInf,
                "EXT-X-PART without EXT-X-PART-INF".into(),
            );
        }
        return;
    };
    for segment in &report.segments {
        part_lengths(&segment.parts, target, out);
    }
    part_lengths(&report.open_parts, target, out);
    part_sums(report, out);
}

/// §4.4.4.9: no part over PART-TARGET; none under 85 % of it unless
/// independent or the last of its segment. The last open part may still
/// turn out to be its segment's last, so it is spared.
fn part_lengths(parts: &[ReportPart], target: f64, out: &mut Violations) {
    for (i, part) in parts.iter().enumerate() {
        if part.duration > target + EPSILON {
            let detail = format!(
                "{} lasts {} over PART-TARGET {target}",
                part.uri, part.duration
            );
            out.push(part.line, Rule::PartOverTarget, detail);
        }
        let last = i + 1 == parts.len();
        let exempt = part.independent || last;
        if !exempt && part.duration < PART_FLOOR * target - EPSILON {
            let detail = format!(
                "{} lasts {} under 85 % of {target}",
                part.uri, part.duration
            );
            out.push(part.line, Rule::PartUnderTarget, detail);
        }
    }
}

/// §3.2: a segment and its parts hold the same media. Older parts may have
/// been removed from the first segment that still lists some, so there the
/// parts may fall short; after it they must add up.
fn part_sums(report: &PlaylistReport, out: &mut Violations) {
    let mut first_with_parts = true;
    for segment in report.segments.iter().filter(|s| !s.parts.is_empty()) {
        let sum: f64 = segment.parts.iter().map(|p| p.duration).sum();
        let room = 1e-3 + 5e-4 * segment.parts.len() as f64;
        let over = sum > segment.duration + room;
        let under = !first_with_parts && sum < segment.duration - room;
        if over || under {
            let detail = format!("parts sum to {sum}, EXTINF is {}", segment.duration);
            out.push(segment.line, Rule::PartsMismatchSegment, detail);
        }
        first_with_parts = false;
    }
}

/// §4.4.3.8: hold-backs and the skip boundary.
fn server_control(report: &PlaylistReport, out: &mut Violations) {
    let control = report.server_control.clone().unwrap_or_default();
    if let Some(part_target) = report.part_target {
        match control.part_hold_back {
            None => out.push(
                0,
                Rule::PartHoldBack,
                "PART-HOLD-BACK is required with EXT-X-PART-INF".into(),
            ),
            Some(hold) if hold < 2.0 * part_target - EPSILON => {
                let detail = format!("PART-HOLD-BACK {hold} under twice PART-TARGET {part_target}");
                out.push(0, Rule::PartHoldBack, detail);
            }
            Some(_) => {}
        }
    }
    let target = report.target_duration.unwrap_or(0) as f64;
    if control
        .hold_back
        .is_some_and(|h| h < 3.0 * target - EPSILON)
    {
        out.push(
            0,
            Rule::HoldBack,
            "HOLD-BACK under three target durations".into(),
        );
    }
    if control
        .can_skip_until
        .is_some_and(|s| s < 6.0 * target - EPSILON)
    {
        out.push(
            0,
            Rule::HoldBack,
            "CAN-SKIP-UNTIL under six target durations".into(),
        );
    }
}

/// Our segments are fMP4: every segment and part needs a map (§3.1.2).
fn maps(report: &PlaylistReport, out: &mut Violations) {
    let unmapped = report
        .segments
        .iter()
        .map(|s| (s.line, s.map_uri.is_none()))
        .chain(report.parts().map(|p| (p.line, p.map_uri.is_none())))
        .find(|&(_, missing)| missing);
    if let Some((line, _)) = unmapped {
        out.push(line, Rule::MissingMap, "media before any EXT-X-MAP".into());
    }
}

/// §4.4.5.3 and §6.2.6: no hint in an ended playlist, one per type, and a
/// part hint names a part not listed yet; with our names, the next one.
fn preload_hints(report: &PlaylistReport, out: &mut Violations) {
    let mut kinds = HashSet::new();
    for hint in &report.preload_hints {
        if report.ended {
            out.push(
                hint.line,
                Rule::PreloadHint,
                "PRELOAD-HINT in an ended playlist".into(),
            );
        }
        if !kinds.insert(hint.kind.as_str()) {
            out.push(
                hint.line,
                Rule::PreloadHint,
                format!("second {} hint", hint.kind),
            );
        }
        if hint.kind != "PART" {
            continue;
        }
        if report.parts().any(|p| p.uri == hint.uri) {
            out.push(
                hint.line,
                Rule::PreloadHint,
                format!("{} is already listed", hint.uri),
            );
        }
        let last = report.parts().last().and_then(|p| part_number(&p.uri));
        let hinted = part_number(&hint.uri);
        if let (Some(last), Some(hinted)) = (last, hinted)
            && Some(hinted) != last.checked_add(1)
        {
            let detail = format!(
                "hint names part {hinted}, the next is {}",
                last.saturating_add(1)
            );
            out.push(hint.line, Rule::PreloadHint, detail);
        }
    }
}

fn duplicate_uris(report: &PlaylistReport, out: &mut Violations) {
    let mut segments = HashSet::new();
    for segment in &report.segments {
        if !segments.insert(segment.uri.as_str()) {
            out.push(
                segment.line,
                Rule::DuplicateUri,
                format!("segment {} again", segment.uri),
            );
        }
    }
    let mut parts = HashSet::new();
    for part in report.parts() {
        if !parts.insert(part.uri.as_str()) {
            out.push(
                part.line,
                Rule::DuplicateUri,
                format!("part {} again", part.uri),
            );
        }
    }
}

/// Where URIs follow this packager's scheme, `seg{msn}.m4s` carries its
/// MSN and part numbers follow each other.
fn naming(report: &PlaylistReport, out: &mut Violations) {
    for segment in &report.segments {
        if let Some(Resource::Segment(n)) = Resource::parse(&segment.uri)
            && n != segment.msn
        {
            let detail = format!("{} has Media Sequence Number {}", segment.uri, segment.msn);
            out.push(segment.line, Rule::NamingScheme, detail);
        }
    }
    let mut previous: Option<u64> = None;
    for part in report.parts() {
        let Some(number) = part_number(&part.uri) else {
            continue;
        };
        if let Some(before) = previous
            && Some(number) != before.checked_add(1)
        {
            let detail = format!("part {number} follows part {before}");
            out.push(part.line, Rule::NamingScheme, detail);
        }
        previous = Some(number);
    }
}

fn part_number(uri: &str) -> Option<u64> {
    match Resource::parse(uri) {
        Some(Resource::Part(n)) => Some(n),
        _ => None,
    }
}
