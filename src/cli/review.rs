//! `crit review`: the evaluator's terminal UI over a session. Arguments are
//! parsed and validated first, then the session, assistant and terminal
//! are set up; every judgement is appended to the session as it is made.

use super::{BadInput, Ctx};
use crate::assist::options::EngineArgs;
use crate::assist::sampled::{self, SampleArgs};
use crate::assist::{Assistant, EventSender};
use crate::audit::assign::{self, StudySpec};
use crate::session::event::{Protocol, ProtocolSpec};
use crate::session::{Body, Replay, Session};
use crate::tui::{driver, terminal, App, Driver, Keymap, Options};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A task file (JSONL or a supported format) or a session name/directory.
    pub target: String,
    /// Session name when TARGET is a task file [default: the file's stem].
    #[arg(long)]
    pub session: Option<String>,
    /// Task file format (detected when omitted).
    #[arg(long, value_enum)]
    pub format: Option<crate::task::Format>,
    /// Review without assistance (manual review only).
    #[arg(long)]
    pub no_assist: bool,
    /// Who is evaluating (recorded) [default: config, then $USER].
    #[arg(long)]
    pub evaluator: Option<String>,
    /// How assistance is shown.
    #[arg(long, value_enum, default_value = "assisted")]
    pub protocol: Protocol,
    /// Randomize the protocol per task among these arms, e.g. assisted,blind-first.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub arms: Vec<Protocol>,
    /// Seed for drawing arms.
    #[arg(long, default_value_t = 0)]
    pub arm_seed: u64,
    /// Mix planted QC items into a new session at this share, in [0, 1):
    /// copies of known-good tasks with one flaw planted (recorded in the
    /// session, never shown as planted).
    #[arg(long, default_value_t = 0.0)]
    pub qc_rate: f64,
    /// Planted tasks to draw QC items from (`crit plant` output)
    /// [default: planted now from the tasks whose answers match their reference].
    #[arg(long)]
    pub planted: Option<PathBuf>,
    /// Seed for planting and placing QC items.
    #[arg(long, default_value_t = 0)]
    pub qc_seed: u64,
    /// Evaluation guidelines shown with `g` (SHA-256 recorded).
    #[arg(long)]
    pub guidelines: Option<PathBuf>,
    /// Open without writing (also works while another crit holds the session).
    #[arg(long)]
    pub read_only: bool,
    /// Tasks ahead to generate in the background [default: config review.prefetch].
    #[arg(long)]
    pub prefetch: Option<usize>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub sampling: SampleArgs,
    /// Use the scripted assistant (fixed, model-free output) for demos and tests.
    #[arg(long, hide = true)]
    pub scripted: bool,
    /// Feed these keys instead of the terminal's (tests, `make soak`): one
    /// per line as in the config's `[keys]` (`j`, `enter`, `ctrl-d`), or
    /// `wait MS`. Needs --headless.
    #[arg(long, hide = true, requires = "headless")]
    pub keys: Option<PathBuf>,
    /// Run the real driver on an off-screen 120x40 terminal; quits when the
    /// keys run out.
    #[arg(long, hide = true, requires = "keys")]
    pub headless: bool,
}

/// The protocol to record and follow: arms when given, else the one.
fn protocol_spec(args: &Args) -> ProtocolSpec {
    if args.arms.is_empty() {
        ProtocolSpec::Fixed(args.protocol)
    } else {
        ProtocolSpec::Arms {
            arms: args.arms.clone(),
            seed: args.arm_seed,
        }
    }
}

fn evaluator(args: &Args, ctx: &Ctx) -> String {
    args.evaluator
        .clone()
        .or_else(|| ctx.config.evaluator.clone())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "evaluator".into())
}

/// TARGET names a session if it (or the name under the sessions dir) has an
/// events file; otherwise it is a task file.
fn session_target(args: &Args, ctx: &Ctx) -> Option<PathBuf> {
    let dir = ctx.session_dir(&args.target).ok()?;
    dir.join(crate::session::EVENTS_FILE)
        .is_file()
        .then_some(dir)
}

fn open_session(args: &Args, ctx: &Ctx) -> anyhow::Result<Session> {
    if let Some(dir) = session_target(args, ctx) {
        return Ok(Session::open(&dir)?);
    }
    let path = Path::new(&args.target);
    if !path.is_file() {
        return Err(BadInput::from_err(format!(
            "{}: no such task file or session (`crit sessions` lists sessions)",
            crate::sanitize::sanitize_line(&args.target)
        )));
    }
    let loaded = crate::task::load(path, args.format, false)?;
    let name = args.session.clone().unwrap_or_else(|| {
        path.file_stem()
            .map_or("review".into(), |s| s.to_string_lossy().into_owned())
    });
    let format = loaded.format.unwrap_or(crate::task::Format::Native);
    let source = path.display().to_string();
    let dir = ctx.session_dir(&name)?;
    if args.qc_rate > 0.0 || args.planted.is_some() {
        return with_qc(args, ctx, &loaded.tasks, &dir, &source);
    }
    Ok(Session::create_or_open(
        &dir,
        &loaded.tasks,
        &source,
        format.into(),
    )?)
}

/// A session with planted QC items mixed in at `--qc-rate`, planned and
/// recorded as `crit assign` does for one evaluator; an existing session
/// resumes with the items it was given.
fn with_qc(
    args: &Args,
    ctx: &Ctx,
    tasks: &[crate::task::Task],
    dir: &Path,
    source: &str,
) -> anyhow::Result<Session> {
    if dir.join(crate::session::EVENTS_FILE).is_file() {
        return Ok(Session::open(dir)?);
    }
    let pool = super::assign::qc_pool(args.planted.as_deref(), tasks, args.qc_rate, args.qc_seed)?;
    let spec = StudySpec {
        study: crate::session::session_name(dir),
        evaluators: vec![evaluator(args, ctx)],
        overlap: 1,
        seed: args.qc_seed,
        qc_rate: args.qc_rate,
        arms: Vec::new(),
    };
    assign::qc_session(tasks, &pool, &spec, dir, source).map_err(super::assign::user_error)
}

fn read_only_replay(args: &Args, ctx: &Ctx) -> anyhow::Result<Replay> {
    let dir = match session_target(args, ctx) {
        Some(dir) => dir,
        None => ctx.session_dir(args.session.as_deref().unwrap_or(&args.target))?,
    };
    Ok(Replay::read(&dir)?)
}

/// The assistant, or why there is none (shown in the UI).
fn assistant(
    args: &Args,
    ctx: &Ctx,
    tx: EventSender,
) -> (Option<Box<dyn Assistant>>, Option<String>, String) {
    if args.read_only {
        return (None, Some("read-only".into()), "no model".into());
    }
    if args.no_assist {
        return (None, Some("--no-assist".into()), "no model".into());
    }
    // Checked before the terminal is taken over (`run`).
    let samples = args.sampling.resolve(&ctx.config).unwrap_or(1);
    if args.scripted {
        let scripted = |tx| -> Result<_, std::convert::Infallible> {
            let a: Box<dyn Assistant> = Box::new(crate::assist::scripted::Scripted::new(tx));
            Ok((a, "scripted".to_string()))
        };
        let Ok((a, name)) = sampled::start(samples, tx, scripted);
        return (Some(a), None, name);
    }
    // A missing model, a failed load or an unreachable server leaves the UI
    // working for manual review; the reason is shown in the status line and
    // assistance panel.
    let started = sampled::start(samples, tx, |tx| {
        args.engine.start_assistant(&ctx.config, tx)
    });
    match started {
        Ok((assistant, name)) => (Some(assistant), None, name),
        Err(e) => (None, Some(format!("{e:#}")), "no model".into()),
    }
}

fn read_guidelines(args: &Args) -> anyhow::Result<Option<(String, String)>> {
    let Some(p) = &args.guidelines else {
        return Ok(None);
    };
    let bytes = std::fs::read(p)
        .map_err(|e| BadInput::from_err(format!("guidelines {}: {e}", p.display())))?;
    let sha = crate::hash::sha256_hex(&bytes);
    Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), sha)))
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let protocol = protocol_spec(&args);
    // A bad --backend URL or key variable is bad input, found before the
    // terminal is taken over.
    args.engine.remote_settings(&ctx.config)?;
    args.sampling.resolve(&ctx.config)?;
    let keymap = Keymap::with_overrides(&ctx.config.keys).map_err(BadInput::from_err)?;
    let guidelines = read_guidelines(&args)?;
    let evaluator = evaluator(&args, ctx);
    let (log, replay) = if args.read_only {
        (None, read_only_replay(&args, ctx)?)
    } else {
        let mut session = open_session(&args, ctx)?;
        super::warn_recovered(&session);
        session.append_durable(Body::Opened {
            command: "review".into(),
            pid: std::process::id(),
            evaluator: Some(evaluator.clone()),
            protocol: Some(protocol.clone()),
            guidelines_sha256: guidelines.as_ref().map(|g| g.1.clone()),
        })?;
        let (log, replay) = session.split();
        (Some(log), replay)
    };
    if replay.tasks().is_empty() {
        return Err(BadInput::from_err("the session has no tasks"));
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (assistant, no_assist, model_name) = assistant(&args, ctx, tx);
    let opts = Options {
        evaluator,
        session_name: replay.name(),
        protocol,
        prefetch: args.prefetch.unwrap_or(ctx.config.review.prefetch),
        idle_ms: ctx.config.review.idle_seconds.saturating_mul(1000),
        read_only: args.read_only,
        no_assist,
        model_name,
        guidelines: guidelines.map(|g| g.0),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        keymap,
        seed: args.engine.seed,
    };
    let keys = args.keys.as_deref().map(headless::read_keys).transpose()?;
    let mut app = App::new(opts, replay);
    let mut drv = Driver::new(log, assistant, rx, driver::real_clock());
    match keys {
        Some(keys) => headless::run(&mut app, &mut drv, keys),
        None => run_terminal(&mut app, &mut drv),
    }
}

/// `--keys FILE --headless`: the review driven from a file of keys.
mod headless {
    use super::BadInput;
    use crate::tui::keymap::Key;
    use crate::tui::{driver, App, Driver};
    use crossterm::event::{Event as TermEvent, KeyEvent, KeyModifiers};
    use std::path::Path;
    use std::time::Duration;

    pub enum Step {
        Key(KeyEvent),
        Wait(u64),
    }

    pub fn read_keys(path: &Path) -> anyhow::Result<Vec<Step>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BadInput::from_err(format!("{}: {e}", path.display())))?;
        let bad =
            |n: usize, why: String| BadInput::from_err(format!("{}:{n}: {why}", path.display()));
        let mut steps = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let line = line.trim();
            if let Some(ms) = line.strip_prefix("wait ") {
                let ms = ms.trim().parse().map_err(|e| bad(i + 1, format!("{e}")))?;
                steps.push(Step::Wait(ms));
                continue;
            }
            let key = Key::parse(line).map_err(|e| bad(i + 1, e.to_string()))?;
            let mut mods = KeyModifiers::NONE;
            mods.set(KeyModifiers::CONTROL, key.ctrl);
            mods.set(KeyModifiers::ALT, key.alt);
            steps.push(Step::Key(KeyEvent::new(key.code, mods)));
        }
        Ok(steps)
    }

    pub fn run(app: &mut App, drv: &mut Driver, steps: Vec<Step>) -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40))?;
        let input = Box::pin(futures::stream::unfold(
            steps.into_iter(),
            |mut it| async move {
                loop {
                    match it.next()? {
                        Step::Wait(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                        Step::Key(k) => return Some((Ok(TermEvent::Key(k)), it)),
                    }
                }
            },
        ));
        rt.block_on(driver::run(
            &mut term,
            app,
            drv,
            input,
            &mut driver::NoEditor,
        ))?;
        Ok(())
    }
}

fn run_terminal(app: &mut App, drv: &mut Driver) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut term = terminal::init()?;
    let result = rt.block_on(async {
        let input = crossterm::event::EventStream::new();
        driver::run(&mut term, app, drv, input, &mut terminal::ExternalEditor).await
    });
    terminal::restore();
    result?;
    eprintln!(
        "crit review: session {} saved ({} events).",
        crate::sanitize::sanitize_line(&app.opts.session_name),
        app.replay.events().len()
    );
    Ok(())
}
