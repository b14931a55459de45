//! `crit show`: tasks and their assistance as plain text, sanitized.

use super::Ctx;
use crate::assist::{Assistance, Output};
use crate::sanitize::{sanitize, sanitize_line, Census};
use crate::session::event::FailReason;
use crate::session::{Replay, TaskState};
use std::fmt::Write as _;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Session name or directory.
    pub session: String,
    /// Only this task.
    #[arg(long)]
    pub task: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let replay = Replay::read(&ctx.session_dir(&args.session)?)?;
    if let Some(id) = &args.task {
        if replay.index_of(id).is_none() {
            return Err(super::BadInput::from_err(format!(
                "session {} has no task {:?}",
                replay.name(),
                sanitize_line(id)
            )));
        }
    }
    let mut out = std::io::stdout().lock();
    for (task, ts) in replay.tasks().iter().zip(replay.states()) {
        if args.task.as_ref().is_some_and(|id| id != &task.id) {
            continue;
        }
        let text = render_task(task, ts);
        if out.write_all(text.as_bytes()).is_err() {
            break; // closed pipe (e.g. `| head`): stop quietly
        }
    }
    Ok(())
}

/// Plain-text rendering of one task and its current assistance.
pub fn render_task(task: &crate::task::Task, ts: &TaskState) -> String {
    let mut s = String::new();
    let _ = write!(s, "=== task {}", sanitize_line(&task.id));
    // Shown as placeholders below; counted here as in the review's header.
    let notes: Vec<String> = Census::of_texts(task.texts())
        .describe()
        .into_iter()
        .chain(crate::assist::inject::header_note(task))
        .collect();
    match notes.is_empty() {
        false => writeln!(s, " [{}]", notes.join("; ")),
        true => writeln!(s),
    }
    .ok();
    let _ = writeln!(s, "--- prompt\n{}", sanitize(task.prompt.trim_end()));
    match &task.answer_b {
        None => {
            let _ = writeln!(s, "--- answer\n{}", sanitize(task.answer.trim_end()));
        }
        Some(b) => {
            let _ = writeln!(s, "--- answer A\n{}", sanitize(task.answer.trim_end()));
            let _ = writeln!(s, "--- answer B\n{}", sanitize(b.trim_end()));
        }
    }
    if let Some(r) = &task.reference {
        let _ = writeln!(s, "--- reference\n{}", sanitize(r.trim_end()));
    }
    for (kind, records) in &ts.assistance {
        let Some(rec) = records.last() else { continue };
        let _ = writeln!(
            s,
            "--- {} (event {}, {} version{})",
            kind.name(),
            rec.stamp.seq,
            records.len(),
            if records.len() == 1 { "" } else { "s" }
        );
        render_assistance(&mut s, &rec.assistance);
    }
    for f in &ts.failures {
        let _ = match f.reason {
            FailReason::Cancelled => writeln!(s, "--- {} cancelled", f.kind),
            FailReason::Error => writeln!(s, "--- {} failed: {}", f.kind, sanitize_line(&f.error)),
        };
    }
    s.push('\n');
    s
}

fn render_assistance(s: &mut String, a: &Assistance) {
    if let Some(t) = &a.truncated {
        let _ = writeln!(
            s,
            "  [answer truncated to {} of {} bytes to fit the context]",
            t.kept_bytes, t.total_bytes
        );
    }
    match &a.output {
        Output::Critique { critiques } => {
            for (i, c) in critiques.iter().enumerate() {
                let mut anchor = match c.span {
                    Some(sp) => format!("bytes {}..{}", sp.start, sp.end),
                    None => "unanchored".into(),
                };
                if let Some(n) = c.agreement {
                    anchor.push_str(&match a.provenance.sample_seeds.len() {
                        0 => format!(", flagged by {n} samples"),
                        of => format!(", flagged by {n} of {of} samples"),
                    });
                }
                let _ = writeln!(
                    s,
                    "  {}. [{:?}/{}] \"{}\" ({anchor})\n     {}",
                    i + 1,
                    c.severity,
                    sanitize_line(&c.category),
                    sanitize_line(&c.quote),
                    sanitize_line(&c.comment)
                );
            }
        }
        Output::Checks { checks } | Output::ToolChecks { checks } => {
            for (i, c) in checks.iter().enumerate() {
                let at = c
                    .span
                    .map(|sp| format!(" (bytes {}..{})", sp.start, sp.end))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {}. {} -> {:?}{at}\n     method: {}\n     evidence: {}",
                    i + 1,
                    sanitize_line(&c.question),
                    c.assistant_verdict,
                    sanitize_line(&c.method),
                    sanitize_line(&c.evidence)
                );
            }
        }
        Output::Decompose { steps } => {
            for st in steps {
                let parent = st
                    .parent
                    .as_deref()
                    .map(|p| format!(" (under {})", sanitize_line(p)))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {} [{:?}]{parent} {}",
                    sanitize_line(&st.id),
                    st.kind,
                    sanitize_line(&st.text)
                );
            }
        }
    }
    if a.output.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    let p = &a.provenance;
    if let Some(tool) = &p.tool {
        let _ = writeln!(s, "  computed by {}", sanitize_line(&tool.label()));
        return;
    }
    let _ = writeln!(
        s,
        "  model {} seed {} | {} prompt tokens in {} ms, {} tokens in {} ms",
        sanitize_line(p.model_name()),
        p.seed,
        p.prompt_tokens,
        p.prompt_ms,
        p.gen_tokens,
        p.gen_ms
    );
}
