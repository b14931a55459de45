//! `crit generate`: assistance for every task, recorded in a session.

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _ctx: &Ctx) -> anyhow::Result<()> {
    anyhow::bail!("generate: not wired yet")
}
