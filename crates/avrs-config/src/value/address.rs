//! Network addresses: `host:port` of other nodes (names allowed) and the
//! `ip:port` this node listens on.

use super::{Problem, whole_number};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The host part of a [`HostPort`]: an IP address or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    /// A DNS name, checked for shape only; resolving it is the runtime's job.
    Name(String),
}

/// Another node's address: `192.168.1.100:8080`, `[2001:db8::1]:8080` or
/// `node1.example.com:8080`. The port is never 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: Host,
    pub port: u16,
}

impl fmt::Display for HostPort {
    /// IPv6 in brackets, so the text reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

const HOST_PORT_EXPECTED: &str = "a host and port such as 192.168.1.100:8080, \
     [2001:db8::1]:8080 or node1.example.com:8080, port 1 to 65535";

/// Reads another node's `host:port`.
pub(crate) fn host_port(text: &str) -> Result<HostPort, Problem> {
    let bad = || Problem::expected(HOST_PORT_EXPECTED);
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (ip, port) = bracketed.split_once("]:").ok_or_else(bad)?;
        let ip: Ipv6Addr = ip.parse().map_err(|_| bad())?;
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        (plain_host(host)?, port)
    };
    let port = whole_number(port, 1, u64::from(u16::MAX)).map_err(|_| bad())?;
    let port = u16::try_from(port).map_err(|_| bad())?;
    Ok(HostPort { host, port })
}

/// An IPv4 address or a DNS name (an IPv6 address needs brackets).
fn plain_host(host: &str) -> Result<Host, Problem> {
    if host.contains(':') {
        return Err(Problem::expected(
            "an IPv6 address in brackets followed by a port, such as [2001:db8::1]:8080",
        ));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    if is_dns_name(host) {
        Ok(Host::Name(host.to_owned()))
    } else {
        Err(Problem::expected(HOST_PORT_EXPECTED))
    }
}

/// RFC 1123 shape: dot-separated labels of 1–63 letters, digits and `-`
/// (not at either end), 253 characters in all, and a last label that is not
/// all digits (so `300.1.1.1` is a bad address, not a name).
fn is_dns_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let last_is_numeric = name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()));
    name.len() <= 253 && name.split('.').all(label_ok) && !last_is_numeric
}

/// Reads an address this node listens on: an IP address and a port. Port 0
/// asks the system for a free port (handy in tests).
pub(crate) fn listen_address(text: &str) -> Result<SocketAddr, Problem> {
    text.parse().map_err(|_| {
        Problem::expected(
            "an IP address and port such as 0.0.0.0:1935 or [::]:1935 (port 0 picks a free port)",
        )
    })
}
