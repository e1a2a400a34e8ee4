//! The balancer's auto-scaling signal turned into action: when the live
//! servers' average load passes `autoscale_threshold`
//! ([`avrs_cluster::Balancer::check_autoscale`], at most once a minute),
//! the node logs and audits it, runs `autoscale_command` with `sh -c` and
//! POSTs a JSON body to `autoscale_webhook`. Both run on their own tasks:
//! a slow command or webhook never holds up the gossip driver.

use avrs_auth::{AuditEvent, Authorizer};
use avrs_cluster::AutoScale;
use avrs_proto::Hash32;
use std::fmt;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A command still running after this is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Connect, send and read the status line within this.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Output of a command kept for the log, per stream.
const MAX_LOGGED_OUTPUT: usize = 1024;
/// Bytes of a webhook's answer read to find its status.
const MAX_RESPONSE: u64 = 8 * 1024;

/// `[cluster]` `autoscale_*` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoscaleOptions {
    /// Average load of the live servers (permille of capacity) above which
    /// the signal fires.
    pub threshold_permille: u32,
    /// Run with `sh -c` when the signal fires.
    pub command: Option<String>,
    /// POSTed a JSON body when the signal fires.
    pub webhook: Option<WebhookUrl>,
}

impl Default for AutoscaleOptions {
    fn default() -> Self {
        Self {
            threshold_permille: avrs_cluster::ClusterConfig::default().autoscale_threshold_permille,
            command: None,
            webhook: None,
        }
    }
}

/// An `http://HOST[:PORT][/PATH]` address. Checked when the config is read,
/// so a bad one stops the node at start instead of failing at the first
/// signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// Host as written (a name, an IPv4 address or `[IPv6]`).
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    path: String,
}

impl FromStr for WebhookUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix("http://") else {
            return Err(format!(
                "'{text}': expected http://HOST[:PORT][/PATH] (https is not supported)"
            ));
        };
        // Spaces and control characters would break the request line.
        if rest.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!(
                "'{text}': spaces and control characters not allowed"
            ));
        }
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let (host, port) = split_port(authority).ok_or_else(|| format!("'{text}': bad port"))?;
        if host.is_empty() || host.contains('@') {
            return Err(format!("'{text}': no host"));
        }
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            path,
        })
    }
}

/// `HOST[:PORT]`, with `[v6]` hosts; port 80 when absent.
fn split_port(authority: &str) -> Option<(&str, u16)> {
    let colon = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => at,
        _ => return Some((authority, 80)),
    };
    let port = authority[colon + 1..].parse().ok().filter(|p| *p != 0)?;
    Some((&authority[..colon], port))
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.path)
    }
}

/// What a fired signal says, for the command's environment, the webhook's
/// body and the audit line.
#[derive(Debug, Clone)]
pub(super) struct Signal {
    pub cluster: String,
    /// The balancer that fired it.
    pub member: Hash32,
    pub threshold_permille: u32,
    pub scale: AutoScale,
}

impl Signal {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "AVRS_AUTOSCALE_LOAD_PERMILLE",
                self.scale.average_load_permille.to_string(),
            ),
            (
                "AVRS_AUTOSCALE_THRESHOLD_PERMILLE",
                self.threshold_permille.to_string(),
            ),
            ("AVRS_AUTOSCALE_SERVERS", self.scale.servers.to_string()),
            ("AVRS_CLUSTER_ID", self.cluster.clone()),
            ("AVRS_MEMBER_ID", self.member.to_hex()),
        ]
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "event": "autoscale",
            "cluster": self.cluster,
            "balancer": self.member.to_hex(),
            "average_load_permille": self.scale.average_load_permille,
            "threshold_permille": self.threshold_permille,
            "servers": self.scale.servers,
            "unix_time": avrs_auth::unix_now(),
        })
    }

    fn summary(&self) -> String {
        format!(
            "average load {}‰ of {} servers is above {}‰",
            self.scale.average_load_permille, self.scale.servers, self.threshold_permille
        )
    }
}

/// Logs and audits the signal and starts the command and the webhook;
/// returns at once.
pub(super) fn fire(options: &AutoscaleOptions, signal: &Signal, authorizer: &Authorizer) {
    tracing::warn!(
        load_permille = signal.scale.average_load_permille,
        servers = signal.scale.servers,
        threshold_permille = signal.threshold_permille,
        "cluster: auto-scale signal: the servers are busy, add servers"
    );
    authorizer.audit(AuditEvent {
        event: "autoscale",
        subject: Some(signal.member.to_hex()),
        result: "ok",
        reason: Some(signal.summary()),
        ..AuditEvent::default()
    });
    if let Some(command) = &options.command {
        tokio::spawn(run_command(command.clone(), signal.env()));
    }
    if let Some(url) = &options.webhook {
        tokio::spawn(post_webhook(url.clone(), signal.json().to_string()));
    }
}

/// Runs `sh -c COMMAND` with the signal's figures in its environment and
/// logs how it ended, with the start of its output.
async fn run_command(command: String, env: Vec<(&'static str, String)>) {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(err) => {
            tracing::error!(%err, %command, "cluster: cannot start the autoscale_command");
            return;
        }
    };
    match tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => tracing::info!(
            %command, stdout = %logged(&out.stdout), stderr = %logged(&out.stderr),
            "cluster: autoscale_command done"
        ),
        Ok(Ok(out)) => tracing::error!(
            %command, status = %out.status, stdout = %logged(&out.stdout),
            stderr = %logged(&out.stderr), "cluster: autoscale_command failed"
        ),
        Ok(Err(err)) => tracing::error!(%err, %command, "cluster: autoscale_command failed"),
        Err(_) => tracing::error!(
            %command, timeout = ?COMMAND_TIMEOUT,
            "cluster: autoscale_command still running: killed"
        ),
    }
}

/// The start of a command's output as one log field.
fn logged(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOGGED_OUTPUT)]);
    text.trim().to_owned()
}

async fn post_webhook(url: WebhookUrl, body: String) {
    match tokio::time::timeout(WEBHOOK_TIMEOUT, post(&url, &body)).await {
        Ok(Ok(status)) if (200..300).contains(&status) => {
            tracing::info!(%url, status, "cluster: autoscale_webhook done")
        }
        Ok(Ok(status)) => tracing::error!(%url, status, "cluster: autoscale_webhook refused"),
        Ok(Err(err)) => tracing::error!(%url, %err, "cluster: autoscale_webhook failed"),
        Err(_) => {
            tracing::error!(%url, timeout = ?WEBHOOK_TIMEOUT, "cluster: autoscale_webhook timed out")
        }
    }
}

/// One HTTP/1.1 POST (`Connection: close`); the answer's status code.
async fn post(url: &WebhookUrl, body: &str) -> std::io::Result<u16> {
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let mut stream = tokio::net::TcpStream::connect((host, url.port)).await?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: avrs\r\n\r\n{body}",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut answer).await?;
    status_code(&answer)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}

/// The status of `HTTP/1.x NNN …`.
fn status_code(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|b| *b == b'\n').next()?;
    let mut words = std::str::from_utf8(line).ok()?.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/1."))?;
    words
        .next()?
        .parse()
        .ok()
        .filter(|s| (100..600).contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let url: WebhookUrl = "http://example.com/hooks/scale?x=1".parse().unwrap();
        assert_eq!(url.to_string(), "http://example.com:80/hooks/scale?x=1");
        let url: WebhookUrl = "http://127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("127.0.0.1", 9000, "/")
        );
        let url: WebhookUrl = "http://[::1]:81/a".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("[::1]", 81));
        let url: WebhookUrl = "http://[::1]/a".parse().unwrap();
        assert_eq!(url.port, 80);
        for bad in [
            "https://example.com/",
            "example.com",
            "http://",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://h/a b",
            "http://h/a\r\nX: y",
            "http://user@h/",
        ] {
            assert!(bad.parse::<WebhookUrl>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n\r\n"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 500 x\r\n"), Some(500));
        assert_eq!(status_code(b"SSH-2.0\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.1 abc\r\n"), None);
        assert_eq!(status_code(b""), None);
    }

    fn signal() -> Signal {
        Signal {
            cluster: "prod".into(),
            member: Hash32([7; 32]),
            threshold_permille: 100,
            scale: AutoScale {
                average_load_permille: 250,
                servers: 2,
            },
        }
    }

    /// The command really runs, with the figures in its environment; the
    /// webhook really gets the JSON body.
    #[tokio::test]
    async fn command_and_webhook_carry_the_figures() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let command = format!(
            "echo \"$AVRS_AUTOSCALE_LOAD_PERMILLE $AVRS_AUTOSCALE_SERVERS $AVRS_CLUSTER_ID\" > {}",
            out.display()
        );
        run_command(command, signal().env()).await;
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "250 2 prod\n");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: WebhookUrl = format!("http://{}/scale", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.ends_with(b"}") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ends with its JSON body");
                request.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let status = post(&url, &signal().json().to_string()).await.unwrap();
        assert_eq!(status, 204);
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /scale HTTP/1.1\r\n"), "{request}");
        let body: serde_json::Value =
            serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["average_load_permille"], 250);
        assert_eq!(body["servers"], 2);
        assert_eq!(body["threshold_permille"], 100);
    }
}
