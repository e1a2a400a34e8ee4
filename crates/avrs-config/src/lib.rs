//! The avrs configuration: the `[avrs]` section of an INI file, typed and
//! validated, with command-line overrides laid on top.
//!
//! ```
//! use avrs_config::{Config, ConfigOverrides};
//!
//! let text = "[avrs]\nrole = server\nmax_connections = 500\n";
//! let config = Config::from_str_named(text, "avrs.ini").unwrap();
//! assert_eq!(config.max_connections, 500);
//!
//! let flags = ConfigOverrides { max_connections: Some("lots".into()), ..Default::default() };
//! let error = config.with_overrides(&flags).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "--max-connections: expected a whole number from 1 to 1000000, got 'lots'"
//! );
//! ```
//!
//! - [`ini`]: the INI reader (it keeps line numbers, which `rust-ini` does not).
//! - [`Config`]: the typed section, its defaults, [`Config::load`] and
//!   [`Config::to_ini`].
//! - [`ConfigOverrides`]: values from flags.
//! - [`ConfigError`]: every error names the file and line (or the flag), the
//!   key, and what was expected.
//!
//! Nothing here starts threads or opens sockets; only [`Config::load`] reads
//! a file.

mod apply;
mod config;
mod error;
pub mod ini;
mod keys;
mod overrides;
mod render;
mod roles;
mod value;

#[cfg(test)]
mod tests;

pub use apply::{EXTENSION_PREFIXES, RESERVED_SECTIONS, SECTION, is_extension_section};
pub use config::{
    Config, DEFAULT_CLUSTER_NAME, DEFAULT_HTTPS_PORT, DEFAULT_RTMP_WRITE_COALESCE,
    DEFAULT_RTMPS_PORT, ExtensionSection,
};
pub use error::{ConfigError, Origin};
pub use keys::Key;
pub use overrides::ConfigOverrides;
pub use roles::Roles;
pub use value::{ClusterId, Host, HostPort, MediaFormat};
