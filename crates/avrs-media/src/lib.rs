//! Sans-IO media handling for avrs: parsing what publishers send and writing
//! what players read. No sockets, no runtime.

pub mod frame;

pub use frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig, TIMESCALE};
