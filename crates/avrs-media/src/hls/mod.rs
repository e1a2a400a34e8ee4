//! HLS and LL-HLS: a live packager that cuts CMAF parts and segments, the
//! playlists that list them, blocking-reload decisions, and a checker of the
//! rules playlists must follow.
//!
//! A server keeps one [`Packager`] per live stream, pushes every frame into
//! it, and serves from its [`Timeline`]:
//!
//! - `index.m3u8` (any name): [`media_playlist`] of the timeline, after
//!   [`reload_decision`] allows it for `_HLS_msn`/`_HLS_part` requests;
//! - `init{n}.mp4`, `seg{msn}.m4s`, `part{n}.m4s` (see [`names`]):
//!   [`Timeline::lookup`] of [`Resource::parse`] of the name.
//!
//! Everything is sans-IO: no clock and no socket. Times come from frames.

mod blocking;
pub mod check;
mod config;
pub mod names;
mod packager;
mod playlist;
mod seconds;
mod timeline;
mod vod;

pub use blocking::{ReloadDecision, ReloadRequest, is_ready, parse_reload_query, reload_decision};
pub use check::{
    PlaylistReport, Rule, Violation, check_continuity, check_media_playlist, inspect_media_playlist,
};
pub use config::PackagerConfig;
pub use names::Resource;
pub use packager::{Packager, Progress};
pub use playlist::{VERSION, media_playlist, plain_media_playlist};
pub use timeline::{Lookup, OpenSegment, Part, Segment, Timeline};
pub use vod::{Variant, VodSegment, multivariant_playlist, vod_playlist};
