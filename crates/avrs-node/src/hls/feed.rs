//! Fan-out frames into a packager: creates it once the content has codec
//! configurations, and turns publisher reconnects, configuration changes
//! and frames lost to lag into packager discontinuities. No I/O.

use avrs_core::live::{LiveFrame, TrackConfigs};
use avrs_media::MediaError;
use avrs_media::hls::{Packager, PackagerConfig, Progress, Timeline};
use std::sync::Arc;

/// One stream's packager and what it was last configured with.
#[derive(Debug)]
pub struct Feeder {
    name: String,
    config: PackagerConfig,
    packager: Option<Packager>,
    /// The configurations of the frames seen last.
    configs: Option<Arc<TrackConfigs>>,
    /// The packager runs with `configs` (false while they are missing or
    /// were refused: frames are dropped until they change).
    usable: bool,
    /// Frames were lost before the next one: start a new period there.
    gap: bool,
    refused: u64,
}

impl Feeder {
    pub fn new(name: &str, config: PackagerConfig) -> Self {
        Self {
            name: name.to_owned(),
            config,
            packager: None,
            configs: None,
            usable: false,
            gap: false,
            refused: 0,
        }
    }

    /// What has been published; `None` before the first frame.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.packager.as_ref().map(Packager::timeline)
    }

    /// Frames refused by the packager so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The reader skipped frames (it lagged): what follows does not continue
    /// what came before.
    pub fn gap(&mut self) {
        self.gap = true;
    }

    /// Packages one frame; true when something was published.
    pub fn push(&mut self, frame: &LiveFrame) -> bool {
        // Sealed frames (an ENCRYPTED content relayed to a node without its
        // key) are ciphertext: nothing to package, and HTTP refuses the
        // stream (`auth::refuse_sealed`).
        if frame.upstream.as_ref().is_some_and(|u| u.sealed) {
            return false;
        }
        let same_configs = self
            .configs
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &frame.configs) || **c == *frame.configs);
        let mut progress = Progress::default();
        if !same_configs || frame.discontinuity || self.gap {
            progress = self.restart(&frame.configs);
        }
        if !self.usable {
            return !progress.is_empty();
        }
        let Some(packager) = self.packager.as_mut() else {
            return !progress.is_empty();
        };
        // The frame's payload is shared, not copied.
        match packager.push(frame.media.clone()) {
            Ok(pushed) => !pushed.is_empty() || !progress.is_empty(),
            Err(err) => {
                self.refuse(&err);
                !progress.is_empty()
            }
        }
    }

    /// The content ended: publish the rest and close the playlist. True
    /// when there is a playlist to serve.
    pub fn finish(&mut self) -> bool {
        let Some(packager) = self.packager.as_mut() else {
            return false;
        };
        if let Err(err) = packager.finish() {
            tracing::warn!(stream = %self.name, %err, "cannot finish the HLS playlist");
        }
        true
    }

    /// A new period with `configs`: the first packager, or a discontinuity
    /// of the running one (a new init segment when the codecs changed).
    fn restart(&mut self, configs: &Arc<TrackConfigs>) -> Progress {
        self.configs = Some(configs.clone());
        self.gap = false;
        let (video, audio) = (configs.video.clone(), configs.audio.clone());
        if video.is_none() && audio.is_none() {
            // No sequence header yet: nothing can be packaged.
            self.usable = false;
            return Progress::default();
        }
        let started = match self.packager.as_mut() {
            Some(packager) => packager.discontinuity(video, audio),
            None => Packager::new(&self.config, video, audio).map(|packager| {
                self.packager = Some(packager);
                Progress::default()
            }),
        };
        match started {
            Ok(progress) => {
                self.usable = true;
                progress
            }
            Err(err) => {
                tracing::warn!(stream = %self.name, %err,
                    "cannot package this stream for HLS until its codec configuration changes");
                self.usable = false;
                Progress::default()
            }
        }
    }

    /// A refused frame is dropped; logged on the 1st, 2nd, 4th, 8th… so a
    /// publisher sending garbage cannot flood the log.
    fn refuse(&mut self, err: &MediaError) {
        self.refused += 1;
        if self.refused.is_power_of_two() {
            tracing::warn!(stream = %self.name, %err, refused = self.refused,
                "HLS packager dropped a frame");
        } else {
            tracing::debug!(stream = %self.name, %err, "HLS packager dropped a frame");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hls::HlsSettings;
    use avrs_core::live::{ContentLimits, ContentRegistry, Protocol, Publisher, Subscriber};
    use avrs_media::MediaFrame;
    use avrs_media::flv::{FlvDemuxer, TagMedia, tag_to_media};
    use avrs_media::hls::{PlaylistReport, check_continuity, check_media_playlist, media_playlist};
    use std::time::{Duration, Instant};

    const FIXTURE: &[u8] = include_bytes!("../../../avrs-media/tests/data/testsrc2-720p30-aac.flv");

    /// The fixture's configurations and frames (1 s, keyframes every 15).
    fn fixture() -> (TrackConfigs, Vec<MediaFrame>) {
        let mut demuxer = FlvDemuxer::default();
        demuxer.push(FIXTURE);
        let (mut configs, mut frames) = (TrackConfigs::default(), Vec::new());
        while let Some(tag) = demuxer.next_tag().unwrap() {
            match tag_to_media(&tag).unwrap() {
                TagMedia::VideoConfig(v) => configs.video = Some(v),
                TagMedia::AudioConfig(a) => configs.audio = Some(a),
                TagMedia::Frame(f) => frames.push(f),
                _ => {}
            }
        }
        (configs, frames)
    }

    /// The fixture `loops` times, one second apart; audio past the second
    /// is left out so each track's times keep increasing.
    fn looped(frames: &[MediaFrame], loops: i64) -> Vec<MediaFrame> {
        let second = 90_000;
        (0..loops)
            .flat_map(|n| {
                frames.iter().filter(|f| f.dts < second).map(move |f| {
                    let mut f = f.clone();
                    f.dts += n * second;
                    f.pts += n * second;
                    f
                })
            })
            .collect()
    }

    fn registry() -> Arc<ContentRegistry> {
        Arc::new(ContentRegistry::new(
            ContentLimits::default(),
            Duration::from_secs(5),
            || avrs_proto::Guuid::new(1, 1),
        ))
    }

    type Last = Option<(String, PlaylistReport)>;

    /// Publishes `frames`, the packager reading after each (a reader more
    /// than a group behind would be skipped ahead).
    fn publish(
        publisher: &Publisher,
        frames: &[MediaFrame],
        feeder: &mut Feeder,
        reader: &mut Subscriber,
        last: &mut Last,
    ) {
        for frame in frames {
            publisher.push(frame.clone(), Instant::now()).unwrap();
            drain(feeder, reader, last);
        }
    }

    /// Feeds everything the reader has, checking every playlist version.
    fn drain(feeder: &mut Feeder, reader: &mut Subscriber, last: &mut Last) {
        loop {
            let batch = reader.try_read(64);
            if batch.skipped > 0 {
                feeder.gap();
            }
            let mut changed = false;
            for frame in &batch.frames {
                changed |= feeder.push(frame);
            }
            if batch.ended {
                changed |= feeder.finish();
            }
            if changed {
                let text = media_playlist(feeder.timeline().unwrap());
                let report =
                    check_media_playlist(&text).unwrap_or_else(|v| panic!("{v:?}\n{text}"));
                if let Some((_, prev)) = last.as_ref() {
                    check_continuity(prev, &report).unwrap_or_else(|v| panic!("{v:?}\n{text}"));
                }
                *last = Some((text, report));
            }
            if batch.frames.is_empty() {
                return;
            }
        }
    }

    #[test]
    fn a_reconnect_with_new_configs_gives_a_discontinuity_and_a_new_init() {
        let (configs, frames) = fixture();
        let registry = registry();
        let publisher = registry.publish("live/f", Instant::now()).unwrap();
        let mut reader = publisher.content().subscribe(Protocol::Internal);
        let mut feeder = Feeder::new("live/f", HlsSettings::default().packager);
        let mut last = None;

        // Frames before any configuration are dropped without a packager.
        drain(&mut feeder, &mut reader, &mut last);
        publisher.set_configs(configs.clone());
        let input = looped(&frames, 3);
        publish(&publisher, &input, &mut feeder, &mut reader, &mut last);
        let timeline = feeder.timeline().unwrap();
        assert!(
            !timeline.segments().is_empty(),
            "{} refused\n{}",
            feeder.refused(),
            media_playlist(timeline)
        );
        assert_eq!(timeline.segments()[0].init, 0);

        // The publisher leaves and comes back with a different audio config.
        drop(publisher);
        let publisher = registry.publish("live/f", Instant::now()).unwrap();
        let mut changed = configs.clone();
        if let Some(audio) = changed.audio.as_mut() {
            audio.channels = 1;
        }
        publisher.set_configs(changed);
        publish(&publisher, &input, &mut feeder, &mut reader, &mut last);
        publisher.finish();
        drain(&mut feeder, &mut reader, &mut last);

        let (text, _) = last.unwrap();
        assert!(text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
        assert!(text.contains("init1.mp4"), "{text}");
        assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
        assert_eq!(feeder.refused(), 0);
    }

    #[test]
    fn skipped_frames_start_a_new_period_and_bad_frames_are_dropped() {
        let (configs, frames) = fixture();
        let registry = registry();
        let publisher = registry.publish("live/g", Instant::now()).unwrap();
        publisher.set_configs(configs);
        let mut reader = publisher.content().subscribe(Protocol::Internal);
        let mut feeder = Feeder::new("live/g", HlsSettings::default().packager);
        let mut last = None;
        let input = looped(&frames, 4);
        let (first, rest) = input.split_at(input.len() / 2);
        publish(&publisher, first, &mut feeder, &mut reader, &mut last);
        // A frame going back in time is refused, not fatal.
        publish(
            &publisher,
            &first[5..6],
            &mut feeder,
            &mut reader,
            &mut last,
        );
        assert_eq!(feeder.refused(), 1);

        feeder.gap();
        publish(&publisher, rest, &mut feeder, &mut reader, &mut last);
        publisher.finish();
        drain(&mut feeder, &mut reader, &mut last);
        let (text, _) = last.unwrap();
        assert!(text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
        assert!(!text.contains("init1.mp4"), "same codecs keep the init");
        assert!(text.ends_with("#EXT-X-ENDLIST\n"));
    }

    /// The claim of `HlsSettings::default`: with millisecond timestamps,
    /// every common frame rate gives parts of at least 85 % of PART-TARGET
    /// and 2 s segments from a 2 s keyframe interval.
    #[test]
    fn default_parts_suit_common_frame_rates() {
        let (configs, _) = fixture();
        let config = HlsSettings::default().packager;
        for fps in [
            10.0_f64, 12.5, 15.0, 20.0, 23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0,
        ] {
            let mut packager = Packager::new(&config, configs.video.clone(), None).unwrap();
            let gop = (2.0 * fps).round() as usize;
            for n in 0..(12.0 * fps) as usize {
                let ms = (n as f64 * 1000.0 / fps).round() as i64;
                let frame = MediaFrame {
                    track: avrs_media::TrackKind::Video,
                    dts: ms * 90,
                    pts: ms * 90,
                    keyframe: n % gop == 0,
                    data: bytes::Bytes::from_static(&[0, 0, 0, 1, 0x41]),
                };
                packager.push(frame).unwrap();
            }
            let text = media_playlist(packager.timeline());
            check_media_playlist(&text).unwrap_or_else(|v| panic!("{fps} fps: {v:?}\n{text}"));
            let timeline = packager.timeline();
            for segment in timeline.segments() {
                assert!(segment.independent(), "{fps} fps\n{text}");
                let seconds = segment.duration as f64 / 90_000.0;
                assert!(
                    (seconds - 2.0).abs() < 0.01,
                    "{fps} fps: {seconds} s\n{text}"
                );
            }
        }
    }
}
