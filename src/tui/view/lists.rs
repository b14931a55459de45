//! The item lists of the assistance panel. Critiques, checks and steps are
//! drawn by one piece of code (`numbered`): a numbered head line with the
//! selection marker and your label, then the item's text; each kind only
//! says what its head and body hold.

use super::parts::{indented, truncate, Lines};
use super::theme::Theme;
use crate::assist::{CheckVerdict, Critique};
use crate::session::event::{CritiqueLabel, LabelValue, Target};
use crate::tui::state::{severity_name, App, CheckRow, StepView};
use crate::tui::text;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// One list item: what follows its number on the head line, and the lines
/// below it.
struct Entry {
    head: Vec<Span<'static>>,
    body: Lines,
}

/// Number the items, mark the selected one, look up your label on each
/// (`target` names item i in the log) and lay out what `entry` makes of it.
fn numbered<T>(
    app: &App,
    th: &Theme,
    items: &[T],
    target: impl Fn(usize) -> Target,
    entry: impl Fn(usize, &T, Option<&LabelValue>) -> Entry,
) -> Vec<Lines> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let e = entry(i, item, app.label_on(&target(i)));
            let marker = if app.selected() == i { "▶" } else { " " };
            let mut head = vec![Span::styled(format!("{marker} {:>2} ", i + 1), th.bold())];
            head.extend(e.head);
            let mut lines = vec![Line::from(head)];
            lines.extend(e.body);
            lines
        })
        .collect()
}

fn styled(lines: Lines, style: Style) -> Lines {
    lines.into_iter().map(|l| l.style(style)).collect()
}

pub(super) fn critique_items(app: &App, th: &Theme, width: usize) -> Vec<Lines> {
    let Some((seq, crits)) = app.critiques() else {
        return Vec::new();
    };
    let target = |index| Target::Critique {
        assistance: seq,
        index,
    };
    numbered(app, th, crits, target, |_, c, label| {
        critique(c, label, th, width)
    })
}

fn critique(c: &Critique, label: Option<&LabelValue>, th: &Theme, width: usize) -> Entry {
    let (tag, style, sev) = match label {
        Some(LabelValue::Critique { verdict, severity }) => {
            let (t, s) = match verdict {
                CritiqueLabel::Valid => ("[valid]", th.good()),
                CritiqueLabel::Hallucinated => ("[hallucinated]", th.bad()),
                CritiqueLabel::Nitpick => ("[nitpick]", th.warn()),
            };
            (t, s, *severity)
        }
        _ => ("[unlabelled]", th.dim(), None),
    };
    let sev_text = match sev {
        Some(s) => format!("{}→{}", severity_name(c.severity), severity_name(s)),
        None => severity_name(c.severity).to_string(),
    };
    let head = vec![
        Span::styled(
            sev_text.to_uppercase(),
            th.severity(sev.unwrap_or(c.severity)),
        ),
        Span::raw(format!(" · {} ", text::display(&truncate(&c.category, 24)))),
        Span::styled(tag, style),
    ];
    let mut head = head;
    if let Some(n) = c.agreement.filter(|n| *n > 1) {
        head.push(Span::styled(format!(" · {n} samples agree"), th.bold()));
    }
    if let Some(side) = c.side {
        head.push(Span::styled(
            format!(" · answer {}", side_name(side)),
            th.bold(),
        ));
    }
    let anchor = if c.span.is_none() {
        " (unanchored)"
    } else {
        ""
    };
    let quote = text::display(&truncate(
        &c.quote.replace('\n', " "),
        width.saturating_sub(12).max(8),
    ));
    let mut body = vec![Line::styled(format!("     “{quote}”{anchor}"), th.dim())];
    body.extend(indented(th, &c.comment, width, 5));
    Entry { head, body }
}

/// Computed checks (marked `=`, naming their tool) first, then the model's.
pub(super) fn check_items(app: &App, th: &Theme, width: usize) -> Vec<Lines> {
    let rows = app.check_rows();
    let target = |i: usize| Target::Check {
        assistance: rows[i].seq,
        index: rows[i].index,
    };
    numbered(app, th, &rows, target, |_, r, label| {
        check(r, label, th, width)
    })
}

fn check_name(v: CheckVerdict) -> &'static str {
    match v {
        CheckVerdict::Pass => "pass",
        CheckVerdict::Fail => "fail",
        CheckVerdict::Unsure => "unsure",
    }
}

fn check(row: &CheckRow, label: Option<&LabelValue>, th: &Theme, width: usize) -> Entry {
    let c = row.check;
    let (you, style) = match label {
        Some(LabelValue::Check { verdict }) => {
            (format!("[{}]", check_name(*verdict)), th.check(*verdict))
        }
        _ => ("[unlabelled]".into(), th.dim()),
    };
    let mut head = match row.tool {
        Some(tool) => vec![
            Span::styled("= ", th.bold()),
            Span::styled(
                format!("computed by {}", text::display(&tool.label())),
                th.dim(),
            ),
            Span::raw(": "),
        ],
        None => vec![Span::raw("assistant: ")],
    };
    head.extend([
        Span::styled(
            check_name(c.assistant_verdict),
            th.check(c.assistant_verdict),
        ),
        Span::raw(" · you: "),
        Span::styled(you, style),
    ]);
    let mut body = styled(indented(th, &c.question, width, 5), th.bold());
    body.extend(indented(th, &format!("method: {}", c.method), width, 5));
    let evidence = indented(th, &format!("evidence: {}", c.evidence), width, 5);
    body.extend(styled(evidence, th.dim()));
    Entry { head, body }
}

pub(super) fn step_items(app: &App, th: &Theme, width: usize) -> Vec<Lines> {
    let Some((seq, steps)) = app.steps() else {
        return Vec::new();
    };
    // With stop-at-first-bad on, steps after the first -1 are not rated.
    let stop = app
        .stop_at_first_bad
        .then(|| app.first_bad_step(seq))
        .flatten();
    let target = |index| Target::Step {
        assistance: seq,
        index,
    };
    let answer = &app.task().answer;
    numbered(app, th, &steps, target, |i, s, label| {
        let skipped = stop.is_some_and(|f| i > f);
        step(s, label, skipped, answer, th, width)
    })
}

fn step(
    s: &StepView,
    label: Option<&LabelValue>,
    skipped: bool,
    answer: &str,
    th: &Theme,
    width: usize,
) -> Entry {
    let (tag, style) = match label {
        Some(LabelValue::Step { rating }) => (format!("[{rating:+}]"), th.rating(*rating)),
        _ if skipped => ("[skip]".into(), th.dim()),
        _ => ("[  ]".into(), th.dim()),
    };
    let covers = if s.span.is_none() {
        " (not located in the answer)"
    } else {
        ""
    };
    let head = vec![Span::styled(tag, style), Span::styled(covers, th.dim())];
    let mut body = indented(th, &s.text, width, 5);
    let covered = s.span.and_then(|sp| answer.get(sp.start..sp.end));
    if let Some(c) = covered.filter(|c| c.trim() != s.text.trim()) {
        let c = truncate(&c.replace('\n', " "), width.saturating_sub(16).max(8));
        let l = format!("     covers “{}”", text::display(&c));
        body.push(Line::styled(l, th.dim()));
    }
    if let Some(r) = &s.restatement {
        body.extend(styled(indented(th, &format!("= {r}"), width, 5), th.dim()));
    }
    if let Some(v) = &s.verify {
        body.extend(styled(
            indented(th, &format!("verify: {v}"), width, 5),
            th.dim(),
        ));
    }
    Entry { head, body }
}

fn side_name(side: crate::task::Side) -> &'static str {
    match side {
        crate::task::Side::A => "A",
        crate::task::Side::B => "B",
    }
}
