//! What a live stream has published: the window of completed segments, the
//! parts of the segment in progress, and the init segments they need. The
//! playlist writers, the blocking-reload logic and a server's resource
//! lookups all read it; only the packager changes it.

use std::collections::VecDeque;

use bytes::Bytes;

use super::names::{self, Resource};
use super::seconds::SECOND;

/// A CMAF fragment published as an LL-HLS part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Position among all parts of the stream; names the part.
    pub number: u64,
    /// 90 kHz ticks.
    pub duration: u64,
    /// Starts with a keyframe (INDEPENDENT=YES).
    pub independent: bool,
    /// `moof` + `mdat`.
    pub data: Bytes,
}

impl Part {
    /// `part{n}.m4s`
    pub fn name(&self) -> String {
        names::part_name(self.number)
    }
}

/// A completed media segment: its parts, back to back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Media Sequence Number.
    pub msn: u64,
    /// 90 kHz ticks: the sum of the parts' durations.
    pub duration: u64,
    /// Preceded by EXT-X-DISCONTINUITY.
    pub discontinuity: bool,
    /// Id of the init segment it needs.
    pub init: u32,
    pub parts: Vec<Part>,
}

impl Segment {
    /// `seg{msn}.m4s`
    pub fn name(&self) -> String {
        names::segment_name(self.msn)
    }

    /// The segment's bytes: its parts in order, shared, not copied.
    pub fn body(&self) -> Vec<Bytes> {
        self.parts.iter().map(|p| p.data.clone()).collect()
    }

    /// Bytes of the segment.
    pub fn size(&self) -> usize {
        self.parts.iter().map(|p| p.data.len()).sum()
    }

    /// Starts with a keyframe.
    pub fn independent(&self) -> bool {
        self.parts.first().is_some_and(|p| p.independent)
    }
}

/// The segment being filled: what it has published so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSegment {
    pub msn: u64,
    pub discontinuity: bool,
    pub init: u32,
    pub parts: Vec<Part>,
}

impl OpenSegment {
    fn new(msn: u64, init: u32) -> Self {
        Self {
            msn,
            discontinuity: false,
            init,
            parts: Vec::new(),
        }
    }

    /// 90 kHz ticks published so far.
    pub fn duration(&self) -> u64 {
        self.parts.iter().map(|p| p.duration).sum()
    }
}

/// The answer to a request for a resource of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The bytes, as one or more shared pieces.
    Ready(Vec<Bytes>),
    /// The part the playlist hints next: hold the request until it exists
    /// (RFC 8216bis §6.2.6).
    Pending,
    /// Unknown, or already out of the window.
    NotFound,
}

/// Fixed parameters of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) target_duration: u32,
    pub(crate) part_target: u64,
    pub(crate) window: usize,
    pub(crate) max_segments: usize,
}

/// The published state of a live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    limits: Limits,
    segments: VecDeque<Segment>,
    open: OpenSegment,
    discontinuity_sequence: u64,
    next_part: u64,
    inits: Vec<(u32, Bytes)>,
    ended: bool,
}

impl Timeline {
    pub(crate) fn new(limits: Limits, init_id: u32, init: Bytes) -> Self {
        Self {
            limits,
            segments: VecDeque::with_capacity(limits.max_segments + 1),
            open: OpenSegment::new(0, init_id),
            discontinuity_sequence: 0,
            next_part: 0,
            inits: vec![(init_id, init)],
            ended: false,
        }
    }

    /// EXT-X-TARGETDURATION, seconds.
    pub fn target_duration(&self) -> u32 {
        self.limits.target_duration
    }

    /// PART-TARGET, 90 kHz ticks.
    pub fn part_target(&self) -> u64 {
        self.limits.part_target
    }

    /// EXT-X-MEDIA-SEQUENCE: the first listed segment's number.
    pub fn media_sequence(&self) -> u64 {
        self.segments.front().map_or(self.open.msn, |s| s.msn)
    }

    /// EXT-X-DISCONTINUITY-SEQUENCE.
    pub fn discontinuity_sequence(&self) -> u64 {
        self.discontinuity_sequence
    }

    /// Completed segments in the window, oldest first.
    pub fn segments(&self) -> &VecDeque<Segment> {
        &self.segments
    }

    /// The segment in progress (empty once the stream has ended).
    pub fn open(&self) -> &OpenSegment {
        &self.open
    }

    /// Number of the next part: the one EXT-X-PRELOAD-HINT names.
    pub fn next_part_number(&self) -> u64 {
        self.next_part
    }

    /// Whether the stream has ended (EXT-X-ENDLIST).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// MSN of the last completed segment.
    pub fn last_segment_msn(&self) -> Option<u64> {
        self.open.msn.checked_sub(1)
    }

    /// Media Sequence Number and Part Index of the last published part.
    pub fn last_part(&self) -> Option<(u64, u64)> {
        if let Some(count) = self.open.parts.len().checked_sub(1) {
            return Some((self.open.msn, count as u64));
        }
        let last = self.segments.back()?;
        Some((last.msn, last.parts.len().checked_sub(1)? as u64))
    }

    /// Sum of the listed segments' durations, 90 kHz ticks.
    pub fn duration(&self) -> u64 {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// The completed segment `msn`, while in the window.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        let index = msn.checked_sub(self.segments.front()?.msn)?;
        self.segments.get(usize::try_from(index).ok()?)
    }

    /// The part numbered `number`, while its segment is in the window.
    pub fn part(&self, number: u64) -> Option<&Part> {
        self.segments
            .iter()
            .flat_map(|s| &s.parts)
            .chain(&self.open.parts)
            .find(|p| p.number == number)
    }

    /// The init segment `id`, while a listed segment uses it.
    pub fn init(&self, id: u32) -> Option<Bytes> {
        self.inits
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| b.clone())
    }

    /// Answers a request for `resource`.
    pub fn lookup(&self, resource: Resource) -> Lookup {
        let found = match resource {
            Resource::Init(id) => self.init(id).map(|b| vec![b]),
            Resource::Segment(msn) => self.segment(msn).map(Segment::body),
            Resource::Part(n) => self.part(n).map(|p| vec![p.data.clone()]),
        };
        match found {
            Some(body) => Lookup::Ready(body),
            None if resource == Resource::Part(self.next_part) && !self.ended => Lookup::Pending,
            None => Lookup::NotFound,
        }
    }

    /// Bytes held by the window, the open segment and the init segments.
    pub fn held_bytes(&self) -> usize {
        let inits: usize = self.inits.iter().map(|(_, b)| b.len()).sum();
        let open: usize = self.open.parts.iter().map(|p| p.data.len()).sum();
        inits + open + self.segments.iter().map(Segment::size).sum::<usize>()
    }

    /// Highest bit rate of a listed segment, bits per second.
    pub fn peak_bandwidth(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| bit_rate(s.size(), s.duration))
            .max()
            .unwrap_or(0)
    }

    /// Bit rate of the listed segments together, bits per second.
    pub fn average_bandwidth(&self) -> u64 {
        let bytes = self.segments.iter().map(Segment::size).sum();
        bit_rate(bytes, self.duration())
    }

    pub(crate) fn push_part(&mut self, duration: u64, independent: bool, data: Bytes) {
        self.open.parts.push(Part {
            number: self.next_part,
            duration,
            independent,
            data,
        });
        self.next_part += 1;
    }

    /// Completes the open segment if it has parts.
    pub(crate) fn close_segment(&mut self) {
        if self.open.parts.is_empty() {
            return;
        }
        let next = OpenSegment::new(self.open.msn + 1, self.open.init);
        let open = std::mem::replace(&mut self.open, next);
        self.segments.push_back(Segment {
            msn: open.msn,
            duration: open.duration(),
            discontinuity: open.discontinuity,
            init: open.init,
            parts: open.parts,
        });
        self.trim();
    }

    /// The next published media follows a discontinuity. Nothing to mark
    /// before the first part.
    pub(crate) fn mark_discontinuity(&mut self) {
        if self.next_part > 0 {
            self.open.discontinuity = true;
        }
    }

    /// The media from now on needs init segment `id`.
    pub(crate) fn use_init(&mut self, id: u32, init: Bytes) {
        if self.init(id).is_none() {
            self.inits.push((id, init));
        }
        self.open.init = id;
        self.prune_inits();
    }

    pub(crate) fn finish(&mut self) {
        self.close_segment();
        self.ended = true;
    }

    /// Drops the oldest segments beyond the window, but never below three
    /// target durations of media (RFC 8216bis §6.2.2) unless the segment
    /// count reaches its hard cap.
    fn trim(&mut self) {
        let min_duration = 3 * u64::from(self.limits.target_duration) * SECOND;
        while self.segments.len() > self.limits.window {
            let oldest = self.segments.front().map_or(0, |s| s.duration);
            let keeps_enough = self.duration() - oldest >= min_duration;
            if !keeps_enough && self.segments.len() <= self.limits.max_segments {
                break;
            }
            if self.segments.pop_front().is_some_and(|s| s.discontinuity) {
                self.discontinuity_sequence += 1;
            }
        }
        self.prune_inits();
    }

    fn prune_inits(&mut self) {
        let open_init = self.open.init;
        let segments = &self.segments;
        self.inits
            .retain(|(id, _)| *id == open_init || segments.iter().any(|s| s.init == *id));
    }
}

fn bit_rate(bytes: usize, ticks: u64) -> u64 {
    if ticks == 0 {
        return 0;
    }
    let bits = bytes as u128 * 8 * u128::from(SECOND);
    u64::try_from(bits / u128::from(ticks)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(window: usize) -> Timeline {
        let limits = Limits {
            target_duration: 2,
            part_target: 45_000,
            window,
            max_segments: window * 2,
        };
        Timeline::new(limits, 0, Bytes::from_static(b"init"))
    }

    fn add_segment(t: &mut Timeline, ticks: u64) {
        t.push_part(ticks, true, Bytes::from_static(b"data"));
        t.close_segment();
    }

    #[test]
    fn window_slides_and_counts_removed_discontinuities() {
        let mut t = timeline(3);
        add_segment(&mut t, 180_000);
        t.mark_discontinuity();
        add_segment(&mut t, 180_000);
        for _ in 0..3 {
            add_segment(&mut t, 180_000);
        }
        assert_eq!(t.media_sequence(), 2);
        assert_eq!(t.segments().len(), 3);
        assert_eq!(t.discontinuity_sequence(), 1);
        assert_eq!(t.last_segment_msn(), Some(4));
        assert!(t.segment(1).is_none());
        assert_eq!(t.segment(3).map(|s| s.msn), Some(3));
    }

    #[test]
    fn window_keeps_three_target_durations_up_to_the_hard_cap() {
        let mut t = timeline(2);
        for _ in 0..3 {
            add_segment(&mut t, 90_000); // 1 s each, target duration 2 s
        }
        // Three segments of 1 s: dropping one would leave 2 s < 6 s.
        assert_eq!(t.segments().len(), 3);
        add_segment(&mut t, 90_000);
        assert_eq!(t.segments().len(), 4);
        add_segment(&mut t, 90_000);
        assert_eq!(t.segments().len(), 4, "hard cap of twice the window");
    }

    #[test]
    fn lookup_finds_parts_segments_and_inits_and_hints_the_next_part() {
        let mut t = timeline(3);
        add_segment(&mut t, 90_000);
        t.push_part(45_000, true, Bytes::from_static(b"p1"));
        assert_eq!(
            t.lookup(Resource::Part(1)),
            Lookup::Ready(vec![Bytes::from_static(b"p1")])
        );
        assert_eq!(t.lookup(Resource::Part(2)), Lookup::Pending);
        assert_eq!(t.lookup(Resource::Part(3)), Lookup::NotFound);
        assert_eq!(
            t.lookup(Resource::Segment(0)),
            Lookup::Ready(vec![Bytes::from_static(b"data")])
        );
        assert_eq!(t.lookup(Resource::Segment(1)), Lookup::NotFound);
        assert_eq!(
            t.lookup(Resource::Init(0)),
            Lookup::Ready(vec![Bytes::from_static(b"init")])
        );
        assert_eq!(t.lookup(Resource::Init(1)), Lookup::NotFound);
        assert_eq!(t.last_part(), Some((1, 0)));
        t.finish();
        assert_eq!(t.lookup(Resource::Part(2)), Lookup::NotFound);
        assert_eq!(t.last_part(), Some((1, 0)));
    }

    #[test]
    fn unused_inits_are_dropped_with_their_segments() {
        let mut t = timeline(2);
        for _ in 0..3 {
            add_segment(&mut t, 180_000);
        }
        t.use_init(1, Bytes::from_static(b"init1"));
        assert!(t.init(0).is_some(), "listed segments still use init 0");
        for _ in 0..3 {
            add_segment(&mut t, 180_000);
        }
        assert!(t.init(0).is_none());
        assert!(t.init(1).is_some());
    }

    #[test]
    fn bandwidth_is_bits_per_second() {
        let mut t = timeline(3);
        t.push_part(90_000, true, Bytes::from(vec![0; 1000]));
        t.close_segment();
        t.push_part(45_000, true, Bytes::from(vec![0; 1000]));
        t.close_segment();
        assert_eq!(t.peak_bandwidth(), 16_000);
        assert_eq!(t.average_bandwidth(), 10_666);
        assert_eq!(timeline(2).peak_bandwidth(), 0);
    }
}
