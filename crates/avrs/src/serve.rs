//! `avrs serve` (being written).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}
pub fn run(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
