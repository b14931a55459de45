//! `crit eval-assist`: run the assistance over human-labelled data and
//! report how often it finds the marked errors (see `crate::evalassist`).

use super::{BadInput, Ctx};
use crate::assist::options::EngineArgs;
use crate::assist::Assistant;
use crate::audit::stats::Bootstrap;
use crate::evalassist::{self, Header, Options};
use crate::task::{self, Format};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Labelled data (PRM800K, GSM8K model solutions, HaluEval, or native JSONL).
    pub data: PathBuf,
    /// Input format (detected when omitted).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Use the valid records and report the invalid ones instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Critique samples per task, each with its own seed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub samples: u32,
    /// Only the first N tasks.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print the report as JSON (stable field names) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Use the scripted assistant (fixed, model-free output) for tests.
    #[arg(long, hide = true)]
    pub scripted: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let loaded = task::load(&args.data, args.format, args.skip_invalid)?;
    for e in &loaded.skipped {
        eprintln!("skipped {e}");
    }
    let (mut tasks, unlabelled) = evalassist::prepare(&loaded.tasks);
    if unlabelled > 0 {
        eprintln!("{unlabelled} tasks carry no label and are left out");
    }
    tasks.truncate(args.limit.unwrap_or(usize::MAX));
    if tasks.is_empty() {
        return Err(BadInput::from_err(format!(
            "{}: no labelled answers to evaluate",
            args.data.display()
        )));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (assistant, name): (Box<dyn Assistant>, String) = if args.scripted {
        let a = crate::assist::scripted::Scripted::new(tx);
        (Box::new(a), "scripted".into())
    } else {
        args.engine.check(&ctx.config)?;
        args.engine.start_assistant(&ctx.config, tx)?
    };
    let opts = Options {
        samples: args.samples as usize,
        seed: args.engine.seed,
    };
    let total = tasks.len();
    let mut progress = |i: usize| eprint!("\r{}/{total} tasks", i + 1);
    let run = evalassist::run(&tasks, assistant.as_ref(), &mut rx, opts, &mut progress)?;
    eprintln!();
    let header = Header {
        data: args.data.display().to_string(),
        samples: opts.samples,
        seed: opts.seed,
        assistant: name,
    };
    let report = evalassist::report(&run, header, Bootstrap::default());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", evalassist::render(&report));
    }
    Ok(())
}
