//! Streaming one VoD content to one native session: frames decoded from
//! the stored segments, from the group of pictures containing the start
//! position, on the same group streams as live, paced at real time with a
//! small lead. The client pauses, resumes and seeks with CONTENT_UPDATE.
//!
//! Positions (`seq`) count the frames this slot has sent, plus one skipped
//! after each seek: they only grow, so the client's reassembly orders the
//! groups of a new position after the old ones, and sees the jump as a gap.
//! The first frame after a seek carries DISCONTINUITY (times jump).

use super::group_writer::{GroupFrame, GroupWriter, Slot, vod_priority};
use super::groups::{GroupSplitter, OpenGroups};
use super::media::prefix_of;
use super::viewer::finish_all;
use avrs_core::live::TrackConfigs;
use avrs_media::{MediaFrame, TrackKind};
use avrs_proto::avrs::quic::{RESET_CANCELLED, RESET_GROUP_DROPPED};
use avrs_vod::frames::SegmentFrames;
use avrs_vod::{Library, SegmentInfo, VodId};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How far ahead of real time frames are sent: enough to start a player at
/// once after a seek, little enough not to flood it.
pub const LEAD: Duration = Duration::from_millis(1000);

/// Open groups a VoD slot lets finish when a new one starts. A VoD sends
/// up to [`LEAD`] ahead, so at a start or seek several short groups open
/// at once while the first is still being received; only a viewer this
/// many groups behind is taken as lagging (its oldest group dropped).
pub const VOD_KEEP_BEHIND: usize = 16;

/// What the client asks of a VoD slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    /// 90 kHz ticks from the content's start.
    Seek(u64),
}

/// A VoD being streamed to a session.
#[derive(Debug)]
pub struct VodPlayer {
    commands: mpsc::UnboundedSender<Command>,
    /// Where a resumed session should restart ([`VodPlayer::position`]).
    position: Arc<AtomicU64>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl VodPlayer {
    /// Starts streaming VoD `id` from `start` as `slot`; `ended` receives
    /// the slot's id once the content is over and every group delivered.
    pub fn spawn(
        conn: quinn::Connection,
        library: Arc<Library>,
        id: VodId,
        start: u64,
        slot: Slot,
        ended: mpsc::UnboundedSender<u32>,
    ) -> Self {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let position = Arc::new(AtomicU64::new(start));
        let player = Player {
            position: position.clone(),
            group_starts: [start; 2],
            conn,
            library,
            id,
            slot,
            queue: VecDeque::new(),
            next_segment: 0,
            configs: Arc::new(TrackConfigs::default()),
            next_seq: 0,
            discontinuity: false,
            clock: None,
            paused: false,
            splitter: GroupSplitter::default(),
            open: OpenGroups::new(VOD_KEEP_BEHIND),
            groups_started: 0,
        };
        let task = tokio::spawn(player.run(start, commands_rx, ended, cancel.clone()));
        Self {
            commands,
            position,
            cancel,
            task,
        }
    }

    /// The start of the group before the one being sent (90 kHz ticks): the
    /// newest point the client surely has the whole group before, as frames
    /// go out up to [`LEAD`] ahead. A resumed session restarts there.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Relaxed)
    }

    /// Hands a command to the player; false if it has already ended.
    pub fn command(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Stops streaming; open group streams are reset.
    pub fn stop(self) {
        self.cancel.cancel();
        drop(self.task);
    }
}

/// A VoD frame at its per-slot position, signed when written.
#[derive(Debug, Clone)]
pub struct VodFrame {
    seq: u64,
    media: MediaFrame,
    configs: Arc<TrackConfigs>,
    discontinuity: bool,
}

impl GroupFrame for VodFrame {
    fn seq(&self) -> u64 {
        self.seq
    }

    fn configs(&self) -> &Arc<TrackConfigs> {
        &self.configs
    }

    fn payload_len(&self) -> usize {
        self.media.data.len()
    }

    fn message(&self, slot: &Slot) -> (Bytes, Option<Bytes>) {
        let signature = slot.signer.sign(self.seq, &self.media, self.discontinuity);
        let prefix = prefix_of(
            self.seq,
            &self.media,
            self.discontinuity,
            slot.content_id,
            &signature,
        );
        (prefix, Some(self.media.data.clone()))
    }
}

/// Where in a segment's frames playback from `start` begins: the last video
/// keyframe presented at or before `start` (the last frame at or before it
/// when there is no video). `None`: the segment has no such frame.
pub fn start_index(frames: &[MediaFrame], start: i64) -> Option<usize> {
    let has_video = frames.iter().any(|f| f.track == TrackKind::Video);
    frames.iter().rposition(|f| {
        f.pts <= start && (!has_video || (f.track == TrackKind::Video && f.keyframe))
    })
}

struct Player {
    conn: quinn::Connection,
    library: Arc<Library>,
    id: VodId,
    slot: Slot,
    /// Frames of the current segment still to send.
    queue: VecDeque<MediaFrame>,
    next_segment: usize,
    configs: Arc<TrackConfigs>,
    next_seq: u64,
    discontinuity: bool,
    /// (wall time, media dts) of the pacing origin.
    clock: Option<(Instant, i64)>,
    paused: bool,
    splitter: GroupSplitter,
    open: OpenGroups<GroupWriter<VodFrame>>,
    groups_started: u64,
    /// The starts of the last two groups sent (90 kHz ticks).
    group_starts: [u64; 2],
    position: Arc<AtomicU64>,
}

impl Player {
    async fn run(
        mut self,
        start: u64,
        mut commands: mpsc::UnboundedReceiver<Command>,
        ended: mpsc::UnboundedSender<u32>,
        cancel: CancellationToken,
    ) {
        if let Err(err) = self.seek(start).await {
            tracing::warn!(id = %self.id, %err, "native VoD: cannot start");
        }
        loop {
            let due = match (self.paused, self.queue.front()) {
                (true, _) => None,
                (false, Some(frame)) => Some(self.due(frame.dts)),
                (false, None) => match self.load_next().await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(err) => {
                        tracing::warn!(id = %self.id, %err, "native VoD: segment unreadable");
                        break;
                    }
                },
            };
            tokio::select! {
                _ = cancel.cancelled() => return self.reset_all(),
                _ = self.conn.closed() => return self.reset_all(),
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => return self.reset_all(),
                },
                _ = sleep_until(due), if due.is_some() => self.send_next(),
            }
        }
        finish_all(&mut self.open, &cancel).await;
        let _ = ended.send(self.slot.content_id);
    }

    /// When the frame at `dts` is sent: real time from the pacing origin,
    /// `LEAD` early.
    fn due(&mut self, dts: i64) -> Instant {
        let (wall, media) = *self.clock.get_or_insert((Instant::now(), dts));
        let ahead = u64::try_from(dts - media).unwrap_or(0);
        let at = wall + Duration::from_micros(ahead.saturating_mul(100) / 9);
        at.checked_sub(LEAD).unwrap_or(wall)
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Pause => self.paused = true,
            Command::Resume => {
                // The pacing restarts from the next frame.
                self.paused = false;
                self.clock = None;
            }
            Command::Seek(position) => {
                if let Err(err) = self.seek(position).await {
                    tracing::warn!(id = %self.id, %err, "native VoD: seek failed");
                }
            }
        }
    }

    /// Drops what is queued and open, then queues from the group of
    /// pictures containing `position`.
    async fn seek(&mut self, position: u64) -> anyhow::Result<()> {
        self.reset_all();
        self.queue.clear();
        self.clock = None;
        self.splitter = GroupSplitter::default();
        self.group_starts = [position; 2];
        self.position.store(position, Ordering::Relaxed);
        if self.next_seq > 0 {
            // One position skipped: the client sees the jump as a gap.
            self.next_seq += 1;
            self.discontinuity = true;
        }
        let segments = self.library.segments(self.id)?;
        let target = i64::try_from(position).unwrap_or(i64::MAX);
        let index = segments
            .partition_point(|s| s.start + s.duration <= position)
            .min(segments.len().saturating_sub(1));
        // The keyframe may sit in the segment before (a start between a
        // segment's start and its first keyframe's presentation time).
        for candidate in [Some(index), index.checked_sub(1)].into_iter().flatten() {
            let Some(segment) = segments.get(candidate).copied() else {
                continue;
            };
            let frames = self.read(segment).await?;
            if let Some(first) = start_index(&frames.frames, target) {
                self.take(frames, first, candidate + 1);
                return Ok(());
            }
        }
        // Before the first keyframe: play from the very start.
        if let Some(segment) = segments.first().copied() {
            let frames = self.read(segment).await?;
            self.take(frames, 0, 1);
        } else {
            self.next_segment = 0;
        }
        Ok(())
    }

    /// Queues the next segment's frames; false at the end of the content.
    async fn load_next(&mut self) -> anyhow::Result<bool> {
        let segments = self.library.segments(self.id)?;
        let Some(segment) = segments.get(self.next_segment).copied() else {
            return Ok(false);
        };
        let frames = self.read(segment).await?;
        self.take(frames, 0, self.next_segment + 1);
        Ok(true)
    }

    async fn read(&self, segment: SegmentInfo) -> anyhow::Result<SegmentFrames> {
        Ok(self.library.segment_frames(self.id, segment).await?)
    }

    /// Queues `frames` from index `first` (audio before the first video
    /// frame kept only from its decode time on).
    fn take(&mut self, frames: SegmentFrames, first: usize, next_segment: usize) {
        let configs = TrackConfigs {
            video: frames.video,
            audio: frames.audio,
        };
        if *self.configs != configs {
            self.configs = Arc::new(configs);
        }
        let from_dts = frames.frames.get(first).map_or(i64::MIN, |f| f.dts);
        self.queue.extend(
            frames
                .frames
                .into_iter()
                .skip(first)
                .filter(|f| f.dts >= from_dts),
        );
        self.next_segment = next_segment;
    }

    fn send_next(&mut self) {
        let Some(media) = self.queue.pop_front() else {
            return;
        };
        let has_video = self.configs.video.is_some();
        if self
            .splitter
            .starts_group(media.track, media.keyframe, media.dts, has_video, false)
        {
            let mut previous = self.open.current();
            if let Some(previous) = previous.as_mut() {
                previous.finish();
            }
            let group = GroupWriter::spawn(
                self.conn.clone(),
                vod_priority(self.groups_started),
                self.slot.clone(),
                previous,
            );
            self.groups_started += 1;
            self.group_started_at(media.pts);
            for lagging in self.open.start(group, GroupWriter::is_done) {
                lagging.reset(RESET_GROUP_DROPPED);
            }
        }
        let frame = VodFrame {
            seq: self.next_seq,
            media,
            configs: self.configs.clone(),
            discontinuity: std::mem::take(&mut self.discontinuity),
        };
        self.next_seq += 1;
        if let Some(current) = self.open.current() {
            let bytes = current.push(frame);
            self.slot.stats.sent(1, bytes as u64);
        }
    }

    /// Records a group start; the resume position lags one group behind.
    fn group_started_at(&mut self, pts: i64) {
        let [_, newest] = self.group_starts;
        self.group_starts = [newest, pts.max(0) as u64];
        self.position.store(newest, Ordering::Relaxed);
    }

    fn reset_all(&mut self) {
        for group in self.open.take_all() {
            group.reset(RESET_CANCELLED);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(track: TrackKind, dts: i64, pts: i64, keyframe: bool) -> MediaFrame {
        MediaFrame {
            track,
            dts,
            pts,
            keyframe,
            data: Bytes::new(),
        }
    }

    #[test]
    fn playback_starts_at_the_last_keyframe_presented_by_the_start() {
        use TrackKind::{Audio, Video};
        let frames = [
            frame(Video, 0, 6000, true),
            frame(Audio, 100, 100, true),
            frame(Video, 3000, 9000, false),
            frame(Video, 90_000, 96_000, true),
            frame(Video, 93_000, 99_000, false),
        ];
        assert_eq!(start_index(&frames, 100_000), Some(3));
        assert_eq!(start_index(&frames, 96_000), Some(3));
        assert_eq!(start_index(&frames, 95_999), Some(0));
        assert_eq!(
            start_index(&frames, 5999),
            None,
            "before the first keyframe"
        );
        let audio = [frame(Audio, 0, 0, true), frame(Audio, 1920, 1920, true)];
        assert_eq!(start_index(&audio, 2000), Some(1));
    }
}
