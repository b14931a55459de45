//! Drawing: `impl Widget for &App`, from an immutable view of the state.
//! Everything from tasks or the model goes through `text::display`
//! (sanitized) before it reaches a cell.

use super::layout;
use super::state::*;
use super::text;
use super::update::{first_bad_step, selected_span};
use crate::assist::{CheckVerdict, Kind};
use crate::session::event::{CritiqueLabel, LabelValue, Phase, Preference, Target, Verdict};
use crate::session::event::{FailReason, Side};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};
use std::ops::Range;

/// Styles, plain when `NO_COLOR` is set (modifiers only).
struct Theme {
    color: bool,
}

impl Theme {
    fn of(app: &App) -> Theme {
        Theme {
            color: !app.opts.no_color,
        }
    }
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    fn focus_border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default().fg(Color::Cyan),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            _ => self.dim(),
        }
    }
    fn selected_quote(&self) -> Style {
        if self.color {
            Style::default().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }
    fn other_quote(&self) -> Style {
        Style::default().add_modifier(Modifier::UNDERLINED)
    }
    fn own_quote(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::UNDERLINED)
    }
    fn selection(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    fn bad(&self) -> Style {
        self.fg(Color::Red)
    }
    fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if layout::too_small(area) {
            too_small(area, buf);
            return;
        }
        let th = Theme::of(self);
        let a = self.areas_in(area);
        prompt(self, &th, a.prompt, buf);
        answer(self, &th, a.answer, buf);
        tabs(self, &th, a.tabs, buf);
        assist(self, &th, a.assist, buf);
        verdict_bar(self, &th, a.verdict, buf);
        status(self, &th, a.status, buf);
        overlay(self, &th, area, buf);
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    let msg = format!(
        "Terminal too small: {}x{}. crit review needs at least {}x{}; please enlarge the window.",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    let y = area.y + area.height / 2;
    let lines: Vec<Line> = text::wrap(&msg, area.width as usize)
        .into_iter()
        .map(|r| Line::from(msg[r].to_string()).centered())
        .collect();
    let h = (lines.len() as u16).min(area.height);
    let r = Rect::new(area.x, y.saturating_sub(h / 2), area.width, h);
    Paragraph::new(lines).render(r, buf);
}

fn block(title: String, style: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(title)
}

fn prompt(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let t = app.task();
    let title = format!(
        " Task {}/{} · {} · {} ",
        app.current + 1,
        app.task_count(),
        text::display(&truncate(&t.id, 40)),
        <&str>::from(app.arm(app.current))
    );
    let b = block(title, th.dim());
    let inner = b.inner(area);
    b.render(area, buf);
    let p = app.prompt_text();
    let mut lines = plain_lines(&p, inner.width as usize);
    if lines.len() > inner.height as usize {
        lines.truncate(inner.height as usize);
        if let Some(l) = lines.last_mut() {
            l.spans.push(Span::styled(" …", th.dim()));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Wrapped, sanitized lines of raw text.
fn plain_lines(t: &str, width: usize) -> Vec<Line<'static>> {
    text::wrap(t, width)
        .into_iter()
        .map(|r| Line::from(text::display(&t[r])))
        .collect()
}

fn answer_title(app: &App) -> String {
    let side = match (app.task().is_pairwise(), app.side_b) {
        (false, _) => "Answer".to_string(),
        (true, false) => "Answer A (o: show B)".to_string(),
        (true, true) => "Answer B (o: show A)".to_string(),
    };
    let note = match (app.tab, app.hidden()) {
        (Tab::Critiques, false) => {
            let sel = app.critiques().and_then(|(_, c)| c.get(app.selected()));
            match sel {
                Some(c) if c.span.is_none() => {
                    " · selected quote is UNANCHORED (not in the answer)"
                }
                _ => "",
            }
        }
        _ => "",
    };
    let visual = if app.anchor.is_some() {
        " · VISUAL (c: critique)"
    } else {
        ""
    };
    format!(" {side}{note}{visual} ")
}

fn answer(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(
        answer_title(app),
        th.focus_border(app.focus == Focus::Answer),
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let t = app.answer();
    let lines = text::wrap(t, inner.width as usize);
    let marks = answer_marks(app, th);
    let start = app.answer_scroll.min(lines.len().saturating_sub(1));
    let end = (start + inner.height as usize).min(lines.len());
    let out: Vec<Line> = lines[start..end]
        .iter()
        .map(|r| styled_line(t, r.clone(), &marks))
        .collect();
    Paragraph::new(out).render(inner, buf);
    if lines.len() > inner.height as usize {
        let pos = format!(" {}-{}/{} ", start + 1, end, lines.len());
        let x = area.right().saturating_sub(pos.len() as u16 + 1);
        buf.set_string(x, area.bottom() - 1, pos, th.dim());
    }
}

/// Highlights on the answer, lowest priority first.
fn answer_marks(app: &App, th: &Theme) -> Vec<(Range<usize>, Style)> {
    let mut marks = Vec::new();
    if !app.hidden() && !app.side_b && app.tab == Tab::Critiques {
        if let Some((_, crits)) = app.critiques() {
            marks.extend(
                crits
                    .iter()
                    .filter_map(|c| c.span)
                    .map(|s| (s.start..s.end, th.other_quote())),
            );
        }
    }
    for uc in &app.task_state().user_critiques {
        if (uc.side == Side::B) == app.side_b && uc.evaluator == app.opts.evaluator {
            if let Some(s) = uc.span {
                marks.push((s.start..s.end, th.own_quote()));
            }
        }
    }
    if let Some(s) = selected_span(app) {
        marks.push((s.start..s.end, th.selected_quote()));
    }
    if let Some(s) = app.selection() {
        marks.push((s.start..s.end, th.selection()));
    }
    if app.focus == Focus::Answer && matches!(app.mode, Mode::Normal) {
        let end = text::char_end(app.answer(), app.cursor);
        let end = if end == app.cursor {
            app.cursor + 1
        } else {
            end
        };
        marks.push((app.cursor..end, th.selection()));
    }
    marks
}

/// One visual line split into styled segments by the marks over it.
fn styled_line(t: &str, line: Range<usize>, marks: &[(Range<usize>, Style)]) -> Line<'static> {
    let mut cuts = vec![line.start, line.end];
    for (r, _) in marks {
        for p in [r.start, r.end] {
            if p > line.start && p < line.end && t.is_char_boundary(p) {
                cuts.push(p);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut spans = Vec::with_capacity(cuts.len());
    for w in cuts.windows(2) {
        let style = marks
            .iter()
            .filter(|(r, _)| r.start < w[1] && r.end > w[0])
            .fold(Style::default(), |s, (_, m)| s.patch(*m));
        spans.push(Span::styled(text::display(&t[w[0]..w[1]]), style));
    }
    // A cursor on the newline at the end of a line still shows.
    if let Some((r, st)) = marks.last() {
        if r.start == line.end && r.end == line.end + 1 && t[line.end..].starts_with('\n') {
            spans.push(Span::styled(" ", *st));
        }
    }
    Line::from(spans)
}

fn tab_title(app: &App, tab: Tab) -> String {
    let name = match tab {
        Tab::Critiques => "Critiques",
        Tab::Checks => "Checks",
        Tab::Steps => "Steps",
        Tab::Diff => "Diff",
    };
    if tab == Tab::Diff {
        return format!(" {name} ");
    }
    if app.hidden() {
        return format!(" {name} (hidden) ");
    }
    let live = tab.kind().and_then(|k| app.gen_for(k)).is_some();
    let mark = if live { "…" } else { "" };
    format!(" {name} ({}){mark} ", app.item_count(tab))
}

/// The tab whose title is at column `x`.
pub fn tab_at(app: &App, area: Rect, x: u16) -> Option<Tab> {
    let mut cx = area.x;
    for tab in Tab::ALL {
        let w = text::str_width(&tab_title(app, tab)) as u16;
        if x >= cx && x < cx + w {
            return Some(tab);
        }
        cx += w + 1;
    }
    None
}

fn tabs(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    for tab in Tab::ALL {
        let style = if tab == app.tab {
            th.bold().add_modifier(Modifier::REVERSED)
        } else {
            th.dim()
        };
        spans.push(Span::styled(tab_title(app, tab), style));
        spans.push(Span::raw("│"));
    }
    Line::from(spans).render(area, buf);
}

fn assist(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let b = block(String::new(), th.focus_border(app.focus == Focus::Assist)).borders(Borders::ALL);
    let inner = b.inner(area);
    b.render(area, buf);
    if app.tab == Tab::Diff {
        diff(app, th, inner, buf);
        return;
    }
    let (head, items, tail) = assist_content(app, th, inner.width as usize);
    let mut lines = head;
    let avail = (inner.height as usize).saturating_sub(lines.len());
    let heights: Vec<usize> = items.iter().map(Vec::len).collect();
    let first = first_visible(&heights, app.selected(), avail);
    for item in items.into_iter().skip(first) {
        lines.extend(item);
    }
    lines.extend(tail);
    lines.truncate(inner.height as usize);
    Paragraph::new(lines).render(inner, buf);
}

/// First item to draw so that the selected one fits below it.
fn first_visible(heights: &[usize], sel: usize, avail: usize) -> usize {
    let mut first = 0;
    let sel = sel.min(heights.len().saturating_sub(1));
    while first < sel && heights[first..=sel].iter().sum::<usize>() > avail {
        first += 1;
    }
    first
}

/// The item drawn at row `y` of the assistance panel.
pub fn item_at(app: &App, area: Rect, y: u16) -> Option<usize> {
    if app.tab == Tab::Diff {
        return None;
    }
    let inner = layout::inner(area);
    let th = Theme { color: false };
    let (head, items, _) = assist_content(app, &th, inner.width as usize);
    let avail = (inner.height as usize).saturating_sub(head.len());
    let heights: Vec<usize> = items.iter().map(Vec::len).collect();
    let first = first_visible(&heights, app.selected(), avail);
    let mut row = inner.y as usize + head.len();
    for (i, h) in heights.iter().enumerate().skip(first) {
        if (row..row + h).contains(&(y as usize)) {
            return Some(i);
        }
        row += h;
    }
    None
}

type Lines = Vec<Line<'static>>;

/// Header lines (status of generation), one block of lines per item, and
/// trailing lines.
fn assist_content(app: &App, th: &Theme, width: usize) -> (Lines, Vec<Lines>, Lines) {
    if app.hidden() {
        return (hidden_lines(app, th, width), Vec::new(), Vec::new());
    }
    let kind = app.tab.kind().unwrap_or(Kind::Critique);
    let mut head = generation_lines(app, th, kind, width);
    if head.is_empty() {
        let cur = app.current_assist(kind);
        head = truncation_lines(cur.and_then(|r| r.assistance.truncated.as_ref()), th);
    }
    let items = match app.tab {
        Tab::Critiques => critique_items(app, th, width),
        Tab::Checks => check_items(app, th, width),
        _ => step_items(app, th, width),
    };
    if items.is_empty() && head.is_empty() {
        head = empty_lines(app, th, kind, width);
    }
    let tail = if app.tab == Tab::Critiques {
        own_critiques(app, th, width)
    } else {
        Vec::new()
    };
    (head, items, tail)
}

fn hidden_lines(app: &App, th: &Theme, width: usize) -> Lines {
    let msg = match app.arm(app.current) {
        Protocol::Unassisted => {
            "This task is in the unassisted (control) arm: no assistance is shown. Judge the answer on your own and record the verdict with V.".to_string()
        }
        _ => "Assistance is hidden (blind-first protocol). Read the answer and record your unaided verdict with V; the assistance is then revealed for an assisted verdict.".to_string(),
    };
    plain_lines(&msg, width)
        .into_iter()
        .map(|l| l.style(th.warn()))
        .collect()
}

fn generation_lines(app: &App, th: &Theme, kind: Kind, width: usize) -> Lines {
    let Some((_, g)) = app.gen_for(kind) else {
        return Vec::new();
    };
    if !g.started {
        let msg = format!("{} queued: waiting for the model…", kind.name());
        return vec![Line::styled(msg, th.dim())];
    }
    let mut lines = truncation_lines(g.truncated.as_ref(), th);
    if g.tokens == 0 {
        let msg = format!(
            "{}: reading the prompt ({} tokens)… (Esc cancels)",
            kind.name(),
            g.prompt_tokens
        );
        lines.push(Line::styled(msg, th.warn()));
        return lines;
    }
    let rate = g
        .tokens_per_s()
        .map_or(String::new(), |r| format!(" · {r:.1} tok/s"));
    lines.push(Line::styled(
        format!(
            "generating {}… {} tokens{rate} (Esc cancels)",
            kind.name(),
            g.tokens
        ),
        th.warn(),
    ));
    let tail = plain_lines(&g.text, width.max(1));
    let skip = tail.len().saturating_sub(3);
    lines.extend(tail.into_iter().skip(skip).map(|l| l.style(th.dim())));
    lines.push(Line::raw(""));
    lines
}

/// The answer did not fit the model's context: say so, never silently.
fn truncation_lines(t: Option<&crate::assist::Truncation>, th: &Theme) -> Lines {
    t.map(|t| {
        Line::styled(
            format!(
                "answer truncated: the model saw {} of {} bytes",
                t.kept_bytes, t.total_bytes
            ),
            th.bad(),
        )
    })
    .into_iter()
    .collect()
}

fn empty_lines(app: &App, th: &Theme, kind: Kind, width: usize) -> Lines {
    let failure = app.task_state().last_failure(kind).map(|f| match f.reason {
        FailReason::Cancelled => "cancelled",
        FailReason::Error => f.error.as_str(),
    });
    let msg = if let Some(why) = &app.opts.no_assist {
        format!("No assistance ({why}). Manual review works: read, add your own critiques (c), correct (e) and record the verdict (V).")
    } else if let Some(err) = failure {
        format!(
            "{} generation did not finish: {err}. R retries.",
            kind.name()
        )
    } else if app.opts.read_only {
        "Nothing generated for this task (read-only).".into()
    } else {
        format!("No {} for this task.", kind.name())
    };
    plain_lines(&msg, width)
        .into_iter()
        .map(|l| l.style(th.dim()))
        .collect()
}

fn marker(app: &App, i: usize) -> &'static str {
    if app.selected() == i {
        "▶"
    } else {
        " "
    }
}

fn label_of(app: &App, target: &Target) -> Option<LabelValue> {
    app.work()?.labels.get(target).map(|r| r.value.clone())
}

fn critique_items(app: &App, th: &Theme, width: usize) -> Vec<Lines> {
    let Some((seq, crits)) = app.critiques() else {
        return Vec::new();
    };
    crits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let target = Target::Critique {
                assistance: seq,
                index: i,
            };
            let (tag, style, sev) = match label_of(app, &target) {
                Some(LabelValue::Critique { verdict, severity }) => {
                    let (t, s) = match verdict {
                        CritiqueLabel::Valid => ("[valid]", th.good()),
                        CritiqueLabel::Hallucinated => ("[hallucinated]", th.bad()),
                        CritiqueLabel::Nitpick => ("[nitpick]", th.warn()),
                    };
                    (t, s, severity)
                }
                _ => ("[unlabelled]", th.dim(), None),
            };
            let sev_text = match sev {
                Some(s) => format!("{}→{}", severity_name(c.severity), severity_name(s)),
                None => severity_name(c.severity).to_string(),
            };
            let head = Line::from(vec![
                Span::styled(format!("{} {:>2} ", marker(app, i), i + 1), th.bold()),
                Span::styled(
                    sev_text.to_uppercase(),
                    sev_style(th, sev.unwrap_or(c.severity)),
                ),
                Span::raw(format!(" · {} ", text::display(&truncate(&c.category, 24)))),
                Span::styled(tag, style),
            ]);
            let mut lines = vec![head];
            let anchor = if c.span.is_none() {
                " (unanchored)"
            } else {
                ""
            };
            let quote = format!(
                "“{}”{anchor}",
                text::display(&truncate(
                    &c.quote.replace('\n', " "),
                    width.saturating_sub(12).max(8)
                ))
            );
            lines.push(Line::styled(format!("     {quote}"), th.dim()));
            lines.extend(indented(&c.comment, width, 5));
            lines
        })
        .collect()
}

fn sev_style(th: &Theme, s: crate::assist::Severity) -> Style {
    match s {
        crate::assist::Severity::Critical => th.bad().add_modifier(Modifier::BOLD),
        crate::assist::Severity::Major => th.warn(),
        crate::assist::Severity::Minor => th.dim(),
    }
}

fn indented(t: &str, width: usize, n: usize) -> Lines {
    let pad = " ".repeat(n);
    text::wrap(t.trim(), width.saturating_sub(n).max(8))
        .into_iter()
        .map(|r| Line::raw(format!("{pad}{}", text::display(&t.trim()[r]))))
        .collect()
}

fn check_items(app: &App, th: &Theme, width: usize) -> Vec<Lines> {
    let Some((seq, checks)) = app.checks() else {
        return Vec::new();
    };
    let v = |v: CheckVerdict| match v {
        CheckVerdict::Pass => "pass",
        CheckVerdict::Fail => "fail",
        CheckVerdict::Unsure => "unsure",
    };
    checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let target = Target::Check {
                assistance: seq,
                index: i,
            };
            let (you, style) = match label_of(app, &target) {
                Some(LabelValue::Check { verdict }) => {
                    (format!("[{}]", v(verdict)), check_style(th, verdict))
                }
                _ => ("[unlabelled]".into(), th.dim()),
            };
            let mut lines = vec![Line::from(vec![
                Span::styled(format!("{} {:>2} ", marker(app, i), i + 1), th.bold()),
                Span::raw(format!("assistant: {} · you: ", v(c.assistant_verdict))),
                Span::styled(you, style),
            ])];
            lines.extend(
                indented(&c.question, width, 5)
                    .into_iter()
                    .map(|l| l.style(th.bold())),
            );
            lines.extend(indented(&format!("method: {}", c.method), width, 5));
            lines.extend(
                indented(&format!("evidence: {}", c.evidence), width, 5)
                    .into_iter()
                    .map(|l| l.style(th.dim())),
            );
            lines
        })
        .collect()
}

fn check_style(th: &Theme, v: CheckVerdict) -> Style {
    match v {
        CheckVerdict::Pass => th.good(),
        CheckVerdict::Fail => th.bad(),
        CheckVerdict::Unsure => th.warn(),
    }
}

fn step_items(app: &App, th: &Theme, width: usize) -> Vec<Lines> {
    let Some((seq, steps)) = app.steps() else {
        return Vec::new();
    };
    let stop = if app.stop_at_first_bad {
        first_bad_step(app, seq)
    } else {
        None
    };
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let target = Target::Step {
                assistance: seq,
                index: i,
            };
            let (tag, style) = match label_of(app, &target) {
                Some(LabelValue::Step { rating }) => {
                    let st = match rating {
                        1 => th.good(),
                        -1 => th.bad(),
                        _ => th.warn(),
                    };
                    (format!("[{rating:+}]"), st)
                }
                _ if stop.is_some_and(|f| i > f) => ("[skip]".into(), th.dim()),
                _ => ("[  ]".into(), th.dim()),
            };
            let covers = if s.span.is_none() {
                " (not located in the answer)"
            } else {
                ""
            };
            let mut lines = vec![Line::from(vec![
                Span::styled(format!("{} {:>2} ", marker(app, i), i + 1), th.bold()),
                Span::styled(tag, style),
                Span::styled(covers, th.dim()),
            ])];
            lines.extend(indented(&s.text, width, 5));
            let covered = s
                .span
                .and_then(|sp| app.task().answer.get(sp.start..sp.end));
            if let Some(c) = covered.filter(|c| c.trim() != s.text.trim()) {
                let c = truncate(&c.replace('\n', " "), width.saturating_sub(16).max(8));
                let l = format!("     covers “{}”", text::display(&c));
                lines.push(Line::styled(l, th.dim()));
            }
            lines
        })
        .collect()
}

fn own_critiques(app: &App, th: &Theme, width: usize) -> Lines {
    let mine: Vec<_> = app
        .task_state()
        .user_critiques
        .iter()
        .filter(|u| u.evaluator == app.opts.evaluator)
        .collect();
    if mine.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(
        format!("── your critiques ({}) ──", mine.len()),
        th.bold(),
    )];
    for u in mine {
        let side = if u.side == Side::B { " [B]" } else { "" };
        let s = format!(
            "{} · {}{side} “{}” — {}",
            severity_name(u.severity),
            u.category,
            truncate(&u.quote.replace('\n', " "), 30),
            u.comment
        );
        lines.extend(
            indented(&s, width, 1)
                .into_iter()
                .map(|l| l.style(th.own_quote())),
        );
    }
    lines
}

fn diff(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
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
            "No correction yet: e edits in place, E opens $EDITOR.",
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
    styled_wrap(&runs, width)
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
fn styled_wrap(runs: &[(String, Style)], width: usize) -> Lines {
    let mut all = String::new();
    let mut marks = Vec::with_capacity(runs.len());
    for (s, st) in runs {
        marks.push((all.len()..all.len() + s.len(), *st));
        all.push_str(s);
    }
    text::wrap(&all, width)
        .into_iter()
        .map(|r| styled_line(&all, r, &marks))
        .collect()
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Single {
            accept,
            score,
            confidence,
            rationale,
        } => {
            let mut s = match accept {
                Some(true) => "ACCEPT".to_string(),
                Some(false) => "REJECT".to_string(),
                None => "—".to_string(),
            };
            if let Some(x) = score {
                s += &format!(" · score {x}/7");
            }
            if let Some(c) = confidence {
                s += &format!(" · {c}%");
            }
            if !rationale.is_empty() {
                s += &format!(
                    " · “{}”",
                    truncate(&text::display(&rationale.replace('\n', " ")), 40)
                );
            }
            s
        }
        Verdict::Pairwise {
            preferred,
            strength,
            confidence,
            rationale,
        } => {
            let mut s = match preferred {
                Preference::A => "prefers A".to_string(),
                Preference::B => "prefers B".to_string(),
                Preference::Tie => "tie".to_string(),
            };
            if let Some(x) = strength {
                s += &format!(" · strength {x}/3");
            }
            if let Some(c) = confidence {
                s += &format!(" · {c}%");
            }
            if !rationale.is_empty() {
                s += &format!(
                    " · “{}”",
                    truncate(&text::display(&rationale.replace('\n', " ")), 40)
                );
            }
            s
        }
    }
}

fn verdict_bar(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let work = app.work();
    let get = |p: Phase| {
        work.and_then(|w| w.verdicts.get(&p))
            .map(|r| verdict_text(&r.verdict))
    };
    let mut spans = vec![Span::styled(
        " Verdict ",
        th.bold().add_modifier(Modifier::REVERSED),
    )];
    let arm = app.arm(app.current);
    if arm == Protocol::BlindFirst {
        let u = get(Phase::Unaided).unwrap_or_else(|| "—".into());
        let a = get(Phase::Assisted).unwrap_or_else(|| "—".into());
        spans.push(Span::raw(format!(" unaided: {u} │ assisted: {a}")));
    } else {
        let key = if arm == Protocol::Unassisted {
            Phase::Unaided
        } else {
            Phase::Assisted
        };
        let v = get(key).unwrap_or_else(|| {
            format!(
                "none yet ({} records it)",
                app.opts.keymap.hint(super::keymap::Action::Verdict)
            )
        });
        spans.push(Span::raw(format!(" {v}")));
    }
    if work.is_some_and(|w| w.correction.is_some()) {
        spans.push(Span::styled(" · corrected", th.good()));
    }
    Line::from(spans).render(area, buf);
}

fn fmt_ms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

fn gen_status(app: &App) -> String {
    if let Some(why) = &app.opts.no_assist {
        return format!("no assistance: {why}");
    }
    let running = app.gens.values().find(|g| g.started);
    let queued = app.gens.values().filter(|g| !g.started).count();
    match running {
        Some(g) => {
            let rate = g
                .tokens_per_s()
                .map_or(String::new(), |r| format!(" {r:.0} tok/s"));
            let q = if queued > 0 {
                format!(" +{queued} queued")
            } else {
                String::new()
            };
            format!(
                "gen {} t{} {} tok{rate}{q}",
                g.kind.name(),
                g.task + 1,
                g.tokens
            )
        }
        None if queued > 0 => format!("{queued} queued"),
        None => "idle".into(),
    }
}

fn status(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    if let Mode::Search { query } = &app.mode {
        let l = Line::from(vec![
            Span::styled("/", th.bold()),
            Span::raw(text::display(query)),
            Span::styled("▏", th.bold()),
        ]);
        l.render(area, buf);
        return;
    }
    let (done, total) = app.labelled_count();
    let mut parts = vec![
        text::display(&app.opts.session_name),
        format!("task {}/{}", app.current + 1, app.task_count()),
        format!("labelled {done}/{total}"),
        format!("{} active", fmt_ms(app.active_ms())),
        text::display(&app.opts.model_name),
        gen_status(app),
    ];
    if app.opts.read_only {
        parts.push("READ-ONLY".into());
    }
    if app.filter_unlabelled {
        parts.push("filter: no verdict".into());
    }
    let mut spans = vec![Span::styled(format!(" {} ", parts.join(" │ ")), th.dim())];
    if let Some(m) = &app.message {
        spans.push(Span::styled(format!(" {}", text::display(m)), th.warn()));
    } else {
        spans.push(Span::styled(" ? help", th.dim()));
    }
    Line::from(spans).render(area, buf);
}

fn overlay(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    match &app.mode {
        Mode::Normal | Mode::Search { .. } => {}
        Mode::Help { scroll } => scroll_popup(
            " Keys (? or Esc closes) ",
            &help_lines(app),
            *scroll,
            area,
            buf,
        ),
        Mode::Guidelines { scroll } => {
            let g = app.opts.guidelines.as_deref().unwrap_or("");
            let w = layout::popup(area, 100, area.height)
                .width
                .saturating_sub(2);
            let lines = plain_lines(g, w as usize);
            scroll_popup(" Guidelines (Esc closes) ", &lines, *scroll, area, buf)
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
            let inner = b.inner(r);
            b.render(r, buf);
            ta.as_ref().render(inner, buf);
        }
    }
}

fn scroll_popup(title: &str, lines: &[Line<'static>], scroll: u16, area: Rect, buf: &mut Buffer) {
    let r = layout::popup(area, 100, area.height);
    Clear.render(r, buf);
    let b = block(title.into(), Style::default());
    let inner = b.inner(r);
    b.render(r, buf);
    let max = lines.len().saturating_sub(inner.height as usize);
    let skip = (scroll as usize).min(max);
    Paragraph::new(lines[skip..].to_vec()).render(inner, buf);
}

fn help_lines(app: &App) -> Lines {
    use super::keymap::Action;
    let km = &app.opts.keymap;
    let mut lines = vec![
        Line::raw("Every label and verdict is saved the moment you make it. Labels per tab:"),
        Line::raw("  critiques: 1 valid · 2 hallucinated · 3 nitpick"),
        Line::raw("  checks:    1 pass · 2 fail · 3 unsure"),
        Line::raw("  steps:     1 (+1) · 2 (-1) · 3 (0)"),
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
    let mut lines = plain_lines(&format!("Quote: “{quote}”"), inner.width as usize);
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
    fields_then_editor(lines, &f.comment, inner, buf);
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
    fields_then_editor(lines, &f.rationale, inner, buf);
}

/// A form: its field lines on top, the multi-line editor in the rest.
fn fields_then_editor(
    lines: Vec<Line<'_>>,
    editor: &tui_textarea::TextArea<'_>,
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
    let ta = Rect {
        y: inner.y + h,
        height: inner.height.saturating_sub(h),
        ..inner
    };
    editor.render(ta, buf);
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
