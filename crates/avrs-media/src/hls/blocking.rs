//! Blocking playlist reload (RFC 8216bis §6.2.5.2) as pure decisions: the
//! server parses `_HLS_msn` / `_HLS_part`, asks [`reload_decision`] after
//! every publication, and answers, waits, or refuses. Holding the request
//! and giving up after three target durations (§6.2.5.2: 503) is the
//! server's part, as it needs a clock.

use super::seconds::SECOND;
use super::timeline::Timeline;
use crate::{MediaError, Result};

/// A request for a playlist update: `_HLS_msn=M[&_HLS_part=P]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadRequest {
    pub msn: u64,
    pub part: Option<u64>,
}

/// What to do with a playlist request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadDecision {
    /// Answer with the current playlist.
    Ready,
    /// Hold the request until the timeline changes, then ask again.
    Wait,
    /// Answer 400 Bad Request at once: the request is too far ahead.
    TooFar,
}

/// Reads the delivery directives of a playlist request's query string
/// (without the `?`). `Ok(None)`: no blocking requested. `_HLS_skip` is
/// ignored: we do not advertise CAN-SKIP-UNTIL (§6.2.5.1). An error means
/// 400 Bad Request, including `_HLS_part` without `_HLS_msn` (§6.2.5.2).
pub fn parse_reload_query(query: &str) -> Result<Option<ReloadRequest>> {
    let mut msn = None;
    let mut part = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "_HLS_msn" => &mut msn,
            "_HLS_part" => &mut part,
            _ => continue,
        };
        if slot.replace(decimal_integer(key, value)?).is_some() {
            return Err(bad(format!("{key} given twice")));
        }
    }
    match (msn, part) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(bad("_HLS_part without _HLS_msn".into())),
        (Some(msn), part) => Ok(Some(ReloadRequest { msn, part })),
    }
}

/// Whether the playlist can answer `request` now (RFC 8216bis §6.2.5.2).
pub fn is_ready(timeline: &Timeline, msn: u64, part: Option<u64>) -> bool {
    reload_decision(timeline, ReloadRequest { msn, part }) == ReloadDecision::Ready
}

/// Decides a blocking request against what `timeline` has published:
///
/// - an ended playlist answers at once (the directives are ignored);
/// - `_HLS_msn=M` waits for a completed segment numbered `M` or later;
/// - `_HLS_msn=M&_HLS_part=P` waits for part `P` of segment `M` or any later
///   part; a `P` past the last part of a completed segment `M` thus waits
///   for part 0 of `M + 1`, as the RFC requires;
/// - `M` more than two past the last completed segment, or `P` further than
///   the Advance Part Limit past the last published part, is too far.
pub fn reload_decision(timeline: &Timeline, request: ReloadRequest) -> ReloadDecision {
    if timeline.is_ended() {
        return ReloadDecision::Ready;
    }
    if too_far(timeline, request) {
        return ReloadDecision::TooFar;
    }
    let ready = match request.part {
        None => timeline
            .last_segment_msn()
            .is_some_and(|last| last >= request.msn),
        Some(part) => timeline
            .last_part()
            .is_some_and(|last| last >= (request.msn, part)),
    };
    if ready {
        ReloadDecision::Ready
    } else {
        ReloadDecision::Wait
    }
}

/// §6.2.5.2: "If the _HLS_msn is greater than the Media Sequence Number of
/// the last Media Segment in the current Playlist plus two, or if the
/// _HLS_part exceeds the last Partial Segment in the current Playlist by the
/// Advance Part Limit, then the server SHOULD immediately return Bad
/// Request". The Advance Part Limit is 3 / PART-TARGET for part targets
/// under a second, else 3.
fn too_far(timeline: &Timeline, request: ReloadRequest) -> bool {
    // The open segment follows the last completed one, so "last plus two"
    // is the open segment's number plus one, also before any segment.
    if request.msn > timeline.open().msn.saturating_add(1) {
        return true;
    }
    let Some(part) = request.part else {
        return false;
    };
    let ahead = parts_ahead(timeline, request.msn, part);
    let part_target = timeline.part_target();
    if part_target < SECOND {
        // ahead > 3 / (part_target / SECOND), without fractions
        u128::from(ahead) * u128::from(part_target) > 3 * u128::from(SECOND)
    } else {
        ahead > 3
    }
}

/// How many parts `(msn, part)` lies beyond the last published part,
/// counting a later segment's parts from its part 0 (its real distance is
/// larger still, as the rest of the current segment comes first).
fn parts_ahead(timeline: &Timeline, msn: u64, part: u64) -> u64 {
    match timeline.last_part() {
        Some((last_msn, last_part)) if msn == last_msn => part.saturating_sub(last_part),
        Some((last_msn, _)) if msn < last_msn => 0,
        _ if msn < timeline.open().msn => 0,
        _ => part.saturating_add(1),
    }
}

fn decimal_integer(key: &str, value: &str) -> Result<u64> {
    let digits =
        !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| value.parse().ok())
        .flatten()
        .ok_or_else(|| bad(format!("{key}={value:?} is not a decimal-integer")))
}

fn bad(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "playlist request",
        reason,
    }
}
