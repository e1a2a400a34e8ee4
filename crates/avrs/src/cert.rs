//! `avrs cert`: member certificates (format in `docs/security.md`).
//!
//! ```text
//! avrs cert issue --ca-key HOST.key (--member-key M.key | --member-pub HEX | --self) \
//!                 --roles server --attr region=eu --valid-for 30d --out FILE [--force]
//! avrs cert issue --ca-key OPERATOR.key --chain OPERATOR.crt --member-key M.key ... --out FILE
//! avrs cert show FILE [--ca CA.crt]
//! ```
//!
//! `--self` makes the authority's own certificate: the file
//! `ca_certificate_file` names on every node. `--chain` is for an
//! operator: its own certificate (which the authority issued) is written
//! after the member's, so the member gets one file that verifies offline.
//! `show` prints every certificate of a file; with `--ca` it checks the
//! whole chain against that authority (no revocation list: that is the
//! node's).

use anyhow::{Context, Result, bail};
use avrs_auth::MemberCertificate;
use avrs_auth::cert::{CertificateChain, check_delegation};
use avrs_auth::revocation::Revocations;
use avrs_crypto::{Algorithm, PublicKey, keyfile};
use avrs_proto::avrs::Roles;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct CertArgs {
    #[command(subcommand)]
    command: CertCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CertCommand {
    /// Sign a member certificate with the authority's key, or with an
    /// operator's (--chain).
    Issue(IssueArgs),
    /// Print a certificate file, every certificate of a chain; with --ca,
    /// check the whole chain too.
    Show {
        file: PathBuf,
        /// The authority's self-signed certificate to check against (the
        /// file ca_certificate_file names).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("member").required(true).args(["member_key", "member_pub", "self_signed"]))]
struct IssueArgs {
    /// The issuer's private key file: the authority's (cluster host's or
    /// CA's), or an operator's with --chain.
    #[arg(long, value_name = "FILE")]
    ca_key: PathBuf,
    /// The issuer's own certificate (an operator's, issued by the
    /// authority with the operator role), written after the new one in
    /// --out so the member gets one file. Operators may not certify the
    /// host or operator role; the new certificate ends no later than this.
    #[arg(long, value_name = "FILE", conflicts_with = "self_signed")]
    chain: Option<PathBuf>,
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
    /// Where to write the certificate (then the --chain certificates).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace --out if it exists.
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
    let issuer = args
        .chain
        .as_deref()
        .map(|path| issuer_chain(path, &ca, roles, now))
        .transpose()?;
    let mut not_after = now.saturating_add(valid);
    if let Some(issuer) = &issuer {
        not_after = clamp_to_issuer(not_after, issuer.leaf());
    }
    let cert = MemberCertificate::issue(&ca, &subject, roles, attrs, now, not_after)?;
    let mut certs = vec![cert];
    certs.extend(issuer.iter().flat_map(|c| c.certificates().iter().cloned()));
    let chain = CertificateChain::new(certs).context("--chain")?;
    write_new(&args.out, args.force, chain.to_armor().as_bytes())?;
    print_chain(&chain);
    Ok(())
}

/// Writes `out` (mode 0644: certificates are public), refusing to replace
/// an existing file unless `force`.
fn write_new(out: &Path, force: bool, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o644);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(out)
        .with_context(|| format!("cannot create {} (use --force to replace)", out.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The `--chain` file: its first certificate must be the issuing key's,
/// valid now, and allowed to issue `roles` (the rules every node applies).
fn issuer_chain(
    path: &Path,
    key: &avrs_crypto::SigningKey,
    roles: Roles,
    now: u64,
) -> Result<CertificateChain> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let chain = CertificateChain::from_armor(&text)
        .with_context(|| format!("--chain {}", path.display()))?;
    let own = chain.leaf();
    if own.member_id() != key.id() {
        bail!(
            "--chain {}: its certificate is for member {}, but --ca-key is {}",
            path.display(),
            own.member_id().to_hex(),
            key.id().to_hex()
        );
    }
    if now < own.not_before || now >= own.not_after {
        bail!(
            "--chain {}: the issuer's certificate is valid from {} to {} (unix time), not now",
            path.display(),
            own.not_before,
            own.not_after
        );
    }
    check_delegation(own, roles).with_context(|| format!("--chain {}", path.display()))?;
    Ok(chain)
}

/// A certificate is accepted only while its issuer's is valid, so one
/// that outlives it would promise what it cannot give.
fn clamp_to_issuer(not_after: u64, issuer: &MemberCertificate) -> u64 {
    if not_after <= issuer.not_after {
        return not_after;
    }
    eprintln!(
        "note: the issuer's certificate ends at {} (unix time); the new one ends then too",
        issuer.not_after
    );
    issuer.not_after
}

fn show(path: &Path, ca: Option<&Path>) -> Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let chain = CertificateChain::from_armor(&read(path)?)
        .with_context(|| format!("{}", path.display()))?;
    print_chain(&chain);
    if let Some(ca) = ca {
        let now = avrs_auth::unix_now();
        let authority = MemberCertificate::from_armor(&read(ca)?)
            .and_then(|c| c.authority_key(now))
            .with_context(|| format!("--ca {}", ca.display()))?;
        let path = chain.verify(&authority, &Revocations::default(), now)?;
        let until = path.iter().map(|c| c.not_after).min().unwrap_or_default();
        match path.get(1) {
            None => println!("verified: signed by {}, valid now", authority.id().to_hex()),
            Some(operator) => println!(
                "verified: signed by operator {}, certified by {}; valid now",
                operator.member_id().to_hex(),
                authority.id().to_hex()
            ),
        }
        println!("valid_until: {until}");
    }
    Ok(())
}

/// Every certificate, leaf first; a lone one prints as it always did.
fn print_chain(chain: &CertificateChain) {
    let certs = chain.certificates();
    for (at, cert) in certs.iter().enumerate() {
        if certs.len() > 1 {
            if at > 0 {
                println!();
            }
            println!("certificate: {} of {}", at + 1, certs.len());
        }
        print_cert(cert);
    }
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
