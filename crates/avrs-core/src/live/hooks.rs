//! Content hooks: code registered by an embedder that sees every inbound
//! frame of every live content and may refuse it (S6 of the design).

use super::content::LiveContent;
use avrs_media::MediaFrame;

/// What a hook decides about one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameVerdict {
    Accept,
    /// Drop this frame; the publisher stays connected. The text is logged and
    /// returned to the ingest driver.
    Reject(String),
}

/// A callback over inbound frames. Hooks run on the publisher's task, in
/// registration order, before the frame is visible to any viewer: keep them
/// quick.
pub trait ContentHook: Send + Sync {
    fn on_frame(&self, content: &LiveContent, frame: &MediaFrame) -> FrameVerdict;
}

impl<F> ContentHook for F
where
    F: Fn(&LiveContent, &MediaFrame) -> FrameVerdict + Send + Sync,
{
    fn on_frame(&self, content: &LiveContent, frame: &MediaFrame) -> FrameVerdict {
        self(content, frame)
    }
}
