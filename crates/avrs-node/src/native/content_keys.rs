//! The keys of the ENCRYPTED contents this node seals, and their rotation.
//!
//! One key per content and epoch, made at the first authorised viewer and
//! shared by all (frames are sealed once). When a viewer's grant ends
//! (revoked or expired), the content moves to a new epoch: the new key is
//! sent at once to every session still watching, over its control stream,
//! and frames are sealed with it [`ROTATION_GRACE`] later, so the key
//! arrives before the first frame that needs it. The cut-off viewer holds
//! only the old key, which opens nothing sealed after the switch.

use avrs_crypto::ContentKey;
use avrs_proto::Guuid;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Between announcing a new key and sealing with it.
pub const ROTATION_GRACE: Duration = Duration::from_millis(250);

/// The key a content's frames are sealed with now.
#[derive(Debug)]
pub struct SealingKey {
    current: Mutex<Arc<ContentKey>>,
    /// The newest epoch announced (ahead of `current` during a grace).
    announced: AtomicU32,
}

impl SealingKey {
    fn new(key: ContentKey) -> Self {
        Self {
            announced: AtomicU32::new(key.epoch()),
            current: Mutex::new(Arc::new(key)),
        }
    }

    /// The key new frames are sealed with.
    pub fn current(&self) -> Arc<ContentKey> {
        self.lock().clone()
    }

    /// Seals with `key` from now on, unless a newer epoch already took over.
    fn switch_to(&self, key: Arc<ContentKey>) {
        let mut current = self.lock();
        if key.epoch() > current.epoch() {
            *current = key;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<ContentKey>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A content moved to a new key: every session watching it is sent `key`.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub content: Guuid,
    pub key: Arc<ContentKey>,
}

/// The key of every ENCRYPTED content this node serves.
#[derive(Debug)]
pub struct ContentKeys {
    keys: Mutex<HashMap<Guuid, Arc<SealingKey>>>,
    rotations: broadcast::Sender<Rotation>,
}

impl Default for ContentKeys {
    fn default() -> Self {
        Self {
            keys: Mutex::default(),
            rotations: broadcast::channel(64).0,
        }
    }
}

impl ContentKeys {
    /// The content's key, made (epoch 1, random) the first time. Making one
    /// forgets the keys of contents `is_live` no longer knows, so the map
    /// holds at most the live ENCRYPTED contents, however many came and
    /// went.
    pub fn key_for(
        &self,
        content: Guuid,
        is_live: impl Fn(Guuid) -> bool,
    ) -> anyhow::Result<Arc<SealingKey>> {
        let mut keys = self.lock();
        if let Some(key) = keys.get(&content) {
            return Ok(key.clone());
        }
        keys.retain(|id, _| is_live(*id));
        let key = Arc::new(SealingKey::new(ContentKey::generate(1)?));
        keys.insert(content, key.clone());
        Ok(key)
    }

    /// Rotations, for the sessions to pass on.
    pub fn subscribe(&self) -> broadcast::Receiver<Rotation> {
        self.rotations.subscribe()
    }

    /// Moves `content` to a new epoch with a fresh random key: announced to
    /// every subscribed session now, sealing with it after
    /// [`ROTATION_GRACE`]. `None` when the content has no key (not
    /// ENCRYPTED, or no viewer yet). Needs a tokio runtime.
    pub fn rotate(&self, content: Guuid) -> anyhow::Result<Option<Arc<ContentKey>>> {
        let Some(sealing) = self.lock().get(&content).cloned() else {
            return Ok(None);
        };
        let epoch = sealing.announced.fetch_add(1, Ordering::AcqRel) + 1;
        let key = Arc::new(ContentKey::generate(epoch)?);
        // No subscriber is not an error: nobody is left to tell.
        let _ = self.rotations.send(Rotation {
            content,
            key: key.clone(),
        });
        let switch = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ROTATION_GRACE).await;
            sealing.switch_to(switch);
        });
        tracing::info!(%content, epoch, "ENCRYPTED content: key rotated");
        Ok(Some(key))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Guuid, Arc<SealingKey>>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}
