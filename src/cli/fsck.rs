//! `crit fsck SESSION [--repair]`: every line of the log that readers
//! refuse, with `file:line`; `--repair` moves them aside so the rest opens.

use super::Ctx;
use crate::sanitize::sanitize_line;
use crate::session::fsck::{self, Report, QUARANTINE_FILE};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Session name or directory.
    pub session: String,
    /// Move bad lines to events.quarantine.jsonl (nothing is deleted) and
    /// rebuild a missing session_created header from tasks.jsonl.
    #[arg(long)]
    pub repair: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let dir = ctx.session_dir(&args.session)?;
    let report = if args.repair {
        fsck::repair(&dir)?
    } else {
        fsck::check(&dir)?
    };
    print_report(&report);
    if report.is_clean() || report.quarantined > 0 || report.rebuilt_header {
        return Ok(());
    }
    Err(super::BadInput::from_err(format!(
        "{} has lines readers refuse; `crit fsck {} --repair` moves them to {QUARANTINE_FILE}",
        report.events_path.display(),
        sanitize_line(&args.session)
    )))
}

fn print_report(r: &Report) {
    let path = sanitize_line(&r.events_path.display().to_string());
    for bad in &r.bad {
        println!("{path}:{}: {}", bad.line, sanitize_line(&bad.message));
    }
    if r.torn_bytes > 0 {
        println!("{path}: last line incomplete ({} bytes)", r.torn_bytes);
    }
    if r.headless {
        println!("{path}: no session_created event at the start");
    }
    println!(
        "{path}: {} good events, {} bad lines{}{}",
        r.good,
        r.bad.len(),
        if r.quarantined > 0 {
            format!(", {} moved to {QUARANTINE_FILE}", r.quarantined)
        } else {
            String::new()
        },
        if r.rebuilt_header {
            ", header rebuilt"
        } else {
            ""
        }
    );
}
