//! Requests that wait for the packager: blocking playlist reloads
//! (RFC 8216bis §6.2.5.2), the part named by EXT-X-PRELOAD-HINT (§6.2.6),
//! and a first playlist before the stream has a complete segment.
//!
//! Each waits on the stream's snapshot channel, re-deciding at every
//! publication, for at most three target durations.

use super::{HlsStream, Snapshot};
use avrs_media::hls::{Lookup, ReloadDecision, ReloadRequest, Resource, reload_decision};
use bytes::Bytes;
use std::sync::Arc;
use tokio::time::Instant;

/// The answer to a playlist request.
#[derive(Debug)]
pub enum PlaylistReply {
    /// Serve this state's playlist.
    Ready(Arc<Snapshot>),
    /// `_HLS_msn`/`_HLS_part` too far ahead of the stream: 400 at once.
    TooFar,
    /// Not ready within three target durations: 503.
    TimedOut,
    /// The stream went away while the request waited.
    Closed,
}

/// The answer to a request for an init segment, segment or part.
#[derive(Debug)]
pub enum ResourceReply {
    /// The bytes, in shared pieces (a segment is its parts).
    Ready(Vec<Bytes>),
    NotFound,
    /// The hinted part did not appear within three target durations.
    TimedOut,
    Closed,
}

enum Held {
    TimedOut,
    Closed,
}

impl HlsStream {
    /// The playlist, once it satisfies `request` (or, without one, once the
    /// stream has something a player can start from).
    pub async fn playlist(&self, request: Option<ReloadRequest>) -> PlaylistReply {
        let decided = self
            .wait_for(|snapshot| {
                let snapshot = snapshot?;
                let Some(request) = request else {
                    return snapshot
                        .can_start()
                        .then(|| PlaylistReply::Ready(snapshot.clone()));
                };
                match reload_decision(snapshot.timeline(), request) {
                    ReloadDecision::Ready => Some(PlaylistReply::Ready(snapshot.clone())),
                    ReloadDecision::TooFar => Some(PlaylistReply::TooFar),
                    ReloadDecision::Wait => None,
                }
            })
            .await;
        decided.unwrap_or_else(|held| match held {
            Held::TimedOut => PlaylistReply::TimedOut,
            Held::Closed => PlaylistReply::Closed,
        })
    }

    /// An init segment, segment or part; the hinted next part is waited for.
    pub async fn resource(&self, resource: Resource) -> ResourceReply {
        let decided = self
            .wait_for(|snapshot| {
                let Some(snapshot) = snapshot else {
                    // Nothing published: no playlist has named anything.
                    return Some(ResourceReply::NotFound);
                };
                match snapshot.timeline().lookup(resource) {
                    Lookup::Ready(body) => Some(ResourceReply::Ready(body)),
                    Lookup::NotFound => Some(ResourceReply::NotFound),
                    Lookup::Pending => None,
                }
            })
            .await;
        decided.unwrap_or_else(|held| match held {
            Held::TimedOut => ResourceReply::TimedOut,
            Held::Closed => ResourceReply::Closed,
        })
    }

    /// Calls `decide` with the newest snapshot now and after every
    /// publication until it answers, for at most the hold limit.
    async fn wait_for<R>(
        &self,
        mut decide: impl FnMut(Option<&Arc<Snapshot>>) -> Option<R>,
    ) -> Result<R, Held> {
        let mut snapshots = self.snapshots.clone();
        let deadline = Instant::now() + self.hold_limit;
        loop {
            // Cloned out so `decide` never runs under the channel's lock.
            let snapshot = snapshots.borrow_and_update().clone();
            if let Some(answer) = decide(snapshot.as_ref()) {
                return Ok(answer);
            }
            match tokio::time::timeout_at(deadline, snapshots.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Held::Closed),
                Err(_) => return Err(Held::TimedOut),
            }
        }
    }
}
