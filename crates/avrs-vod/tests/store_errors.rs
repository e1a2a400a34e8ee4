//! A full disk or a failing store in the middle of a recording or an
//! import: the recording stops with an error naming the cause and keeps
//! what was stored; an import leaves nothing; both work again once the
//! store has room.

mod common;

use async_trait::async_trait;
use avrs_vod::{ImportMeta, Library, Recorder, VodError};
use common::{config, looped};
use futures_util::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// An in-memory store whose disk fills up after `room` more puts.
#[derive(Debug)]
struct FillingStore {
    inner: InMemory,
    room: AtomicUsize,
}

impl FillingStore {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: InMemory::new(),
            room: AtomicUsize::new(usize::MAX),
        })
    }

    /// Room for `puts` more objects, then ENOSPC.
    fn fill_after(&self, puts: usize) {
        self.room.store(puts, Ordering::SeqCst);
    }

    async fn object_count(&self) -> usize {
        use futures_util::StreamExt;
        self.inner.list(None).count().await
    }
}

impl std::fmt::Display for FillingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FillingStore")
    }
}

#[async_trait]
impl ObjectStore for FillingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let taken = self
            .room
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if taken.is_err() {
            return Err(object_store::Error::Generic {
                store: "FillingStore",
                source: Box::new(std::io::Error::from_raw_os_error(28)), // ENOSPC
            });
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

async fn open(dir: &std::path::Path, store: Arc<FillingStore>) -> Arc<Library> {
    let (library, _) = Library::open_with_store(dir, config(), 1, store, "memory://test")
        .await
        .expect("library opens");
    library
}

#[tokio::test]
async fn a_full_store_stops_the_recording_and_keeps_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = FillingStore::new();
    let library = open(dir.path(), store.clone()).await;
    // Room for the init segment and two media segments.
    store.fill_after(3);
    let mut recorder = Recorder::new(library.clone(), "live/full", Duration::from_secs(60));
    let stream = looped(5);
    let mut failure = None;
    for frame in &stream.frames {
        let pushed = recorder
            .push(frame, stream.video.as_ref(), stream.audio.as_ref(), false)
            .await;
        if let Err(err) = pushed {
            failure = Some(err);
            break;
        }
    }
    let err = failure.expect("the third segment does not fit");
    assert!(matches!(err, VodError::Store { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("seg2.m4s")
            && message.contains("memory://test")
            && message.contains("No space left on device"),
        "the error names the object, the store and the cause: {message}"
    );
    // Stopped: later frames are refused, not half-recorded.
    let later = recorder
        .push(
            &stream.frames[stream.frames.len() - 1],
            stream.video.as_ref(),
            stream.audio.as_ref(),
            false,
        )
        .await;
    assert!(later.is_err());

    let id = recorder.id();
    let item = recorder.finish().await.unwrap().expect("kept as a content");
    assert!(item.partial);
    assert_eq!(item.renditions[0].segments.len(), 2);
    assert!((item.duration_seconds() - 2.0).abs() < 0.1);
    assert_eq!(library.list().unwrap(), vec![item]);
    let playlist = library.media_playlist(id).unwrap();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{playlist}");
    for name in ["init0.mp4", "seg0.m4s", "seg1.m4s"] {
        library.read_object(id, name).await.unwrap();
    }

    // Space is back: the next recording is whole.
    store.fill_after(usize::MAX);
    let mut recorder = Recorder::new(library.clone(), "live/full", Duration::from_secs(60));
    let stream = looped(3);
    for frame in &stream.frames {
        recorder
            .push(frame, stream.video.as_ref(), stream.audio.as_ref(), false)
            .await
            .unwrap();
    }
    let item = recorder.finish().await.unwrap().unwrap();
    assert!(!item.partial);
    assert!((item.duration_seconds() - 3.0).abs() < 0.1);
    assert_eq!(library.list().unwrap().len(), 2);
}

#[tokio::test]
async fn a_store_error_during_an_import_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FillingStore::new();
    let library = open(dir.path(), store.clone()).await;
    store.fill_after(3);
    let err = library
        .import(looped(5), ImportMeta::default(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        !err.is_bad_input(),
        "a server failure, not the file's fault"
    );
    assert!(err.to_string().contains("No space left on device"), "{err}");
    assert!(library.list().unwrap().is_empty());
    assert_eq!(store.object_count().await, 0, "stored objects were removed");

    store.fill_after(usize::MAX);
    let item = library
        .import(looped(5), ImportMeta::default(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(library.list().unwrap(), vec![item]);
}
