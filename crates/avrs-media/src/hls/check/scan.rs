//! First pass of the checker: reads the playlist line by line into a
//! [`PlaylistReport`], noting syntax and placement violations on the way.

use super::Violations;
use super::report::{PlaylistReport, PreloadHint, ReportPart, ReportSegment, Rule, ServerControl};
use super::values::{Attributes, decimal_float, decimal_integer};

/// Tags that may appear at most once (RFC 8216bis §4.4.1.2, §4.4.2,
/// §4.4.3; ENDLIST by its meaning).
const ONCE: [&str; 11] = [
    "#EXTM3U",
    "#EXT-X-VERSION",
    "#EXT-X-TARGETDURATION",
    "#EXT-X-MEDIA-SEQUENCE",
    "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-PLAYLIST-TYPE",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    "#EXT-X-START",
    "#EXT-X-PART-INF",
    "#EXT-X-SERVER-CONTROL",
    "#EXT-X-ENDLIST",
];

/// Tags of multivariant playlists only (§4.4.6).
const MULTIVARIANT: [&str; 6] = [
    "#EXT-X-STREAM-INF",
    "#EXT-X-I-FRAME-STREAM-INF",
    "#EXT-X-MEDIA",
    "#EXT-X-SESSION-DATA",
    "#EXT-X-SESSION-KEY",
    "#EXT-X-CONTENT-STEERING",
];

/// Reads `text` into a report.
pub(crate) fn scan(text: &str, out: &mut Violations) -> PlaylistReport {
    let mut scan = Scanner::new(out);
    let lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    for (index, line) in lines.enumerate() {
        scan.line = index + 1;
        if index == 0 && line == "#EXTM3U" {
            scan.seen.push("#EXTM3U");
            continue;
        }
        if index == 0 {
            scan.flag(Rule::MissingHeader, "#EXTM3U must be the first line".into());
        }
        scan.read_line(line);
    }
    scan.finish()
}

struct Scanner<'o> {
    out: &'o mut Violations,
    report: PlaylistReport,
    line: usize,
    seen: Vec<&'static str>,
    /// EXTINF duration and line, waiting for its URI.
    extinf: Option<(f64, usize)>,
    /// Parts of the segment being described.
    parts: Vec<ReportPart>,
    discontinuity: bool,
    /// DISCONTINUITY tags so far.
    discontinuities: u64,
    /// Discontinuity count of each segment, made numbers at the end.
    segment_discontinuities: Vec<u64>,
    map: Option<String>,
    media_started: bool,
}

impl<'o> Scanner<'o> {
    fn new(out: &'o mut Violations) -> Self {
        Self {
            out,
            report: PlaylistReport::default(),
            line: 0,
            seen: Vec::new(),
            extinf: None,
            parts: Vec::new(),
            discontinuity: false,
            discontinuities: 0,
            segment_discontinuities: Vec::new(),
            map: None,
            media_started: false,
        }
    }

    fn flag(&mut self, rule: Rule, detail: String) {
        self.out.push(self.line, rule, detail);
    }

    fn read_line(&mut self, line: &str) {
        if line.chars().any(is_forbidden) {
            return self.flag(Rule::BadCharacter, "control character".into());
        }
        if line.trim() != line {
            return self.flag(Rule::BadCharacter, "leading or trailing whitespace".into());
        }
        if line.is_empty() || (line.starts_with('#') && !line.starts_with("#EXT")) {
            return; // blank lines and comments
        }
        if line.starts_with('#') {
            let (name, value) = match line.split_once(':') {
                Some((name, value)) => (name, Some(value)),
                None => (line, None),
            };
            return self.tag(name, value);
        }
        self.uri(line);
    }

    fn tag(&mut self, name: &str, value: Option<&str>) {
        if let Some(&once) = ONCE.iter().find(|&&t| t == name) {
            if self.seen.contains(&once) {
                return self.flag(Rule::DuplicateTag, format!("{name} appears again"));
            }
            self.seen.push(once);
        }
        if MULTIVARIANT.contains(&name) {
            return self.flag(Rule::MultivariantTag, format!("{name} in a media playlist"));
        }
        let result = match name {
            "#EXT-X-VERSION" => self.version(value),
            "#EXT-X-TARGETDURATION" => self.target_duration(value),
            "#EXT-X-MEDIA-SEQUENCE" => self.media_sequence(value),
            "#EXT-X-DISCONTINUITY-SEQUENCE" => self.discontinuity_sequence(value),
            "#EXT-X-PLAYLIST-TYPE" => self.playlist_type(value),
            "#EXT-X-INDEPENDENT-SEGMENTS" => {
                self.report.independent_segments = true;
                Ok(())
            }
            "#EXT-X-ENDLIST" => {
                self.report.ended = true;
                Ok(())
            }
            "#EXT-X-PART-INF" => self.part_inf(value),
            "#EXT-X-SERVER-CONTROL" => self.server_control(value),
            "#EXT-X-MAP" => self.map(value),
            "#EXT-X-DISCONTINUITY" => {
                self.discontinuity();
                Ok(())
            }
            "#EXT-X-PART" => self.part(value),
            "#EXTINF" => self.extinf(value),
            "#EXT-X-PRELOAD-HINT" => self.preload_hint(value),
            "#EXT-X-BYTERANGE" | "#EXT-X-I-FRAMES-ONLY" => {
                self.require_version(4);
                Ok(())
            }
            "#EXT-X-SKIP" => {
                self.require_version(9);
                Ok(())
            }
            _ => Ok(()), // unknown tags are ignored (§6.3.1)
        };
        if let Err(reason) = result {
            self.flag(Rule::BadValue, format!("{name}: {reason}"));
        }
    }

    fn require_version(&mut self, version: u64) {
        self.report.required_version = self.report.required_version.max(version);
    }

    fn integer(&self, value: Option<&str>) -> Result<u64, String> {
        decimal_integer(value.ok_or("a value is required")?)
    }

    fn attributes<'v>(&self, value: Option<&'v str>) -> Result<Attributes<'v>, String> {
        Attributes::parse(value.ok_or("an attribute list is required")?)
    }

    fn version(&mut self, value: Option<&str>) -> Result<(), String> {
        self.report.version = Some(self.integer(value)?);
        Ok(())
    }

    fn target_duration(&mut self, value: Option<&str>) -> Result<(), String> {
        let seconds = self.integer(value)?;
        if seconds == 0 {
            return Err("must be at least 1".into());
        }
        self.report.target_duration = Some(seconds);
        Ok(())
    }

    fn media_sequence(&mut self, value: Option<&str>) -> Result<(), String> {
        self.report.media_sequence = self.integer(value)?;
        if self.media_started {
            self.flag(
                Rule::TagOutOfPlace,
                "EXT-X-MEDIA-SEQUENCE after media".into(),
            );
        }
        Ok(())
    }

    fn discontinuity_sequence(&mut self, value: Option<&str>) -> Result<(), String> {
        self.report.discontinuity_sequence = self.integer(value)?;
        if self.media_started || self.discontinuities > 0 {
            let detail = "EXT-X-DISCONTINUITY-SEQUENCE after media or a discontinuity";
            self.flag(Rule::TagOutOfPlace, detail.into());
        }
        Ok(())
    }

    fn playlist_type(&mut self, value: Option<&str>) -> Result<(), String> {
        match value {
            Some(kind @ ("VOD" | "EVENT")) => {
                self.report.playlist_type = Some(kind.to_string());
                Ok(())
            }
            other => Err(format!("{other:?} is neither VOD nor EVENT")),
        }
    }

    fn part_inf(&mut self, value: Option<&str>) -> Result<(), String> {
        let attrs = self.attributes(value)?;
        let target = attrs
            .float("PART-TARGET")?
            .ok_or("PART-TARGET is required")?;
        self.report.part_target = Some(target);
        Ok(())
    }

    fn server_control(&mut self, value: Option<&str>) -> Result<(), String> {
        let attrs = self.attributes(value)?;
        self.report.server_control = Some(ServerControl {
            can_block_reload: attrs.enumerated("CAN-BLOCK-RELOAD")? == Some("YES"),
            can_skip_until: attrs.float("CAN-SKIP-UNTIL")?,
            hold_back: attrs.float("HOLD-BACK")?,
            part_hold_back: attrs.float("PART-HOLD-BACK")?,
        });
        Ok(())
    }

    fn map(&mut self, value: Option<&str>) -> Result<(), String> {
        let uri = self.attributes(value)?.quoted("URI")?.to_string();
        self.require_version(6);
        if !self.parts.is_empty() {
            self.flag(
                Rule::TagAfterParts,
                "EXT-X-MAP after the segment's first part".into(),
            );
        }
        self.map = Some(uri);
        Ok(())
    }

    fn discontinuity(&mut self) {
        if !self.parts.is_empty() {
            let detail = "EXT-X-DISCONTINUITY after the segment's first part";
            self.flag(Rule::TagAfterParts, detail.into());
        }
        self.discontinuity = true;
        self.discontinuities += 1;
    }

    fn part(&mut self, value: Option<&str>) -> Result<(), String> {
        let attrs = self.attributes(value)?;
        let uri = attrs.quoted("URI")?.to_string();
        let duration = attrs.float("DURATION")?.ok_or("DURATION is required")?;
        let independent = attrs.enumerated("INDEPENDENT")? == Some("YES");
        self.media_started = true;
        self.parts.push(ReportPart {
            uri,
            duration,
            independent,
            msn: 0,
            index: self.parts.len() as u64,
            map_uri: self.map.clone(),
            line: self.line,
        });
        Ok(())
    }

    fn extinf(&mut self, value: Option<&str>) -> Result<(), String> {
        self.media_started = true;
        let (duration, _title) = value
            .and_then(|v| v.split_once(','))
            .ok_or("the format is <duration>,[<title>]")?;
        let seconds = decimal_float(duration)?;
        if duration.contains('.') {
            self.require_version(3);
        }
        if self.extinf.replace((seconds, self.line)).is_some() {
            self.flag(
                Rule::OrphanLine,
                "EXTINF without a URI before the next".into(),
            );
        }
        Ok(())
    }

    fn preload_hint(&mut self, value: Option<&str>) -> Result<(), String> {
        let attrs = self.attributes(value)?;
        let kind = attrs
            .enumerated("TYPE")?
            .ok_or("TYPE is required")?
            .to_string();
        let uri = attrs.quoted("URI")?.to_string();
        self.report.preload_hints.push(PreloadHint {
            kind,
            uri,
            line: self.line,
        });
        Ok(())
    }

    fn uri(&mut self, uri: &str) {
        self.media_started = true;
        let Some((duration, _)) = self.extinf.take() else {
            return self.flag(Rule::OrphanLine, format!("URI {uri:?} without EXTINF"));
        };
        self.segment_discontinuities.push(self.discontinuities);
        self.report.segments.push(ReportSegment {
            msn: 0,
            uri: uri.to_string(),
            duration,
            discontinuity: std::mem::take(&mut self.discontinuity),
            discontinuity_number: 0,
            map_uri: self.map.clone(),
            parts: std::mem::take(&mut self.parts),
            line: self.line,
        });
    }

    /// Numbers segments and parts now that the sequence tags are known.
    fn finish(self) -> PlaylistReport {
        if let Some((_, line)) = self.extinf {
            self.out
                .push(line, Rule::OrphanLine, "EXTINF without a URI".into());
        }
        let mut report = self.report;
        report.open_parts = self.parts;
        let base = report.media_sequence;
        let dseq = report.discontinuity_sequence;
        for (i, segment) in report.segments.iter_mut().enumerate() {
            segment.msn = base.saturating_add(i as u64);
            let count = self.segment_discontinuities.get(i).copied().unwrap_or(0);
            segment.discontinuity_number = dseq.saturating_add(count);
            segment.parts.iter_mut().for_each(|p| p.msn = segment.msn);
        }
        let open_msn = report.open_msn();
        report.open_parts.iter_mut().for_each(|p| p.msn = open_msn);
        if report.target_duration.is_none() {
            self.out.push(
                0,
                Rule::MissingTargetDuration,
                "EXT-X-TARGETDURATION is required".into(),
            );
        }
        report
    }
}

/// Control characters other than CR and LF are not allowed (§4.1).
fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}
