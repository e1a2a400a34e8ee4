//! `avrs cert`: member certificates (format in `docs/security.md`).
//!
//! ```text
//! avrs cert issue --ca-key HOST.key (--member-key M.key | --member-pub HEX | --self) \
//!                 --roles server --attr region=eu --valid-for 30d --out FILE [--force]
//! avrs cert show FILE [--ca CA.crt]
//! ```
//!
//! `--self` makes the authority's own certificate: the file
//! `ca_certificate_file` names on every node.

use anyhow::{Context, Result, bail};
use avrs_auth::MemberCertificate;
use avrs_auth::revocation::Revocations;
use avrs_crypto::{Algorithm, PublicKey, keyfile};
use avrs_proto::avrs::Roles;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CertArgs {
    #[command(subcommand)]
    command: CertCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CertCommand {
    /// Sign a member certificate with the authority's key.
    Issue(IssueArgs),
    /// Print a certificate; with --ca, check it too.
    Show {
        file: PathBuf,
        /// The authority's certificate to check against.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("member").required(true).args(["member_key", "member_pub", "self_signed"]))]
struct IssueArgs {
    /// The authority's (cluster host's or an operator's) private key file.
    #[arg(long, value_name = "FILE")]
    ca_key: PathBuf,
    /// The member's private key file (only its public key is used).
    #[arg(long, value_name = "FILE")]
    member_key: Option<PathBuf>,
    /// The member's public key, hex (as `avrs keygen` prints it).
    #[arg(long, value_name = "HEX")]
    member_pub: Option<String>,
    /// Certify the authority's own key: the CA certificate.
    #[arg(long = "self")]
    self_signed: bool,
    /// Roles, e.g. server or host,server.
    #[arg(long, default_value = "client")]
    roles: String,
    /// Attributes KEY=VALUE; may repeat.
    #[arg(long = "attr", value_name = "K=V")]
    attrs: Vec<String>,
    /// Validity from now: 30d, 12h, ….
    #[arg(long, value_name = "DUR", default_value = "365d")]
    valid_for: String,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[arg(long)]
    force: bool,
}

pub fn run(args: CertArgs) -> Result<()> {
    match args.command {
        CertCommand::Issue(args) => issue(args),
        CertCommand::Show { file, ca } => show(&file, ca.as_deref()),
    }
}

fn issue(args: IssueArgs) -> Result<()> {
    let ca = keyfile::load(&args.ca_key)?;
    let subject = if args.self_signed {
        ca.public_key().clone()
    } else if let Some(path) = &args.member_key {
        keyfile::load_public_key(path)?
    } else {
        let hex_key = args.member_pub.as_deref().unwrap_or_default();
        let bytes = hex::decode(hex_key.trim()).context("--member-pub: expected hex")?;
        let alg = match bytes.len() {
            32 => Algorithm::Ed25519,
            1952 => Algorithm::MlDsa65,
            n => bail!(
                "--member-pub: {n} bytes is neither an Ed25519 (32) nor an ML-DSA-65 (1952) key"
            ),
        };
        PublicKey::from_bytes(alg, &bytes)?
    };
    let roles = Roles::parse(&args.roles).context("--roles")?;
    let mut attrs = BTreeMap::new();
    for pair in &args.attrs {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("--attr: expected KEY=VALUE, got '{pair}'"))?;
        attrs.insert(k.to_owned(), v.to_owned());
    }
    let valid = crate::token::parse_duration_secs(&args.valid_for).context("--valid-for")?;
    let now = avrs_auth::unix_now();
    let cert = MemberCertificate::issue(&ca, &subject, roles, attrs, now, now + valid)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o644);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(&args.out).with_context(|| {
        format!(
            "cannot create {} (use --force to replace)",
            args.out.display()
        )
    })?;
    file.write_all(cert.to_armor().as_bytes())?;
    file.sync_all()?;
    print_cert(&cert);
    Ok(())
}

fn show(path: &std::path::Path, ca: Option<&std::path::Path>) -> Result<()> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let cert = MemberCertificate::from_armor(&read(path)?)
        .with_context(|| format!("{}", path.display()))?;
    print_cert(&cert);
    if let Some(ca) = ca {
        let now = avrs_auth::unix_now();
        let authority = MemberCertificate::from_armor(&read(ca)?)?.authority_key(now)?;
        cert.verify(&authority, &Revocations::default(), now)?;
        println!("verified: signed by {}, valid now", authority.id().to_hex());
    }
    Ok(())
}

fn print_cert(cert: &MemberCertificate) {
    println!("serial: {}", cert.serial_hex());
    println!("member_id: {}", cert.member_id().to_hex());
    println!("algorithm: {}", cert.public_key.algorithm().name());
    println!("roles: {}", cert.roles);
    println!("not_before: {}", cert.not_before);
    println!("not_after: {}", cert.not_after);
    println!("issuer: {}", cert.issuer.to_hex());
    for (k, v) in &cert.attrs {
        println!("attr: {k}={v}");
    }
}
