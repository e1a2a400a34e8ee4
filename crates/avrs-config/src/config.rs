//! The typed, validated `[avrs]` section and where it comes from.

use crate::error::ConfigError;
use crate::ini::{Document, MAX_FILE_BYTES};
use crate::roles::Roles;
use crate::value::{ClusterId, HostPort, MediaFormat};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `rtmp_write_coalesce` when the file says nothing.
pub const DEFAULT_RTMP_WRITE_COALESCE: Duration = Duration::from_millis(200);

/// The settings of one node: the `[avrs]` section of its INI file.
///
/// Every key is optional; [`Config::default`] holds the values used for
/// keys a file leaves out: an embedded single-node cluster. The keys up to
/// `debug_more` are those of the original AVRS config; `data_dir` and the
/// three listen addresses are avrs extensions the server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Key `role`: what this node does. Default `host,server,balancer`.
    pub roles: Roles,
    /// Key `cluster_id`: the cluster to join or run. Default `local`.
    pub cluster_id: ClusterId,
    /// Key `host_address`: the cluster host to reach. Default: none (this
    /// node runs the cluster itself).
    pub host_address: Option<HostPort>,
    /// Key `certificate_file`: this node's certificate. Default: none.
    pub certificate_file: Option<PathBuf>,
    /// Key `private_key_file`: this node's private key. Default: none.
    pub private_key_file: Option<PathBuf>,
    /// Key `ca_certificate_file`: the certificate that signs members'
    /// certificates. Default: none.
    pub ca_certificate_file: Option<PathBuf>,
    /// Key `max_connections`: 1 to 1,000,000. Default 10000.
    pub max_connections: u32,
    /// Key `buffer_size`, bytes: 4 KiB to 64 MiB. Default 64 KiB.
    pub buffer_size: u32,
    /// Key `thread_pool_size`: worker threads, 0 to 1024; 0 means one per
    /// CPU ([`Config::worker_threads`]). Default 0.
    pub thread_pool_size: u16,
    /// Key `supported_formats`: formats accepted, in the file's order.
    /// Default `h264,aac,webm`.
    pub supported_formats: Vec<MediaFormat>,
    /// Key `max_bitrate`, bits per second: 1 kbit/s to 100 Gbit/s.
    /// Default 10 Mbit/s.
    pub max_bitrate: u64,
    /// Key `adaptive_streaming`: offer several qualities. Default false
    /// (each extra quality costs a transcoder).
    pub adaptive_streaming: bool,
    /// Key `balancer_address`: the balancer to report to. Default: none.
    pub balancer_address: Option<HostPort>,
    /// Key `heartbeat_interval`: 100 ms to 1 h. Default 30 s.
    pub heartbeat_interval: Duration,
    /// Key `reconnect_timeout`: 0 to 24 h. Default 60 s.
    pub reconnect_timeout: Duration,
    /// Key `debug_more`: extended logging (`g_avrs_debug_more`). Default
    /// false.
    pub debug_more: bool,
    /// Key `data_dir` (avrs extension): keys, metadata and recordings.
    /// Default `./avrs-data`, relative to the working directory.
    pub data_dir: PathBuf,
    /// Key `rtmp_address` (avrs extension): RTMP ingest and play.
    /// Default `0.0.0.0:1935`.
    pub rtmp_address: SocketAddr,
    /// Key `http_address` (avrs extension): HLS, HTTP-FLV, API, web page.
    /// Default `0.0.0.0:8080`.
    pub http_address: SocketAddr,
    /// Key `quic_address` (avrs extension): AVRS over QUIC, node to node
    /// and native clients. Default `0.0.0.0:4433`.
    pub quic_address: SocketAddr,
    /// Key `rtmp_write_coalesce` (avrs extension): how long an RTMP viewer's
    /// writes may wait to be merged with the next messages, 0 to 1 s.
    /// Default 200 ms: RTMP players buffer a second or more, and merging
    /// cuts the server's CPU per viewer about 4× (docs/BENCHMARKS.md); 0
    /// sends every message at once.
    pub rtmp_write_coalesce: Duration,
    /// Key `quic_max_mtu` (avrs extension): the largest UDP payload, in
    /// bytes, native AVRS sends, 1200 to 65527; QUIC path MTU discovery
    /// finds what each path carries up to this. Default 1452 (Ethernet
    /// less IPv6 and UDP headers). Above 1452 each datagram goes out on
    /// its own (no segmentation offload), see `docs/operations.md`.
    pub quic_max_mtu: u16,
    /// Key `tls_certificate_file` (avrs extension): the X.509 certificate
    /// chain, PEM, leaf first, that HTTPS, RTMPS and QUIC present. Not the
    /// avrs member certificate (`certificate_file`). Default: none.
    pub tls_certificate_file: Option<PathBuf>,
    /// Key `tls_private_key_file` (avrs extension): the PEM private key of
    /// `tls_certificate_file` (PKCS#8, PKCS#1 or SEC1), mode 0600. Not the
    /// avrs signing key (`private_key_file`). Default: none.
    pub tls_private_key_file: Option<PathBuf>,
    /// Key `https_address` (avrs extension): the HTTPS listener. Default:
    /// none; see [`Config::https_listen`].
    pub https_address: Option<SocketAddr>,
    /// Key `rtmps_address` (avrs extension): the RTMPS listener. Default:
    /// none; see [`Config::rtmps_listen`].
    pub rtmps_address: Option<SocketAddr>,
    /// Sections other layers read (`[auth]`, `[vod]`, `[policy.NAME]`, …),
    /// raw and in file order; see [`crate::is_extension_section`].
    pub extensions: Vec<ExtensionSection>,
}

/// A section kept for another layer, with the file it came from so that
/// layer's errors can name `file:line`.
#[derive(Debug, Clone)]
pub struct ExtensionSection {
    pub file: String,
    pub section: crate::ini::Section,
}

/// Equal when they say the same: file, name, and keys with values in
/// order. Line numbers are where the text stood, not what it means, so a
/// config written back by [`Config::to_ini`] equals the one it came from.
impl PartialEq for ExtensionSection {
    fn eq(&self, other: &Self) -> bool {
        let pairs = |s: &Self| {
            s.section
                .entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect::<Vec<_>>()
        };
        self.file == other.file
            && self.section.name == other.section.name
            && pairs(self) == pairs(other)
    }
}

impl Eq for ExtensionSection {}

impl Config {
    /// The extension section called `name`, if the file has it.
    pub fn extension(&self, name: &str) -> Option<&ExtensionSection> {
        self.extensions.iter().find(|e| e.section.name == name)
    }

    /// Every extension section whose name starts with `prefix`, in file
    /// order.
    pub fn extensions_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a ExtensionSection> + 'a {
        self.extensions
            .iter()
            .filter(move |e| e.section.name.starts_with(prefix))
    }
}

/// The HTTPS port used when TLS files are configured without an
/// `https_address`.
pub const DEFAULT_HTTPS_PORT: u16 = 8443;
/// The RTMPS port used when TLS files are configured without an
/// `rtmps_address` (1936 is what RTMPS gateways commonly use next to 1935).
pub const DEFAULT_RTMPS_PORT: u16 = 1936;

/// The default cluster name of an embedded single-node cluster.
pub const DEFAULT_CLUSTER_NAME: &str = "local";

fn any_ip(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

impl Default for Config {
    /// The embedded single-node cluster: this node is host, server and
    /// balancer of cluster `local`.
    fn default() -> Self {
        Self {
            roles: Roles::HOST | Roles::SERVER | Roles::BALANCER,
            cluster_id: ClusterId::Name(DEFAULT_CLUSTER_NAME.to_owned()),
            host_address: None,
            certificate_file: None,
            private_key_file: None,
            ca_certificate_file: None,
            max_connections: 10_000,
            buffer_size: 64 * 1024,
            thread_pool_size: 0,
            supported_formats: vec![MediaFormat::H264, MediaFormat::Aac, MediaFormat::Webm],
            max_bitrate: 10_000_000,
            adaptive_streaming: false,
            balancer_address: None,
            heartbeat_interval: Duration::from_secs(30),
            reconnect_timeout: Duration::from_secs(60),
            debug_more: false,
            data_dir: PathBuf::from("./avrs-data"),
            rtmp_address: any_ip(1935),
            http_address: any_ip(8080),
            quic_address: any_ip(4433),
            rtmp_write_coalesce: DEFAULT_RTMP_WRITE_COALESCE,
            quic_max_mtu: 1452,
            tls_certificate_file: None,
            tls_private_key_file: None,
            https_address: None,
            rtmps_address: None,
            extensions: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and validates the INI file at `path`. Errors name the path as
    /// given; relative paths inside the file are taken relative to the
    /// file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = read_capped(path, &name)?;
        Self::from_bytes_named(&bytes, &name)
    }

    /// Reads INI text. `name` is the file's path: errors name it, and
    /// relative paths in the text are taken relative to its directory (a
    /// bare file name such as `avrs.ini` leaves them as written).
    pub fn from_str_named(text: &str, name: &str) -> Result<Self, ConfigError> {
        Self::from_bytes_named(text.as_bytes(), name)
    }

    /// As [`Config::from_str_named`], for bytes not yet known to be UTF-8.
    pub fn from_bytes_named(bytes: &[u8], name: &str) -> Result<Self, ConfigError> {
        let document = Document::parse(bytes, name)?;
        let base = Path::new(name).parent().unwrap_or(Path::new(""));
        let mut config = Self::default();
        config.apply_document(&document, name, base)?;
        Ok(config)
    }

    /// Whether X.509 TLS material is configured (either file: a half
    /// configuration is reported by whoever loads it).
    pub fn tls_configured(&self) -> bool {
        self.tls_certificate_file.is_some() || self.tls_private_key_file.is_some()
    }

    /// Where HTTPS listens: `https_address`, else `0.0.0.0:8443` when TLS
    /// files are configured, else nowhere (HTTPS off).
    pub fn https_listen(&self) -> Option<SocketAddr> {
        self.https_address
            .or_else(|| self.tls_configured().then(|| any_ip(DEFAULT_HTTPS_PORT)))
    }

    /// Where RTMPS listens: `rtmps_address`, else `0.0.0.0:1936` when TLS
    /// files are configured, else nowhere (RTMPS off).
    pub fn rtmps_listen(&self) -> Option<SocketAddr> {
        self.rtmps_address
            .or_else(|| self.tls_configured().then(|| any_ip(DEFAULT_RTMPS_PORT)))
    }

    /// The number of worker threads to start: `thread_pool_size`, or `cpus`
    /// when it is 0.
    pub fn worker_threads(&self, cpus: NonZeroUsize) -> usize {
        match self.thread_pool_size {
            0 => cpus.get(),
            n => usize::from(n),
        }
    }
}

/// Reads at most one byte more than a config may hold, so a huge or endless
/// file (`/dev/zero`) is refused without reading it all.
fn read_capped(path: &Path, name: &str) -> Result<Vec<u8>, ConfigError> {
    let read_error = |error: std::io::Error| ConfigError::Read {
        file: name.to_owned(),
        reason: io_reason(&error),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(MAX_FILE_BYTES).unwrap_or(u64::MAX) + 1;
    file.take(cap).read_to_end(&mut bytes).map_err(read_error)?;
    Ok(bytes)
}

/// The system's words for an I/O error, without the " (os error 2)" tail.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}
