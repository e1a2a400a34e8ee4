//! Sans-IO AVRS wire formats. Nothing here opens a socket or needs an async
//! runtime: every function takes bytes and returns values, or the reverse.
//!
//! - [`tsd`]: the `type | size | data` items that carry arguments.
//! - [`ids`]: GUUIDs and 32-byte hashes.
//! - [`avrs`]: the sub-packets of channel `'A'` (cluster, session, content,
//!   return code), roles, return codes and every numeric code as a type.
//! - [`dap`]: the DAP stream framing (37-byte packet header, 16-byte channel
//!   header, fragments, keepalive) as a codec.
//!
//! All multi-byte integers are little-endian and every layout is packed, as
//! in `docs/protocol.md`.

pub mod avrs;
pub mod dap;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod tsd;

pub use error::{ProtoError, Result};
pub use ids::{Guuid, Hash32};
