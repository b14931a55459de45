//! State-machine tests of the review UI: keys in, state, effects and log
//! events out. No terminal and no async: `Sim` drives the real driver over a
//! session in a temp dir with the scripted assistant.

mod common;

use common::*;
use crit::assist::{CheckVerdict, Kind};
use crit::session::event::ProtocolSpec;
use crit::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Preference, Target, Verdict, ViewAction,
};
use crit::session::Replay;
use crit::tui::keymap::{Action, Key, KeymapError};
use crit::tui::{Effect, Keymap, Msg, Options, Protocol, Tab};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

fn labels(sim: &Sim) -> Vec<(Target, LabelValue)> {
    sim.of_type("label")
        .into_iter()
        .map(|b| match b {
            Body::Label { target, value, .. } => (target.clone(), value.clone()),
            _ => unreachable!(),
        })
        .collect()
}

fn seq_of(sim: &Sim, task: &str, kind: Kind) -> u64 {
    sim.log()
        .iter()
        .find(|e| matches!(&e.body, Body::Assistance { task: t, assistance: a } if t == task && a.output.kind() == kind))
        .map(|e| e.seq)
        .expect("assistance recorded")
}

#[test]
fn start_opens_task_and_prefetches_missing_assistance() {
    let mut sim = Sim::new(Options {
        prefetch: 1,
        ..opts()
    });
    sim.hold(true);
    let fx = sim.send(Msg::Start);
    assert!(matches!(
        &fx[0],
        Effect::Append { body: Body::View { action: ViewAction::TaskOpened { arm: Some(a) }, .. }, durable: false } if *a == Protocol::Assisted
    ));
    let submits: Vec<(usize, Kind)> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Submit { task, kind, .. } => Some((*task, *kind)),
            _ => None,
        })
        .collect();
    let want: Vec<(usize, Kind)> = [0, 1]
        .iter()
        .flat_map(|t| Kind::ALL.map(|k| (*t, k)))
        .collect();
    assert_eq!(
        submits, want,
        "current task first, then one task of prefetch"
    );
    sim.release();
    // The six model outputs, and task 1's computed checks recorded on opening.
    assert_eq!(sim.of_type("assistance").len(), 7);
    // Moving on prefetches task 3 only: tasks 1-2 are never generated twice.
    sim.hold(true);
    let fx = sim.send(key('n'));
    let again: Vec<_> = fx
        .iter()
        .filter(|f| matches!(f, Effect::Submit { .. }))
        .collect();
    assert_eq!(again.len(), 3);
    assert!(again
        .iter()
        .all(|f| matches!(f, Effect::Submit { task: 2, .. })));
}

#[test]
fn assistance_done_is_appended_durably() {
    let mut sim = Sim::new(opts());
    let fx = sim.send(Msg::Start);
    let appended: Vec<_> = fx
        .iter()
        .filter(|f| {
            matches!(
                f,
                Effect::Append {
                    body: Body::Assistance { .. },
                    durable: true
                }
            )
        })
        .collect();
    assert_eq!(appended.len(), 9, "3 kinds x (current + 2 prefetched)");
    assert_eq!(sim.app.item_count(Tab::Critiques), 3);
}

#[test]
fn label_keys_record_critique_check_and_step_labels() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('1'), key('2'), key('3')]);
    sim.send_all([key(']'), key('y'), key('x'), key('~')]);
    sim.send_all([key(']'), key('+'), key('0'), key('-')]);
    let c = seq_of(&sim, "t1", Kind::Critique);
    let k = seq_of(&sim, "t1", Kind::Checks);
    let tool = seq_of(&sim, "t1", Kind::ToolChecks);
    let d = seq_of(&sim, "t1", Kind::Decompose);
    let crit = |i, v| {
        (
            Target::Critique {
                assistance: c,
                index: i,
            },
            LabelValue::Critique {
                verdict: v,
                severity: None,
            },
        )
    };
    // The Checks tab lists t1's two computed checks, then the model's.
    let check = |assistance, i, v| {
        (
            Target::Check {
                assistance,
                index: i,
            },
            LabelValue::Check { verdict: v },
        )
    };
    let step = |i, r| {
        (
            Target::Step {
                assistance: Some(d),
                index: i,
            },
            LabelValue::Step { rating: r },
        )
    };
    assert_eq!(
        labels(&sim),
        vec![
            crit(0, CritiqueLabel::Valid),
            crit(1, CritiqueLabel::Hallucinated),
            crit(2, CritiqueLabel::Nitpick),
            check(tool, 0, CheckVerdict::Pass),
            check(tool, 1, CheckVerdict::Fail),
            check(k, 0, CheckVerdict::Unsure),
            step(0, 1),
            step(1, 0),
            step(2, -1),
        ]
    );
    assert!(sim
        .effects
        .iter()
        .filter(|f| matches!(
            f,
            Effect::Append {
                body: Body::Label { .. },
                ..
            }
        ))
        .all(|f| matches!(f, Effect::Append { durable: true, .. })));
    // 9 of 11 items: two model checks are left (the computed ones come first).
    assert_eq!(sim.app.labelled_count(), (9, 11));
}

#[test]
fn severity_correction_needs_a_label_and_cycles() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send(key('s'));
    assert!(labels(&sim).is_empty());
    assert!(sim
        .app
        .message
        .as_deref()
        .unwrap()
        .contains("label the critique first"));
    sim.send_all([key('1'), key('k'), key('s')]);
    let last = labels(&sim).pop().unwrap();
    assert_eq!(
        last.1,
        LabelValue::Critique {
            verdict: CritiqueLabel::Valid,
            severity: Some(crit::assist::Severity::Critical)
        },
        "model said major; first press corrects to critical"
    );
}

#[test]
fn undo_appends_a_retraction_of_the_latest_record() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('1'), key('2')]);
    let second = sim.log().last().unwrap().seq;
    sim.send(key('u'));
    let retracts = sim.of_type("retract");
    assert!(
        matches!(retracts[0], Body::Retract { target_seq, reason: Some(r), .. } if *target_seq == second && r == "undo")
    );
    // The fold forgets the retracted label: only the first remains.
    assert_eq!(sim.app.labelled_count().0, 1);
    sim.send(key('u'));
    sim.send(key('u'));
    assert_eq!(sim.app.labelled_count().0, 0);
    assert_eq!(sim.of_type("retract").len(), 2);
    assert!(sim
        .app
        .message
        .as_deref()
        .unwrap()
        .contains("nothing to undo"));
}

#[test]
fn verdict_form_records_single_verdict() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([
        key('V'),
        key('r'),
        code(KeyCode::Tab),
        key('3'),
        code(KeyCode::Tab),
        code(KeyCode::Right),
        code(KeyCode::Right),
        code(KeyCode::Tab),
    ]);
    sim.send_all(typed("wrong sum"));
    sim.send(code(KeyCode::Enter));
    sim.send_all(typed("second line"));
    sim.send(ctrl('s'));
    let v = sim.of_type("verdict");
    assert_eq!(
        v[0],
        &Body::Verdict {
            task: "t1".into(),
            evaluator: "alice".into(),
            verdict: Verdict::Single {
                accept: Some(false),
                score: Some(3),
                confidence: Some(80),
                rationale: "wrong sum\nsecond line".into()
            },
            phase: Phase::Assisted,
            source: None,
        }
    );
}

#[test]
fn verdict_requires_a_decision() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('V'), ctrl('s')]);
    assert!(sim.of_type("verdict").is_empty());
    assert!(matches!(sim.app.mode, crit::tui::state::Mode::Verdict(_)));
    sim.send(code(KeyCode::Esc));
    assert!(matches!(sim.app.mode, crit::tui::state::Mode::Normal));
}

#[test]
fn pairwise_verdict() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('n'), key('n')]);
    assert!(sim.app.task().is_pairwise());
    sim.send_all([key('V'), key('b'), code(KeyCode::Tab), key('2'), ctrl('s')]);
    let v = sim.of_type("verdict");
    assert!(matches!(
        v[0],
        Body::Verdict {
            verdict: Verdict::Pairwise {
                preferred: Preference::B,
                strength: Some(2),
                confidence: None,
                ..
            },
            ..
        }
    ));
}

#[test]
fn own_critique_from_visual_selection() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    // Tab to the answer, move to "12 * 10", select three words.
    sim.send_all([
        code(KeyCode::Tab),
        key('w'),
        key('w'),
        key('w'),
        key('w'),
        key('v'),
        key('w'),
        key('w'),
        key('l'),
        key('c'),
    ]);
    sim.send_all(typed("fine but unexplained"));
    sim.send_all([
        code(KeyCode::Tab),
        code(KeyCode::Right),
        code(KeyCode::Tab),
        code(KeyCode::Right),
        ctrl('s'),
    ]);
    let uc = sim.of_type("user_critique");
    match uc[0] {
        Body::UserCritique {
            quote,
            comment,
            severity,
            category,
            span,
            answer,
            ..
        } => {
            assert_eq!(quote, "12 * 10");
            assert_eq!(comment, "fine but unexplained");
            assert_eq!(*severity, crit::assist::Severity::Critical);
            assert_eq!(category, "reasoning");
            assert_eq!(*span, Some(crit::task::Span { start: 10, end: 17 }));
            assert_eq!(*answer, None);
        }
        _ => unreachable!(),
    }
}

#[test]
fn correction_in_place_is_recorded_and_shown_as_diff() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send(key('e'));
    sim.send(Msg::Key(KeyEvent::new(KeyCode::End, KeyModifiers::CONTROL)));
    sim.send_all(typed(" Checked."));
    sim.send(ctrl('s'));
    let c = sim.of_type("correction");
    assert!(matches!(c[0], Body::Correction { text, .. } if text.ends_with("156. Checked.")));
    assert_eq!(sim.app.tab, Tab::Diff);
}

#[test]
fn editor_result_becomes_a_correction() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    let fx = sim.send(key('E'));
    assert!(matches!(&fx[0], Effect::OpenEditor { text } if text.starts_with("12 * 13")));
    sim.send(Msg::EditorDone(Some("The answer is 156.\n".into())));
    assert!(
        matches!(sim.of_type("correction")[0], Body::Correction { text, .. } if text == "The answer is 156.")
    );
}

#[test]
fn blind_first_hides_until_unaided_verdict_then_reveals() {
    let mut sim = Sim::new(Options {
        protocol: ProtocolSpec::Fixed(Protocol::BlindFirst),
        ..opts()
    });
    sim.send(Msg::Start);
    assert!(sim.app.hidden());
    sim.send(key('1'));
    assert!(
        sim.of_type("label").is_empty(),
        "no labels on hidden assistance"
    );
    sim.send_all([key('V'), key('a'), ctrl('s')]);
    assert!(!sim.app.hidden());
    let views: Vec<_> = sim.of_type("view");
    assert!(views.iter().any(|b| matches!(
        b,
        Body::View {
            action: ViewAction::AssistanceRevealed,
            ..
        }
    )));
    sim.send_all([key('1'), key('V'), key('r'), ctrl('s')]);
    let phases: Vec<Phase> = sim
        .of_type("verdict")
        .iter()
        .map(|b| match b {
            Body::Verdict { phase, .. } => *phase,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(phases, vec![Phase::Unaided, Phase::Assisted]);
    assert_eq!(sim.of_type("label").len(), 1);
}

#[test]
fn unassisted_arm_generates_nothing_and_records_unaided() {
    let mut sim = Sim::new(Options {
        protocol: ProtocolSpec::Fixed(Protocol::Unassisted),
        ..opts()
    });
    let fx = sim.send(Msg::Start);
    assert!(!fx.iter().any(|f| matches!(f, Effect::Submit { .. })));
    sim.send_all([key('V'), key('a'), ctrl('s')]);
    assert!(matches!(
        sim.of_type("verdict")[0],
        Body::Verdict {
            phase: Phase::Unaided,
            ..
        }
    ));
}

#[test]
fn arms_are_drawn_per_task_stably_and_recorded() {
    let arms = vec![
        Protocol::Assisted,
        Protocol::BlindFirst,
        Protocol::Unassisted,
    ];
    let o = Options {
        protocol: ProtocolSpec::Arms {
            arms: arms.clone(),
            seed: 7,
        },
        ..opts()
    };
    let mut sim = Sim::new(o.clone());
    let drawn: Vec<Protocol> = (0..3).map(|i| sim.app.arm(i)).collect();
    let again = Sim::new(o);
    assert_eq!(drawn, (0..3).map(|i| again.app.arm(i)).collect::<Vec<_>>());
    sim.send(Msg::Start);
    assert!(matches!(
        sim.of_type("view")[0],
        Body::View { action: ViewAction::TaskOpened { arm: Some(a) }, .. } if *a == drawn[0]
    ));
}

#[test]
fn view_events_are_debounced() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    let before = sim.of_type("view").len();
    sim.send_all([key(']'), key(']'), key('[')]);
    sim.set_now(500);
    sim.send(Msg::Tick);
    assert_eq!(
        sim.of_type("view").len(),
        before,
        "nothing before the debounce"
    );
    sim.set_now(1_500);
    sim.send(Msg::Tick);
    let views = sim.of_type("view");
    assert_eq!(views.len(), before + 1, "three switches, one event");
    assert!(
        matches!(views[before], Body::View { action: ViewAction::TabSwitched { tab }, .. } if *tab == Tab::Checks)
    );
}

#[test]
fn active_time_pauses_when_idle() {
    let mut sim = Sim::new(Options {
        idle_ms: 10_000,
        ..opts()
    });
    sim.send(Msg::Start);
    sim.set_now(1_000);
    sim.send(key('j')); // 1 s reading since the task opened
    sim.set_now(4_000);
    sim.send(key('j')); // 3 s active
    sim.set_now(100_000);
    sim.send(key('k')); // away 96 s: not counted
    sim.set_now(102_000);
    sim.send(key('n')); // 2 s, then the task closes
    let ms: Vec<u64> = sim
        .of_type("active_time")
        .iter()
        .map(|b| match b {
            Body::ActiveTime { ms, task, .. } if task == "t1" => *ms,
            _ => 0,
        })
        .collect();
    assert_eq!(ms, vec![6_000]);
}

#[test]
fn escape_cancels_and_failure_is_recorded_once() {
    let mut sim = Sim::new(opts());
    sim.hold(true);
    sim.send(Msg::Start);
    let fx = sim.send(code(KeyCode::Esc));
    let cancelled: Vec<u64> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Cancel(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled.len(), 3, "the current task's three kinds");
    for id in cancelled {
        sim.send(Msg::Assist(crit::assist::Event::Cancelled { id }));
    }
    assert_eq!(sim.of_type("assistance_failed").len(), 3);
    // Coming back does not resubmit a cancelled kind; R does.
    let fx = sim.send_all([key('n'), key('p')]);
    assert!(!fx
        .iter()
        .any(|f| matches!(f, Effect::Submit { task: 0, .. })));
    let fx = sim.send(key('R'));
    assert!(
        matches!(fx[..], [Effect::Submit { task: 0, kind: Kind::Critique, seed, .. }] if seed != 42)
    );
}

#[test]
fn streaming_tokens_update_the_generation() {
    let mut sim = Sim::new(opts());
    sim.hold(true);
    sim.send(Msg::Start);
    let id = sim.held()[0];
    sim.set_now(100);
    sim.send(Msg::Assist(crit::assist::Event::Started {
        id,
        prompt_tokens: 5,
        truncated: None,
    }));
    for i in 0..11 {
        sim.set_now(100 + i * 10);
        sim.send(Msg::Assist(crit::assist::Event::Token {
            id,
            text: "ab".into(),
        }));
    }
    let g = sim.app.gen_for(Kind::Critique).unwrap().1;
    assert_eq!(g.tokens, 11);
    assert_eq!(g.text.len(), 22);
    assert_eq!(g.tokens_per_s().map(|r| r.round()), Some(100.0));
}

#[test]
fn regenerate_uses_a_new_seed_and_keeps_history() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send(key('1'));
    sim.send(key('R'));
    let versions = sim
        .app
        .task_state()
        .assistance
        .get(&Kind::Critique)
        .unwrap()
        .len();
    assert_eq!(versions, 2);
    assert_eq!(
        sim.app.labelled_count().0,
        0,
        "labels were on the old version"
    );
}

#[test]
fn stop_at_first_bad_step() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key(']'), key(']'), key('F'), key('2')]);
    assert_eq!(sim.app.selected(), 0, "stays on the first -1");
    sim.send_all([key('j'), key('1')]);
    assert_eq!(sim.of_type("label").len(), 1, "later steps are not rated");
    sim.send_all([key('F'), key('1')]);
    assert_eq!(sim.of_type("label").len(), 2);
}

#[test]
fn next_unlabelled_and_filter_skip_tasks_with_verdicts() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('n'), key('V'), key('a'), ctrl('s'), key('p')]);
    assert_eq!(sim.app.current, 0);
    sim.send_all([key('V'), key('a'), ctrl('s'), key('N')]);
    assert_eq!(sim.app.current, 2);
    sim.send_all([key('f'), key('p')]);
    assert_eq!(sim.app.current, 2, "filter: tasks 1-2 have verdicts");
}

#[test]
fn search_finds_text_in_later_tasks() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('/')]);
    sim.send_all(typed("canberra"));
    sim.send(code(KeyCode::Enter));
    assert_eq!(sim.app.current, 1);
    let t = sim.app.answer();
    assert!(t[sim.app.cursor..].starts_with("Canberra"));
}

#[test]
fn read_only_records_nothing() {
    let mut sim = Sim::new(Options {
        read_only: true,
        ..opts()
    });
    let fx = sim.send(Msg::Start);
    assert!(fx.is_empty(), "no views, no generation: {fx:?}");
    sim.send_all([key('1'), key('V'), key('u')]);
    assert_eq!(sim.log().len(), 1);
    assert!(sim.app.message.as_deref().unwrap().contains("read-only"));
}

#[test]
fn resume_restores_task_tab_and_selection() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([key('n'), key(']'), key('j'), key('j')]);
    sim.send(Msg::Quit);
    let app = crit::tui::App::new(opts(), Replay::new(common::tasks(), sim.log().to_vec()));
    assert_eq!(app.current, 1);
    assert_eq!(app.tab, Tab::Checks);
    assert_eq!(app.selected(), 2);
    // Another evaluator starts at the beginning.
    let bob = crit::tui::App::new(
        Options {
            evaluator: "bob".into(),
            ..opts()
        },
        Replay::new(common::tasks(), sim.log().to_vec()),
    );
    assert_eq!(bob.current, 0);
}

#[test]
fn quit_flushes_views_and_time_then_quits() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send(key(']'));
    sim.set_now(2_000);
    let fx = sim.send(key('q'));
    let kinds: Vec<&str> = fx
        .iter()
        .map(|f| match f {
            Effect::Append { body, .. } => body.type_name(),
            Effect::Quit => "QUIT",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["view", "active_time", "view", "QUIT"]);
    assert!(sim.app.quit);
}

#[test]
fn keymap_defaults_and_overrides() {
    let km = Keymap::default();
    let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(km.resolve(&k('j')), Some(Action::Down));
    assert_eq!(
        km.resolve(&KeyEvent::new(KeyCode::Char('N'), KeyModifiers::SHIFT)),
        Some(Action::NextUnlabelled)
    );
    assert_eq!(
        km.resolve(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    let mut o = BTreeMap::new();
    o.insert(
        "next_task".to_string(),
        vec!["ctrl-n".to_string(), "j".to_string()],
    );
    let km = Keymap::with_overrides(&o).unwrap();
    assert_eq!(
        km.resolve(&k('j')),
        Some(Action::NextTask),
        "j moved to next_task"
    );
    assert_eq!(km.resolve(&k('n')), None, "next_task lost its default");
    assert_eq!(km.hint(Action::NextTask), "ctrl-n/j");
    assert_eq!(km.hint(Action::Down), "down");
    o.insert("fly".into(), vec!["z".into()]);
    assert_eq!(
        Keymap::with_overrides(&o).unwrap_err(),
        KeymapError::UnknownAction("fly".into())
    );
    assert!(Key::parse("ctrl-").is_err());
    assert_eq!(Key::parse("pagedown").unwrap().to_string(), "pagedown");
    for a in Action::ALL {
        assert_eq!(Action::parse(&a.name()), Some(a), "serde name round-trips");
        assert!(
            !Keymap::default().keys_for(a).is_empty(),
            "{a:?} has a default key"
        );
    }
}

#[test]
fn rebound_keys_drive_the_app() {
    let mut o = BTreeMap::new();
    o.insert("label_good".to_string(), vec!["g".to_string()]);
    let mut sim = Sim::new(Options {
        keymap: Keymap::with_overrides(&o).unwrap(),
        ..opts()
    });
    sim.send(Msg::Start);
    sim.send(key('1'));
    assert!(sim.of_type("label").is_empty());
    sim.send(key('g'));
    assert_eq!(sim.of_type("label").len(), 1);
}

fn mouse(kind: crossterm::event::MouseEventKind, column: u16, row: u16) -> TermEvent {
    TermEvent::Mouse(crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

#[test]
fn mouse_clicks_select_critiques_and_tabs_and_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEventKind};
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    // 120x40: assistance panel on the right, items 3 rows each from row 2.
    sim.input(mouse(MouseEventKind::Down(MouseButton::Left), 70, 9));
    assert_eq!(sim.app.selected(), 2);
    sim.input(mouse(MouseEventKind::ScrollUp, 70, 9));
    assert_eq!(sim.app.selected(), 1);
    sim.input(mouse(MouseEventKind::Down(MouseButton::Left), 80, 0));
    assert_eq!(sim.app.tab, Tab::Checks);
    // Answer text starts at (1, 5): column 6 of its first line is "13".
    sim.input(mouse(MouseEventKind::Down(MouseButton::Left), 6, 5));
    assert_eq!(sim.app.focus, crit::tui::state::Focus::Answer);
    assert!(sim.app.answer()[sim.app.cursor..].starts_with("13 ="));
}

/// A click means what the given layout says was on screen there: the update
/// hit-tests the layout it is handed and draws nothing itself.
#[test]
fn clicks_are_hit_tested_against_the_layout_handed_over() {
    use crit::tui::drawn::{DrawnAnswer, DrawnList};
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    let areas = sim.app.areas();
    let click = |column, row, drawn: &crit::tui::Drawn| {
        let ev = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        };
        Msg::Mouse(ev, std::sync::Arc::new(drawn.clone()))
    };
    // A layout that put critique 3 on the panel's first rows.
    let mut drawn = crit::tui::Drawn {
        areas,
        list: Some(DrawnList {
            tab: Tab::Critiques,
            items: vec![(2, areas.assist.y + 1..areas.assist.y + 4)],
        }),
        ..Default::default()
    };
    sim.send(click(areas.assist.x + 5, areas.assist.y + 2, &drawn));
    assert_eq!(sim.app.selected(), 2);
    // The same rows in a list of another tab mean nothing on this one.
    drawn.list.as_mut().unwrap().tab = Tab::Checks;
    sim.send(click(areas.assist.x + 5, areas.assist.y + 2, &drawn));
    assert_eq!(sim.app.selected(), 2);
    // An answer row drawn for another task is not this task's text.
    let inner = crit::tui::layout::inner(areas.answer);
    drawn.answer = Some(DrawnAnswer {
        task: 1,
        side_b: false,
        area: inner,
        rows: vec![0..29, 29..60],
    });
    sim.send(click(inner.x + 5, inner.y, &drawn));
    assert_eq!(sim.app.focus, crit::tui::state::Focus::Answer);
    assert_eq!(sim.app.cursor, 0, "stale layout: cursor stays");
    drawn.answer.as_mut().unwrap().task = 0;
    sim.send(click(inner.x + 5, inner.y, &drawn));
    assert!(sim.app.answer()[sim.app.cursor..].starts_with("13 ="));
}

#[test]
fn no_color_draws_without_colours() {
    let mut sim = Sim::new(Options {
        no_color: true,
        ..opts()
    });
    sim.send(Msg::Start);
    sim.send(key('1'));
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    term.draw(|f| f.render_widget(&sim.app, f.area())).unwrap();
    let buf = term.backend().buffer();
    use ratatui::style::Color;
    assert!(buf
        .content()
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    // With colour, something is coloured.
    sim.app.opts.no_color = false;
    term.draw(|f| f.render_widget(&sim.app, f.area())).unwrap();
    assert!(term
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != Color::Reset));
}

#[test]
fn ctrl_c_quits_from_a_form() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    sim.send_all([
        key('V'),
        code(KeyCode::Tab),
        code(KeyCode::Tab),
        code(KeyCode::Tab),
    ]);
    let fx = sim.send(ctrl('c'));
    assert!(fx.contains(&Effect::Quit));
    assert!(sim.of_type("verdict").is_empty());
}

#[test]
fn task_steps_are_rated_without_assistance() {
    let mut t = task("prm", "Solve x + 1 = 3.", "x + 1 = 3.\nx = 2.");
    t.steps = Some(vec![
        crit::task::Span { start: 0, end: 10 },
        crit::task::Span { start: 11, end: 17 },
    ]);
    let mut sim = Sim::with_tasks(opts(), vec![t]);
    sim.hold(true);
    let fx = sim.send(Msg::Start);
    assert!(
        !fx.iter().any(|f| matches!(
            f,
            Effect::Submit {
                kind: Kind::Decompose,
                ..
            }
        )),
        "the task brings its own steps"
    );
    sim.send_all([key(']'), key(']'), key('1'), key('2')]);
    assert_eq!(
        labels(&sim),
        vec![
            (
                Target::Step {
                    assistance: None,
                    index: 0
                },
                LabelValue::Step { rating: 1 }
            ),
            (
                Target::Step {
                    assistance: None,
                    index: 1
                },
                LabelValue::Step { rating: -1 }
            ),
        ]
    );
}

#[test]
fn resume_restores_answer_scroll() {
    let long = (1..=80)
        .map(|i| format!("Line {i} of a long answer."))
        .collect::<Vec<_>>()
        .join("\n");
    let mut sim = Sim::with_tasks(opts(), vec![task("long", "Read this.", &long)]);
    sim.send(Msg::Start);
    sim.send_all([
        code(KeyCode::Tab),
        code(KeyCode::PageDown),
        code(KeyCode::PageDown),
    ]);
    let scrolled = sim.app.answer_scroll;
    assert!(scrolled > 0);
    sim.send(Msg::Quit);
    let mut again = sim.reopen(opts());
    again.send(Msg::Resize(120, 40));
    again.send(Msg::Start);
    assert_eq!(again.app.answer_scroll, scrolled);
}

#[test]
fn jumping_away_drops_queued_prefetch_without_recording_failures() {
    let tasks: Vec<_> = (0..6)
        .map(|i| task(&format!("t{i}"), "Q?", "A. B. C."))
        .collect();
    let mut sim = Sim::with_tasks(
        Options {
            prefetch: 1,
            ..opts()
        },
        tasks,
    );
    sim.hold(true);
    sim.send(Msg::Start);
    // Tasks 0-1 queued; move on to task 4.
    sim.send_all([key('n'), key('n'), key('n'), key('n')]);
    let cancels: Vec<u64> = sim
        .effects
        .iter()
        .filter_map(|f| match f {
            Effect::Cancel(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert!(!cancels.is_empty());
    for id in cancels {
        sim.send(Msg::Assist(crit::assist::Event::Cancelled { id }));
    }
    assert!(
        sim.of_type("assistance_failed").is_empty(),
        "dropping is not failing"
    );
    assert!(
        sim.app.gens.values().all(|g| (4..=5).contains(&g.task)),
        "only the new window is queued"
    );
    // Going back resubmits what was dropped.
    sim.effects.clear();
    sim.send_all([key('p'), key('p'), key('p'), key('p')]);
    assert!(sim
        .effects
        .iter()
        .any(|f| matches!(f, Effect::Submit { task: 0, .. })));
}

/// `crit review --qc-rate`: planted items are mixed into a new session at
/// the rate asked, recorded as QC items, and nothing on the evaluator's
/// screen says which ones they are.
#[test]
fn qc_items_are_mixed_in_and_never_shown_as_planted() {
    use crit::audit::{assign, plant};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples/gsm8k.jsonl");
    let tasks = crit::task::load(&path, None, false).unwrap().tasks;
    let pool = plant::plant_all(&tasks, 3).planted;
    assert!(
        !pool.is_empty(),
        "the sample has known-good answers to plant into"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qc");
    let spec = assign::StudySpec {
        study: "qc".into(),
        evaluators: vec!["ana".into()],
        overlap: 1,
        seed: 3,
        qc_rate: 0.25,
        arms: Vec::new(),
    };
    drop(assign::qc_session(&tasks, &pool, &spec, &dir, "gsm8k.jsonl").unwrap());
    let replay = Replay::read(&dir).unwrap();
    let qc = replay
        .events()
        .iter()
        .find_map(|e| match &e.body {
            Body::Assigned { qc, qc_rate, .. } if *qc_rate == 0.25 => Some(qc.clone()),
            _ => None,
        })
        .expect("the plan is recorded");
    let want = (tasks.len() as f64 * 0.25 / 0.75).round() as usize;
    assert_eq!(qc.len(), want.min(pool.len()));
    assert_eq!(replay.tasks().len(), tasks.len() + qc.len());
    for id in &qc {
        let t = replay
            .tasks()
            .iter()
            .find(|t| &t.id == id)
            .expect("QC item in the session");
        assert!(
            plant::planting(t).is_some(),
            "{id} carries its planted flaw"
        );
    }
    let mut sim = Sim::existing(&dir, opts());
    sim.send(Msg::Start);
    for _ in 0..replay.tasks().len() {
        sim.send(Msg::Resize(120, 40));
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
        term.draw(|f| f.render_widget(&sim.app, f.area())).unwrap();
        let text = term.backend().to_string().to_lowercase();
        assert!(!text.contains("planted") && !text.contains("qc"), "{text}");
        sim.send(key('n'));
    }
}
