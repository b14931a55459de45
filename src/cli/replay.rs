//! `crit replay`: watch a session as the evaluator saw it (read-only, no
//! lock; follows a log another crit is writing), print the state at one
//! point (`--at SEQ|TIME --print`), or run the recorded assistance again
//! and compare (`--regenerate`). Nothing is written to the session.

use super::{BadInput, Ctx};
use crate::assist::options::EngineArgs;
use crate::replay::regenerate::{self, RegenError};
use crate::replay::{At, Mark, Recording, ReplayError};
use crate::session::{LogTail, Replay};
use crate::tui::replay::Player;
use crate::tui::{driver, terminal, Keymap, Options};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Session name or directory.
    pub session: String,
    /// Whose screen, when several evaluators wrote to the session
    /// [default: the first who opened a task].
    #[arg(long)]
    pub evaluator: Option<String>,
    /// Start at this event: its sequence number, or a time (RFC 3339; the
    /// last event at or before it).
    #[arg(long, value_name = "SEQ|TIME")]
    pub at: Option<String>,
    /// Print the state at --at (default: the last event) as plain text.
    #[arg(long)]
    pub print: bool,
    /// Run every recorded piece of assistance again with its recorded
    /// settings and report whether it comes out identical.
    #[arg(long, conflicts_with_all = ["print", "at", "evaluator"])]
    pub regenerate: bool,
    /// With --regenerate: only this task's assistance.
    #[arg(long, requires = "regenerate")]
    pub task: Option<String>,
    /// With --regenerate: the GGUF model to compare against [env: CRIT_MODEL]
    /// [default: as for review].
    #[arg(long, requires = "regenerate")]
    pub model: Option<PathBuf>,
    /// With --regenerate: directory of prompt templates [env: CRIT_PROMPTS].
    #[arg(long, requires = "regenerate")]
    pub prompts: Option<PathBuf>,
    /// With --regenerate: server for assistance that came from one
    /// [default: the recorded one].
    #[arg(
        long,
        value_name = "URL",
        requires = "regenerate",
        conflicts_with = "model"
    )]
    pub backend: Option<String>,
    /// Environment variable holding the server's bearer token.
    #[arg(long, value_name = "NAME", requires = "regenerate")]
    pub api_key_env: Option<String>,
    /// Seconds to wait for a connection to the server.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds the server may stay silent.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub idle_timeout: f64,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let dir = ctx.session_dir(&args.session)?;
    if args.regenerate {
        return regenerate(&args, ctx, &dir);
    }
    let (replay, tail) = Replay::read_following(&dir)?;
    if replay.tasks().is_empty() {
        return Err(BadInput::from_err("the session has no tasks"));
    }
    let rec = Recording::new(replay, args.evaluator.as_deref()).map_err(replay_error)?;
    let at = match &args.at {
        Some(s) => Some(
            At::parse(s)
                .and_then(|a| rec.position(a))
                .map_err(replay_error)?,
        ),
        None => None,
    };
    if args.print {
        let text = rec.moment(at.unwrap_or(rec.last())).to_string();
        let _ = std::io::stdout().lock().write_all(text.as_bytes()); // a closed pipe is fine
        return Ok(());
    }
    let start = at.unwrap_or_else(|| first_task_opened(&rec));
    let mut player = Player::new(rec, options(ctx), start);
    let name = player.app.opts.session_name.clone();
    run_terminal(&mut player, tail)?;
    eprintln!(
        "crit replay: session {} ({} events), nothing written.",
        crate::sanitize::sanitize_line(&name),
        player.rec.len()
    );
    Ok(())
}

/// Where watching starts by default: the evaluator's first task.
fn first_task_opened(rec: &Recording) -> usize {
    let tl = rec.timeline();
    tl.points()
        .iter()
        .position(|p| p.mark == Some(Mark::Task))
        .unwrap_or(0)
}

fn replay_error(e: ReplayError) -> anyhow::Error {
    match e {
        ReplayError::Session(e) => e.into(),
        e => BadInput::from_err(e),
    }
}

/// The review's options for a read-only screen (placeholders until the
/// player fills in the evaluator and session).
fn options(ctx: &Ctx) -> Options {
    Options {
        read_only: true,
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        keymap: Keymap::with_overrides(&ctx.config.keys).unwrap_or_default(),
        ..Options::default()
    }
}

fn run_terminal(player: &mut Player, tail: LogTail) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut term = terminal::init()?;
    let result = rt.block_on(async {
        let input = crossterm::event::EventStream::new();
        crate::tui::replay::run(&mut term, player, input, Some(tail), driver::real_clock()).await
    });
    terminal::restore();
    Ok(result?)
}

fn regenerate(args: &Args, ctx: &Ctx, dir: &Path) -> anyhow::Result<()> {
    let replay = Replay::read(dir)?;
    let opts = regenerate::Options {
        task: args.task.clone(),
        engine: engine_args(args),
    };
    let mut shown = 0usize;
    let mut progress = |row: &regenerate::Row| {
        shown += 1;
        eprintln!("[{shown}] #{} {}", row.seq, row.kind);
    };
    let report =
        regenerate::regenerate(&replay, &opts, &ctx.config, &mut progress).map_err(regen_error)?;
    let _ = std::io::stdout()
        .lock()
        .write_all(report.to_string().as_bytes());
    Ok(())
}

/// The engine options `--regenerate` takes; everything else comes from
/// each piece's record.
fn engine_args(args: &Args) -> EngineArgs {
    EngineArgs {
        model: args.model.clone(),
        seed: 0,
        threads: None,
        ctx_size: None,
        max_tokens: None,
        prompts: args.prompts.clone(),
        temperature: None,
        top_k: None,
        top_p: None,
        min_p: None,
        repeat_penalty: None,
        backend: args.backend.clone(),
        api_key_env: args.api_key_env.clone(),
        model_name: None,
        concurrency: None,
        connect_timeout: args.connect_timeout,
        idle_timeout: args.idle_timeout,
    }
}

fn regen_error(e: RegenError) -> anyhow::Error {
    match e {
        RegenError::UnknownTask { .. }
        | RegenError::Model(_)
        | RegenError::Prompts(_)
        | RegenError::BadOption(_) => BadInput::from_err(e),
        RegenError::Start(e) => e.into(),
        e => e.into(),
    }
}
