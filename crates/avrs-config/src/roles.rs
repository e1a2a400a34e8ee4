//! Node roles come from `avrs_proto` (one definition for the wire and the
//! config); this module is the one place this crate names them.

pub use avrs_proto::avrs::roles::{Roles, RolesParseError};
