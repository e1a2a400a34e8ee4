//! What the checker reads out of a media playlist, and what it objects to.

use std::fmt;

/// A media playlist as the checker understood it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaylistReport {
    pub version: Option<u64>,
    pub target_duration: Option<u64>,
    /// EXT-X-MEDIA-SEQUENCE (0 when absent).
    pub media_sequence: u64,
    /// EXT-X-DISCONTINUITY-SEQUENCE (0 when absent).
    pub discontinuity_sequence: u64,
    pub playlist_type: Option<String>,
    pub independent_segments: bool,
    pub part_target: Option<f64>,
    pub server_control: Option<ServerControl>,
    /// Completed segments, in order.
    pub segments: Vec<ReportSegment>,
    /// Parts after the last segment: the segment in progress.
    pub open_parts: Vec<ReportPart>,
    pub preload_hints: Vec<PreloadHint>,
    pub ended: bool,
    /// Highest version a tag or attribute needs (RFC 8216bis §8).
    pub required_version: u64,
}

/// EXT-X-SERVER-CONTROL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerControl {
    pub can_block_reload: bool,
    pub can_skip_until: Option<f64>,
    pub hold_back: Option<f64>,
    pub part_hold_back: Option<f64>,
}

/// A completed media segment.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSegment {
    pub msn: u64,
    pub uri: String,
    /// EXTINF seconds.
    pub duration: f64,
    pub discontinuity: bool,
    /// Its Discontinuity Sequence Number (RFC 8216bis §6.2.1).
    pub discontinuity_number: u64,
    /// URI of the EXT-X-MAP in force.
    pub map_uri: Option<String>,
    /// Its listed parts (possibly none).
    pub parts: Vec<ReportPart>,
    /// Line of the URI.
    pub line: usize,
}

/// A partial segment.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPart {
    pub uri: String,
    pub duration: f64,
    pub independent: bool,
    /// Media Sequence Number of its parent segment.
    pub msn: u64,
    /// Part Index within the parent, counting the listed parts.
    pub index: u64,
    pub map_uri: Option<String>,
    pub line: usize,
}

/// EXT-X-PRELOAD-HINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreloadHint {
    pub kind: String,
    pub uri: String,
    pub line: usize,
}

impl PlaylistReport {
    /// MSN of the last completed segment.
    pub fn last_msn(&self) -> Option<u64> {
        self.segments.last().map(|s| s.msn)
    }

    /// MSN of the segment the open parts belong to.
    pub fn open_msn(&self) -> u64 {
        self.media_sequence
            .saturating_add(self.segments.len() as u64)
    }

    /// Every listed part, oldest first.
    pub fn parts(&self) -> impl Iterator<Item = &ReportPart> {
        self.segments
            .iter()
            .flat_map(|s| &s.parts)
            .chain(&self.open_parts)
    }

    /// Sum of the EXTINF durations, seconds.
    pub fn duration(&self) -> f64 {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// The last listed part as `(msn, index)`: what a client asks for next
    /// with `_HLS_msn`/`_HLS_part`.
    pub fn last_part(&self) -> Option<(u64, u64)> {
        self.parts().last().map(|p| (p.msn, p.index))
    }
}

/// A broken rule, with the 1-based line it was found on (0: the playlist
/// as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub line: usize,
    pub rule: Rule,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?}: {}", self.line, self.rule, self.detail)
    }
}

/// The rules the checker knows, each from RFC 8216bis (section in the
/// comment) or from this packager's URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// §4.4.1.1: the first line is #EXTM3U.
    MissingHeader,
    /// §4.1: no control characters, no stray whitespace.
    BadCharacter,
    /// §4.2, §4.4: a tag value or attribute list that does not parse.
    BadValue,
    /// §4.4.3, §4.4.1.2: a tag that may appear once appears again.
    DuplicateTag,
    /// §4.4.6: a multivariant tag in a media playlist.
    MultivariantTag,
    /// §4.4.3.1: EXT-X-TARGETDURATION is required.
    MissingTargetDuration,
    /// §4.4.1.2, §8: EXT-X-VERSION missing or too low for what is used.
    VersionTooLow,
    /// §4.4.3.2, §4.4.3.3: a sequence tag after the first segment, or the
    /// discontinuity sequence after a discontinuity.
    TagOutOfPlace,
    /// §4.4.4.1: EXTINF not followed by a URI, or a URI without EXTINF.
    OrphanLine,
    /// §4.4.3.1: an EXTINF that rounds above the target duration.
    SegmentOverTarget,
    /// §4.4.3.7: EXT-X-PART without EXT-X-PART-INF.
    MissingPartInf,
    /// §4.4.4.9: a part longer than PART-TARGET.
    PartOverTarget,
    /// §4.4.4.9: a part under 85 % of PART-TARGET that is neither
    /// independent nor its segment's last.
    PartUnderTarget,
    /// §3.2: a segment and its parts hold the same media, so their
    /// durations agree.
    PartsMismatchSegment,
    /// §4.4.3.8: PART-HOLD-BACK missing, or under twice PART-TARGET.
    PartHoldBack,
    /// §4.4.3.8: HOLD-BACK under three target durations, or CAN-SKIP-UNTIL
    /// under six.
    HoldBack,
    /// §3.1.2: fMP4 segments need an EXT-X-MAP before them.
    MissingMap,
    /// §4.4.4.9: DISCONTINUITY and MAP go before a segment's first part.
    TagAfterParts,
    /// §4.4.5.3: a PRELOAD-HINT with ENDLIST, twice, or not naming the
    /// next part.
    PreloadHint,
    /// The same URI for two segments or two parts.
    DuplicateUri,
    /// §6.2.1: a VOD playlist holds the final segment, so ENDLIST.
    VodWithoutEndlist,
    /// This packager's names: `seg{msn}.m4s` matches its MSN and
    /// `part{n}.m4s` numbers run on.
    NamingScheme,
    /// §6.2.2: MEDIA-SEQUENCE or DISCONTINUITY-SEQUENCE went back.
    SequenceWentBack,
    /// §6.2.1: a published segment or part changed, or vanished from the
    /// end.
    HistoryChanged,
    /// §6.2.1: EXT-X-TARGETDURATION changed.
    TargetDurationChanged,
    /// §6.2.2: segments were removed leaving under three target durations.
    WindowTooShort,
}
