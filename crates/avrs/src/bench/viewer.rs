//! What one viewer measures, whatever the protocol: time to first frame,
//! per-frame latency from the clock stamp, lost frames from gaps in the
//! stamp counter, and bytes. The protocol clients only hand over tag
//! payloads; nothing is decoded.

use super::sei::{find_stamp, unix_micros};
use avrs_media::codec::AvcDecoderConfig;
use avrs_media::flv::{VideoTag, parse_video_tag};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Latency samples a viewer keeps before taking the shared lock.
const LATENCY_BATCH: usize = 64;
/// Histogram range: 1 µs to an hour, 3 significant digits.
const HIST_MAX_US: u64 = 3_600_000_000;

/// State all viewers share with the coordinator.
pub struct Shared {
    /// Set during the measured window: latency is sampled only then.
    pub in_window: AtomicBool,
    /// Bytes received by all viewers, for throughput over the window.
    pub bytes: AtomicU64,
    /// Media bytes (frame payloads, clear) delivered to all viewers;
    /// native viewers only.
    pub media_bytes: AtomicU64,
    /// Time to first video frame, µs, one sample per viewer.
    pub ttff: Mutex<Histogram<u64>>,
    /// Stamp-to-arrival time of live frames in the window, µs.
    pub latency: Mutex<Histogram<u64>>,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            in_window: AtomicBool::new(false),
            bytes: AtomicU64::new(0),
            media_bytes: AtomicU64::new(0),
            ttff: Mutex::new(new_histogram()),
            latency: Mutex::new(new_histogram()),
        })
    }
}

/// A histogram of microseconds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("valid histogram bounds")
}

/// How a viewer's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The bench ended it at the end of the run.
    Deadline,
    /// The server closed it or ended the stream first.
    Closed,
}

/// One viewer's totals, returned when it ends.
#[derive(Debug, Clone, Default)]
pub struct ViewerResult {
    pub ttff: Option<Duration>,
    pub error: Option<String>,
    pub ended_early: bool,
    pub video_frames: u64,
    pub audio_frames: u64,
    pub lost: u64,
    pub unstamped: u64,
    /// Frames stamped before this viewer connected (a server's GOP cache):
    /// their age says nothing about the server's latency.
    pub backlog: u64,
    /// From the first video frame to the end of the connection.
    pub active: Option<(Instant, Instant)>,
    /// Frames whose signature this viewer checked and found good (native
    /// viewers with `--verify`).
    pub verified: u64,
    /// Frames this viewer dropped as corrupted (bad or missing signature,
    /// unopenable sealed frame).
    pub corrupted: u64,
}

/// One viewer's measurements in progress.
pub struct Viewer {
    shared: Arc<Shared>,
    started: Instant,
    started_unix_us: u64,
    nal_length_size: u8,
    last_sequence: Option<u32>,
    pending: Vec<u64>,
    result: ViewerResult,
}

impl Viewer {
    /// Starts the clock: call just before connecting.
    pub fn start(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            started: Instant::now(),
            started_unix_us: unix_micros(),
            // AVCC's usual length size until a sequence header says otherwise.
            nal_length_size: 4,
            last_sequence: None,
            pending: Vec::with_capacity(LATENCY_BATCH),
            result: ViewerResult::default(),
        }
    }

    /// Whether a video frame has arrived.
    pub fn has_frames(&self) -> bool {
        self.result.ttff.is_some()
    }

    pub fn on_bytes(&mut self, n: usize) {
        self.shared.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The payload of one delivered frame, audio or video.
    pub fn on_media(&mut self, n: usize) {
        self.shared
            .media_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Signature checks so far (totals, not increments).
    pub fn set_checks(&mut self, verified: u64, corrupted: u64) {
        self.result.verified = verified;
        self.result.corrupted = corrupted;
    }

    pub fn on_audio(&mut self) {
        self.result.audio_frames += 1;
    }

    /// A video tag payload (FLV tag data / RTMP video message body).
    pub fn on_video(&mut self, payload: &[u8]) {
        match parse_video_tag(payload) {
            Ok(VideoTag::AvcSequenceHeader(record)) => {
                if let Ok(config) = AvcDecoderConfig::parse(record) {
                    self.nal_length_size = config.nal_length_size;
                }
            }
            Ok(VideoTag::AvcFrame { data, .. }) if !data.is_empty() => self.on_avc_frame(data),
            // Other codecs, commands, end of sequence: not frames we can
            // check, and not the bench's business.
            _ => {}
        }
    }

    /// The NAL length size of the frames to come (from an init segment).
    pub fn set_nal_length_size(&mut self, size: u8) {
        self.nal_length_size = size;
    }

    /// A picture whose bytes cannot be read (sealed): counted, no stamp.
    pub fn on_opaque_video(&mut self) {
        self.on_picture();
        self.result.unstamped += 1;
    }

    /// Frames known missing by other means than the stamps.
    pub fn on_lost(&mut self, frames: u64) {
        self.result.lost += frames;
    }

    /// One picture as AVCC NAL units.
    pub fn on_avc_frame(&mut self, avcc: &[u8]) {
        self.on_picture();
        let Some(stamp) = find_stamp(avcc, self.nal_length_size) else {
            self.result.unstamped += 1;
            return;
        };
        if let Some(last) = self.last_sequence
            && stamp.sequence > last
        {
            // A counter that goes back is a new publisher: not a loss.
            self.result.lost += u64::from(stamp.sequence - last - 1);
        }
        self.last_sequence = Some(stamp.sequence);
        if stamp.unix_micros < self.started_unix_us {
            self.result.backlog += 1;
        } else if self.shared.in_window.load(Ordering::Relaxed) {
            self.pending
                .push(unix_micros().saturating_sub(stamp.unix_micros));
            if self.pending.len() >= LATENCY_BATCH {
                self.flush();
            }
        }
    }

    /// Time to first frame at the first picture; counts every one.
    fn on_picture(&mut self) {
        if self.result.ttff.is_none() {
            let now = Instant::now();
            let ttff = now - self.started;
            self.result.ttff = Some(ttff);
            self.result.active = Some((now, now));
            record(&self.shared.ttff, &[micros(ttff)]);
        }
        self.result.video_frames += 1;
    }

    fn flush(&mut self) {
        record(&self.shared.latency, &self.pending);
        self.pending.clear();
    }

    /// The totals, with how the connection ended.
    pub fn finish(mut self, outcome: anyhow::Result<Ended>) -> ViewerResult {
        self.flush();
        let now = Instant::now();
        if let Some((_, end)) = &mut self.result.active {
            *end = now;
        }
        match outcome {
            Ok(Ended::Deadline) => {}
            Ok(Ended::Closed) => self.result.ended_early = true,
            Err(e) => {
                self.result.ended_early = self.result.ttff.is_some();
                self.result.error = Some(format!("{e:#}"));
            }
        }
        self.result
    }
}

fn record(histogram: &Mutex<Histogram<u64>>, samples: &[u64]) {
    if samples.is_empty() {
        return;
    }
    // A poisoned lock only means another viewer panicked mid-record.
    let mut histogram = histogram.lock().unwrap_or_else(|e| e.into_inner());
    for &sample in samples {
        histogram.saturating_record(sample.max(1));
    }
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::sei::{ClockStamp, write_stamped};
    use super::*;
    use avrs_media::flv::avc_frame_prefix;

    fn frame(sequence: u32, unix_micros: u64) -> Vec<u8> {
        let mut payload = avc_frame_prefix(false, 0).unwrap().to_vec();
        let slice = [0, 0, 0, 2, 0x41, 0x9A];
        let stamp = ClockStamp {
            unix_micros,
            sequence,
        };
        write_stamped(stamp, &slice, 4, &mut payload);
        payload
    }

    #[test]
    fn counts_frames_losses_backlog_and_latency() {
        let shared = Shared::new();
        shared.in_window.store(true, Ordering::Relaxed);
        let mut viewer = Viewer::start(shared.clone());
        let old = viewer.started_unix_us - 1_000_000;
        viewer.on_video(&frame(10, old)); // from a GOP cache
        viewer.on_video(&frame(11, unix_micros()));
        viewer.on_video(&frame(14, unix_micros())); // 12 and 13 lost
        viewer.on_video(&frame(0, unix_micros())); // a new publisher
        viewer.on_video(&avc_frame_prefix(false, 0).unwrap()); // empty: ignored
        let mut unstamped = avc_frame_prefix(true, 0).unwrap().to_vec();
        unstamped.extend_from_slice(&[0, 0, 0, 2, 0x65, 0x88]);
        viewer.on_video(&unstamped);
        viewer.on_audio();
        let result = viewer.finish(Ok(Ended::Deadline));
        assert_eq!(result.video_frames, 5);
        assert_eq!(result.audio_frames, 1);
        assert_eq!(result.lost, 2);
        assert_eq!(result.backlog, 1);
        assert_eq!(result.unstamped, 1);
        assert!(result.ttff.is_some() && !result.ended_early);
        assert_eq!(shared.ttff.lock().unwrap().len(), 1);
        let latency = shared.latency.lock().unwrap();
        assert_eq!(latency.len(), 3);
        assert!(latency.max() < 1_000_000, "fresh frames are not old");
    }

    #[test]
    fn outside_the_window_no_latency_is_sampled() {
        let shared = Shared::new();
        let mut viewer = Viewer::start(shared.clone());
        viewer.on_video(&frame(1, unix_micros()));
        let result = viewer.finish(Err(anyhow::anyhow!("reset")));
        assert_eq!(result.error.as_deref(), Some("reset"));
        assert!(result.ended_early);
        assert_eq!(shared.latency.lock().unwrap().len(), 0);
    }
}
