//! `avrs keygen`: make a private key file, or show what an existing one is.
//!
//! ```text
//! avrs keygen --alg ed25519|ml-dsa-65 --out FILE [--force]
//! avrs keygen --show FILE
//! ```
//!
//! Both print, on stdout:
//!
//! ```text
//! algorithm: ml-dsa-65
//! public_key: <hex of the raw public key>
//! id: <hex of SHA3-256 of the public key>
//! node_addr: XXXX::XXXX::XXXX::XXXX
//! ```

use anyhow::Context;
use avrs_crypto::{Algorithm, CryptoError, KeyFileProblem, SigningKey, keyfile};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["out", "show"]))]
pub struct KeygenArgs {
    /// Signature algorithm of the new key.
    #[arg(long, value_enum, default_value_t = AlgArg::MlDsa65, conflicts_with = "show")]
    alg: AlgArg,

    /// Where to write the new private key file (created with mode 0600).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Replace FILE if it exists.
    #[arg(long, requires = "out")]
    force: bool,

    /// Print the algorithm, public key and id of an existing key file.
    #[arg(long, value_name = "FILE")]
    show: Option<PathBuf>,
}

/// The algorithm names accepted on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AlgArg {
    /// Ed25519: 64-byte signatures, fast; for media and frequent packets.
    Ed25519,
    /// ML-DSA-65 (FIPS 204): post-quantum; for identities and control.
    #[value(name = "ml-dsa-65")]
    MlDsa65,
}

impl From<AlgArg> for Algorithm {
    fn from(alg: AlgArg) -> Self {
        match alg {
            AlgArg::Ed25519 => Algorithm::Ed25519,
            AlgArg::MlDsa65 => Algorithm::MlDsa65,
        }
    }
}

pub fn run(args: KeygenArgs) -> anyhow::Result<()> {
    let key = match (&args.show, &args.out) {
        (Some(path), _) => keyfile::load(path)?,
        (None, Some(path)) => generate(args.alg.into(), path, args.force)?,
        (None, None) => anyhow::bail!("give --out FILE or --show FILE"),
    };
    print_key(&key)
}

fn generate(algorithm: Algorithm, path: &Path, force: bool) -> anyhow::Result<SigningKey> {
    let key = SigningKey::generate(algorithm).context("cannot generate a key")?;
    match keyfile::save(path, &key, force) {
        Err(CryptoError::KeyFile {
            problem: KeyFileProblem::AlreadyExists,
            ..
        }) => anyhow::bail!(
            "key file {} already exists; pass --force to replace it",
            path.display()
        ),
        other => other?,
    }
    Ok(key)
}

fn print_key(key: &SigningKey) -> anyhow::Result<()> {
    let public = key.public_key();
    let mut out = std::io::stdout().lock();
    writeln!(out, "algorithm: {}", key.algorithm())?;
    writeln!(out, "public_key: {}", public.to_hex())?;
    writeln!(out, "id: {}", public.id().to_hex())?;
    writeln!(out, "node_addr: {}", public.node_addr())?;
    Ok(())
}
