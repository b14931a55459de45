//! `crit import`: existing human labels into a session, all or nothing.

use super::Ctx;
use crate::labels::import::{import, ImportFormat, ImportOptions};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// File of labels to import.
    pub file: PathBuf,
    /// What the file is.
    #[arg(long, short)]
    pub format: ImportFormat,
    /// Session name or directory (created if missing).
    #[arg(long, short)]
    pub session: String,
    /// Record the labels under this evaluator (default: from the file's meta
    /// or labeler, else the format name).
    #[arg(long)]
    pub evaluator: Option<String>,
    /// Import the good lines and report the bad ones, instead of importing
    /// nothing when any line is bad.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Record the path the file was imported from in every label's source
    /// (by default only its name and SHA-256).
    #[arg(long)]
    pub keep_path: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let dir = ctx.session_dir(&args.session)?;
    let opts = ImportOptions {
        evaluator: args.evaluator.as_deref(),
        skip_invalid: args.skip_invalid,
        keep_path: args.keep_path,
    };
    let r = import(&args.file, args.format, &dir, opts).map_err(super::export::map_err)?;
    let events = crate::sanitize::sanitize_line(
        &dir.join(crate::session::EVENTS_FILE).display().to_string(),
    );
    if let Some(torn) = r.recovered {
        eprintln!(
            "warning: {}: last line was incomplete ({torn} bytes, a write was interrupted); it was removed, everything before it is kept",
            events
        );
    }
    if let Some(a) = &r.aborted {
        eprintln!("warning: {events}: {a}");
    }
    for e in &r.skipped {
        eprintln!("skipped {e}");
    }
    if !r.skipped.is_empty() {
        eprintln!("{} bad line(s) skipped", r.skipped.len());
    }
    eprintln!(
        "imported {} into {} session {}: {} task(s), {} label(s), {} verdict(s), {} correction(s), {} user critique(s), {} assistance event(s)",
        args.file.display(),
        if r.created { "new" } else { "existing" },
        dir.display(),
        r.tasks,
        r.labels,
        r.verdicts,
        r.corrections,
        r.user_critiques,
        r.assistance
    );
    Ok(())
}
