//! `avrs keygen` (being written).
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {}
pub fn run(_args: KeygenArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
