//! The human-readable table of an eval-assist [`Report`].

use super::report::{Alarms, Report};
use crate::audit::stats::Figure;
use crate::sanitize;
use std::fmt::Write;

/// "0.42 [0.30, 0.55] (21/50)", or the reason there is no number.
fn fig(f: &Figure) -> String {
    let Some(v) = f.value else {
        return f.note.clone().unwrap_or_else(|| "-".into());
    };
    let mut s = format!("{v:.3}");
    if let Some([lo, hi]) = f.ci95 {
        let _ = write!(s, " [{lo:.3}, {hi:.3}]");
    }
    match f.count {
        Some(c) => {
            let _ = write!(s, " ({c}/{})", f.n);
        }
        None => {
            let _ = write!(s, " (n={})", f.n);
        }
    }
    s
}

fn row(out: &mut String, name: &str, f: &Figure) {
    let _ = writeln!(out, "  {name:<26} {}", fig(f));
}

fn alarms(out: &mut String, title: &str, a: &Alarms) {
    let _ = writeln!(out, "{title} (n={})", a.n);
    row(out, "model", &a.model);
    row(out, "tool checks", &a.tool);
    row(out, "both", &a.both);
}

/// The report as a table (values, 95% bootstrap CI, count/n).
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let clean = |s: &str| sanitize::sanitize_line(s);
    let _ = writeln!(
        out,
        "eval-assist {}: {} tasks, {} sample(s), seed {}",
        clean(&r.data),
        r.tasks,
        r.samples,
        r.seed
    );
    let model = r.model_id.as_deref().unwrap_or("-");
    let _ = writeln!(
        out,
        "assistant {} (model {})",
        clean(&r.assistant),
        clean(model)
    );
    for (name, sha) in &r.templates {
        let _ = writeln!(out, "template {} {}", clean(name), clean(sha));
    }
    let _ = writeln!(out, "tool {}", r.tool);
    let e = &r.first_error;
    let _ = writeln!(out, "first-error hit rate (n={})", e.n);
    row(&mut out, "critique top-1", &e.critique_top1);
    row(&mut out, "critique any", &e.critique_any);
    row(&mut out, "critique any sample", &e.critique_any_sample);
    row(&mut out, "model check", &e.model_check);
    row(&mut out, "model", &e.model);
    row(&mut out, "tool checks", &e.tool);
    row(&mut out, "both", &e.both);
    row(&mut out, "baseline: random segment", &e.random_segment);
    row(&mut out, "baseline: last segment", &e.last_segment);
    alarms(&mut out, "false alarms on correct answers", &r.false_alarm);
    alarms(&mut out, "detection on wrong answers", &r.detection);
    let c = &r.cost;
    let _ = writeln!(out, "cost per task");
    row(&mut out, "ms", &c.ms_per_task);
    row(&mut out, "prompt tokens", &c.prompt_tokens_per_task);
    row(&mut out, "generated tokens", &c.gen_tokens_per_task);
    let _ = writeln!(out, "  failed requests            {}", c.failed_requests);
    for n in &r.notes {
        let _ = writeln!(out, "note: {}", clean(n));
    }
    out
}
