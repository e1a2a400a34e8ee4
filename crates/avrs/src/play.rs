//! `avrs play` (being written).
#[derive(Debug, clap::Args)]
pub struct PlayArgs {}
pub fn run(_args: PlayArgs) -> anyhow::Result<()> {
    anyhow::bail!("native playback is being written")
}
