//! Overlays: the help screen (keys read from the live keymap), the
//! guidelines, and the critique, verdict and correction forms.

use super::editor::editor;
use super::parts::{block, plain_lines, truncate, Lines};
use super::theme::Theme;
use crate::session::event::{Phase, Preference};
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::state::{severity_name, App, CritiqueForm, Mode, VerdictForm, CATEGORIES};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

pub(super) fn overlay(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    match &app.mode {
        Mode::Normal | Mode::Search { .. } => {}
        Mode::Help { scroll } => scroll_popup(
            &format!(" Keys ({} or Esc closes) ", app.key(Action::Help)),
            help_lines(app),
            *scroll,
            area,
            buf,
        ),
        Mode::Guidelines { scroll } => {
            let g = app.opts.guidelines.as_deref().unwrap_or("");
            let w = layout::popup(area, 100, area.height)
                .width
                .saturating_sub(2);
            let lines = plain_lines(th, g, w as usize);
            scroll_popup(" Guidelines (Esc closes) ", lines, *scroll, area, buf)
        }
        Mode::Critique(f) => critique_form(f, th, area, buf),
        Mode::Verdict(f) => verdict_form(f, th, area, buf),
        Mode::Correction(ta) => {
            let r = layout::popup(area, area.width * 9 / 10, area.height * 8 / 10);
            Clear.render(r, buf);
            let b = block(
                " Corrected answer · Ctrl-S save · Esc cancel ".into(),
                th.focus_border(true),
            );
            b.render(r, buf);
            editor(ta, th, layout::correction_text(area), buf);
        }
    }
}

fn scroll_popup(title: &str, mut lines: Lines, scroll: u16, area: Rect, buf: &mut Buffer) {
    let r = layout::popup(area, 100, area.height);
    Clear.render(r, buf);
    let b = block(title.into(), Style::default());
    let inner = b.inner(r);
    b.render(r, buf);
    let max = lines.len().saturating_sub(inner.height as usize);
    let skip = (scroll as usize).min(max);
    lines.drain(..skip);
    Paragraph::new(lines).render(inner, buf);
}

fn help_lines(app: &App) -> Lines {
    let km = &app.opts.keymap;
    let [good, bad, neutral] =
        [Action::LabelGood, Action::LabelBad, Action::LabelNeutral].map(|a| app.key(a));
    let mut lines = vec![
        Line::raw("Every label and verdict is saved the moment you make it. Labels per tab:"),
        Line::raw(format!(
            "  critiques: {good} valid · {bad} hallucinated · {neutral} nitpick"
        )),
        Line::raw(format!(
            "  checks:    {good} pass · {bad} fail · {neutral} unsure"
        )),
        Line::raw(format!(
            "  steps:     {good} (+1) · {bad} (-1) · {neutral} (0)"
        )),
        Line::raw(""),
    ];
    for a in Action::ALL {
        // Keys and what they do first; the config name last (for [keys]).
        lines.push(Line::raw(format!(
            "  {:<16} {} [{}]",
            km.hint(a),
            a.describe(),
            a.name()
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "Forms: Tab next field · ←/→ change value · Ctrl-S save · Esc cancel",
    ));
    lines.push(Line::raw("Verdict: a accept / r reject · 1-7 score · ←/→ confidence (50-100%) · rationale is multi-line"));
    lines.push(Line::raw(
        "Pairwise verdict: a / b / t (tie) · 1-3 strength",
    ));
    lines.push(Line::raw(
        "Rebind keys in the config file: [keys] action_name = [\"key\", \"ctrl-key\"]",
    ));
    lines
}

fn field_style(th: &Theme, on: bool) -> Style {
    if on {
        th.bold().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    }
}

fn critique_form(f: &CritiqueForm, th: &Theme, area: Rect, buf: &mut Buffer) {
    let r = layout::popup(area, 80, 16);
    Clear.render(r, buf);
    let b = block(
        " Your critique · Tab field · ←/→ change · Ctrl-S save · Esc cancel ".into(),
        th.focus_border(true),
    );
    let inner = b.inner(r);
    b.render(r, buf);
    let quote = truncate(
        &f.quote.replace('\n', " "),
        (inner.width as usize).saturating_sub(10) * 2,
    );
    let mut lines = plain_lines(th, &format!("Quote: “{quote}”"), inner.width as usize);
    lines.truncate(2);
    lines.push(Line::from(vec![
        Span::raw("Severity: "),
        Span::styled(
            format!("< {} >", severity_name(f.severity)),
            field_style(th, f.field == 1),
        ),
        Span::raw("   Category: "),
        Span::styled(
            format!("< {} >", CATEGORIES[f.category]),
            field_style(th, f.field == 2),
        ),
    ]));
    lines.push(Line::styled(
        "Comment (what is wrong, what the answer missed):",
        field_style(th, f.field == 0),
    ));
    fields_then_editor(lines, &f.comment, th, inner, buf);
}

fn verdict_form(f: &VerdictForm, th: &Theme, area: Rect, buf: &mut Buffer) {
    let r = layout::popup(area, 80, 16);
    Clear.render(r, buf);
    let phase = match f.phase {
        Phase::Unaided => "unaided",
        Phase::Assisted => "assisted",
    };
    let title = format!(" Verdict ({phase}) · Tab field · Ctrl-S/Enter save · Esc cancel ");
    let b = block(title, th.focus_border(true));
    let inner = b.inner(r);
    b.render(r, buf);
    let conf = f.confidence.map_or("—".into(), |c| format!("{c}%"));
    let mut lines = Vec::new();
    if f.pairwise {
        let p = match f.preferred {
            Some(Preference::A) => "A",
            Some(Preference::B) => "B",
            Some(Preference::Tie) => "tie",
            None => "— (a / b / t)",
        };
        lines.push(field(th, "Preferred:  ", p.to_string(), f.field == 0));
        lines.push(field(th, "Strength:   ", dots(f.strength, 3), f.field == 1));
    } else {
        let a = match f.accept {
            Some(true) => "accept",
            Some(false) => "reject",
            None => "— (a accept / r reject)",
        };
        lines.push(field(th, "Decision:   ", a.to_string(), f.field == 0));
        lines.push(field(th, "Score:      ", dots(f.score, 7), f.field == 1));
    }
    lines.push(field(
        th,
        "Confidence: ",
        format!("< {conf} >"),
        f.field == 2,
    ));
    lines.push(Line::styled("Rationale:", field_style(th, f.field == 3)));
    fields_then_editor(lines, &f.rationale, th, inner, buf);
}

/// A form: its field lines on top, the multi-line editor in the rest.
fn fields_then_editor(
    lines: Vec<Line<'_>>,
    ta: &tui_textarea::TextArea<'_>,
    th: &Theme,
    inner: Rect,
    buf: &mut Buffer,
) {
    let h = lines.len() as u16;
    Paragraph::new(lines).render(
        Rect {
            height: h.min(inner.height),
            ..inner
        },
        buf,
    );
    let area = Rect {
        y: inner.y + h,
        height: inner.height.saturating_sub(h),
        ..inner
    };
    editor(ta, th, area, buf);
}

fn field(th: &Theme, name: &str, value: String, on: bool) -> Line<'static> {
    Line::from(vec![
        Span::raw(name.to_string()),
        Span::styled(value, field_style(th, on)),
    ])
}

fn dots(v: Option<u8>, max: u8) -> String {
    let mut s: String = (1..=max)
        .map(|i| {
            if v.is_some_and(|v| i <= v) {
                "● "
            } else {
                "○ "
            }
        })
        .collect();
    s += &v.map_or("—".into(), |v| format!("{v}/{max}"));
    s
}
