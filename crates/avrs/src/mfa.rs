//! `avrs mfa enroll --config FILE [--force]`: makes the admin TOTP secret
//! named by `admin_totp_secret_file` in `[auth]` (mode 0600) and prints the
//! `otpauth://` URI to enrol an authenticator app. Host and operator admin
//! actions (HTTP admin API, `avrs token revoke`) then need its code.

use anyhow::{Result, bail};
use avrs_auth::AuthConfig;
use avrs_auth::totp::Totp;
use avrs_config::Config;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct MfaArgs {
    #[command(subcommand)]
    command: MfaCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MfaCommand {
    /// Make the admin TOTP secret and print its otpauth:// URI.
    Enroll {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Replace an existing secret (old codes stop working).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(args: MfaArgs) -> Result<()> {
    let MfaCommand::Enroll { config, force } = args.command;
    let loaded = Config::load(&config)?;
    let auth = AuthConfig::from_config(&loaded, true)?;
    let Some(path) = auth.admin_totp_secret_file else {
        bail!(
            "{}: set admin_totp_secret_file in [auth] first (for example admin.totp)",
            config.display()
        );
    };
    let totp = Totp::generate()?;
    totp.save(&path, force)?;
    println!("secret written to {} (mode 0600)", path.display());
    println!("enrol this URI in an authenticator app (it holds the secret: do not share it):");
    println!(
        "{}",
        totp.otpauth_uri(&format!("admin@{}", loaded.cluster_id))
    );
    Ok(())
}
