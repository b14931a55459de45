//! What a re-run of one piece of assistance gave, next to its record: the
//! comparison, a short word diff of the model's text (`similar`), and the
//! report that ends with the reproduction rate.

use crate::assist::{Assistance, Kind};
use crate::replay::describe::clip;
use crate::sanitize::sanitize_line;
use similar::{ChangeTag, TextDiff};
use std::fmt;

/// Changed places shown per piece.
const MAX_HUNKS: usize = 4;
/// Longest diff line shown.
const MAX_LINE: usize = 160;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Same output and the same text, byte for byte.
    Identical,
    /// Another output or text; `diff` shows where.
    Differs { diff: String },
    /// Run, but the generation failed this time.
    Failed { error: String },
    /// Not run: what it needs is not what was recorded (said how).
    NotRun { why: String },
}

/// One recorded piece and what re-running it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The assistance event's sequence number.
    pub seq: u64,
    pub task: String,
    pub kind: Kind,
    pub outcome: Outcome,
    /// Facts worth knowing beside the outcome (another thread count, ...).
    pub notes: Vec<String>,
}

/// Every piece's row, in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// Pieces that were run (identical, differs or failed).
    pub fn run(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !matches!(r.outcome, Outcome::NotRun { .. }))
            .count()
    }

    pub fn identical(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome == Outcome::Identical)
            .count()
    }

    pub fn not_run(&self) -> usize {
        self.rows.len() - self.run()
    }

    /// Share of the pieces run that came out identical.
    pub fn rate(&self) -> Option<f64> {
        let run = self.run();
        (run > 0).then(|| self.identical() as f64 / run as f64)
    }
}

/// Compare a re-run with its record.
pub fn compare(recorded: &Assistance, now: &Assistance) -> (Outcome, Vec<String>) {
    let mut notes = Vec::new();
    let (a, b) = (&recorded.provenance, &now.provenance);
    if a.prompt_sha256 != b.prompt_sha256 {
        notes.push(format!(
            "the rendered prompt differs (SHA-256 {} recorded, {} now)",
            short(&a.prompt_sha256),
            short(&b.prompt_sha256)
        ));
    }
    if a.served.is_none() && a.n_threads != b.n_threads {
        notes.push(format!(
            "ran with {} threads (recorded {}): this machine has fewer cores",
            b.n_threads, a.n_threads
        ));
    }
    if let (Some(x), Some(y)) = (&a.served, &b.served) {
        if x.model != y.model {
            notes.push(format!(
                "served by model {} (recorded {})",
                sanitize_line(&y.model),
                sanitize_line(&x.model)
            ));
        }
    }
    let outcome = if recorded.output == now.output && recorded.raw == now.raw {
        Outcome::Identical
    } else {
        Outcome::Differs {
            diff: word_diff(&recorded.raw, &now.raw),
        }
    };
    (outcome, notes)
}

/// The first 8 hex digits of a hash.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(8)]
}

/// Where two texts differ, one line per changed place, words removed as
/// `[-...-]` and added as `{+...+}` with a little context.
pub fn word_diff(old: &str, new: &str) -> String {
    let (old, new) = (tokens(old), tokens(new));
    let diff = TextDiff::configure().diff_slices(&old, &new);
    let groups = diff.grouped_ops(6);
    let mut lines: Vec<String> = groups
        .iter()
        .take(MAX_HUNKS)
        .map(|group| {
            let mut runs: Vec<(ChangeTag, String)> = Vec::new();
            for op in group {
                for change in diff.iter_changes(op) {
                    let text = sanitize_line(change.value());
                    match runs.last_mut() {
                        Some((tag, s)) if *tag == change.tag() => s.push_str(&text),
                        _ => runs.push((change.tag(), text)),
                    }
                }
            }
            let line: String = runs
                .iter()
                .map(|(tag, s)| match tag {
                    ChangeTag::Equal => s.clone(),
                    ChangeTag::Delete => format!("[-{s}-]"),
                    ChangeTag::Insert => format!("{{+{s}+}}"),
                })
                .collect();
            format!("…{}…", clip(line.trim(), MAX_LINE))
        })
        .collect();
    if groups.len() > MAX_HUNKS {
        lines.push(format!("… and {} more changes", groups.len() - MAX_HUNKS));
    }
    if lines.is_empty() {
        lines.push("(same text; the parsed output differs)".into());
    }
    lines.join("\n")
}

/// Words, runs of spaces and single punctuation marks: the model's text
/// is mostly JSON, where whitespace-split words would span whole fields.
fn tokens(text: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<u8> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        if i > start && (prev != Some(k) || k == 2) {
            out.push(&text[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = format!("#{} {} {}", self.seq, sanitize_line(&self.task), self.kind);
        match &self.outcome {
            Outcome::Identical => writeln!(f, "{head}: identical")?,
            Outcome::Differs { diff } => {
                writeln!(f, "{head}: differs")?;
                for l in diff.lines() {
                    writeln!(f, "    {l}")?;
                }
            }
            Outcome::Failed { error } => {
                writeln!(f, "{head}: differs (failed now: {})", sanitize_line(error))?
            }
            Outcome::NotRun { why } => writeln!(f, "{head}: not run: {why}")?,
        }
        for n in &self.notes {
            writeln!(f, "    note: {n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return writeln!(f, "no recorded assistance: nothing to regenerate");
        }
        for r in &self.rows {
            r.fmt(f)?;
        }
        let rate = match self.rate() {
            Some(x) => format!("{:.1}%", 100.0 * x),
            None => "nothing could be run".into(),
        };
        writeln!(
            f,
            "reproduced {} of {} pieces run ({rate}); {} not run",
            self.identical(),
            self.run(),
            self.not_run()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_shows_the_changed_words_in_context() {
        let old =
            r#"{"critiques":[{"quote":"120 + 36","comment":"This is wrong.","severity":"major"}]}"#;
        let new =
            r#"{"critiques":[{"quote":"120 + 36","comment":"This is right.","severity":"major"}]}"#;
        let d = word_diff(old, new);
        assert!(d.contains("[-wrong-]{+right+}"), "{d}");
        assert_eq!(d.lines().count(), 1);
        let esc = word_diff("a b", "a \u{1b}[2J");
        assert!(!esc.contains('\u{1b}'), "sanitized: {esc}");
    }

    #[test]
    fn rate_counts_only_pieces_run() {
        let row = |outcome| Row {
            seq: 1,
            task: "t".into(),
            kind: Kind::Critique,
            outcome,
            notes: Vec::new(),
        };
        let r = Report {
            rows: vec![
                row(Outcome::Identical),
                row(Outcome::Failed { error: "x".into() }),
                row(Outcome::NotRun { why: "y".into() }),
            ],
        };
        assert_eq!((r.run(), r.identical(), r.not_run()), (2, 1, 1));
        assert_eq!(r.rate(), Some(0.5));
        let text = r.to_string();
        assert!(
            text.ends_with("reproduced 1 of 2 pieces run (50.0%); 1 not run\n"),
            "{text}"
        );
        assert_eq!(Report::default().rate(), None);
    }
}
