//! A checker of media playlists against the rules of RFC 8216bis (HLS 2nd
//! edition, with LL-HLS), for tests of this packager and of a server
//! serving it: [`check_media_playlist`] reads one version,
//! [`check_continuity`] compares two successive ones.
//!
//! It reads any text without panicking, in time and memory linear in the
//! text. Beyond the RFC it expects what this packager promises: fMP4
//! segments (so an EXT-X-MAP before media), parts listed by whole segments,
//! and, where URIs follow the scheme of [`super::names`], consecutive
//! numbers.

mod continuity;
mod report;
mod rules;
mod scan;
mod values;

pub use continuity::check_continuity;
pub use report::{
    PlaylistReport, PreloadHint, ReportPart, ReportSegment, Rule, ServerControl, Violation,
};

/// Most violations reported for one playlist; the rest are counted.
const MAX_VIOLATIONS: usize = 256;

/// Checks a media playlist: its report if it breaks no rule.
pub fn check_media_playlist(text: &str) -> Result<PlaylistReport, Vec<Violation>> {
    let (report, violations) = inspect_media_playlist(text);
    if violations.is_empty() {
        Ok(report)
    } else {
        Err(violations)
    }
}

/// Reads a media playlist: what it says and which rules it breaks.
pub fn inspect_media_playlist(text: &str) -> (PlaylistReport, Vec<Violation>) {
    let mut out = Violations::default();
    let report = scan::scan(text, &mut out);
    rules::check(&report, &mut out);
    (report, out.into_vec())
}

/// Collected violations, capped.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    list: Vec<Violation>,
    dropped: usize,
}

impl Violations {
    pub(crate) fn push(&mut self, line: usize, rule: Rule, detail: String) {
        if self.list.len() < MAX_VIOLATIONS {
            self.list.push(Violation { line, rule, detail });
        } else {
            self.dropped += 1;
        }
    }

    fn into_vec(mut self) -> Vec<Violation> {
        if self.dropped > 0 {
            let detail = format!("{} more violations not listed", self.dropped);
            self.list.push(Violation {
                line: 0,
                rule: Rule::BadValue,
                detail,
            });
        }
        self.list
    }

    pub(crate) fn into_result(self) -> Result<(), Vec<Violation>> {
        let list = self.into_vec();
        if list.is_empty() { Ok(()) } else { Err(list) }
    }
}
