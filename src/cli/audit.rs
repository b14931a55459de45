//! `crit audit`: figures over a study's sessions, as a terminal report,
//! JSON, Markdown or a self-contained HTML page.

use super::{BadInput, Ctx};
use crate::audit::stats::{Bootstrap, RESAMPLES, SEED};
use crate::audit::{render, AuditError, Settings};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("output").args(["json", "markdown", "html"])))]
pub struct Args {
    /// Sessions (names or directories), e.g. one per evaluator of a study.
    #[arg(required = true)]
    pub sessions: Vec<String>,
    /// Gold labels: JSON Lines of {"task": ID, "accept": bool | "score": 1-7 | "preference": "a"|"b"|"tie"}.
    #[arg(long)]
    pub gold: Option<PathBuf>,
    /// Print the report as JSON (field names: docs/audit.md).
    #[arg(long)]
    pub json: bool,
    /// Print the report as Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Write the report as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Seed of the bootstrap confidence intervals.
    #[arg(long, default_value_t = SEED)]
    pub seed: u64,
    /// Bootstrap resamples per interval.
    #[arg(long, default_value_t = RESAMPLES)]
    pub resamples: usize,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    if args.resamples == 0 {
        return Err(BadInput::from_err("--resamples must be at least 1"));
    }
    let dirs: Vec<PathBuf> = args
        .sessions
        .iter()
        .map(|s| ctx.session_dir(s))
        .collect::<anyhow::Result<_>>()?;
    let key = |p: &PathBuf| p.canonicalize().unwrap_or_else(|_| p.clone());
    for (i, d) in dirs.iter().enumerate() {
        if dirs[..i].iter().any(|e| key(e) == key(d)) {
            return Err(BadInput::from_err(format!(
                "session {} is given twice; it would be counted twice",
                d.display()
            )));
        }
    }
    let settings = Settings::new(Bootstrap {
        seed: args.seed,
        resamples: args.resamples,
    });
    let report =
        crate::audit::audit(&dirs, args.gold.as_deref(), settings).map_err(|e| match e {
            AuditError::Session(s) => anyhow::Error::new(s),
            // Both come from the --gold file.
            AuditError::Io { .. } | AuditError::Gold { .. } => BadInput::from_err(e),
        })?;
    if let Some(path) = &args.html {
        let page = render::html(&report);
        write_whole(path, page.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        eprintln!("crit audit: wrote {}", path.display());
    } else if args.json {
        println!("{}", render::json(&report));
    } else if args.markdown {
        print!("{}", render::markdown(&report));
    } else {
        print!("{}", render::terminal(&report));
    }
    Ok(())
}

/// Write via a temp file next to `path` and rename, so a reader never sees
/// half a page.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
