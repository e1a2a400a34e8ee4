//! The model of an AVRS node, independent of any socket: live contents and
//! their fan-out to viewers, and the hooks that see every inbound packet.
//!
//! - [`live`]: one writer, many readers sharing the same bytes; a
//!   group-of-pictures cache so a new viewer starts at the latest keyframe;
//!   memory bounded per content; slow viewers skip ahead and never slow the
//!   publisher or each other.

pub mod live;
