//! Writing a `Config` back as INI text that reads back to the same value.

use crate::apply::SECTION;
use crate::config::Config;
use crate::ini::quote_if_needed;
use crate::keys::Key;
use crate::value::{write_bitrate, write_duration, write_format_list, write_size};
use std::fmt::Write;
use std::path::Path;

impl Config {
    /// The whole configuration as an `[avrs]` section, one `key = value`
    /// per key in [`Key::ALL`] order; unset optional keys are written as
    /// comments. Read with a bare file name (so paths are not re-joined),
    /// the text gives back an equal `Config`.
    ///
    /// Durations are written in whole milliseconds; a path that is not
    /// UTF-8 is written lossily.
    pub fn to_ini(&self) -> String {
        let mut out = format!("[{SECTION}]\n");
        for key in Key::ALL {
            match self.value_text(key) {
                Some(value) => {
                    let _ = writeln!(out, "{} = {}", key.name(), quote_if_needed(&value));
                }
                None => {
                    let _ = writeln!(out, "# {} = (not set)", key.name());
                }
            }
        }
        for extension in &self.extensions {
            let section = &extension.section;
            let _ = writeln!(out, "\n[{}]", section.name);
            for entry in &section.entries {
                let _ = writeln!(out, "{} = {}", entry.key, quote_if_needed(&entry.value));
            }
        }
        out
    }

    /// The text of one key's value; `None` for an unset optional key.
    pub fn value_text(&self, key: Key) -> Option<String> {
        let text = match key {
            Key::Role => self.roles.to_string(),
            Key::ClusterId => self.cluster_id.to_string(),
            Key::HostAddress => self.host_address.as_ref()?.to_string(),
            Key::CertificateFile => path_text(self.certificate_file.as_deref()?),
            Key::PrivateKeyFile => path_text(self.private_key_file.as_deref()?),
            Key::CaCertificateFile => path_text(self.ca_certificate_file.as_deref()?),
            Key::MaxConnections => self.max_connections.to_string(),
            Key::BufferSize => write_size(u64::from(self.buffer_size)),
            Key::ThreadPoolSize => self.thread_pool_size.to_string(),
            Key::SupportedFormats => write_format_list(&self.supported_formats),
            Key::MaxBitrate => write_bitrate(self.max_bitrate),
            Key::AdaptiveStreaming => self.adaptive_streaming.to_string(),
            Key::BalancerAddress => self.balancer_address.as_ref()?.to_string(),
            Key::HeartbeatInterval => write_duration(self.heartbeat_interval),
            Key::ReconnectTimeout => write_duration(self.reconnect_timeout),
            Key::DebugMore => self.debug_more.to_string(),
            Key::DataDir => path_text(&self.data_dir),
            Key::RtmpAddress => self.rtmp_address.to_string(),
            Key::HttpAddress => self.http_address.to_string(),
            Key::QuicAddress => self.quic_address.to_string(),
            Key::RtmpWriteCoalesce => write_duration(self.rtmp_write_coalesce),
            Key::QuicMaxMtu => self.quic_max_mtu.to_string(),
            Key::TlsCertificateFile => path_text(self.tls_certificate_file.as_deref()?),
            Key::TlsPrivateKeyFile => path_text(self.tls_private_key_file.as_deref()?),
            Key::HttpsAddress => self.https_address?.to_string(),
            Key::RtmpsAddress => self.rtmps_address?.to_string(),
        };
        Some(text)
    }
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
