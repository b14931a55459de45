//! `crit plant`: tampered copies of known-good tasks (planted flaws) for
//! quality control and audits.

use super::{BadInput, Ctx};
use crate::audit::plant::{self, PlantKind};
use crate::task::{self, native, Format};
use anyhow::Context as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Task file (JSONL); tasks whose answer matches their reference are planted.
    pub tasks: PathBuf,
    /// Seed: the same seed plants the same flaws.
    #[arg(long)]
    pub seed: u64,
    /// Output file (crit's native JSONL).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Input format (detected when omitted).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Use the valid records and report the invalid ones instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
}

pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<()> {
    let loaded = task::load(&args.tasks, args.format, args.skip_invalid)?;
    for e in &loaded.skipped {
        eprintln!("skipped {e}");
    }
    let report = plant::plant_all(&loaded.tasks, args.seed);
    if report.known_good == 0 {
        return Err(BadInput::from_err(format!(
            "{}: no task has a reference that its answer matches, so none is known good to plant a flaw in",
            args.tasks.display()
        )));
    }
    write_tasks(&args.output, &report.planted)?;
    eprintln!("{}", summary(&report, &loaded.tasks, &args.output));
    Ok(())
}

/// Write through a temp file renamed into place: no half file on failure.
fn write_tasks(path: &Path, tasks: &[task::Task]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("-o needs a file name")?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for t in tasks {
            writeln!(out, "{}", native::to_native_line(t))?;
        }
        out.into_inner()?.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

fn summary(report: &plant::Report, tasks: &[task::Task], output: &Path) -> String {
    let count = |k: PlantKind| {
        report
            .planted
            .iter()
            .filter(|t| plant::planting(t).is_some_and(|p| p.kind == k))
            .count()
    };
    let mut s = format!(
        "planted {} of {} tasks ({} known good: answer matches reference) into {}: {} number, {} operator, {} unit, {} step",
        report.planted.len(),
        tasks.len(),
        report.known_good,
        output.display(),
        count(PlantKind::Number),
        count(PlantKind::Operator),
        count(PlantKind::Unit),
        count(PlantKind::Step),
    );
    if !report.unplantable.is_empty() {
        s.push_str(&format!(
            "\n{} known-good task(s) had nothing to change that makes the answer wrong: {}",
            report.unplantable.len(),
            crate::sanitize::sanitize_line(&report.unplantable.join(", "))
        ));
    }
    s
}
