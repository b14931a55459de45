//! The diff tab: your corrected answer against the original, and for a
//! pairwise task answer A against B, as word diffs that read without colour.

use super::parts::{styled_line, Lines};
use super::theme::Theme;
use crate::tui::keymap::Action;
use crate::tui::state::App;
use crate::tui::text;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

pub(super) fn diff(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let width = area.width as usize;
    let mut lines: Lines = Vec::new();
    let t = app.task();
    match app.work().and_then(|w| w.correction.as_ref()) {
        Some(c) => {
            lines.push(Line::styled(
                "Correction vs original answer ([-removed-] {+added+})",
                th.bold(),
            ));
            lines.extend(word_diff(&t.answer, &c.text, th, width));
        }
        None => lines.push(Line::styled(
            format!(
                "No correction yet: {} edits in place, {} opens $EDITOR.",
                app.key(Action::EditCorrection),
                app.key(Action::ExternalEditor)
            ),
            th.dim(),
        )),
    }
    if let Some(b) = &t.answer_b {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Answer A vs answer B ([-only A-] {+only B+})",
            th.bold(),
        ));
        lines.extend(word_diff(&t.answer, b, th, width));
    }
    let skip = app
        .diff_scroll
        .min(lines.len().saturating_sub(area.height as usize));
    let lines: Lines = lines
        .into_iter()
        .skip(skip)
        .take(area.height as usize)
        .collect();
    Paragraph::new(lines).render(area, buf);
}

/// Word-level diff, wrapped, with git's `[-..-]`/`{+..+}` markers so it reads
/// without colour too.
fn word_diff(old: &str, new: &str, th: &Theme, width: usize) -> Lines {
    let d = similar::TextDiff::from_words(old, new);
    let mut runs: Vec<(String, Style)> = Vec::new();
    let mut pending: Option<(similar::ChangeTag, String)> = None;
    for ch in d.iter_all_changes() {
        match &mut pending {
            Some((tag, buf)) if *tag == ch.tag() => buf.push_str(ch.value()),
            _ => {
                if let Some((tag, buf)) = pending.take() {
                    runs.push(diff_run(tag, buf, th));
                }
                pending = Some((ch.tag(), ch.value().to_string()));
            }
        }
    }
    if let Some((tag, buf)) = pending {
        runs.push(diff_run(tag, buf, th));
    }
    styled_wrap(th, &runs, width)
}

/// One run of equal, deleted or inserted words.
fn diff_run(tag: similar::ChangeTag, text: String, th: &Theme) -> (String, Style) {
    match tag {
        similar::ChangeTag::Equal => (text, Style::default()),
        similar::ChangeTag::Delete => (
            format!("[-{text}-]"),
            th.bad().add_modifier(Modifier::CROSSED_OUT),
        ),
        similar::ChangeTag::Insert => (
            format!("{{+{text}+}}"),
            th.good().add_modifier(Modifier::BOLD),
        ),
    }
}

/// Wrap styled runs as one text, keeping each run's style.
fn styled_wrap(th: &Theme, runs: &[(String, Style)], width: usize) -> Lines {
    let mut all = String::new();
    let mut marks = Vec::with_capacity(runs.len());
    for (s, st) in runs {
        marks.push((all.len()..all.len() + s.len(), *st));
        all.push_str(s);
    }
    text::wrap(&all, width)
        .into_iter()
        .map(|r| styled_line(th, &all, r, &marks))
        .collect()
}
