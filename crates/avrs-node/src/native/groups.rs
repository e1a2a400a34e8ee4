//! Groups of pictures on QUIC streams, sans-IO.
//!
//! - Server: [`GroupSplitter`] says which frame starts a new group (so a new
//!   unidirectional stream), [`OpenGroups`] which old groups to drop when a
//!   viewer lags.
//! - Client: [`Assembler`] puts the frames of concurrently arriving group
//!   streams back in content order and skips groups the server dropped.

use avrs_media::{TIMESCALE, TrackKind};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// An audio-only content starts a new group every second (as the fan-out
/// does), so a lagging audio viewer also has something to drop.
const AUDIO_GROUP_TICKS: i64 = TIMESCALE as i64;

/// Decides where groups start in one viewer's frame sequence.
#[derive(Debug, Default)]
pub struct GroupSplitter {
    last_start_dts: Option<i64>,
}

impl GroupSplitter {
    /// Whether this frame starts a group. `after_gap`: the fan-out skipped
    /// frames just before it (it then resumes at a group start).
    pub fn starts_group(
        &mut self,
        track: TrackKind,
        keyframe: bool,
        dts: i64,
        has_video: bool,
        after_gap: bool,
    ) -> bool {
        let start = match (self.last_start_dts, track) {
            (None, _) => true,
            _ if after_gap => true,
            (_, TrackKind::Video) => keyframe,
            (_, TrackKind::Audio) if has_video => false,
            (Some(last), TrackKind::Audio) => dts - last >= AUDIO_GROUP_TICKS,
        };
        if start {
            self.last_start_dts = Some(dts);
        }
        start
    }
}

/// The group streams of one viewer still being sent, oldest first.
///
/// Rule: when a group starts, at most `keep_behind` older groups may still
/// be open (for live, one: the group just ended, finishing its tail). A
/// group older than that is still open only because the viewer cannot
/// keep up: it is dropped (stream reset) so the viewer jumps ahead. The
/// publisher and the other viewers never wait for it.
#[derive(Debug)]
pub struct OpenGroups<T> {
    groups: VecDeque<T>,
    keep_behind: usize,
}

impl<T> Default for OpenGroups<T> {
    /// The live rule.
    fn default() -> Self {
        Self::new(Self::KEEP_BEHIND)
    }
}

impl<T> OpenGroups<T> {
    /// Live: open groups that may stay open when a new one starts.
    pub const KEEP_BEHIND: usize = 1;

    pub fn new(keep_behind: usize) -> Self {
        Self {
            groups: VecDeque::new(),
            keep_behind,
        }
    }

    /// Starts `group`: forgets groups that are `done`, and returns the
    /// groups to drop.
    pub fn start(&mut self, group: T, done: impl Fn(&T) -> bool) -> Vec<T> {
        self.groups.retain(|g| !done(g));
        let excess = self.groups.len().saturating_sub(self.keep_behind);
        let dropped = self.groups.drain(..excess).collect();
        self.groups.push_back(group);
        dropped
    }

    /// The newest group (the one frames go to).
    pub fn current(&mut self) -> Option<&mut T> {
        self.groups.back_mut()
    }

    /// Every open group, oldest first.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.groups.iter_mut()
    }

    /// Takes every group out (at the end of the session).
    pub fn take_all(&mut self) -> Vec<T> {
        self.groups.drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// One item of a group stream, at content position `seq` (a group's
/// configuration message has the position of the frame it precedes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positioned<T> {
    pub seq: u64,
    pub item: T,
}

/// A group stream as the client holds it.
#[derive(Debug)]
struct Group<T> {
    /// The QUIC stream carrying it (streams open in group order).
    stream: u64,
    items: VecDeque<Positioned<T>>,
    /// The stream ended (finished or reset): nothing more will come.
    ended: bool,
}

/// What [`Assembler::pop`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled<T> {
    Item(Positioned<T>),
    /// Frames are missing before the next item (a dropped or cut group).
    Gap,
}

/// How the assembler treats groups that are late, live or VoD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Newest picture first: play whatever group is here; a stalled group
    /// is abandoned once two newer groups started (the server's rule).
    Live,
    /// Nothing skipped: before moving to a group, wait for every stream
    /// opened before it to say where it starts; never abandon a group
    /// (the server resets what it drops). A VoD sends ahead, so at a
    /// start or seek a later group's first bytes can beat an earlier one's.
    Vod,
}

/// Restores content order from group streams that arrive concurrently.
///
/// A stream's first message gives its group's start position; groups play
/// in start order, each to its end (FIN or reset). A group that started
/// after the one playing waits; a stream older than what already played is
/// ignored.
#[derive(Debug)]
pub struct Assembler<T> {
    pacing: Pacing,
    groups: BTreeMap<u64, Group<T>>,
    /// Stream id → its group's start (once its first message came).
    streams: HashMap<u64, Option<u64>>,
    /// Start of the group playing or last played.
    playing: Option<u64>,
    /// Position of the last item returned.
    last_seq: Option<u64>,
    /// A gap is owed before the next item.
    gap: bool,
    pub stats: AssemblerStats,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerStats {
    pub groups: u64,
    /// Groups that ended by a reset or were abandoned.
    pub groups_cut: u64,
    /// Items that arrived too late or twice.
    pub stale_items: u64,
}

impl<T> Default for Assembler<T> {
    fn default() -> Self {
        Self::new(Pacing::Live)
    }
}

impl<T> Assembler<T> {
    pub fn new(pacing: Pacing) -> Self {
        Self {
            pacing,
            groups: BTreeMap::new(),
            streams: HashMap::new(),
            playing: None,
            last_seq: None,
            gap: false,
            stats: AssemblerStats::default(),
        }
    }

    /// `stream` was accepted; its items may come later. Call in accept
    /// order, before any item of a later stream.
    pub fn opened(&mut self, stream: u64) {
        self.streams.entry(stream).or_insert(None);
    }

    /// An item read from `stream`.
    pub fn push(&mut self, stream: u64, seq: u64, item: T) {
        let start = *self
            .streams
            .entry(stream)
            .or_insert(None)
            .get_or_insert(seq);
        let stale = self.playing.is_some_and(|p| start < p)
            || (self.playing == Some(start) && !self.groups.contains_key(&start));
        if stale {
            self.stats.stale_items += 1;
            return;
        }
        let group = self.groups.entry(start).or_insert_with(|| {
            self.stats.groups += 1;
            Group {
                stream,
                items: VecDeque::new(),
                ended: false,
            }
        });
        group.items.push_back(Positioned { seq, item });
    }

    /// `stream` ended: `complete` when finished, `false` when reset.
    pub fn end(&mut self, stream: u64, complete: bool) {
        let Some(start) = self.streams.remove(&stream).flatten() else {
            return;
        };
        if let Some(group) = self.groups.get_mut(&start) {
            group.ended = true;
            if !complete {
                self.stats.groups_cut += 1;
            }
        }
    }

    /// Streams that have not ended yet.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The next item in content order, if it is here.
    pub fn pop(&mut self) -> Option<Assembled<T>> {
        self.next(false)
    }

    /// Like [`Self::pop`], but a group still open is taken as ended (the
    /// content is over, or the player stops).
    pub fn drain(&mut self) -> Option<Assembled<T>> {
        self.next(true)
    }

    /// A stream opened before `stream` has not said where its group starts.
    fn earlier_stream_unknown(&self, stream: u64) -> bool {
        self.streams
            .iter()
            .any(|(&id, start)| id < stream && start.is_none())
    }

    fn next(&mut self, draining: bool) -> Option<Assembled<T>> {
        loop {
            let open_groups = self.groups.len();
            let (&start, group) = self.groups.iter().next()?;
            if self.playing != Some(start) {
                if self.pacing == Pacing::Vod
                    && !draining
                    && self.earlier_stream_unknown(group.stream)
                {
                    return None;
                }
                // Moving to a new group: a gap if it does not follow on.
                let follows = self
                    .last_seq
                    .is_none_or(|last| group.items.front().is_none_or(|i| i.seq <= last + 1));
                self.gap |= !follows;
                self.playing = Some(start);
            }
            let group = self.groups.get_mut(&start)?;
            if let Some(item) = group.items.pop_front() {
                // A configuration message shares the position of the frame
                // after it, so only a smaller position is stale.
                if self.last_seq.is_some_and(|last| item.seq < last) {
                    self.stats.stale_items += 1;
                    continue;
                }
                if std::mem::take(&mut self.gap) {
                    group.items.push_front(item);
                    return Some(Assembled::Gap);
                }
                self.last_seq = Some(self.last_seq.map_or(item.seq, |l| l.max(item.seq)));
                return Some(Assembled::Item(item));
            }
            let stalled = self.pacing == Pacing::Live && open_groups >= 3;
            let abandon = !group.ended && (draining || stalled);
            if group.ended || abandon {
                if abandon {
                    self.stats.groups_cut += 1;
                }
                self.groups.remove(&start);
                continue;
            }
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_groups_start_at_keyframes_audio_only_every_second() {
        let mut s = GroupSplitter::default();
        use TrackKind::*;
        assert!(s.starts_group(Audio, true, 0, true, false), "first frame");
        assert!(!s.starts_group(Audio, true, 100_000, true, false));
        assert!(!s.starts_group(Video, false, 3000, true, false));
        assert!(s.starts_group(Video, true, 6000, true, false));
        assert!(s.starts_group(Video, false, 9000, true, true), "after gap");

        let mut audio = GroupSplitter::default();
        assert!(audio.starts_group(Audio, true, 0, false, false));
        assert!(!audio.starts_group(Audio, true, 89_999, false, false));
        assert!(audio.starts_group(Audio, true, 90_000, false, false));
        assert!(!audio.starts_group(Audio, true, 100_000, false, false));
    }

    #[test]
    fn a_group_two_behind_is_dropped_when_still_open() {
        let mut open = OpenGroups::default();
        let done = |g: &(u32, bool)| g.1;
        assert!(open.start((1, false), done).is_empty());
        assert!(
            open.start((2, false), done).is_empty(),
            "1 may finish its tail"
        );
        assert_eq!(open.start((3, false), done), vec![(1, false)]);
        // Group 2 completed in the meantime: nothing to drop.
        open.iter_mut().for_each(|g| g.1 = g.0 == 2);
        assert!(open.start((4, false), done).is_empty());
        assert_eq!(open.len(), 2);
        assert_eq!(open.current(), Some(&mut (4, false)));
        assert_eq!(open.take_all().len(), 2);
        assert!(open.is_empty());
    }

    fn items(a: &mut Assembler<&'static str>) -> Vec<String> {
        std::iter::from_fn(|| a.pop())
            .map(|x| match x {
                Assembled::Item(p) => format!("{}:{}", p.seq, p.item),
                Assembled::Gap => "gap".into(),
            })
            .collect()
    }

    #[test]
    fn groups_play_in_start_order_whatever_the_arrival_order() {
        let mut a = Assembler::default();
        // Stream 7 carries group 10.., stream 3 carries group 0..
        a.push(7, 10, "info");
        a.push(7, 10, "k");
        assert_eq!(items(&mut a), ["10:info", "10:k"], "first group seen plays");
        let mut a = Assembler::default();
        a.push(3, 0, "info");
        a.push(3, 0, "k");
        a.push(7, 2, "info");
        a.push(7, 2, "k2");
        a.push(3, 1, "p");
        assert_eq!(items(&mut a), ["0:info", "0:k", "1:p"]);
        a.end(3, true);
        assert_eq!(items(&mut a), ["2:info", "2:k2"]);
        a.push(7, 3, "p3");
        assert_eq!(items(&mut a), ["3:p3"]);
        assert_eq!(a.open_streams(), 1);
        a.end(7, true);
        assert_eq!(a.open_streams(), 0);
        assert_eq!(a.stats.groups, 2);
    }

    #[test]
    fn a_reset_group_leaves_a_gap_and_late_streams_are_ignored() {
        let mut a = Assembler::default();
        a.push(1, 0, "k0");
        a.push(1, 1, "p1");
        a.push(2, 5, "k5");
        assert_eq!(items(&mut a), ["0:k0", "1:p1"]);
        a.end(1, false);
        assert_eq!(items(&mut a), ["gap", "5:k5"]);
        assert_eq!(a.stats.groups_cut, 1);
        // A stream for an older group shows up late: ignored.
        a.push(9, 2, "k2");
        assert_eq!(items(&mut a), Vec::<String>::new());
        assert_eq!(a.stats.stale_items, 1);
        a.end(9, true);
    }

    #[test]
    fn a_stalled_group_is_abandoned_once_two_newer_groups_started() {
        let mut a = Assembler::default();
        a.push(1, 0, "k0");
        a.push(2, 10, "k10");
        assert_eq!(items(&mut a), ["0:k0"]);
        a.push(3, 20, "k20");
        assert_eq!(items(&mut a), ["gap", "10:k10"]);
        a.end(2, true);
        assert_eq!(items(&mut a), ["gap", "20:k20"]);
        assert_eq!(a.stats.groups_cut, 1);
        // Stream 1 comes back with more of group 0: too late.
        a.push(1, 1, "p1");
        assert_eq!(items(&mut a), Vec::<String>::new());
    }

    #[test]
    fn vod_waits_for_an_earlier_stream_whose_first_bytes_come_late() {
        let mut a = Assembler::new(Pacing::Vod);
        // Streams 3 and 7 are accepted in that order; 7's group (starting
        // at 20) speaks first.
        a.opened(3);
        a.opened(7);
        a.push(7, 20, "info20");
        a.push(7, 20, "k20");
        assert_eq!(items(&mut a), Vec::<String>::new(), "3 may start earlier");
        a.push(3, 10, "info10");
        a.push(3, 10, "k10");
        a.push(3, 11, "p11");
        a.end(3, true);
        a.opened(11);
        assert_eq!(
            items(&mut a),
            [
                "10:info10",
                "10:k10",
                "11:p11",
                "gap",
                "20:info20",
                "20:k20"
            ],
            "11 was opened after 7: no need to wait for it"
        );
        // A VoD group is never abandoned: the server resets what it drops.
        a.push(11, 30, "k30");
        a.opened(15);
        a.push(15, 40, "k40");
        assert_eq!(items(&mut a), Vec::<String>::new());
        a.end(7, true);
        assert_eq!(items(&mut a), ["gap", "30:k30"]);
        assert_eq!(a.stats.groups_cut, 0);
    }

    #[test]
    fn vod_goes_on_when_an_earlier_stream_ends_without_a_word() {
        let mut a = Assembler::new(Pacing::Vod);
        a.opened(3);
        a.opened(7);
        a.push(7, 5, "k5");
        assert!(items(&mut a).is_empty());
        a.end(3, false);
        assert_eq!(items(&mut a), ["5:k5"]);
    }

    #[test]
    fn drain_takes_open_groups_as_ended() {
        let mut a = Assembler::default();
        a.push(1, 0, "k0");
        a.push(2, 4, "k4");
        let mut out = vec![];
        while let Some(x) = a.drain() {
            out.push(x);
        }
        assert_eq!(out.len(), 3, "k0, gap, k4: {out:?}");
        assert!(a.pop().is_none());
    }
}
