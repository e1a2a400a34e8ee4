//! Video on demand for avrs.
//!
//! - [`Library`]: contents in an embedded database (redb,
//!   `DATA_DIR/vod/library.redb`) with their media in an object store
//!   (local files or S3) — open, list, get, delete, read objects, recover.
//! - Import ([`Library::import`]): a demuxed file remuxed into CMAF
//!   segments cut at keyframes; listed only once every object is stored.
//! - [`Recorder`]: a live stream recorded segment by segment, journaled so
//!   a crash keeps everything up to the last complete segment.
//! - Playlists: [`Library::media_playlist`], [`Library::master_playlist`].
//! - Retention ([`Library::retention_sweep`]) and resumable uploads
//!   ([`Uploads`]).
//! - [`VodConfig`]: the `[vod]` and `[record.NAME]` sections.
//!
//! Cutting ([`segmenter`]) and configuration are sans-IO; only the store
//! and file edges are async.

mod config;
mod db;
mod error;
pub mod frames;
mod id;
mod import;
mod library;
mod model;
mod playlist;
mod recorder;
mod retention;
mod segment_cache;
pub mod segmenter;
mod store;
pub mod units;
mod upload;

pub use config::{RecordRule, S3Config, StoreConfig, VodConfig};
pub use db::RecordingHeader;
pub use error::{Result, VodError};
pub use id::VodId;
pub use import::ImportProgress;
pub use library::{Library, Recovery};
pub use model::{AudioInfo, ImportMeta, Origin, Rendition, SegmentInfo, VideoInfo, VodItem};
pub use recorder::Recorder;
pub use upload::Uploads;
