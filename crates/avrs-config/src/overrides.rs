//! Command-line overrides: values given as flags, laid over the file's.

use crate::apply::invalid;
use crate::config::Config;
use crate::error::{ConfigError, Origin};
use crate::keys::Key;
use std::path::Path;

/// Values that replace the file's, as the user typed them. Each is checked
/// with the same rules as the file's key of the same name; an error names
/// the flag ([`Key::flag`]), such as `--max-connections: expected …`.
/// Relative paths stay relative to the working directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigOverrides {
    pub role: Option<String>,
    pub cluster_id: Option<String>,
    pub host_address: Option<String>,
    pub certificate_file: Option<String>,
    pub private_key_file: Option<String>,
    pub ca_certificate_file: Option<String>,
    pub max_connections: Option<String>,
    pub buffer_size: Option<String>,
    pub thread_pool_size: Option<String>,
    pub supported_formats: Option<String>,
    pub max_bitrate: Option<String>,
    pub adaptive_streaming: Option<String>,
    pub balancer_address: Option<String>,
    pub heartbeat_interval: Option<String>,
    pub reconnect_timeout: Option<String>,
    /// A switch (`--debug`), so already a boolean.
    pub debug_more: Option<bool>,
    pub data_dir: Option<String>,
    pub rtmp_address: Option<String>,
    pub http_address: Option<String>,
    pub quic_address: Option<String>,
    pub rtmp_write_coalesce: Option<String>,
    pub quic_max_mtu: Option<String>,
    pub tls_certificate_file: Option<String>,
    pub tls_private_key_file: Option<String>,
    pub https_address: Option<String>,
    pub rtmps_address: Option<String>,
}

impl ConfigOverrides {
    /// The text overrides paired with their keys.
    fn texts(&self) -> [(Key, Option<&str>); 25] {
        [
            (Key::Role, self.role.as_deref()),
            (Key::ClusterId, self.cluster_id.as_deref()),
            (Key::HostAddress, self.host_address.as_deref()),
            (Key::CertificateFile, self.certificate_file.as_deref()),
            (Key::PrivateKeyFile, self.private_key_file.as_deref()),
            (Key::CaCertificateFile, self.ca_certificate_file.as_deref()),
            (Key::MaxConnections, self.max_connections.as_deref()),
            (Key::BufferSize, self.buffer_size.as_deref()),
            (Key::ThreadPoolSize, self.thread_pool_size.as_deref()),
            (Key::SupportedFormats, self.supported_formats.as_deref()),
            (Key::MaxBitrate, self.max_bitrate.as_deref()),
            (Key::AdaptiveStreaming, self.adaptive_streaming.as_deref()),
            (Key::BalancerAddress, self.balancer_address.as_deref()),
            (Key::HeartbeatInterval, self.heartbeat_interval.as_deref()),
            (Key::ReconnectTimeout, self.reconnect_timeout.as_deref()),
            (Key::DataDir, self.data_dir.as_deref()),
            (Key::RtmpAddress, self.rtmp_address.as_deref()),
            (Key::HttpAddress, self.http_address.as_deref()),
            (Key::QuicAddress, self.quic_address.as_deref()),
            (Key::RtmpWriteCoalesce, self.rtmp_write_coalesce.as_deref()),
            (Key::QuicMaxMtu, self.quic_max_mtu.as_deref()),
            (
                Key::TlsCertificateFile,
                self.tls_certificate_file.as_deref(),
            ),
            (Key::TlsPrivateKeyFile, self.tls_private_key_file.as_deref()),
            (Key::HttpsAddress, self.https_address.as_deref()),
            (Key::RtmpsAddress, self.rtmps_address.as_deref()),
        ]
    }
}

impl Config {
    /// This configuration with `overrides` laid over it. The first bad
    /// override, in [`Key::ALL`] order, is the error.
    pub fn with_overrides(mut self, overrides: &ConfigOverrides) -> Result<Self, ConfigError> {
        for (key, text) in overrides.texts() {
            if let Some(text) = text {
                // Flags arrive as typed, so trim as a file line would be.
                let text = text.trim();
                self.set(key, text, Path::new(""))
                    .map_err(|problem| invalid(Origin::Flag(key.flag()), key, text, problem))?;
            }
        }
        if let Some(debug_more) = overrides.debug_more {
            self.debug_more = debug_more;
        }
        Ok(self)
    }
}
