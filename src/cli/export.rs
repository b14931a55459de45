//! `crit export`: session labels to training formats, with a manifest.

use super::{BadInput, Ctx};
use crate::labels::{
    self, ExportFormat, ExportOptions, Filters, LabelKind, Manifest, MetaMode, Resolve, Sink,
};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Session names or directories.
    #[arg(required = true)]
    pub sessions: Vec<String>,
    /// Output format.
    #[arg(long, short)]
    pub format: ExportFormat,
    /// Output file (written atomically, manifest next to it as
    /// FILE.manifest.json); stdout when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Manifest path (default: next to --output; none for stdout).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Where each record's provenance goes: a `meta` key in every record,
    /// FILE.meta.jsonl beside the output (one line per record), or nowhere.
    /// Default: sidecar for openai-sft/openai-dpo (their validator rejects
    /// extra keys), inline for the rest.
    #[arg(long, value_enum, conflicts_with = "no_meta")]
    pub meta: Option<MetaMode>,
    /// Same as --meta none.
    #[arg(long)]
    pub no_meta: bool,
    /// trl-preference, trl-kto, reward: prompt and replies as lists of
    /// {role, content} messages instead of plain text.
    #[arg(long)]
    pub conversational: bool,
    /// Join two adjacent turns of one role (chat templates that require
    /// alternating roles reject them); they are counted either way.
    #[arg(long)]
    pub merge_consecutive: bool,
    /// reward: map the 1-7 score to 0-1.
    #[arg(long)]
    pub normalize: bool,
    /// Only these evaluators (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub evaluator: Vec<String>,
    /// Leave out verdicts below this confidence (50-100) or without one.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_confidence: Option<u8>,
    /// Only tasks seen under this protocol arm.
    #[arg(long, value_enum)]
    pub arm: Option<crate::session::event::Protocol>,
    /// Only labels recorded at or after this RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only labels recorded at or before this RFC 3339 time (replay).
    #[arg(long)]
    pub until: Option<String>,
    /// Only these label kinds (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<LabelKind>,
    /// Several evaluators on one unit: keep all, the latest, or the majority.
    #[arg(long, value_enum, default_value_t = Resolve::All)]
    pub resolve: Resolve,
}

impl Args {
    fn options(&self) -> ExportOptions {
        ExportOptions {
            format: self.format,
            filters: Filters {
                evaluators: self.evaluator.clone(),
                min_confidence: self.min_confidence,
                arm: self.arm,
                since: self.since.clone(),
                until: self.until.clone(),
                kinds: self.kinds.clone(),
            },
            resolve: self.resolve,
            meta: self.meta_mode(),
            conversational: self.conversational,
            normalize: self.normalize,
            merge_consecutive: self.merge_consecutive,
        }
    }

    /// The asked-for mode; a default sidecar has nowhere to go on stdout.
    fn meta_mode(&self) -> MetaMode {
        if self.no_meta {
            return MetaMode::None;
        }
        match (self.meta, MetaMode::default_for(self.format)) {
            (Some(m), _) => m,
            (None, MetaMode::Sidecar) if self.output.is_none() => MetaMode::None,
            (None, d) => d,
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.conversational && !self.format.has_plain_text() {
            return Err(BadInput::from_err(
                "--conversational applies to --format trl-preference, trl-kto and reward",
            ));
        }
        if self.normalize && self.format != ExportFormat::Reward {
            return Err(BadInput::from_err("--normalize applies to --format reward"));
        }
        if self.merge_consecutive && !self.format.is_dialogue() {
            return Err(BadInput::from_err(format!(
                "--merge-consecutive applies to dialogue formats, not {}",
                self.format.name()
            )));
        }
        Ok(())
    }
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    args.check()?;
    let opts = args.options();
    let dirs: Vec<PathBuf> = args
        .sessions
        .iter()
        .map(|s| ctx.session_dir(s))
        .collect::<anyhow::Result<_>>()?;
    let mut sink = match &args.output {
        Some(path) => {
            labels::stop_on_signals()?;
            Sink::file(path).map_err(map_err)?
        }
        None => Sink::stdout(),
    };
    let result = labels::export(&dirs, &opts, &mut sink).and_then(|m| sink.finish().map(|_| m));
    let mut manifest = match result {
        // `crit export ... | head`: the reader has all it wants.
        Err(e) if args.output.is_none() && is_broken_pipe(&e) => return Ok(()),
        other => other.map_err(map_err)?,
    };
    manifest.output = args.output.as_ref().map(|p| p.display().to_string());
    let manifest_path = args
        .manifest
        .clone()
        .or_else(|| args.output.as_deref().map(Manifest::path_for));
    if let Some(path) = manifest_path {
        manifest.write(&path).map_err(map_err)?;
    }
    eprintln!("{}", summary(&manifest));
    Ok(())
}

fn is_broken_pipe(e: &labels::LabelError) -> bool {
    matches!(e, labels::LabelError::Io { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Library errors to exit codes: bad options and bad lines are the user's
/// input (2); session and task errors keep their own mapping.
pub fn map_err(e: labels::LabelError) -> anyhow::Error {
    use labels::LabelError as E;
    match e {
        E::BadOption(_) | E::BadLines(_) => BadInput::from_err(e),
        E::Session(s) => anyhow::Error::new(s),
        E::Task(t) => anyhow::Error::new(t),
        other => anyhow::Error::new(other),
    }
}

/// One line on stderr: what was written and what was not.
fn summary(m: &Manifest) -> String {
    let c = &m.counts;
    let skipped: u64 = c.skipped.values().sum();
    format!(
        "exported {} {} record(s) from {} session(s); {} task(s) without the label, {} label(s) skipped, {} conflict(s), {} tie(s){}",
        c.records,
        m.format.name(),
        m.sessions.len(),
        c.tasks_without_label,
        skipped,
        c.conflicts,
        c.ties,
        m.output.as_deref().map(|o| format!(" -> {o}")).unwrap_or_default()
    )
}
