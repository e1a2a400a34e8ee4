//! The cluster from the command line: the `[cluster]` section (and
//! `--gossip`) as the node's cluster options, `avrs cluster approve ID` /
//! `avrs cluster members` (the host's loopback API), and cluster control
//! (`control`: create, info, content-add, route-find, …) through a node's
//! HTTP API.
//!
//! `[cluster]` keys: `gossip_address` (IP:PORT of the gossip socket),
//! `host_id` (hex id of the host's key; without it the first roster from
//! `host_address` is believed), `members_file` (host: ids approved ahead of
//! time, one per line), `region` (0–65535), `advertise_ip` (the address
//! members and clients reach this node at), and for a balancer
//! `autoscale_threshold` (percent), `autoscale_command`, `autoscale_webhook`.
//! The `[avrs]` key `certificate_file` is the member certificate (or
//! chain) a node sends with its join request.

mod control;

use anyhow::{Context, Result, bail};
use avrs_config::{Config, Host};
use avrs_node::cluster::ClusterOptions;
use avrs_node::cluster::autoscale::WebhookUrl;
use avrs_proto::Hash32;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

/// The node's cluster options: `None` when neither `[cluster]` nor
/// `--gossip` is given (a lone node, as before).
pub fn options(config: &Config, gossip_flag: Option<&str>) -> Result<Option<ClusterOptions>> {
    let section = config.extension("cluster");
    if section.is_none() && gossip_flag.is_none() {
        return Ok(None);
    }
    let mut options = ClusterOptions {
        cluster_name: config.cluster_id.to_string(),
        heartbeat_interval: config.heartbeat_interval,
        reconnect_timeout: config.reconnect_timeout,
        state_dir: Some(config.data_dir.join("cluster")),
        book_file: Some(config.data_dir.join("cluster-book.json")),
        gossip_address: SocketAddr::from(([0, 0, 0, 0], 7946)),
        ..ClusterOptions::loopback(config.roles, None)
    };
    if let Some(host) = &config.host_address {
        let host_text = match &host.host {
            Host::Ip(ip) => SocketAddr::new(*ip, host.port).to_string(),
            Host::Name(name) => format!("{name}:{}", host.port),
        };
        let resolved = host_text
            .to_socket_addrs()
            .with_context(|| format!("host_address {host_text}"))?
            .next()
            .with_context(|| format!("host_address {host_text} has no address"))?;
        options.host_gossip = Some(resolved);
    } else if !config.roles.contains(avrs_proto::avrs::Roles::HOST) {
        bail!(
            "[cluster]: a node without the host role needs host_address (the host's gossip address)"
        );
    }
    if let Some(section) = section {
        let base = Path::new(&section.file).parent().unwrap_or(Path::new(""));
        for entry in &section.section.entries {
            let at = || format!("{}:{}: [cluster] {}", section.file, entry.line, entry.key);
            set_key(&mut options, &entry.key, entry.value.trim(), base).with_context(at)?;
        }
    }
    if let Some(flag) = gossip_flag {
        options.gossip_address = flag.parse().context("--gossip")?;
    }
    if let Some(path) = &config.certificate_file {
        options.certificate = Some(member_certificate(path)?);
    }
    Ok(Some(options))
}

/// One `[cluster]` key; relative paths are joined to `base`.
fn set_key(options: &mut ClusterOptions, key: &str, value: &str, base: &Path) -> Result<()> {
    match key {
        "gossip_address" => options.gossip_address = value.parse()?,
        "host_id" => options.host_id = Some(Hash32::from_hex(value)?),
        "members_file" => options.members_file = Some(base.join(value)),
        "region" => options.region = value.parse()?,
        "advertise_ip" => options.advertise_ip = Some(value.parse()?),
        "autoscale_threshold" => options.autoscale.threshold_permille = percent(value)? * 10,
        "autoscale_command" if !value.is_empty() => {
            options.autoscale.command = Some(value.to_owned())
        }
        "autoscale_command" => bail!("expected a shell command"),
        "autoscale_webhook" => {
            options.autoscale.webhook =
                Some(value.parse::<WebhookUrl>().map_err(anyhow::Error::msg)?)
        }
        "origin_child_cap" => options.origin_child_cap = child_cap(value)?,
        "relay_child_cap" => options.relay_child_cap = child_cap(value)?,
        _ => bail!("unknown key"),
    }
    Ok(())
}

/// How many relays a node feeds a content to: 1 to 1024.
fn child_cap(value: &str) -> Result<u16> {
    value
        .parse()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .with_context(|| format!("expected a number of relays from 1 to 1024, got '{value}'"))
}

/// `80` or `80%`: 0 to 100.
fn percent(value: &str) -> Result<u32> {
    value
        .strip_suffix('%')
        .unwrap_or(value)
        .trim()
        .parse()
        .ok()
        .filter(|p| *p <= 100)
        .with_context(|| format!("expected a percentage from 0 to 100, such as 80%, got '{value}'"))
}

/// The `certificate_file` (armoured, as `avrs cert issue` writes it: the
/// member's certificate, then its issuer's when an operator issued it) in
/// the binary form a join request carries, every certificate of it.
fn member_certificate(path: &Path) -> Result<Vec<u8>> {
    let text =
        std::fs::read(path).with_context(|| format!("certificate_file {}", path.display()))?;
    let chain = avrs_auth::cert::CertificateChain::from_armor(&text)
        .with_context(|| format!("certificate_file {}", path.display()))?;
    Ok(chain.to_bytes())
}

/// `avrs cluster …`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ClusterCommand {
    /// Approve a join request: `approve MEMBER` on the host (its loopback
    /// API, the deployment's cluster), or `approve CLUSTER MEMBER` with a
    /// token (owner, host or operator) and a TOTP code.
    Approve {
        /// The member id (64 hex digits) its node prints at start; or the
        /// cluster id, with the member after it.
        id: String,
        /// The member, when the first argument is a cluster id.
        member: Option<String>,
        #[command(flatten)]
        api: control::Api,
    },
    /// Print a node's view of the cluster (JSON).
    Members {
        #[arg(long, default_value = "127.0.0.1:8080")]
        api: SocketAddr,
    },
    #[command(flatten)]
    Control(control::Control),
}

pub fn run(args: ClusterArgs) -> Result<()> {
    let (status, body) = match args.command {
        ClusterCommand::Approve {
            id,
            member: Some(member),
            api,
        } => return control::approve(id, member, &api),
        ClusterCommand::Approve {
            id,
            member: None,
            api,
        } => {
            Hash32::from_hex(&id).map_err(|_| anyhow::anyhow!("not a member id: {id}"))?;
            let json = serde_json::json!({ "id": id }).to_string();
            control::request(api.api, "POST", "/api/cluster/approve", &[], &json)?
        }
        ClusterCommand::Members { api } => {
            control::request(api, "GET", "/api/cluster/members", &[], "")?
        }
        ClusterCommand::Control(command) => return control::run(command),
    };
    if status != 200 {
        bail!("the node answered {status}: {}", body.trim());
    }
    println!("{}", body.trim());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster_options(text: &str) -> Result<ClusterOptions> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("avrs.ini");
        std::fs::write(
            &path,
            format!("[avrs]\nrole = balancer\nhost_address = 127.0.0.1:7946\n{text}"),
        )
        .unwrap();
        let config = Config::load(&path)?;
        Ok(options(&config, None)?.expect("a [cluster] section"))
    }

    #[test]
    fn autoscale_keys() {
        let options = cluster_options(
            "[cluster]\nautoscale_threshold = 65%\nautoscale_command = scale-up --by 1\n\
             autoscale_webhook = http://127.0.0.1:9000/scale\n",
        )
        .unwrap();
        assert_eq!(options.autoscale.threshold_permille, 650);
        assert_eq!(
            options.autoscale.command.as_deref(),
            Some("scale-up --by 1")
        );
        let url = options.autoscale.webhook.unwrap().to_string();
        assert_eq!(url, "http://127.0.0.1:9000/scale");
        assert_eq!(
            cluster_options("[cluster]\n")
                .unwrap()
                .autoscale
                .threshold_permille,
            800
        );
        for bad in [
            "autoscale_threshold = 101",
            "autoscale_threshold = -1",
            "autoscale_threshold = lots",
            "autoscale_webhook = https://example.com/",
            "autoscale_command = ",
        ] {
            let err = cluster_options(&format!("[cluster]\n{bad}\n")).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains("[cluster] autoscale_"), "{bad}: {text}");
        }
    }

    #[test]
    fn child_caps() {
        let options =
            cluster_options("[cluster]\norigin_child_cap = 1\nrelay_child_cap = 3\n").unwrap();
        assert_eq!((options.origin_child_cap, options.relay_child_cap), (1, 3));
        let defaults = cluster_options("[cluster]\n").unwrap();
        assert_eq!(
            (defaults.origin_child_cap, defaults.relay_child_cap),
            (4, 8)
        );
        for bad in [
            "origin_child_cap = 0",
            "relay_child_cap = 5000",
            "origin_child_cap = x",
        ] {
            let err = cluster_options(&format!("[cluster]\n{bad}\n")).unwrap_err();
            assert!(format!("{err:#}").contains("child_cap"), "{bad}: {err:#}");
        }
    }

    #[test]
    fn certificate_file_is_read_and_checked() {
        let err = cluster_options("certificate_file = missing.crt\n[cluster]\n").unwrap_err();
        assert!(format!("{err:#}").contains("certificate_file"), "{err:#}");
    }
}
