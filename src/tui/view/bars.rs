//! The one-line bars: assistance tabs, the verdict bar and the status line.

use super::parts::truncate;
use super::theme::Theme;
use crate::session::event::Phase;
use crate::session::event::{Preference, Verdict};
use crate::tui::keymap::Action;
use crate::tui::state::{App, Mode, Protocol, Tab};
use crate::tui::text;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use std::ops::Range;

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

/// Draw the tab bar; returns the columns of each title.
pub(super) fn tabs(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) -> Vec<(Tab, Range<u16>)> {
    let mut spans = Vec::new();
    let mut cols = Vec::with_capacity(Tab::ALL.len());
    let mut x = area.x;
    for tab in Tab::ALL {
        let style = if tab == app.tab {
            th.bold().add_modifier(Modifier::REVERSED)
        } else {
            th.dim()
        };
        let title = tab_title(app, tab);
        let w = text::str_width(&title) as u16;
        cols.push((tab, x..x.saturating_add(w)));
        x = x.saturating_add(w + 1); // and the separator
        spans.push(Span::styled(title, style));
        spans.push(Span::raw("│"));
    }
    Line::from(spans).render(area, buf);
    cols
}

fn verdict_text(v: &Verdict) -> String {
    let (mut s, confidence, rationale) = match v {
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
            (s, confidence, rationale)
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
            (s, confidence, rationale)
        }
    };
    if let Some(c) = confidence {
        s += &format!(" · {c}%");
    }
    if !rationale.is_empty() {
        let r = text::display(&rationale.replace('\n', " "));
        s += &format!(" · “{}”", truncate(&r, 40));
    }
    s
}

pub(super) fn verdict_bar(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
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
                app.opts.keymap.hint(Action::Verdict)
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

pub(super) fn status(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
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
        app.opts.session_name.clone(),
        format!("task {}/{}", app.current + 1, app.task_count()),
        format!("labelled {done}/{total}"),
        format!("{} active", fmt_ms(app.active_ms())),
        app.opts.model_name.clone(),
        gen_status(app),
    ];
    if app.opts.read_only {
        parts.push("READ-ONLY".into());
    }
    if app.filter_unlabelled {
        parts.push("filter: no verdict".into());
    }
    // Session and model names and why there is no model come from the
    // command line, the config and error messages: sanitized as one.
    let line = text::display(&parts.join(" │ "));
    let mut spans = vec![Span::styled(format!(" {line} "), th.dim())];
    if let Some(m) = &app.message {
        spans.push(Span::styled(format!(" {}", text::display(m)), th.warn()));
    } else {
        let help = format!(" {} help", app.key(Action::Help));
        spans.push(Span::styled(help, th.dim()));
    }
    Line::from(spans).render(area, buf);
}
