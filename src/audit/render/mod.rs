//! Renderings of the report. The report is first laid out once as a plain
//! document (sections of text, tables and bar charts, every string from
//! data already sanitized); the terminal, Markdown and HTML renderers only
//! draw that document. JSON is the report itself (serde).

mod doc;
mod html;
mod markdown;
mod terminal;

pub use doc::{layout, Bar, Block, Section};

use super::Report;

/// Plain text with unicode tables and bars, for the terminal.
pub fn terminal(report: &Report) -> String {
    terminal::render(&layout(report))
}

/// Markdown for sharing.
pub fn markdown(report: &Report) -> String {
    markdown::render(&layout(report))
}

/// One self-contained HTML page: inline CSS and SVG, no scripts, no network.
pub fn html(report: &Report) -> String {
    html::render(&layout(report))
}

/// The report as pretty JSON (field names documented in docs/audit.md).
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("reports always serialize")
}

/// A share as "42.0% [31.2, 53.1] n=24", or why there is none.
pub fn share_text(f: &super::stats::Figure) -> String {
    match (f.value, &f.note) {
        (Some(v), _) => {
            let ci = f.ci95.map_or(String::new(), |[lo, hi]| {
                format!(" [{:.1}, {:.1}]", lo * 100.0, hi * 100.0)
            });
            let count = f.count.map_or(String::new(), |c| format!(" ({c}/{})", f.n));
            format!("{:.1}%{ci}{count} n={}", v * 100.0, f.n)
        }
        (None, Some(note)) => note.clone(),
        (None, None) => format!("no value (n={})", f.n),
    }
}

/// A coefficient or mean as "0.667 n=6" (with its CI if any), or why not.
pub fn value_text(f: &super::stats::Figure, digits: usize) -> String {
    match (f.value, &f.note) {
        (Some(v), _) => {
            let ci = f.ci95.map_or(String::new(), |[lo, hi]| {
                format!(" [{lo:.digits$}, {hi:.digits$}]")
            });
            format!("{v:.digits$}{ci} n={}", f.n)
        }
        (None, Some(note)) => note.clone(),
        (None, None) => format!("no value (n={})", f.n),
    }
}
