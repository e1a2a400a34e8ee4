//! The library's guarantees on real media (the avrs-media FLV fixture:
//! 1 s of 720p30 H.264 + AAC, keyframes every 15 frames).

mod common;

use avrs_media::demux::Demuxed;
use avrs_vod::{ImportMeta, Library, Recorder, VodConfig, VodError, VodId};
use common::{FIXTURE, config, looped};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

async fn open(dir: &Path, config: VodConfig) -> (Arc<Library>, avrs_vod::Recovery) {
    Library::open(dir, config, 1).await.expect("library opens")
}

fn object_dirs(dir: &Path) -> Vec<String> {
    let objects = dir.join("vod/objects");
    let mut names: Vec<String> = std::fs::read_dir(objects)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn import_lists_plays_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let mut last = None;
    let meta = ImportMeta {
        title: Some("Test card".into()),
        ..ImportMeta::default()
    };
    let item = library
        .import(looped(4), meta, &mut |p| last = Some(p))
        .await
        .unwrap();
    assert_eq!(item.title, "Test card");
    assert!(
        (item.duration_seconds() - 4.0).abs() < 0.1,
        "{}",
        item.duration_seconds()
    );
    let progress = last.unwrap();
    assert_eq!(progress.done, progress.total);
    let segments = &item.renditions[0].segments;
    assert!(segments.len() >= 3, "{segments:?}");
    let playlist = library.media_playlist(item.id).unwrap();
    assert!(
        playlist.contains("#EXT-X-PLAYLIST-TYPE:VOD") && playlist.ends_with("#EXT-X-ENDLIST\n"),
        "{playlist}"
    );
    assert!(playlist.contains("#EXT-X-MAP:URI=\"init0.mp4\""));
    let master = library.master_playlist(item.id).unwrap();
    assert!(
        master.contains("RESOLUTION=1280x720") && master.contains("mp4a.40.2"),
        "{master}"
    );
    let init = library.read_object(item.id, "init0.mp4").await.unwrap();
    assert_eq!(&init[4..8], b"ftyp");
    let seg = library.read_object(item.id, "seg1.m4s").await.unwrap();
    assert_eq!(&seg[4..8], b"moof");
    assert!(matches!(
        library.read_object(item.id, "meta.json").await,
        Err(VodError::NotFound(_))
    ));
    assert_eq!(library.segments_from(item.id, 150_000).unwrap()[0].seq, 1);
    drop(library);
    let (library, recovery) = open(dir.path(), config()).await;
    assert_eq!(recovery, avrs_vod::Recovery::default());
    assert_eq!(library.list().unwrap(), vec![item.clone()]);
    library.delete(item.id).await.unwrap();
    assert!(library.list().unwrap().is_empty());
    assert!(object_dirs(dir.path()).is_empty());
    assert!(matches!(
        library.delete(item.id).await,
        Err(VodError::NotFound(_))
    ));
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let cases: [(&[u8], &str); 3] = [
        (b"this is not a media file at all", "unknown first bytes"),
        (&FIXTURE[..FIXTURE.len() / 3], "truncated"),
        (&FIXTURE[..9], ""),
    ];
    for (bytes, reason) in cases {
        let err = library
            .import_bytes(bytes, ImportMeta::default(), &mut |_| {})
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(err.is_bad_input(), "{message}");
        assert!(
            message.starts_with("cannot import this file:") && message.contains(reason),
            "{message}"
        );
    }
    assert!(library.list().unwrap().is_empty());
    assert!(object_dirs(dir.path()).is_empty());
    let small = VodConfig {
        max_upload_size: 1 << 20,
        ..config()
    };
    drop(library);
    let (library, _) = open(dir.path(), small).await;
    let big = vec![0u8; (1 << 20) + 1];
    let err = library
        .import_bytes(&big, ImportMeta::default(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("limit (max_upload_size)"), "{err}");
}

#[tokio::test]
async fn orphans_of_an_interrupted_import_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let kept = library
        .import(looped(1), ImportMeta::default(), &mut |_| {})
        .await
        .unwrap();
    drop(library);
    // What a crash between the objects and the row leaves.
    let orphan = VodId::new(1);
    let orphan_dir = dir.path().join(format!("vod/objects/{orphan}"));
    std::fs::create_dir_all(&orphan_dir).unwrap();
    std::fs::write(orphan_dir.join("seg0.m4s"), b"half").unwrap();
    std::fs::write(dir.path().join("vod/objects/not-an-id.txt"), b"left alone").unwrap();
    let (library, recovery) = open(dir.path(), config()).await;
    assert_eq!(recovery.orphans_removed, vec![orphan]);
    assert_eq!(library.list().unwrap().len(), 1);
    assert!(matches!(
        library.media_playlist(orphan),
        Err(VodError::NotFound(_))
    ));
    assert_eq!(
        object_dirs(dir.path()),
        vec![kept.id.to_string(), "not-an-id.txt".to_owned()]
    );
}

#[tokio::test]
async fn a_second_opener_is_told_the_library_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let (_library, _) = open(dir.path(), config()).await;
    let err = Library::open(dir.path(), config(), 1).await.unwrap_err();
    assert!(matches!(err, VodError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("--server"), "{err}");
}

/// Feeds a recorder as a live stream would.
async fn record(recorder: &mut Recorder, demuxed: &Demuxed) {
    for frame in &demuxed.frames {
        recorder
            .push(frame, demuxed.video.as_ref(), demuxed.audio.as_ref(), false)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_finished_recording_becomes_a_content_with_a_dvr_playlist_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let mut recorder = Recorder::new(library.clone(), "live/show", Duration::from_secs(2));
    let mut stream = looped(5);
    for frame in &mut stream.frames {
        // A live stream does not start at 0.
        frame.dts += 1_000_000;
        frame.pts += 1_000_000;
    }
    record(&mut recorder, &stream).await;
    let id = recorder.id();
    let dvr = library.media_playlist(id).unwrap();
    assert!(
        !dvr.contains("#EXT-X-ENDLIST") && dvr.contains("#EXT-X-MEDIA-SEQUENCE:"),
        "{dvr}"
    );
    assert!(
        !dvr.contains("seg0.m4s"),
        "the 2 s window dropped the first segment: {dvr}"
    );
    assert_eq!(library.recordings().unwrap().len(), 1);
    assert!(library.list().unwrap().is_empty());
    let item = recorder.finish().await.unwrap().unwrap();
    assert!(!item.partial);
    assert!(
        (item.duration_seconds() - 5.0).abs() < 0.1,
        "{}",
        item.duration_seconds()
    );
    assert_eq!(library.list().unwrap(), vec![item.clone()]);
    assert!(library.recordings().unwrap().is_empty());
    assert!(
        library
            .media_playlist(id)
            .unwrap()
            .ends_with("#EXT-X-ENDLIST\n")
    );
}

#[tokio::test]
async fn a_crashed_recording_is_kept_up_to_its_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let mut recorder = Recorder::new(library.clone(), "live/crash", Duration::from_secs(60));
    record(&mut recorder, &looped(4)).await;
    let id = recorder.id();
    let journaled = library
        .media_playlist(id)
        .unwrap()
        .matches("#EXTINF")
        .count();
    assert!(journaled >= 2, "segments were journaled before the crash");
    // The process dies: no finish, the open segment is lost.
    drop(recorder);
    drop(library);
    let (library, recovery) = open(dir.path(), config()).await;
    assert_eq!(recovery.recovered, vec![id]);
    let item = library.get(id).unwrap();
    assert!(item.partial);
    assert_eq!(item.renditions[0].segments.len(), journaled);
    assert!(
        item.duration_seconds() >= 2.0 && item.duration_seconds() < 4.0,
        "{}",
        item.duration_seconds()
    );
    assert!(
        library
            .media_playlist(id)
            .unwrap()
            .ends_with("#EXT-X-ENDLIST\n")
    );
    library
        .read_object(id, &format!("seg{}.m4s", journaled - 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_recording_without_frames_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let recorder = Recorder::new(library.clone(), "live/empty", Duration::from_secs(60));
    assert!(recorder.finish().await.unwrap().is_none());
    assert!(library.list().unwrap().is_empty());
    assert!(object_dirs(dir.path()).is_empty());
}

#[tokio::test]
async fn retention_removes_old_and_oversized_contents_per_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[record.short]\npattern = live/short*\nmax_age = 1h\n\
                [record.small]\npattern = import\nrecord = no\nmax_size = 1B\n";
    let ini = avrs_config::Config::from_str_named(text, "avrs.ini").unwrap();
    let mut vod = VodConfig::from_config(&ini).unwrap();
    vod.segment_target = Duration::from_secs(1);
    let (library, _) = open(dir.path(), vod).await;
    let mut ids = Vec::new();
    for name in ["live/short-1", "import", "import", "other"] {
        let meta = ImportMeta {
            name: Some(name.into()),
            ..ImportMeta::default()
        };
        ids.push(
            library
                .import(looped(1), meta, &mut |_| {})
                .await
                .unwrap()
                .id,
        );
    }
    let now = avrs_vod::VodItem::clone(&library.get(ids[0]).unwrap()).created_ms;
    // Now: nothing is an hour old; both imports exceed 1 byte together
    // and each alone, so both go.
    let removed = library.retention_sweep(now).await.unwrap();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(removed.contains(&ids[1]) && removed.contains(&ids[2]));
    // Two hours later the short recording is past its age too.
    let removed = library.retention_sweep(now + 2 * 3_600_000).await.unwrap();
    assert_eq!(removed, vec![ids[0]]);
    let left: Vec<VodId> = library.list().unwrap().iter().map(|i| i.id).collect();
    assert_eq!(left, vec![ids[3]], "no rule matches 'other'");
}

#[tokio::test]
async fn uploads_resume_at_their_offset_and_import_once_finished() {
    let dir = tempfile::tempdir().unwrap();
    let (library, _) = open(dir.path(), config()).await;
    let uploads = library.uploads();
    let id = uploads.create().unwrap();
    let half = FIXTURE.len() / 2;
    let chunk = |b: &'static [u8]| {
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b))])
    };
    assert_eq!(
        uploads
            .append(&id, 0, chunk(&FIXTURE[..half]))
            .await
            .unwrap(),
        half as u64
    );
    let wrong = uploads
        .append(&id, 0, chunk(&FIXTURE[half..]))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, VodError::OffsetMismatch { have, .. } if have == half as u64),
        "{wrong}"
    );
    assert_eq!(uploads.offset(&id).unwrap(), half as u64);
    uploads
        .append(&id, half as u64, chunk(&FIXTURE[half..]))
        .await
        .unwrap();
    let item = library
        .import_upload(&id, ImportMeta::default(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(library.get(item.id).unwrap().id, item.id);
    assert!(
        matches!(uploads.offset(&id), Err(VodError::NotFound(_))),
        "staged bytes removed"
    );
    assert!(matches!(
        uploads.offset("../../etc"),
        Err(VodError::BadId { .. })
    ));
    // A refused upload is removed too.
    let bad = uploads.create().unwrap();
    uploads
        .append(&bad, 0, chunk(b"garbage garbage"))
        .await
        .unwrap();
    assert!(
        library
            .import_upload(&bad, ImportMeta::default(), &mut |_| {})
            .await
            .is_err()
    );
    assert!(uploads.offset(&bad).is_err());
}
