//! `crit model fetch|path`.

use super::Ctx;
use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Install the default model (SmolLM2-135M-Instruct Q4_1) into the cache.
    Fetch,
    /// Print the path of the model crit would use.
    Path {
        #[arg(long)]
        model: Option<std::path::PathBuf>,
    },
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    use crate::assist::model;
    match args.action {
        Action::Fetch => {
            let path = model::fetch_default(&mut |msg| eprintln!("{msg}"))?;
            println!("{}", path.display());
        }
        Action::Path { model: m } => {
            let path = model::resolve(m.as_deref(), ctx.config.model.as_deref())?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
