//! Behaviour of the live fan-out: where viewers start, what they share, how
//! memory stays bounded, what slow viewers and returning publishers see.

use avrs_core::live::{
    ContentLimits, ContentRegistry, Encoding, FrameVerdict, LiveContent, Protocol, PublishError,
    PushError, TrackConfigs,
};
use avrs_media::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn registry(limits: ContentLimits) -> Arc<ContentRegistry> {
    let counter = AtomicUsize::new(0);
    Arc::new(ContentRegistry::new(
        limits,
        Duration::from_secs(5),
        move || avrs_proto::Guuid::new(7, counter.fetch_add(1, Ordering::Relaxed) as u64),
    ))
}

fn video_configs() -> TrackConfigs {
    TrackConfigs {
        video: Some(VideoConfig {
            avcc: Bytes::from_static(&[1, 0x64, 0, 0x1F, 0xFF]),
            codec: "avc1.64001F".into(),
            width: 1280,
            height: 720,
            nal_length_size: 4,
        }),
        audio: Some(AudioConfig {
            asc: Bytes::from_static(&[0x12, 0x10]),
            codec: "mp4a.40.2".into(),
            object_type: 2,
            sample_rate: 44_100,
            channels: 2,
        }),
    }
}

fn video(n: i64, keyframe: bool) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Video,
        dts: n * 3000,
        pts: n * 3000,
        keyframe,
        data: Bytes::from(vec![n as u8; 100]),
    }
}

fn audio(n: i64) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Audio,
        dts: n * 2090,
        pts: n * 2090,
        keyframe: true,
        data: Bytes::from(vec![n as u8; 10]),
    }
}

/// Pushes `count` video frames numbered from `first`, a keyframe every `gop`.
fn push_video(publisher: &avrs_core::live::Publisher, first: i64, count: i64, gop: i64) {
    let now = Instant::now();
    for n in first..first + count {
        publisher.push(video(n, n % gop == 0), now).unwrap();
    }
}

#[test]
fn a_new_viewer_starts_at_the_newest_keyframe() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/a", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    push_video(&publisher, 0, 25, 10); // keyframes at 0, 10, 20
    let mut viewer = publisher.content().subscribe(Protocol::HttpFlv);
    let batch = viewer.try_read(100);
    assert_eq!(batch.frames.len(), 5);
    assert!(batch.frames[0].media.keyframe);
    assert_eq!(batch.frames[0].seq, 20);
    assert_eq!(batch.skipped, 0, "a joining viewer has skipped nothing");
}

#[test]
fn a_viewer_that_joins_before_any_keyframe_waits_for_one() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/b", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let now = Instant::now();
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    publisher.push(video(1, false), now).unwrap();
    publisher.push(video(2, false), now).unwrap();
    assert!(viewer.try_read(10).frames.is_empty());
    publisher.push(video(3, true), now).unwrap();
    publisher.push(video(4, false), now).unwrap();
    let batch = viewer.try_read(10);
    let seqs: Vec<u64> = batch.frames.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, vec![2, 3]);
}

#[test]
fn viewers_share_the_same_frames_and_encodings_are_made_once() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/c", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let mut one = publisher.content().subscribe(Protocol::HttpFlv);
    let mut two = publisher.content().subscribe(Protocol::HttpFlv);
    push_video(&publisher, 0, 3, 30);
    let a = one.try_read(10).frames;
    let b = two.try_read(10).frames;
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert!(Arc::ptr_eq(x, y));
    }
    let made = AtomicUsize::new(0);
    for frame in a.iter().chain(&b) {
        frame.encoded(Encoding::FlvTag, |f| {
            made.fetch_add(1, Ordering::Relaxed);
            f.media.data.clone()
        });
    }
    assert_eq!(
        made.load(Ordering::Relaxed),
        3,
        "one encoding per frame, not per viewer"
    );
    assert_eq!(publisher.content().stats.viewers(Protocol::HttpFlv), 2);
    drop(one);
    assert_eq!(publisher.content().stats.viewers(Protocol::HttpFlv), 1);
}

#[test]
fn memory_stays_within_the_group_limit_however_long_the_stream() {
    let limits = ContentLimits {
        max_groups: 2,
        ..ContentLimits::default()
    };
    let reg = registry(limits);
    let publisher = reg.publish("live/d", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    push_video(&publisher, 0, 1000, 10);
    // Of 100 groups only the newest two are kept; a joiner starts at the newest.
    let mut viewer = publisher.content().subscribe(Protocol::Rtmp);
    assert_eq!(viewer.try_read(usize::MAX).frames.len(), 10);
    assert_eq!(
        publisher.content().stats.frames_in.load(Ordering::Relaxed),
        1000
    );
}

#[test]
fn memory_stays_within_the_byte_limit_inside_one_long_group() {
    let limits = ContentLimits {
        max_groups: 8,
        max_bytes: 1000, // ten 100-byte frames
        ..ContentLimits::default()
    };
    let reg = registry(limits);
    let publisher = reg.publish("live/e", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let mut early = publisher.content().subscribe(Protocol::Native);
    push_video(&publisher, 0, 50, 1000); // one keyframe, then 49 deltas
    let batch = early.try_read(usize::MAX);
    // The keyframe fell out: the early viewer waits for the next one.
    assert!(batch.frames.is_empty());
    push_video(&publisher, 1000, 3, 1000);
    let batch = early.try_read(usize::MAX);
    assert_eq!(batch.frames.len(), 3);
    assert!(batch.frames[0].media.keyframe);
    assert_eq!(batch.skipped, 50, "the 50 frames it never saw");
}

#[test]
fn a_slow_viewer_skips_to_the_newest_group_and_counts_the_drop() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/f", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let mut fast = publisher.content().subscribe(Protocol::Native);
    let mut slow = publisher.content().subscribe(Protocol::Native);
    push_video(&publisher, 0, 10, 10);
    assert_eq!(slow.try_read(2).frames.len(), 2); // reads a little, then stalls
    for chunk in 0..4 {
        push_video(&publisher, 10 + chunk * 10, 10, 10);
        assert_eq!(
            fast.try_read(usize::MAX).frames.len(),
            if chunk == 0 { 20 } else { 10 }
        );
    }
    let batch = slow.try_read(usize::MAX);
    assert_eq!(batch.frames[0].seq, 40, "restarts at the newest keyframe");
    assert_eq!(batch.skipped, 38);
    let dropped = publisher
        .content()
        .stats
        .frames_dropped
        .load(Ordering::Relaxed);
    assert_eq!(dropped, 38);
    // The fast viewer lost nothing.
    assert_eq!(fast.try_read(usize::MAX).frames.len(), 0);
}

#[test]
fn skip_to_latest_moves_a_viewer_to_the_newest_keyframe() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/g", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    push_video(&publisher, 0, 15, 10);
    assert_eq!(viewer.skip_to_latest(), 10);
    assert_eq!(viewer.try_read(100).frames[0].seq, 10);
}

#[test]
fn a_second_publisher_on_a_busy_name_is_refused() {
    let reg = registry(ContentLimits::default());
    let _first = reg.publish("live/h", Instant::now()).unwrap();
    assert_eq!(
        reg.publish("live/h", Instant::now()).unwrap_err(),
        PublishError::Busy("live/h".into())
    );
    assert!(reg.publish("live/other", Instant::now()).is_ok());
}

#[test]
fn bad_names_are_refused() {
    let reg = registry(ContentLimits::default());
    for name in [
        "",
        "a b",
        "../x",
        "a//b",
        "/a",
        "a/",
        "a/./b",
        &"x".repeat(201),
    ] {
        assert!(
            matches!(
                reg.publish(name, Instant::now()),
                Err(PublishError::BadName(..))
            ),
            "{name:?}"
        );
    }
}

#[test]
fn a_publisher_that_returns_in_time_continues_the_same_content() {
    let reg = registry(ContentLimits::default());
    let start = Instant::now();
    let first = reg.publish("live/i", start).unwrap();
    first.set_configs(video_configs());
    let id = first.content().id();
    let mut viewer = first.content().subscribe(Protocol::HttpFlv);
    push_video(&first, 0, 10, 10);
    drop(first);
    assert!(reg.reap(start + Duration::from_secs(1)).is_empty());

    let second = reg
        .publish("live/i", start + Duration::from_secs(2))
        .unwrap();
    assert_eq!(second.content().id(), id, "same content");
    push_video(&second, 0, 10, 10); // the new publisher starts from time 0 again
    let frames = viewer.try_read(usize::MAX).frames;
    assert_eq!(frames.len(), 20);
    assert!(frames[10].discontinuity);
    assert!(frames.iter().filter(|f| f.discontinuity).count() == 1);
    let dts: Vec<i64> = frames.iter().map(|f| f.media.dts).collect();
    assert!(
        dts.windows(2).all(|w| w[0] < w[1]),
        "times stay monotonic: {dts:?}"
    );
    assert_eq!(
        second
            .content()
            .stats
            .publisher_reconnects
            .load(Ordering::Relaxed),
        1
    );
}

#[test]
fn a_publisher_gone_past_the_timeout_ends_the_content() {
    let reg = registry(ContentLimits::default());
    let start = Instant::now();
    let first = reg.publish("live/j", start).unwrap();
    first.set_configs(video_configs());
    let id = first.content().id();
    let mut viewer = first.content().subscribe(Protocol::Rtmp);
    push_video(&first, 0, 3, 10);
    drop(first);
    // Drop stamps the departure with the real clock; reap well after it.
    let later = Instant::now() + Duration::from_secs(6);
    assert_eq!(reg.reap(later), vec!["live/j".to_string()]);
    let batch = viewer.try_read(usize::MAX);
    assert_eq!(batch.frames.len(), 3);
    assert!(batch.ended);
    let again = reg.publish("live/j", later).unwrap();
    assert_ne!(again.content().id(), id, "a new content after the timeout");
}

#[test]
fn finish_ends_the_content_at_once() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/k", Instant::now()).unwrap();
    let mut viewer = publisher.content().subscribe(Protocol::Hls);
    publisher.finish();
    assert!(viewer.try_read(1).ended);
    assert!(reg.get("live/k").is_none());
}

#[test]
fn hooks_see_every_frame_and_can_reject_it() {
    let reg = registry(ContentLimits::default());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    reg.add_hook(Arc::new(move |_: &LiveContent, frame: &MediaFrame| {
        counter.fetch_add(1, Ordering::Relaxed);
        if frame.data.len() > 50 {
            FrameVerdict::Reject("too big".into())
        } else {
            FrameVerdict::Accept
        }
    }));
    let publisher = reg.publish("live/l", Instant::now()).unwrap();
    let now = Instant::now();
    assert!(publisher.push(audio(1), now).is_ok());
    let err = publisher.push(video(1, true), now).unwrap_err();
    assert_eq!(err.to_string(), "frame rejected by a content hook: too big");
    assert_eq!(seen.load(Ordering::Relaxed), 2);
    let stats = &publisher.content().stats;
    assert_eq!(stats.frames_in.load(Ordering::Relaxed), 1);
    assert_eq!(stats.frames_rejected.load(Ordering::Relaxed), 1);
}

#[test]
fn audio_only_contents_group_by_time() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/m", Instant::now()).unwrap();
    publisher.set_configs(TrackConfigs {
        video: None,
        ..video_configs()
    });
    let now = Instant::now();
    for n in 0..100 {
        publisher.push(audio(n), now).unwrap();
    }
    // 2090 ticks a frame: a group each 44 frames (90000 ticks).
    let mut viewer = publisher.content().subscribe(Protocol::Hls);
    let batch = viewer.try_read(usize::MAX);
    assert_eq!(batch.frames[0].seq, 88);
    assert_eq!(batch.frames.len(), 12);
}

#[test]
fn configs_travel_with_frames() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/n", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    push_video(&publisher, 0, 2, 10);
    let mut changed = video_configs();
    changed.video.as_mut().unwrap().width = 640;
    publisher.set_configs(changed);
    push_video(&publisher, 2, 1, 10);
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    let frames = viewer.try_read(10).frames;
    assert!(Arc::ptr_eq(&frames[0].configs, &frames[1].configs));
    assert!(!Arc::ptr_eq(&frames[1].configs, &frames[2].configs));
    assert_eq!(frames[2].configs.video.as_ref().unwrap().width, 640);
}

#[tokio::test(flavor = "current_thread")]
async fn a_waiting_viewer_wakes_when_a_frame_arrives() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/o", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    let reader = tokio::spawn(async move { viewer.read(10).await });
    tokio::task::yield_now().await;
    assert!(!reader.is_finished());
    push_video(&publisher, 0, 1, 10);
    let batch = reader.await.unwrap();
    assert_eq!(batch.frames.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_waiting_viewer_wakes_when_the_content_ends() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/p", Instant::now()).unwrap();
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    let reader = tokio::spawn(async move { viewer.read(10).await });
    tokio::task::yield_now().await;
    publisher.finish();
    assert!(reader.await.unwrap().ended);
}

#[test]
fn new_contents_are_announced_once_and_returning_publishers_are_not() {
    let reg = registry(ContentLimits::default());
    let mut announcements = reg.announcements();
    let first = reg.publish("live/q", Instant::now()).unwrap();
    let announced = announcements.try_recv().unwrap();
    assert!(Arc::ptr_eq(&announced, first.content()));
    drop(first);
    let _again = reg.publish("live/q", Instant::now()).unwrap();
    assert!(
        announcements.try_recv().is_err(),
        "a reconnect is the same content"
    );
}

#[test]
fn internal_readers_are_not_viewers() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/r", Instant::now()).unwrap();
    let stats = &publisher.content().stats;
    let _packager = publisher.content().subscribe(Protocol::Internal);
    let _viewer = publisher.content().subscribe(Protocol::Rtmp);
    assert_eq!(stats.total_viewers(), 1);
    assert_eq!(stats.viewers(Protocol::Internal), 1);
    assert!(!Protocol::ALL.contains(&Protocol::Internal));
    stats.set_viewers(Protocol::Hls, 7);
    assert_eq!(stats.total_viewers(), 8);
}

/// The wake-up is one `Notify` for all readers plus an atomic head: a reader
/// that looks, finds nothing, then sleeps must never miss an append made on
/// another thread in between. Many readers, a publisher on its own OS
/// thread, one group (so nobody lags): each reader must see every frame, in
/// order, then the end, and none may hang.
#[tokio::test(flavor = "current_thread")]
async fn many_waiting_viewers_see_every_frame_from_a_racing_publisher() {
    const FRAMES: u64 = 3000;
    const VIEWERS: usize = 40;
    let reg = registry(ContentLimits {
        max_groups: 3,
        max_bytes: 64 * 1024 * 1024,
        ..ContentLimits::default()
    });
    let publisher = reg.publish("live/race", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    push_video(&publisher, 0, 1, i64::MAX); // the only keyframe
    let readers: Vec<_> = (0..VIEWERS)
        .map(|_| {
            let mut viewer = publisher.content().subscribe(Protocol::Rtmp);
            tokio::spawn(async move {
                let mut batch = avrs_core::live::ReadBatch::default();
                let mut seen = Vec::new();
                loop {
                    viewer.try_read_into(7, &mut batch);
                    assert_eq!(batch.skipped, 0);
                    seen.extend(batch.frames.iter().map(|f| f.seq));
                    if batch.ended {
                        return seen;
                    }
                    if batch.frames.is_empty() {
                        viewer.wait().await;
                    }
                }
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let feeder = std::thread::spawn(move || {
        for n in 1..FRAMES as i64 {
            publisher.push(video(n, false), Instant::now()).unwrap();
            if n % 50 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        publisher.finish();
    });
    for reader in readers {
        let seen = tokio::time::timeout(Duration::from_secs(20), reader)
            .await
            .expect("a reader missed a wake-up")
            .unwrap();
        assert_eq!(seen, (0..FRAMES).collect::<Vec<_>>());
    }
    feeder.join().unwrap();
}

#[test]
fn try_read_into_resets_the_batch_and_keeps_its_capacity() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/reuse", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    push_video(&publisher, 0, 5, 10);
    let mut slow = publisher.content().subscribe(Protocol::Rtmp);
    let mut batch = avrs_core::live::ReadBatch::default();
    slow.try_read_into(100, &mut batch);
    assert_eq!(batch.frames.len(), 5);
    let capacity = batch.frames.capacity();
    // Two more groups: the reader is now a whole group behind and skips.
    push_video(&publisher, 5, 25, 10);
    slow.try_read_into(100, &mut batch);
    assert_eq!(batch.skipped, 15);
    assert_eq!(batch.frames[0].seq, 20);
    slow.try_read_into(100, &mut batch);
    assert!(batch.frames.is_empty());
    assert_eq!(batch.skipped, 0);
    assert!(!batch.ended);
    assert!(batch.frames.capacity() >= capacity);
}

#[tokio::test(flavor = "current_thread")]
async fn wait_returns_at_once_when_frames_are_already_there() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/ready", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    assert!(viewer.try_read(10).frames.is_empty());
    push_video(&publisher, 0, 2, 10);
    // No task switch needed: the head already moved past what it saw.
    tokio::time::timeout(Duration::from_millis(100), viewer.wait())
        .await
        .expect("wait must not sleep when frames are ready");
    assert_eq!(viewer.try_read(10).frames.len(), 2);
}

#[test]
fn a_relayed_frame_keeps_what_its_origin_signed() {
    use avrs_core::live::Upstream;
    use avrs_proto::avrs::quic::ContentOrigin;
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/relayed", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    assert_eq!(publisher.content().upstream_origin(), None, "nothing yet");
    let origin = Arc::new(ContentOrigin {
        content: avrs_proto::Guuid::new(9, 9),
        algorithm: 0x0A01,
        public_key: vec![7; 32],
    });
    let upstream = Upstream {
        origin: origin.clone(),
        seq: 1234,
        dts: 99_000,
        pts: 99_000,
        discontinuity: false,
        signature: Bytes::from_static(b"origin signature"),
        sealed: true,
    };
    let mut viewer = publisher.content().subscribe(Protocol::Native);
    publisher
        .push_relayed(video(0, true), upstream.clone(), Instant::now())
        .unwrap();
    let frame = &viewer.try_read(10).frames[0];
    assert_eq!(frame.seq, 0, "the relay's own position");
    assert_eq!(
        frame.upstream.as_ref(),
        Some(&upstream),
        "the origin's, kept"
    );
    assert_eq!(publisher.content().upstream_origin(), Some(origin));
    assert!(publisher.content().is_sealed(), "relayed sealed frames");
    // A frame this node ingests itself carries no upstream.
    publisher.push(video(1, false), Instant::now()).unwrap();
    assert_eq!(publisher.content().upstream_origin(), None);
    assert!(!publisher.content().is_sealed());
}

#[test]
fn a_local_publisher_takes_over_from_a_relay_of_the_same_name() {
    let reg = registry(ContentLimits::default());
    let relay = reg.publish_relayed("live/moved", Instant::now()).unwrap();
    relay.set_configs(video_configs());
    let id = relay.content().id();
    let mut viewer = relay.content().subscribe(Protocol::HttpFlv);
    push_video(&relay, 0, 10, 10);
    // A relay never takes over from a writer.
    assert!(matches!(
        reg.publish_relayed("live/moved", Instant::now()),
        Err(PublishError::Busy(_))
    ));

    // The publisher moved here: it takes the content, same id, and the
    // relay can no longer write, orphan or end it.
    let local = reg.publish("live/moved", Instant::now()).unwrap();
    assert_eq!(local.content().id(), id, "the same content goes on");
    assert!(matches!(
        relay.push(video(10, false), Instant::now()),
        Err(PushError::TakenOver)
    ));
    relay.set_configs(TrackConfigs::default());
    assert_eq!(*local.content().configs(), video_configs(), "configs kept");
    relay.finish();
    assert!(local.content().is_publishing() && !local.content().is_ended());
    assert!(reg.get("live/moved").is_some());
    push_video(&local, 0, 10, 10); // its own times, from 0
    let frames = viewer.try_read(usize::MAX).frames;
    assert_eq!(frames.len(), 20);
    assert!(
        frames[10].discontinuity,
        "one discontinuity at the take-over"
    );
    let dts: Vec<i64> = frames.iter().map(|f| f.media.dts).collect();
    assert!(dts.windows(2).all(|w| w[0] < w[1]), "monotonic: {dts:?}");
    let reconnects = &local.content().stats.publisher_reconnects;
    assert_eq!(reconnects.load(Ordering::Relaxed), 1);
    // Nobody takes over from a local publisher.
    assert!(matches!(
        reg.publish("live/moved", Instant::now()),
        Err(PublishError::Busy(_))
    ));
    assert!(matches!(
        reg.publish_relayed("live/moved", Instant::now()),
        Err(PublishError::Busy(_))
    ));
}

/// A driver merging writes waits on `wait_group_start` with its timer: it
/// must sleep through frames inside the group and wake when the next
/// group starts, so a merge window longer than a group never makes a
/// viewer skip.
#[tokio::test(flavor = "current_thread")]
async fn a_merging_viewer_wakes_when_a_group_starts_and_not_before() {
    let reg = registry(ContentLimits::default());
    let publisher = reg.publish("live/merge", Instant::now()).unwrap();
    publisher.set_configs(video_configs());
    push_video(&publisher, 0, 3, 10); // keyframe 0, then 1 and 2
    let mut viewer = publisher.content().subscribe(Protocol::Rtmp);
    assert_eq!(viewer.try_read(100).frames.len(), 3);
    let waiter = tokio::spawn(async move {
        viewer.wait_group_start().await;
        viewer
    });
    tokio::task::yield_now().await;
    push_video(&publisher, 3, 7, 10); // 3..=9: same group
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished(), "no group started yet");
    push_video(&publisher, 10, 2, 10); // 10 is a keyframe
    let mut viewer = waiter.await.unwrap();
    let batch = viewer.try_read(100);
    assert_eq!(batch.skipped, 0, "the group's tail is still there");
    assert_eq!(batch.frames.len(), 9);
    assert_eq!(batch.frames[0].seq, 3);

    // And the end wakes it too.
    let waiter = tokio::spawn(async move { viewer.wait_group_start().await });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    publisher.finish();
    waiter.await.unwrap();
}
