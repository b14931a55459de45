//! Command-line interface: clap definitions and one module per subcommand,
//! each with `run(args, &ctx)`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub mod assign;
pub mod audit;
pub mod bench;
pub mod eval_assist;
pub mod export;
pub mod fsck;
pub mod generate;
pub mod import;
pub mod logging;
pub mod model;
pub mod plant;
pub mod replay;
pub mod review;
pub mod sessions;
pub mod show;

/// AI-assisted evaluation in the terminal, with a local assistant model.
#[derive(Debug, Parser)]
#[command(name = "crit", version, about, long_about = None)]
pub struct Cli {
    /// Directory holding sessions [env: CRIT_SESSIONS] [default: data dir]
    #[arg(long, global = true)]
    pub sessions_dir: Option<PathBuf>,
    /// Config file [env: CRIT_CONFIG]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate critiques, checks and decompositions for tasks into a session.
    Generate(generate::Args),
    /// Print a session's tasks and assistance as plain text.
    Show(show::Args),
    /// List sessions with task and event counts.
    Sessions(sessions::Args),
    /// Manage the default model (fetch, path).
    Model(model::Args),
    /// Measure the engine's throughput against a minimal llama.cpp decode loop
    /// (or, with --backend, a server's cost per task with and without its prompt cache).
    Bench(bench::Args),
    /// Review tasks in the terminal UI: label assistance, record verdicts.
    Review(review::Args),
    /// Export labels to training formats (TRL, OpenAI, PRM800K, HH-RLHF, ...).
    Export(export::Args),
    /// Import existing human labels (PRM800K, HH-RLHF, MT-Bench, crit exports).
    Import(import::Args),
    /// Plant flaws: tampered copies of tasks whose answers are known good.
    Plant(plant::Args),
    /// Measure the assistance on human-labelled data: first-error hit
    /// rates, false alarms, baselines, cost.
    EvalAssist(eval_assist::Args),
    /// Check a session's log line by line; --repair moves bad lines aside.
    Fsck(fsck::Args),
    /// Split tasks into one session per evaluator (study design with overlap, arms, QC items).
    Assign(assign::Args),
    /// Audit sessions: critique precision, missed flaws, agreement, effect of assistance.
    Audit(audit::Args),
    /// Replay a session as the evaluator saw it; print the state at a point; re-run its assistance.
    Replay(replay::Args),
}

/// Shared context for subcommands: config and resolved directories.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub config: crate::config::Config,
    pub config_path: PathBuf,
    pub sessions_dir: PathBuf,
}

impl Ctx {
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Ctx> {
        let config_path = cli.config.clone().unwrap_or_else(crate::paths::config_file);
        let config = crate::config::Config::load(&config_path).map_err(BadInput::from_err)?;
        let sessions_dir = cli
            .sessions_dir
            .clone()
            .or_else(|| {
                std::env::var_os("CRIT_SESSIONS")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| config.sessions_dir.clone())
            .unwrap_or_else(crate::paths::sessions_dir);
        Ok(Ctx {
            config,
            config_path,
            sessions_dir,
        })
    }

    /// A session argument is a path when it contains a `/` (`./mine`,
    /// `/data/s1`), else a name under the sessions directory: a directory
    /// of that name in the current directory is never taken by accident.
    pub fn session_dir(&self, name_or_path: &str) -> anyhow::Result<PathBuf> {
        if name_or_path.contains('/') {
            return Ok(PathBuf::from(name_or_path));
        }
        check_session_name(name_or_path).map_err(BadInput::from_err)?;
        Ok(self.sessions_dir.join(name_or_path))
    }
}

/// A session name is one plain path component.
fn check_session_name(name: &str) -> Result<(), String> {
    let shown = crate::sanitize::sanitize_line(name);
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("{shown:?} is not a session name"));
    }
    if name.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!(
            "session name {shown:?} contains a control character or a backslash; use letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// Tell the user when opening a session cut off a torn last line or
/// discarded an interrupted import.
pub fn warn_recovered(session: &crate::session::Session) {
    if let Some(torn) = session.recovered() {
        eprintln!(
            "warning: {}: last line was incomplete ({torn} bytes, a write was interrupted); it was removed, everything before it is kept",
            crate::sanitize::sanitize_line(
                &session.dir().join(crate::session::EVENTS_FILE).display().to_string()
            )
        );
    }
    if let Some(a) = session.aborted_import() {
        let events = session.dir().join(crate::session::EVENTS_FILE);
        eprintln!("warning: {}: {a}", events.display());
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Ctx::from_cli(&cli)?;
    match cli.command {
        Command::Generate(args) => generate::run(args, &ctx),
        Command::Show(args) => show::run(args, &ctx),
        Command::Sessions(args) => sessions::run(args, &ctx),
        Command::Model(args) => model::run(args, &ctx),
        Command::Bench(args) => bench::run(args, &ctx),
        Command::Review(args) => review::run(args, &ctx),
        Command::Export(args) => export::run(args, &ctx),
        Command::Import(args) => import::run(args, &ctx),
        Command::Plant(args) => plant::run(args, &ctx),
        Command::EvalAssist(args) => eval_assist::run(args, &ctx),
        Command::Fsck(args) => fsck::run(args, &ctx),
        Command::Assign(args) => assign::run(args, &ctx),
        Command::Audit(args) => audit::run(args, &ctx),
        Command::Replay(args) => replay::run(args, &ctx),
    }
}

/// The user stopped the command (Ctrl-C, SIGTERM): exit code 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: finished work is kept; run again to resume")]
pub struct Interrupted;

/// Marks an error as the user's input being wrong (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

impl BadInput {
    pub fn from_err(e: impl std::fmt::Display) -> anyhow::Error {
        anyhow::Error::new(BadInput(e.to_string()))
    }
}

/// 0 ok, 1 failure, 2 bad input.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    use crate::session::SessionError;
    use crate::task::TaskError;
    for cause in err.chain() {
        if cause.downcast_ref::<Interrupted>().is_some() {
            return 130;
        }
        if cause.downcast_ref::<BadInput>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<TaskError>() {
            return match e {
                TaskError::Io { .. } => 1, // the file exists but failed to read
                _ => 2,
            };
        }
        if let Some(crate::assist::options::StartError::BadOption(_)) = cause.downcast_ref() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<SessionError>() {
            return match e {
                SessionError::Corrupt { .. }
                | SessionError::Mismatch { .. }
                | SessionError::Headless(_)
                | SessionError::NotASession(_)
                | SessionError::NotFound(_) => 2,
                _ => 1,
            };
        }
    }
    1
}
