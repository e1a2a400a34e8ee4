//! Setting `Config` fields from text, with the range of every key. Files
//! and command-line overrides go through the same [`Config::set`], so both
//! follow the same rules.

use crate::config::{Config, ExtensionSection};
use crate::error::{ConfigError, Origin, shown};
use crate::ini::{Document, Section};
use crate::keys::Key;
use crate::roles::Roles;
use crate::value::{
    Problem, Range, bitrate, boolean, byte_size, cluster_id, duration, file_path, format_list,
    host_port, listen_address, whole_number,
};
use std::path::Path;

/// The one section avrs reads.
pub const SECTION: &str = "avrs";

/// Sections owned by other layers: kept raw in [`Config::extensions`] and
/// validated by the crate that reads them (`[auth]`, `[vod]`, `[record]`,
/// `[cluster]`), plus any section whose name starts with one of
/// [`EXTENSION_PREFIXES`] (`[policy.NAME]`, `[record.NAME]`). Any other
/// section is an error, so a typo in a header is not ignored.
pub const RESERVED_SECTIONS: [&str; 4] = ["auth", "vod", "record", "cluster"];

/// Name prefixes of repeatable extension sections.
pub const EXTENSION_PREFIXES: [&str; 2] = ["policy.", "record."];

/// Whether a section of this name is kept for another layer.
pub fn is_extension_section(name: &str) -> bool {
    RESERVED_SECTIONS.contains(&name)
        || EXTENSION_PREFIXES
            .iter()
            .any(|prefix| name.len() > prefix.len() && name.starts_with(prefix))
}

pub(crate) const MAX_CONNECTIONS: (u64, u64) = (1, 1_000_000);
pub(crate) const THREAD_POOL_SIZE: (u64, u64) = (0, 1024);

pub(crate) const BUFFER_SIZE: Range = Range {
    min: 4 * 1024,
    max: 64 * 1024 * 1024,
    expected: "a size from 4 KiB to 64 MiB: bytes, or a number with k/KiB or M/MiB \
               (1024-based), such as 65536, 64k or 1MiB",
};

pub(crate) const MAX_BITRATE: Range = Range {
    min: 1_000,
    max: 100_000_000_000,
    expected: "a bit rate from 1 kbit/s to 100 Gbit/s: bits per second, or a number \
               with k, M or G (1000-based), such as 2500k, 10M or 10Mbit",
};

pub(crate) const HEARTBEAT_INTERVAL: Range = Range {
    min: 100,
    max: 3_600_000,
    expected: "a duration from 100ms to 1h: seconds, or a number with ms, s, m or h, \
               such as 500ms, 30s or 2m",
};

pub(crate) const RECONNECT_TIMEOUT: Range = Range {
    min: 0,
    max: 86_400_000,
    expected: "a duration from 0s to 24h: seconds, or a number with ms, s, m or h, \
               such as 500ms, 30s or 2m",
};

pub(crate) const RTMP_WRITE_COALESCE: Range = Range {
    min: 0,
    max: 1_000,
    expected: "a duration from 0ms to 1s, such as 0, 20ms or 50ms",
};

pub(crate) const QUIC_MAX_MTU: Range = Range {
    min: 1200,
    max: 65_527,
    expected: "a UDP payload size in bytes from 1200 to 65527, such as 1452 or 8952",
};

const ROLES_EXPECTED: &str = "at least one role: names from client, host, operator, server, \
     balancer, all, separated by commas, or a hex mask such as 0x0102";

impl Config {
    /// Applies every entry of the file, in file order.
    pub(crate) fn apply_document(
        &mut self,
        document: &Document,
        file: &str,
        base: &Path,
    ) -> Result<(), ConfigError> {
        for section in &document.sections {
            if section.name == SECTION {
                self.apply_section(section, file, base)?;
            } else if is_extension_section(&section.name) {
                self.extensions.push(ExtensionSection {
                    file: file.to_owned(),
                    section: section.clone(),
                });
            } else {
                return Err(ConfigError::UnknownSection {
                    file: file.to_owned(),
                    line: section.line,
                    section: shown(&section.name),
                });
            }
        }
        Ok(())
    }

    fn apply_section(
        &mut self,
        section: &Section,
        file: &str,
        base: &Path,
    ) -> Result<(), ConfigError> {
        for entry in &section.entries {
            let Some(key) = Key::from_name(&entry.key) else {
                return Err(ConfigError::UnknownKey {
                    file: file.to_owned(),
                    line: entry.line,
                    key: shown(&entry.key),
                    suggestion: Key::suggest(&entry.key),
                });
            };
            let origin = || Origin::Line {
                file: file.to_owned(),
                line: entry.line,
            };
            self.set(key, &entry.value, base)
                .map_err(|problem| invalid(origin(), key, &entry.value, problem))?;
        }
        Ok(())
    }

    /// Sets `key` from `text`. Relative paths are joined to `base`.
    pub(crate) fn set(&mut self, key: Key, text: &str, base: &Path) -> Result<(), Problem> {
        match key {
            Key::Role => self.roles = roles(text)?,
            Key::ClusterId => self.cluster_id = cluster_id(text)?,
            Key::HostAddress => self.host_address = Some(host_port(text)?),
            Key::CertificateFile => self.certificate_file = Some(file_path(text, base)?),
            Key::PrivateKeyFile => self.private_key_file = Some(file_path(text, base)?),
            Key::CaCertificateFile => self.ca_certificate_file = Some(file_path(text, base)?),
            Key::MaxConnections => self.max_connections = number(text, MAX_CONNECTIONS)?,
            Key::BufferSize => self.buffer_size = narrow(byte_size(text, BUFFER_SIZE)?)?,
            Key::ThreadPoolSize => self.thread_pool_size = thread_pool_size(text)?,
            Key::SupportedFormats => self.supported_formats = format_list(text)?,
            Key::MaxBitrate => self.max_bitrate = bitrate(text, MAX_BITRATE)?,
            Key::AdaptiveStreaming => self.adaptive_streaming = boolean(text)?,
            Key::BalancerAddress => self.balancer_address = Some(host_port(text)?),
            Key::HeartbeatInterval => self.heartbeat_interval = duration(text, HEARTBEAT_INTERVAL)?,
            Key::ReconnectTimeout => self.reconnect_timeout = duration(text, RECONNECT_TIMEOUT)?,
            Key::DebugMore => self.debug_more = boolean(text)?,
            Key::DataDir => self.data_dir = file_path(text, base)?,
            Key::RtmpAddress => self.rtmp_address = listen_address(text)?,
            Key::HttpAddress => self.http_address = listen_address(text)?,
            Key::QuicAddress => self.quic_address = listen_address(text)?,
            Key::RtmpWriteCoalesce => {
                self.rtmp_write_coalesce = duration(text, RTMP_WRITE_COALESCE)?
            }
            Key::QuicMaxMtu => self.quic_max_mtu = narrow(byte_size(text, QUIC_MAX_MTU)?)?,
            Key::TlsCertificateFile => self.tls_certificate_file = Some(file_path(text, base)?),
            Key::TlsPrivateKeyFile => self.tls_private_key_file = Some(file_path(text, base)?),
            Key::HttpsAddress => self.https_address = Some(listen_address(text)?),
            Key::RtmpsAddress => self.rtmps_address = Some(listen_address(text)?),
        }
        Ok(())
    }
}

/// The error for a refused value, from wherever it came.
pub(crate) fn invalid(origin: Origin, key: Key, text: &str, problem: Problem) -> ConfigError {
    ConfigError::InvalidValue {
        origin,
        key: key.name(),
        expected: problem.expected,
        got: shown(problem.part.as_deref().unwrap_or(text)),
    }
}

fn roles(text: &str) -> Result<Roles, Problem> {
    let problem = |part: Option<String>| Problem {
        expected: ROLES_EXPECTED.to_owned(),
        part,
    };
    let roles = Roles::parse(text).map_err(|error| match error {
        crate::roles::RolesParseError::Unknown(word) => problem(Some(word)),
        _ => problem(None),
    })?;
    if roles.is_empty() {
        return Err(problem(None));
    }
    Ok(roles)
}

fn number(text: &str, (min, max): (u64, u64)) -> Result<u32, Problem> {
    narrow(whole_number(text, min, max)?)
}

fn thread_pool_size(text: &str) -> Result<u16, Problem> {
    let (min, max) = THREAD_POOL_SIZE;
    whole_number(text, min, max)
        .map_err(|_| {
            Problem::expected(format!(
                "a whole number from {min} to {max} (0 = one thread per CPU)"
            ))
        })
        .and_then(narrow)
}

/// Every range above fits its field; this keeps the conversion free of
/// `as` and of panics all the same.
fn narrow<T: TryFrom<u64>>(value: u64) -> Result<T, Problem> {
    T::try_from(value).map_err(|_| Problem::expected("a smaller number"))
}
