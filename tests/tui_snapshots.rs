//! insta snapshots of the review screens on ratatui's TestBackend, at
//! 120x40 (side by side) and 80x24 (stacked). Assistance comes from the
//! scripted backend's fixed output; volatile text (times) is filtered.

mod common;

use common::*;
use crit::tui::state::Mode;
use crit::tui::{Keymap, Msg, Options, Protocol};
use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::BTreeMap;

/// Draw at `w`x`h` and return the screen as text.
fn screen(sim: &mut Sim, w: u16, h: u16) -> String {
    sim.send(Msg::Resize(w, h));
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| f.render_widget(&sim.app, f.area())).unwrap();
    term.backend().to_string()
}

/// Snapshot settings: the active-time clock (`mm:ss active`) is volatile.
macro_rules! snapshot {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({filters => vec![(r"\d\d:\d\d active", "--:-- active")]}, {
            insta::assert_snapshot!($name, $screen);
        })
    };
}

fn both(name: &str, sim: &mut Sim) {
    snapshot!(format!("{name}_120x40"), screen(sim, 120, 40));
    snapshot!(format!("{name}_80x24"), screen(sim, 80, 24));
}

fn started(o: Options) -> Sim {
    let mut sim = Sim::new(o);
    sim.send(Msg::Start);
    sim
}

#[test]
fn critiques() {
    let mut sim = started(opts());
    sim.send_all([key('1'), key('2')]);
    both("critiques", &mut sim);
}

#[test]
fn checks() {
    let mut sim = started(opts());
    sim.send_all([key(']'), key('1')]);
    both("checks", &mut sim);
}

#[test]
fn steps() {
    let mut sim = started(opts());
    sim.send_all([key(']'), key(']'), key('1'), key('2')]);
    both("steps", &mut sim);
}

#[test]
fn diff_after_correction() {
    let mut sim = started(opts());
    sim.send(Msg::EditorDone(Some(
        "12 * 13 = 12 * 10 + 12 * 3. That is 120 + 36 = 156. So the answer is 156.".into(),
    )));
    both("diff", &mut sim);
}

#[test]
fn help() {
    let mut sim = started(opts());
    sim.send(key('?'));
    both("help", &mut sim);
}

#[test]
fn help_names_the_keys_of_the_live_keymap() {
    let mut sim = started(opts());
    sim.send(key('?'));
    let default = screen(&mut sim, 120, 40);
    assert!(default.contains("critiques: 1 valid · 2 hallucinated · 3 nitpick"));
    let mut keys = BTreeMap::new();
    keys.insert("label_good".to_string(), vec!["a".to_string()]);
    keys.insert("help".to_string(), vec!["f1".to_string()]);
    let mut sim = started(Options {
        keymap: Keymap::with_overrides(&keys).unwrap(),
        ..opts()
    });
    sim.send(code(KeyCode::F(1)));
    let s = screen(&mut sim, 120, 40);
    assert!(
        s.contains("critiques: a valid · 2 hallucinated · 3 nitpick"),
        "{s}"
    );
    assert!(s.contains("checks:    a pass · 2 fail · 3 unsure"), "{s}");
    assert!(s.contains("steps:     a (+1) · 2 (-1) · 3 (0)"), "{s}");
    assert!(
        s.contains("  a                label: valid / pass / +1 [label_good]"),
        "{s}"
    );
    assert!(s.contains(" Keys (f1 or Esc closes) "), "{s}");
    assert!(s.contains("idle  f1 help"), "{s}");
}

#[test]
fn blind_first_before_and_after_reveal() {
    let mut sim = started(Options {
        protocol: crit::session::event::ProtocolSpec::Fixed(Protocol::BlindFirst),
        ..opts()
    });
    both("blind_before", &mut sim);
    sim.send_all([key('V'), key('r'), code(KeyCode::Tab), key('2'), ctrl('s')]);
    both("blind_after", &mut sim);
}

#[test]
fn pairwise_with_verdict_and_diff() {
    let mut sim = started(opts());
    sim.send_all([
        key('n'),
        key('n'),
        key('V'),
        key('b'),
        code(KeyCode::Tab),
        key('3'),
        ctrl('s'),
    ]);
    both("pairwise", &mut sim);
    sim.send_all([key('['), key('o')]);
    both("pairwise_diff_b", &mut sim);
}

#[test]
fn verdict_form() {
    let mut sim = started(opts());
    sim.send_all([
        key('V'),
        key('a'),
        code(KeyCode::Tab),
        key('6'),
        code(KeyCode::Tab),
        code(KeyCode::Right),
        code(KeyCode::Tab),
    ]);
    sim.send_all(typed("Correct and shown."));
    assert!(matches!(sim.app.mode, Mode::Verdict(_)));
    both("verdict_form", &mut sim);
}

#[test]
fn own_critique_form() {
    let mut sim = started(opts());
    sim.send_all([
        code(KeyCode::Tab),
        key('v'),
        key('w'),
        key('w'),
        key('l'),
        key('c'),
    ]);
    sim.send_all(typed("No check that 156 is right."));
    both("critique_form", &mut sim);
}

#[test]
fn streaming_generation() {
    let mut sim = Sim::new(opts());
    sim.hold(true);
    sim.send(Msg::Start);
    let id = sim.held()[0];
    sim.send(Msg::Assist(crit::assist::Event::Started {
        id,
        prompt_tokens: 5,
        truncated: None,
    }));
    for i in 0..20u64 {
        sim.set_now(1_000 + i * 20);
        sim.send(Msg::Assist(crit::assist::Event::Token {
            id,
            text: format!("{{\"quote\":\"tok{i}\"}}, "),
        }));
    }
    both("streaming", &mut sim);
}

#[test]
fn no_assistance_manual_review() {
    let mut sim = started(Options {
        no_assist: Some("--no-assist".into()),
        model_name: "no model".into(),
        ..opts()
    });
    both("no_assist", &mut sim);
}

#[test]
fn too_small_terminal() {
    let mut sim = started(opts());
    snapshot!("too_small_50x12", screen(&mut sim, 50, 12));
}

#[test]
fn escape_sequences_are_sanitized() {
    let t = task(
        "evil",
        "Say hi\u{1b}[2J",
        "Hi!\u{1b}]0;pwned\u{7} and \u{202e}reversed",
    );
    let mut sim = Sim::with_tasks(opts(), vec![t]);
    sim.send(Msg::Start);
    let s = screen(&mut sim, 120, 40);
    assert!(!s.contains('\u{1b}') && !s.contains('\u{7}') && !s.contains('\u{202e}'));
    assert!(s.contains("Hi!\\e]0;pwned\\x07"), "{s}");
}

#[test]
fn guidelines_overlay() {
    let mut sim = started(Options {
        guidelines: Some("# Rubric\n\nA critique is valid when it names a real flaw.\nNitpicks are true but do not change the verdict.".into()),
        ..opts()
    });
    sim.send(key('g'));
    both("guidelines", &mut sim);
}
