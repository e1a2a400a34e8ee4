//! `avrs token`: issue, verify and revoke access tokens with the keys of a
//! node's `[auth]` section.
//!
//! ```text
//! avrs token issue --config FILE --role publisher|viewer|operator|host|server \
//!                  --content live/NAME --ttl 10m [--subject S] [--attr k=v]...
//! avrs token verify --config FILE TOKEN
//! avrs token revoke --config FILE (--jti X | --subject S | --serial HEX) --totp CODE
//! ```
//!
//! `issue` prints the claims, then the token alone on the last line.

use anyhow::{Context, Result, bail};
use avrs_auth::revocation::RevokedKind;
use avrs_auth::{AuthConfig, Authorizer, TokenRole};
use avrs_config::Config;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Make a token signed with the node's token key; printed on the last line.
    Issue(IssueArgs),
    /// Check a token against the node's keys and print its claims.
    Verify {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        token: String,
    },
    /// Revoke a token (jti), a subject or a certificate serial; needs TOTP.
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
struct IssueArgs {
    /// The node's INI file (its [auth] section names the key).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// publisher, viewer, operator or host.
    #[arg(long)]
    role: String,
    /// Content name or pattern: live/NAME, live/*, *.
    #[arg(long, value_name = "NAME")]
    content: String,
    /// Lifetime: 30s, 10m, 2h, 7d (at most 365d).
    #[arg(long, value_name = "DUR", default_value = "1h")]
    ttl: String,
    /// Who the token is for (claim sub).
    #[arg(long, value_name = "S", default_value = "avrs-cli")]
    subject: String,
    /// Attributes (claim attrs), KEY=VALUE; may repeat.
    #[arg(long = "attr", value_name = "K=V")]
    attrs: Vec<String>,
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["jti", "subject", "serial"]))]
struct RevokeArgs {
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    #[arg(long)]
    jti: Option<String>,
    #[arg(long)]
    subject: Option<String>,
    /// A member certificate serial (hex).
    #[arg(long)]
    serial: Option<String>,
    /// The current code of the admin TOTP secret (avrs mfa enroll).
    #[arg(long, value_name = "CODE")]
    totp: String,
}

pub fn run(args: TokenArgs) -> Result<()> {
    match args.command {
        TokenCommand::Issue(args) => issue(args),
        TokenCommand::Verify { config, token } => verify(&config, &token),
        TokenCommand::Revoke(args) => revoke(args),
    }
}

/// The node's authorizer as its config file describes it.
pub fn load_authorizer(config: &Path) -> Result<Authorizer> {
    let config = Config::load(config)?;
    let auth = AuthConfig::from_config(&config, true)?;
    Ok(Authorizer::load(&auth, None)?)
}

fn issue(args: IssueArgs) -> Result<()> {
    let role = TokenRole::parse(&args.role).with_context(|| {
        format!(
            "--role: expected publisher, viewer, operator, host or server, got '{}'",
            args.role
        )
    })?;
    let ttl = parse_duration_secs(&args.ttl).context("--ttl")?;
    let mut attrs = BTreeMap::new();
    for pair in &args.attrs {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("--attr: expected KEY=VALUE, got '{pair}'"))?;
        attrs.insert(k.to_owned(), v.to_owned());
    }
    let authorizer = load_authorizer(&args.config)?;
    let now = avrs_auth::unix_now();
    let (token, claims) =
        authorizer.issue_token(role, &args.content, &args.subject, ttl, attrs, now)?;
    authorizer.audit(avrs_auth::AuditEvent {
        event: "token_issued",
        subject: Some(claims.sub.clone()),
        action: Some(claims.role.name().into()),
        content: Some(claims.content.clone()),
        result: "ok",
        jti: Some(claims.jti.clone()),
        ..Default::default()
    });
    println!("subject: {}", claims.sub);
    println!("role: {}", claims.role.name());
    println!("content: {}", claims.content);
    println!("expires: {} (unix {})", rfc3339(claims.exp), claims.exp);
    println!("jti: {}", claims.jti);
    println!("{token}");
    Ok(())
}

fn verify(config: &Path, token: &str) -> Result<()> {
    let authorizer = load_authorizer(config)?;
    let claims = authorizer
        .token_keys()
        .verify(token.trim(), avrs_auth::unix_now())?;
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}

fn revoke(args: RevokeArgs) -> Result<()> {
    let authorizer = load_authorizer(&args.config)?;
    authorizer.check_totp(&args.totp, avrs_auth::unix_now())?;
    let (kind, value) = match (args.jti, args.subject, args.serial) {
        (Some(v), _, _) => (RevokedKind::Jti, v),
        (_, Some(v), _) => (RevokedKind::Sub, v),
        (_, _, Some(v)) => (RevokedKind::Serial, v),
        _ => bail!("name --jti, --subject or --serial"),
    };
    let added = authorizer.revoke(kind, &value, "avrs token revoke")?;
    let note = if added { "" } else { " (already revoked)" };
    println!("revoked {} {value}{note}", kind.word());
    Ok(())
}

/// `30s`, `10m`, `2h`, `7d` or bare seconds; 1 s to 365 days.
pub fn parse_duration_secs(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .with_context(|| format!("expected a duration such as 30s, 10m, 2h or 7d, got '{text}'"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("expected a duration such as 30s, 10m, 2h or 7d, got '{text}'"),
    };
    let secs = n.saturating_mul(scale);
    if !(1..=365 * 86_400).contains(&secs) {
        bail!("expected a duration from 1s to 365d, got '{text}'");
    }
    Ok(secs)
}

fn rfc3339(unix: u64) -> String {
    avrs_auth::audit::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("10m").unwrap(), 600);
        assert_eq!(parse_duration_secs("45").unwrap(), 45);
        assert_eq!(parse_duration_secs("7d").unwrap(), 7 * 86_400);
        for bad in ["", "0s", "10x", "-1m", "366d", "1.5h"] {
            assert!(parse_duration_secs(bad).is_err(), "{bad}");
        }
    }
}
