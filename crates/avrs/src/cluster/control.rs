//! `avrs cluster create | destroy | change | info | list | request-add |
//! request-del | approve | remove | role-assign | content-add |
//! content-update | content-del | content-list | route-find | route-check |
//! balance`:
//! cluster control through a node's `POST /api/cluster/control`, with a
//! token (`--token` or `AVRS_TOKEN`) and, for changes, the admin TOTP code
//! (`--totp` or `AVRS_TOTP`).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Where the node is and who asks.
#[derive(Debug, Clone, clap::Args)]
pub struct Api {
    /// The node's HTTP API, IP:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub api: SocketAddr,
    /// An access token (`avrs token issue`); default: $AVRS_TOKEN.
    #[arg(long)]
    pub token: Option<String>,
    /// The admin TOTP code, for changes; default: $AVRS_TOTP.
    #[arg(long)]
    pub totp: Option<String>,
}

/// Cluster control subcommands (each takes `--api`, `--token`, `--totp`).
#[derive(Debug, clap::Subcommand)]
pub enum Control {
    /// Create a cluster; you become its owner (host token).
    Create {
        /// Its id (16 hex digits, '-', 16 hex digits); default: a new one.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// round-table, lecture, panel or meeting.
        #[arg(long)]
        setup: Option<String>,
        #[arg(long)]
        encrypted: bool,
        #[command(flatten)]
        api: Api,
    },
    /// Destroy a cluster (its owner only).
    Destroy {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Change a cluster's title, setup or encryption (its owner only).
    Change {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        setup: Option<String>,
        #[arg(long)]
        encrypted: Option<bool>,
        #[command(flatten)]
        api: Api,
    },
    /// A cluster's description, members and waiting requests.
    Info {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// The clusters you may see.
    List {
        #[command(flatten)]
        api: Api,
    },
    /// Ask to join a cluster.
    RequestAdd {
        id: String,
        /// The roles you wish for (the approver decides): client, server…
        #[arg(long)]
        roles: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Leave a cluster, or withdraw your request.
    RequestDel {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Remove a member, or reject its request.
    Remove {
        id: String,
        member: String,
        #[command(flatten)]
        api: Api,
    },
    /// Replace a member's roles (owner or host).
    RoleAssign {
        id: String,
        member: String,
        roles: String,
        #[command(flatten)]
        api: Api,
    },
    /// Add a content to a cluster.
    ContentAdd {
        id: String,
        /// A GUUID, or a content name such as live/cam.
        content_id: String,
        /// One letter per flow, such as va (video, audio).
        #[arg(long)]
        flows: String,
        #[arg(long)]
        title: Option<String>,
        /// FLOW=CODEC, such as v=avc1.64001F (repeat per flow).
        #[arg(long = "codec")]
        codecs: Vec<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Change a content: its title, its flows (with their codecs), or the
    /// codecs of the flows it has (`--codec 1=mp4a.40.2`, by flow number).
    ContentUpdate {
        id: String,
        content_id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        flows: Option<String>,
        #[arg(long = "codec")]
        codecs: Vec<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Remove a content from a cluster.
    ContentDel {
        id: String,
        content_id: String,
        #[command(flatten)]
        api: Api,
    },
    /// A cluster's contents.
    ContentList {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Members that could feed a content, best first (ROUTE_FIND): the
    /// node answers from its view of the cluster, or for itself alone.
    RouteFind {
        /// A content name such as live/cam, or its GUUID.
        content: String,
        /// How many candidates at most (1 to 16; default 4).
        #[arg(long)]
        limit: Option<u8>,
        /// A member not to name (64 hex digits); repeat, at most 16.
        #[arg(long = "exclude")]
        exclude: Vec<String>,
        #[command(flatten)]
        api: Api,
    },
    /// The server a client should use (BALANCE_REQUEST), as the node's
    /// balancer chooses it by load and region: its member id and listeners.
    Balance {
        /// The content to watch (live/cam or its GUUID); default: any.
        content: Option<String>,
        /// A server not to choose (64 hex digits); repeat, at most 16.
        #[arg(long = "exclude")]
        exclude: Vec<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Whether the node feeds a content to a member, and where the node
    /// gets it from (ROUTE_CHECK).
    RouteCheck {
        /// A content name such as live/cam, or its GUUID.
        content: String,
        /// The member asked about (64 hex digits).
        member: String,
        #[command(flatten)]
        api: Api,
    },
}

impl Control {
    /// The JSON body and where to send it.
    fn body(self) -> (Value, Api) {
        match self {
            Control::Create {
                id,
                title,
                setup,
                encrypted,
                api,
            } => (
                json!({"op": "create", "id": id, "title": title, "setup": setup,
                       "encrypted": encrypted.then_some(true)}),
                api,
            ),
            Control::Destroy { id, api } => (json!({"op": "destroy", "id": id}), api),
            Control::Change {
                id,
                title,
                setup,
                encrypted,
                api,
            } => (
                json!({"op": "change", "id": id, "title": title, "setup": setup,
                       "encrypted": encrypted}),
                api,
            ),
            Control::Info { id, api } => (json!({"op": "info", "id": id}), api),
            Control::List { api } => (json!({"op": "list"}), api),
            Control::RequestAdd {
                id,
                roles,
                display_name,
                api,
            } => {
                let info = display_name.map(|name| json!({"display_name": name}));
                let body = json!({"op": "request_add", "id": id, "roles": roles, "info": info});
                (body, api)
            }
            Control::RequestDel { id, api } => (json!({"op": "request_del", "id": id}), api),
            Control::Remove { id, member, api } => {
                (json!({"op": "remove", "id": id, "member": member}), api)
            }
            Control::RoleAssign {
                id,
                member,
                roles,
                api,
            } => (
                json!({"op": "role_assign", "id": id, "member": member, "roles": roles}),
                api,
            ),
            Control::ContentAdd {
                id,
                content_id,
                flows,
                title,
                codecs,
                api,
            } => (
                json!({"op": "content_add", "id": id, "content_id": content_id,
                       "flows": flows, "title": title, "codecs": codecs}),
                api,
            ),
            Control::ContentUpdate {
                id,
                content_id,
                title,
                flows,
                codecs,
                api,
            } => (
                json!({"op": "content_update", "id": id, "content_id": content_id,
                       "title": title, "flows": flows, "codecs": codecs}),
                api,
            ),
            Control::ContentDel {
                id,
                content_id,
                api,
            } => (
                json!({"op": "content_del", "id": id, "content_id": content_id}),
                api,
            ),
            Control::ContentList { id, api } => (json!({"op": "content_list", "id": id}), api),
            Control::RouteFind {
                content,
                limit,
                exclude,
                api,
            } => (
                json!({"op": "route_find", "content_id": content, "limit": limit,
                       "exclude": exclude}),
                api,
            ),
            Control::Balance {
                content,
                exclude,
                api,
            } => (
                json!({"op": "balance", "content_id": content, "exclude": exclude}),
                api,
            ),
            Control::RouteCheck {
                content,
                member,
                api,
            } => (
                json!({"op": "route_check", "content_id": content, "member": member}),
                api,
            ),
        }
    }
}

/// Runs one subcommand: prints the node's JSON answer, or fails with its
/// code and text.
pub fn run(command: Control) -> Result<()> {
    let (body, api) = command.body();
    send(&api, &drop_nulls(body))
}

/// `approve CLUSTER MEMBER`.
pub fn approve(cluster: String, member: String, api: &Api) -> Result<()> {
    send(
        api,
        &json!({"op": "approve", "id": cluster, "member": member}),
    )
}

fn send(api: &Api, body: &Value) -> Result<()> {
    let token = api
        .token
        .clone()
        .or_else(|| std::env::var("AVRS_TOKEN").ok())
        .context("give --token TOKEN (or set AVRS_TOKEN): avrs token issue --role …")?;
    let totp = api.totp.clone().or_else(|| std::env::var("AVRS_TOTP").ok());
    let mut headers = vec![("Authorization", format!("Bearer {}", token.trim()))];
    if let Some(code) = totp {
        headers.push(("X-Avrs-Totp", code.trim().to_owned()));
    }
    let (status, text) = request(
        api.api,
        "POST",
        "/api/cluster/control",
        &headers,
        &body.to_string(),
    )?;
    let answer: Option<Value> = serde_json::from_str(&text).ok();
    match (status, answer) {
        (200, Some(answer)) => {
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        (_, Some(answer)) if answer["code"].is_string() => bail!(
            "the node answered {} {} (HTTP {status})",
            answer["code"].as_str().unwrap_or_default(),
            answer["text"].as_str().unwrap_or_default()
        ),
        _ => bail!("the node answered {status}: {}", text.trim()),
    }
}

/// Optional arguments left out rather than sent as `null`.
fn drop_nulls(mut body: Value) -> Value {
    if let Value::Object(map) = &mut body {
        map.retain(|_, value| !value.is_null());
    }
    body
}

/// One HTTP/1.0 request; the API is small and usually local.
pub fn request(
    api: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&api, Duration::from_secs(5))
        .with_context(|| format!("connect to {api}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}")?;
    let mut response = String::new();
    stream.take(1 << 22).read_to_string(&mut response)?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_leave_out_what_was_not_given() {
        let api = Api {
            api: "127.0.0.1:1".parse().unwrap(),
            token: None,
            totp: None,
        };
        let (body, _) = Control::Create {
            id: None,
            title: Some("T".into()),
            setup: None,
            encrypted: false,
            api: api.clone(),
        }
        .body();
        assert_eq!(drop_nulls(body), json!({"op": "create", "title": "T"}));
        let (body, _) = Control::ContentAdd {
            id: "A".into(),
            content_id: "live/cam".into(),
            flows: "va".into(),
            title: None,
            codecs: vec!["v=avc1.64001F".into()],
            api: api.clone(),
        }
        .body();
        assert_eq!(
            drop_nulls(body),
            json!({"op": "content_add", "id": "A", "content_id": "live/cam",
                   "flows": "va", "codecs": ["v=avc1.64001F"]})
        );
        let (body, _) = Control::RouteFind {
            content: "live/cam".into(),
            limit: None,
            exclude: vec![],
            api: api.clone(),
        }
        .body();
        assert_eq!(
            drop_nulls(body),
            json!({"op": "route_find", "content_id": "live/cam", "exclude": []})
        );
        let (body, _) = Control::RouteCheck {
            content: "live/cam".into(),
            member: "ab".into(),
            api,
        }
        .body();
        assert_eq!(
            drop_nulls(body),
            json!({"op": "route_check", "content_id": "live/cam", "member": "ab"})
        );
    }
}
