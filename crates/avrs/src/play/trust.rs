//! Which server certificates `avrs play` believes: the flags (at most one
//! of them) and the default, trust on first use in a known-hosts file.

use anyhow::Context as _;
use avrs_node::native::tls::{
    Fingerprint, KnownHostsTrust, ServerTrust, TrustNotice, load_roots, system_roots,
};
use std::ffi::OsString;
use std::path::PathBuf;

/// The variable naming the known-hosts file.
const KNOWN_HOSTS_VAR: &str = "AVRS_KNOWN_HOSTS";

#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub struct TrustArgs {
    /// Verify the server's certificate against the CA certificate(s) in this
    /// PEM file, for the URL's host name or address (a node with
    /// `tls_certificate_file`).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,

    /// Accept only this server certificate: its SHA-256 as `avrs serve`
    /// prints it (`native certificate sha256:…`); for scripts. Applies to
    /// every server the player connects to.
    #[arg(long, value_name = "sha256:HEX")]
    pin: Option<Fingerprint>,

    /// Accept only certificates that chain to the operating system's roots
    /// and name the URL's host (a public certificate); never pin.
    #[arg(long)]
    system_roots: bool,

    /// The known-hosts file of first-contact pins (default:
    /// $AVRS_KNOWN_HOSTS, else $XDG_CONFIG_HOME/avrs/known_hosts, else
    /// ~/.config/avrs/known_hosts).
    #[arg(long, value_name = "FILE")]
    known_hosts: Option<PathBuf>,

    /// Do not check the server's certificate at all (tests, labs).
    #[arg(long)]
    insecure: bool,
}

/// The trust `args` ask for, for the server at `authority` (`HOST:PORT`).
pub fn server_trust(args: &TrustArgs, authority: &str) -> anyhow::Result<ServerTrust> {
    if let Some(path) = &args.ca {
        return Ok(ServerTrust::Ca(load_roots(path)?));
    }
    if let Some(fingerprint) = args.pin {
        return Ok(ServerTrust::pin(fingerprint));
    }
    if args.system_roots {
        return Ok(ServerTrust::system()?);
    }
    if args.insecure {
        return Ok(ServerTrust::Insecure);
    }
    let file = match &args.known_hosts {
        Some(file) => file.clone(),
        None => default_known_hosts(|name| std::env::var_os(name)).context(
            "no known-hosts file: set AVRS_KNOWN_HOSTS or HOME, or pass --known-hosts FILE \
             (or --ca, --pin, --system-roots)",
        )?,
    };
    let trust = KnownHostsTrust::new(file, authority, system_roots(), tell);
    Ok(ServerTrust::KnownHosts(trust))
}

/// `$AVRS_KNOWN_HOSTS`, else `$XDG_CONFIG_HOME/avrs/known_hosts` (an
/// absolute one, as the XDG spec says), else
/// `$HOME/.config/avrs/known_hosts`; empty variables count as unset.
fn default_known_hosts(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    if let Some(file) = set(KNOWN_HOSTS_VAR) {
        return Some(file.into());
    }
    let config = set("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("avrs").join("known_hosts"))
}

/// Tells the user, on stderr, what the known-hosts file did.
fn tell(notice: &TrustNotice<'_>) {
    match notice {
        TrustNotice::Pinned {
            server,
            fingerprint,
            file,
        } => eprintln!(
            "avrs play: first contact with {server}; pinned certificate {fingerprint} in {}",
            file.display()
        ),
        TrustNotice::Ignored { file, line, reason } => eprintln!(
            "avrs play: {} line {line}: {reason}; line ignored",
            file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_known_hosts_file_is_found_like_other_config_files() {
        let found = |vars: &[(&str, &str)]| default_known_hosts(env(vars));
        let home = ("HOME", "/home/u");
        assert_eq!(
            found(&[home]),
            Some("/home/u/.config/avrs/known_hosts".into())
        );
        assert_eq!(
            found(&[home, ("XDG_CONFIG_HOME", "/x")]),
            Some("/x/avrs/known_hosts".into())
        );
        // A relative XDG_CONFIG_HOME is ignored; empty values are unset.
        assert_eq!(
            found(&[home, ("XDG_CONFIG_HOME", "rel"), (KNOWN_HOSTS_VAR, "")]),
            Some("/home/u/.config/avrs/known_hosts".into())
        );
        assert_eq!(found(&[home, (KNOWN_HOSTS_VAR, "/k")]), Some("/k".into()));
        assert_eq!(found(&[]), None);
    }
}
