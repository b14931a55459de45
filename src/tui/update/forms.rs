//! The forms: the evaluator's own critique, the verdict, the corrected
//! answer (in place or in `$EDITOR`). Each is saved with Ctrl-S as one
//! durable record.

use super::msg::Effect;
use super::navigate::set_tab;
use super::record::{append, refuse_read_only, view};
use crate::assist::Severity;
use crate::session::event::{Body, Phase, Preference, Side, Verdict, ViewAction};
use crate::tui::keymap::Action;
use crate::tui::state::{
    App, CritiqueForm, Mode, Protocol, Tab, VerdictForm, CATEGORIES, SEVERITIES,
};
use crate::tui::{editor, layout};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

fn textarea(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut ta = TextArea::new(lines);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}

pub(super) fn open_critique_form(app: &mut App) {
    if refuse_read_only(app) {
        return;
    }
    let span = app.selection().unwrap_or_else(|| app.word_at_cursor());
    let text = app.answer();
    let quote = text.get(span.start..span.end).unwrap_or("").to_string();
    if quote.trim().is_empty() {
        app.message = Some(format!(
            "select answer text first ({} to the answer, {}, move)",
            app.key(Action::ToggleFocus),
            app.key(Action::Visual)
        ));
        return;
    }
    app.mode = Mode::Critique(Box::new(CritiqueForm {
        span,
        side_b: app.side_b,
        quote,
        field: 0,
        severity: Severity::Major,
        category: 0,
        comment: textarea(""),
    }));
}

pub(super) fn critique_key(
    app: &mut App,
    k: KeyEvent,
    mut f: CritiqueForm,
    fx: &mut Vec<Effect>,
) -> Mode {
    if is_save(&k) {
        return save_critique(app, f, fx);
    }
    match (k.code, f.field) {
        (KeyCode::Esc, _) => return Mode::Normal,
        (KeyCode::Tab, _) => f.field = (f.field + 1) % 3,
        (KeyCode::BackTab, _) => f.field = (f.field + 2) % 3,
        (KeyCode::Enter, 1 | 2) => return save_critique(app, f, fx),
        (KeyCode::Left | KeyCode::Char('h'), 1) => f.severity = cycle(&SEVERITIES, f.severity, -1),
        (KeyCode::Right | KeyCode::Char('l'), 1) => f.severity = cycle(&SEVERITIES, f.severity, 1),
        (KeyCode::Left | KeyCode::Char('h'), 2) => {
            f.category = (f.category + CATEGORIES.len() - 1) % CATEGORIES.len()
        }
        (KeyCode::Right | KeyCode::Char('l'), 2) => {
            f.category = (f.category + 1) % CATEGORIES.len()
        }
        (_, 0) => {
            f.comment.input(k);
        }
        _ => {}
    }
    Mode::Critique(Box::new(f))
}

fn cycle<T: Copy + PartialEq>(all: &[T], cur: T, dir: isize) -> T {
    let i = all.iter().position(|x| *x == cur).unwrap_or(0) as isize;
    all[(i + dir).rem_euclid(all.len() as isize) as usize]
}

fn save_critique(app: &mut App, f: CritiqueForm, fx: &mut Vec<Effect>) -> Mode {
    let comment = f.comment.lines().join("\n").trim().to_string();
    if comment.is_empty() {
        app.message = Some("write a comment first (what is wrong here?)".into());
        return Mode::Critique(Box::new(f));
    }
    let body = Body::UserCritique {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        span: Some(f.span),
        quote: f.quote,
        comment,
        severity: f.severity,
        category: CATEGORIES[f.category].into(),
        answer: app
            .task()
            .is_pairwise()
            .then_some(if f.side_b { Side::B } else { Side::A }),
        source: None,
    };
    append(app, fx, body, true);
    app.anchor = None;
    app.message = Some("critique recorded".into());
    Mode::Normal
}

pub(super) fn open_correction(app: &mut App) {
    if refuse_read_only(app) {
        return;
    }
    let text = app.correction().unwrap_or(&app.task().answer).to_string();
    app.mode = Mode::Correction(Box::new(textarea(&text)));
}

pub(super) fn correction_key(
    app: &mut App,
    k: KeyEvent,
    mut ta: TextArea<'static>,
    fx: &mut Vec<Effect>,
) -> Mode {
    if is_save(&k) {
        save_correction(app, ta.lines().join("\n"), fx);
        return Mode::Normal;
    }
    if k.code == KeyCode::Esc {
        return Mode::Normal;
    }
    // Up and down move by screen row of the soft-wrapped text, as drawn.
    let width = layout::correction_text(app.size).width as usize;
    let moved = match (k.code, k.modifiers) {
        (KeyCode::Up, KeyModifiers::NONE) => editor::move_vertically(&mut ta, width, -1),
        (KeyCode::Down, KeyModifiers::NONE) => editor::move_vertically(&mut ta, width, 1),
        _ => false,
    };
    if !moved {
        ta.input(k);
    }
    Mode::Correction(Box::new(ta))
}

fn save_correction(app: &mut App, text: String, fx: &mut Vec<Effect>) {
    let before = app.correction().unwrap_or(&app.task().answer).to_string();
    if text == before {
        app.message = Some("no change to the answer".into());
        return;
    }
    let body = Body::Correction {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        text,
    };
    append(app, fx, body, true);
    set_tab(app, Tab::Diff);
    app.message = Some("correction recorded (see the diff tab)".into());
}

pub(super) fn external_editor(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    let text = app.correction().unwrap_or(&app.task().answer).to_string();
    fx.push(Effect::OpenEditor { text });
}

pub(super) fn editor_done(app: &mut App, text: Option<String>, fx: &mut Vec<Effect>) {
    match text {
        Some(t) if !t.trim().is_empty() => {
            let t = t.strip_suffix('\n').unwrap_or(&t).to_string();
            save_correction(app, t, fx);
        }
        _ => app.message = Some("editor closed without a correction".into()),
    }
}

pub(super) fn open_verdict(app: &mut App) {
    if refuse_read_only(app) {
        return;
    }
    let phase = app.phase();
    let existing = app
        .work()
        .and_then(|w| w.verdicts.get(&phase))
        .map(|r| r.verdict.clone());
    let mut f = VerdictForm {
        pairwise: app.task().is_pairwise(),
        phase,
        field: 0,
        accept: None,
        score: None,
        preferred: None,
        strength: None,
        confidence: None,
        rationale: textarea(""),
    };
    match existing {
        Some(Verdict::Single {
            accept,
            score,
            confidence,
            rationale,
        }) => {
            (f.accept, f.score, f.confidence) = (accept, score, confidence);
            f.rationale = textarea(&rationale);
        }
        Some(Verdict::Pairwise {
            preferred,
            strength,
            confidence,
            rationale,
        }) => {
            (f.preferred, f.strength, f.confidence) = (Some(preferred), strength, confidence);
            f.rationale = textarea(&rationale);
        }
        None => {}
    }
    app.mode = Mode::Verdict(Box::new(f));
}

pub(super) fn verdict_key(
    app: &mut App,
    k: KeyEvent,
    mut f: VerdictForm,
    fx: &mut Vec<Effect>,
) -> Mode {
    if is_save(&k) {
        return save_verdict(app, f, fx);
    }
    match (k.code, f.field) {
        (KeyCode::Esc, _) => return Mode::Normal,
        (KeyCode::Tab, _) => f.field = (f.field + 1) % 4,
        (KeyCode::BackTab, _) => f.field = (f.field + 3) % 4,
        (_, 3) => {
            f.rationale.input(k);
        }
        (KeyCode::Enter, _) => return save_verdict(app, f, fx),
        (code, field) => verdict_field_key(&mut f, code, field),
    }
    Mode::Verdict(Box::new(f))
}

fn verdict_field_key(f: &mut VerdictForm, code: KeyCode, field: usize) {
    let dir = match code {
        KeyCode::Left | KeyCode::Char('h') | KeyCode::Char('-') => -1,
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Char('+') => 1,
        _ => 0,
    };
    let digit = match code {
        KeyCode::Char(c) => c.to_digit(10).map(|d| d as u8),
        _ => None,
    };
    match (field, f.pairwise) {
        (0, false) => match code {
            KeyCode::Char('a' | 'y') => f.accept = Some(true),
            KeyCode::Char('r' | 'n') => f.accept = Some(false),
            _ if dir != 0 => f.accept = Some(!f.accept.unwrap_or(false)),
            _ => {}
        },
        (0, true) => {
            let all = [Preference::A, Preference::Tie, Preference::B];
            match code {
                KeyCode::Char('a') => f.preferred = Some(Preference::A),
                KeyCode::Char('b') => f.preferred = Some(Preference::B),
                KeyCode::Char('t') => f.preferred = Some(Preference::Tie),
                _ if dir != 0 => {
                    f.preferred = Some(cycle(&all, f.preferred.unwrap_or(Preference::Tie), dir))
                }
                _ => {}
            }
        }
        (1, pairwise) => {
            let max = if pairwise { 3 } else { 7 };
            let slot = if pairwise {
                &mut f.strength
            } else {
                &mut f.score
            };
            *slot = match digit {
                Some(d) if (1..=max).contains(&d) => Some(d),
                _ if dir != 0 => Some(
                    (slot.unwrap_or(max.div_ceil(2)) as i16 + dir as i16).clamp(1, max as i16)
                        as u8,
                ),
                _ => *slot,
            };
        }
        (2, _) if dir != 0 => {
            let c = f.confidence.unwrap_or(70) as i16 + 5 * dir as i16;
            f.confidence = Some(c.clamp(50, 100) as u8);
        }
        _ => {}
    }
}

fn save_verdict(app: &mut App, f: VerdictForm, fx: &mut Vec<Effect>) -> Mode {
    let rationale = f.rationale.lines().join("\n").trim().to_string();
    let verdict = if f.pairwise {
        let Some(preferred) = f.preferred else {
            app.message = Some("choose A, B or tie first".into());
            return Mode::Verdict(Box::new(f));
        };
        Verdict::Pairwise {
            preferred,
            strength: f.strength,
            confidence: f.confidence,
            rationale,
        }
    } else {
        if f.accept.is_none() {
            app.message = Some("choose accept (a) or reject (r) first".into());
            return Mode::Verdict(Box::new(f));
        }
        Verdict::Single {
            accept: f.accept,
            score: f.score,
            confidence: f.confidence,
            rationale,
        }
    };
    let body = Body::Verdict {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        verdict,
        phase: f.phase,
        source: None,
    };
    append(app, fx, body, true);
    let reveal = f.phase == Phase::Unaided && app.arm(app.current) == Protocol::BlindFirst;
    if reveal {
        view(app, fx, ViewAction::AssistanceRevealed);
        app.message = Some(format!(
            "unaided verdict recorded; assistance revealed: review it, then {} for the assisted verdict",
            app.key(Action::Verdict)
        ));
    } else {
        app.message = Some("verdict recorded".into());
    }
    Mode::Normal
}

fn is_save(k: &KeyEvent) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && matches!(k.code, KeyCode::Char('s'))
}
