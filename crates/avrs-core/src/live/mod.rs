//! Live contents: the registry of names, each content's frame window, and the
//! subscribers that read it.
//!
//! Data flows one way: a [`Publisher`] appends [`MediaFrame`]s to its
//! [`LiveContent`]; every [`Subscriber`] holds a cursor into the same
//! `Arc`-shared frames. Output formats cache their encoding of a frame in the
//! frame itself ([`LiveFrame::encoded`]), so each message's bytes are made
//! once for all viewers of that format.
//!
//! [`MediaFrame`]: avrs_media::MediaFrame

mod content;
mod frame;
mod hooks;
mod registry;
mod subscriber;

pub use content::{ContentLimits, ContentStats, LiveContent, Protocol};
pub use frame::{Encoding, LiveFrame, TrackConfigs, Upstream};
pub use hooks::{ContentHook, FrameVerdict};
pub use registry::{ContentRegistry, PublishError, Publisher, PushError};
pub use subscriber::{ReadBatch, Subscriber};
