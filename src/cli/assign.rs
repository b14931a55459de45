//! `crit assign`: split tasks into one session per evaluator (the study
//! design), print the plan and write it into each session.

use super::{BadInput, Ctx};
use crate::audit::assign::{self, AssignError, Plan, StudySpec};
use crate::sanitize::sanitize_line;
use crate::session::event::Protocol;
use crate::task::Task;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Task file (JSONL or a supported format).
    pub tasks: PathBuf,
    /// Evaluators, e.g. ana,ben,cho (one session each).
    #[arg(long, value_delimiter = ',', required = true)]
    pub evaluators: Vec<String>,
    /// How many evaluators see each task (for agreement).
    #[arg(long, default_value_t = 1)]
    pub overlap: usize,
    /// Share of each evaluator's items that are planted QC items, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub qc_rate: f64,
    /// Planted (tampered) tasks to draw QC items from, as `crit plant` writes
    /// them [default: flaws planted now into the tasks whose answers match
    /// their reference].
    #[arg(long)]
    pub planted: Option<PathBuf>,
    /// Randomize the protocol per task among these arms, e.g. assisted,blind-first.
    #[arg(long, value_delimiter = ',')]
    pub arms: Vec<String>,
    /// Seed of the plan (order, overlap, QC items, arms).
    #[arg(long)]
    pub seed: u64,
    /// Session names are PREFIX-EVALUATOR [default: the task file's stem].
    #[arg(long)]
    pub prefix: Option<String>,
    /// Task file format (detected when omitted).
    #[arg(long, value_enum)]
    pub format: Option<crate::task::Format>,
}

/// Where QC items come from: `--planted FILE` (as `crit plant` writes it),
/// else flaws planted on the spot into the known-good tasks themselves.
pub(super) fn qc_pool(
    planted: Option<&Path>,
    tasks: &[Task],
    qc_rate: f64,
    seed: u64,
) -> anyhow::Result<Vec<Task>> {
    let Some(path) = planted else {
        if qc_rate <= 0.0 {
            return Ok(Vec::new());
        }
        return Ok(crate::audit::plant::plant_all(tasks, seed).planted);
    };
    let loaded = crate::task::load(path, None, false)?;
    if let Some(i) = loaded
        .tasks
        .iter()
        .position(|t| !t.meta.contains_key("planted"))
    {
        return Err(BadInput::from_err(format!(
            "{}:{}: task {:?} has no meta.planted; pass the output of `crit plant`",
            path.display(),
            loaded.lines.get(i).copied().unwrap_or(0),
            sanitize_line(&loaded.tasks[i].id)
        )));
    }
    Ok(loaded.tasks)
}

fn prefix(args: &Args) -> String {
    args.prefix.clone().unwrap_or_else(|| {
        args.tasks
            .file_stem()
            .map_or("study".into(), |s| s.to_string_lossy().into_owned())
    })
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    if !args.tasks.is_file() {
        return Err(BadInput::from_err(format!(
            "{}: no such task file",
            args.tasks.display()
        )));
    }
    let loaded = crate::task::load(&args.tasks, args.format, false)?;
    let planted = qc_pool(
        args.planted.as_deref(),
        &loaded.tasks,
        args.qc_rate,
        args.seed,
    )?;
    let prefix = prefix(&args);
    let usable = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if prefix.is_empty() || prefix.starts_with('.') || !prefix.chars().all(usable) {
        return Err(BadInput::from_err(format!(
            "--prefix {:?} is not a usable session name (letters, digits, - _ . only)",
            sanitize_line(&prefix)
        )));
    }
    let spec = StudySpec {
        study: prefix.clone(),
        evaluators: args
            .evaluators
            .iter()
            .map(|e| e.trim().to_string())
            .collect(),
        overlap: args.overlap,
        seed: args.seed,
        qc_rate: args.qc_rate,
        arms: parse_arms(&args.arms)?,
    };
    let plan = assign::plan(&loaded.tasks, &planted, &spec).map_err(user_error)?;
    let source = args.tasks.display().to_string();
    let dirs = assign::write(&plan, &ctx.sessions_dir, &prefix, &source).map_err(user_error)?;
    print!("{}", render_plan(&plan, &dirs));
    Ok(())
}

fn parse_arms(names: &[String]) -> anyhow::Result<Vec<Protocol>> {
    names
        .iter()
        .map(|a| {
            a.trim().parse().map_err(|_| {
                BadInput::from_err(format!(
                    "unknown arm {:?}: use assisted, blind-first or unassisted",
                    sanitize_line(a)
                ))
            })
        })
        .collect()
}

pub(super) fn user_error(e: AssignError) -> anyhow::Error {
    match e {
        AssignError::Session(s) => s.into(),
        other => BadInput::from_err(other),
    }
}

/// The plan as text: per evaluator counts, the overlap matrix, and the
/// command each evaluator runs.
pub fn render_plan(plan: &Plan, dirs: &[PathBuf]) -> String {
    let spec = &plan.spec;
    let total: usize = plan.sessions.iter().map(|s| s.regular()).sum();
    let mut out = format!(
        "study {}: {} tasks x overlap {} over {} evaluators, seed {}, qc-rate {}{}\n\n",
        sanitize_line(&spec.study),
        total / spec.overlap.max(1),
        spec.overlap,
        spec.evaluators.len(),
        spec.seed,
        spec.qc_rate,
        if spec.arms.is_empty() {
            String::new()
        } else {
            format!(", arms {}", arm_list(&spec.arms))
        }
    );
    out.push_str(&per_evaluator(plan));
    out.push_str("\nshared tasks (overlap matrix):\n");
    out.push_str(&matrix(plan));
    out.push_str("\nsessions (hand each evaluator theirs):\n");
    for (s, dir) in plan.sessions.iter().zip(dirs) {
        out.push_str(&format!(
            "  crit review {} --evaluator {}{}\n",
            shown_dir(dir),
            s.evaluator,
            review_arms(spec)
        ));
    }
    out
}

fn per_evaluator(plan: &Plan) -> String {
    let mut out = format!(
        "{:<12} {:>6} {:>4} {:>6}",
        "evaluator", "tasks", "qc", "total"
    );
    for arm in &plan.spec.arms {
        out.push_str(&format!(" {:>12}", arm.to_string()));
    }
    out.push('\n');
    for s in &plan.sessions {
        out.push_str(&format!(
            "{:<12} {:>6} {:>4} {:>6}",
            s.evaluator,
            s.regular(),
            s.qc.len(),
            s.tasks.len()
        ));
        for arm in &plan.spec.arms {
            let n = s.arms.values().filter(|a| *a == arm).count();
            out.push_str(&format!(" {n:>12}"));
        }
        out.push('\n');
    }
    out
}

fn matrix(plan: &Plan) -> String {
    let names = &plan.spec.evaluators;
    let mut out = format!("{:<12}", "");
    for n in names {
        out.push_str(&format!(" {n:>8}"));
    }
    out.push('\n');
    for (name, row) in names.iter().zip(&plan.overlap) {
        out.push_str(&format!("{name:<12}"));
        for c in row {
            out.push_str(&format!(" {c:>8}"));
        }
        out.push('\n');
    }
    out
}

fn review_arms(spec: &StudySpec) -> String {
    if spec.arms.is_empty() {
        String::new()
    } else {
        format!(" --arms {} --arm-seed {}", arm_list(&spec.arms), spec.seed)
    }
}

fn arm_list(arms: &[Protocol]) -> String {
    let names: Vec<&str> = arms.iter().map(|a| a.into()).collect();
    names.join(",")
}

fn shown_dir(dir: &Path) -> String {
    sanitize_line(&dir.display().to_string())
}
