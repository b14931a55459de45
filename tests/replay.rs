//! `crit replay`: the review driven headlessly through a scripted session
//! (the real driver, `common::Sim`), then what replay prints at each
//! verdict compared with the state the review had when it recorded it;
//! snapshots of the replay screen; its keys on the state machine; following
//! a log that grows. `--regenerate` is in tests/replay_regenerate.rs.

mod common;

use common::*;
use crit::replay::{describe, Mark, Recording, IDLE_PLAY_MS};
use crit::session::event::{Body, Event, Phase, SourceFormat, ViewAction};
use crit::session::{Replay, Session, Timestamp};
use crit::task::Task;
use crit::tui::replay::{update, Mode, Msg as PlayerMsg, Player};
use crit::tui::{App, Msg, Options, Protocol, Tab};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::Path;
use std::process::{Command, Output};

fn crit(sessions: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crit"));
    cmd.env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_MODEL")
        .env_remove("CRIT_PROMPTS")
        .env_remove("CRIT_BACKEND");
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// A key a second after the last, then the event loop's tick (which
/// records debounced view actions once they are due).
fn press(sim: &mut Sim, m: Msg) {
    sim.advance(1_000);
    sim.send(m);
    sim.send(Msg::Tick);
}

fn keys(sim: &mut Sim, s: &str) {
    s.chars().for_each(|c| press(sim, key(c)));
}

/// The default tasks plus one with a long answer (to scroll).
fn study_tasks() -> Vec<Task> {
    let mut all = tasks();
    let lines: Vec<String> = (1..=60).map(|i| format!("Step {i}: add {i}.")).collect();
    all.push(task("t4", "Add the numbers 1 to 60.", &lines.join("\n")));
    all
}

/// What the review showed when it recorded a verdict, in the words
/// `crit replay --print` uses.
struct Seen {
    lines: Vec<String>,
    phase: Phase,
}

fn seen(app: &App, phase: Phase) -> Seen {
    let n = app.item_count(app.tab);
    let focused = match (app.tab, n, app.hidden()) {
        (Tab::Diff, _, _) => "focused: none (diff tab)".to_string(),
        (_, 0, true) => "focused: none (assistance hidden)".to_string(),
        (_, 0, false) => "focused: none (no items)".to_string(),
        _ => {
            let from = app
                .tab_seq()
                .map_or("the task's own steps".to_string(), |s| format!("#{s}"));
            format!("focused: item {} of {n} ({from})", app.selected() + 1)
        }
    };
    let work = app.work();
    let labels = work.map_or(0, |w| w.labels.len());
    let mut lines = vec![
        format!(
            "task: {} ({} of {})",
            app.task().id,
            app.current + 1,
            app.task_count()
        ),
        format!("arm: {}", app.arm(app.current)),
        format!(
            "assistance: {}",
            if app.hidden() { "hidden" } else { "shown" }
        ),
        format!("tab: {}", app.tab),
        focused,
        format!("answer scroll: line {}", app.answer_scroll + 1),
        format!("labels: {labels}"),
    ];
    for (t, r) in work.iter().flat_map(|w| &w.labels) {
        lines.push(format!(
            "  {}: {}",
            describe::target(t),
            describe::label(&r.value)
        ));
    }
    Seen { lines, phase }
}

/// Open the verdict form, fill it with `fields`, note what the review
/// shows, and save.
fn verdict(sim: &mut Sim, fields: &[Msg], captured: &mut Vec<Seen>) {
    press(sim, key('V'));
    for f in fields {
        press(sim, f.clone());
    }
    captured.push(seen(&sim.app, sim.app.phase()));
    press(sim, ctrl('s'));
}

/// A blind-first review of four tasks: verdicts on every tab, labels
/// that move the selection, an undo, a scrolled answer, a pairwise task.
fn scripted_review() -> (Sim, Vec<Seen>) {
    let o = Options {
        protocol: crit::tui::state::ProtocolSpec::Fixed(Protocol::BlindFirst),
        ..opts()
    };
    let mut sim = Sim::with_tasks(o, study_tasks());
    let mut got = Vec::new();
    sim.send(Msg::Resize(120, 40));
    sim.send(Msg::Start);
    press(&mut sim, key(']'));
    verdict(
        &mut sim,
        &[key('r'), code(KeyCode::Tab), key('2')],
        &mut got,
    );
    keys(&mut sim, "[j12ku");
    verdict(
        &mut sim,
        &[key('a'), code(KeyCode::Tab), key('6')],
        &mut got,
    );
    keys(&mut sim, "n]]");
    verdict(&mut sim, &[key('a')], &mut got);
    keys(&mut sim, "13]");
    verdict(
        &mut sim,
        &[key('r'), code(KeyCode::Tab), key('1')],
        &mut got,
    );
    keys(&mut sim, "n");
    verdict(&mut sim, &[key('b')], &mut got);
    keys(&mut sim, "n");
    press(&mut sim, code(KeyCode::Tab));
    press(&mut sim, key('G'));
    verdict(&mut sim, &[key('a')], &mut got);
    press(&mut sim, key('q'));
    sim.driver.finish().unwrap();
    (sim, got)
}

#[test]
fn print_at_each_verdict_shows_what_the_review_had_on_screen() {
    let (sim, seen) = scripted_review();
    let verdicts: Vec<&Event> = sim
        .log()
        .iter()
        .filter(|e| matches!(e.body, Body::Verdict { .. }))
        .collect();
    assert_eq!(verdicts.len(), seen.len(), "every verdict was recorded");
    assert!(seen
        .iter()
        .any(|s| s.lines.contains(&"assistance: hidden".to_string())));
    assert!(seen.iter().any(|s| s
        .lines
        .iter()
        .any(|l| l.starts_with("answer scroll: line ") && l != "answer scroll: line 1")));
    let dir = sim.dir().to_str().unwrap();
    for (e, want) in verdicts.iter().zip(&seen) {
        let out = crit(sim.dir())
            .args(["replay", dir, "--at", &e.seq.to_string(), "--print"])
            .output()
            .unwrap();
        let printed = ok(&out);
        for line in &want.lines {
            assert!(
                printed.lines().any(|l| l == line),
                "at #{}: missing {line:?} in\n{printed}",
                e.seq
            );
        }
        let label_lines = printed
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains(" item "))
            .count();
        let want_labels = want.lines.iter().filter(|l| l.starts_with("  ")).count();
        assert_eq!(label_lines, want_labels, "at #{}:\n{printed}", e.seq);
        assert!(printed.contains(&format!("event: #{} verdict {}:", e.seq, want.phase)));
        assert!(printed
            .lines()
            .any(|l| l.starts_with(&format!("  {}: ", want.phase))));
        assert!(printed.contains("evaluator: alice"));
    }
}

#[test]
fn bad_points_and_evaluators_exit_2_with_a_message() {
    let (sim, _) = scripted_review();
    let dir = sim.dir().to_str().unwrap();
    for (args, says) in [
        (vec!["--at", "99999", "--print"], "no event #99999"),
        (
            vec!["--at", "soon", "--print"],
            "neither an event number nor",
        ),
        (
            vec!["--at", "2000-01-01T00:00:00Z", "--print"],
            "before the session's first event",
        ),
        (vec!["--evaluator", "zed", "--print"], "evaluators: alice"),
    ] {
        let out = crit(sim.dir())
            .args(["replay", dir])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let at = sim.log().last().unwrap().ts.to_string();
    let out = crit(sim.dir())
        .args(["replay", dir, "--at", &at, "--print"])
        .output()
        .unwrap();
    let last = format!("event: #{} ", sim.log().last().unwrap().seq);
    assert!(
        ok(&out).contains(&last),
        "a time picks the last event at or before it"
    );
}

/// The scripted review's events with fixed times: two seconds apart, and
/// a minute's pause before the second task (an idle gap).
fn recording() -> Recording {
    let (sim, _) = scripted_review();
    let t0 = Timestamp::parse("2026-11-26T10:00:00Z").unwrap().datetime();
    let second_task = sim.log().iter().position(|e| {
        matches!(&e.body, Body::View { task, action: ViewAction::TaskOpened { .. }, .. } if task == "t2")
    });
    let events = sim
        .log()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let pause = if Some(i) >= second_task { 60 } else { 0 };
            let secs = 2 * i as i64 + pause;
            Event {
                ts: Timestamp::from_datetime(t0 + time::Duration::seconds(secs)),
                ..e.clone()
            }
        })
        .collect();
    let tasks = sim
        .app
        .replay
        .tasks()
        .iter()
        .map(|t| (**t).clone())
        .collect();
    let replay = Replay::new(tasks, events).at(Path::new("/sessions/study"));
    Recording::new(replay, Some("alice")).unwrap()
}

fn screen(p: &Player, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| f.render_widget(p, f.area())).unwrap();
    term.backend().to_string()
}

#[test]
fn replay_screen_snapshots() {
    let rec = recording();
    let tl = rec.timeline();
    let first_verdict = tl.next_mark(0, |m| m == Mark::Verdict).unwrap();
    let labelled = tl.next_mark(first_verdict, |m| m == Mark::Label).unwrap();
    let mut p = Player::new(rec, opts(), labelled);
    let filters = vec![(r"\d\d:\d\d active", "--:-- active")];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("label_120x40", screen(&p, 120, 40));
        insta::assert_snapshot!("label_80x24", screen(&p, 80, 24));
        update(&mut p, PlayerMsg::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)));
        insta::assert_snapshot!("help_80x24", screen(&p, 80, 24));
    });
}

fn k(c: char) -> PlayerMsg {
    PlayerMsg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[test]
fn keys_step_jump_play_and_pick_tasks_without_a_terminal() {
    let rec = recording();
    let last = rec.last();
    let marks: Vec<usize> = (0..rec.len())
        .filter(|&i| {
            matches!(
                rec.timeline().point(i).mark,
                Some(Mark::Label | Mark::Verdict)
            )
        })
        .collect();
    let t2 = rec.task_start(1).unwrap();
    let mut p = Player::new(rec, opts(), 0);
    update(&mut p, k('.'));
    assert_eq!(p.pos, 1);
    update(&mut p, k(','));
    update(&mut p, k(','));
    assert_eq!((p.pos, p.message.as_deref()), (0, Some("first event")));
    update(&mut p, k(']'));
    assert_eq!(p.pos, marks[0]);
    update(&mut p, k(']'));
    assert_eq!(p.pos, marks[1]);
    update(&mut p, k('['));
    assert_eq!(p.pos, marks[0]);
    for _ in 0..10 {
        update(&mut p, k('+'));
    }
    assert_eq!(p.speed, 64);
    for _ in 0..10 {
        update(&mut p, k('-'));
    }
    assert_eq!(p.speed, 1);

    // Playing: events two seconds apart advance every two seconds at 1×.
    let start = p.pos;
    update(&mut p, k(' '));
    assert!(p.playing);
    update(&mut p, PlayerMsg::Tick(10_000));
    update(&mut p, PlayerMsg::Tick(11_999));
    assert_eq!(p.pos, start, "not yet");
    update(&mut p, PlayerMsg::Tick(12_000));
    assert_eq!(p.pos, start + 1);
    update(&mut p, k(' '));
    update(&mut p, PlayerMsg::Tick(20_000));
    assert_eq!(p.pos, start + 1, "paused");

    // The minute before task 2 plays as one second.
    assert_eq!(p.rec.timeline().point(t2).idle_before_ms, Some(62_000));
    assert_eq!(p.rec.timeline().play_gap(t2 - 1), Some(IDLE_PLAY_MS));
    p.set_pos(t2 - 1);
    update(&mut p, k(' '));
    update(&mut p, PlayerMsg::Tick(30_000));
    update(&mut p, PlayerMsg::Tick(31_000));
    assert_eq!(p.pos, t2);
    assert_eq!(p.app.task().id, "t2");
    update(&mut p, k('+'));
    update(&mut p, PlayerMsg::Tick(31_000 + 1_000_000));
    assert_eq!(
        (p.pos, p.playing),
        (last, false),
        "plays to the end and stops"
    );

    update(&mut p, k('g'));
    assert_eq!(p.pos, 0);
    update(&mut p, k('t'));
    update(
        &mut p,
        PlayerMsg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
    );
    assert_eq!(p.mode, Mode::Picker { sel: 1 });
    update(
        &mut p,
        PlayerMsg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(
        (p.pos, p.mode.clone(), p.app.current),
        (t2, Mode::Normal, 1)
    );
    assert!(p.app.hidden(), "blind-first: hidden when the task opens");
    update(&mut p, k('?'));
    assert_eq!(p.mode, Mode::Help);
    update(&mut p, k('x'));
    assert_eq!(p.mode, Mode::Normal);
    assert!(update(&mut p, k('q')), "q quits");
}

#[test]
fn follows_a_session_another_process_is_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("live");
    let mut writer =
        Session::create_or_open(&dir, &tasks(), "t.jsonl", SourceFormat::Native).unwrap();
    let view = |task: &str, action| Body::View {
        task: task.into(),
        evaluator: "alice".into(),
        action,
    };
    writer
        .append(view(
            "t1",
            ViewAction::TaskOpened {
                arm: Some(Protocol::Assisted),
            },
        ))
        .unwrap();
    writer.sync().unwrap();

    // The writer holds the lock; the replay reads without it.
    let (replay, mut tail) = Replay::read_following(&dir).unwrap();
    let rec = Recording::new(replay, None).unwrap();
    assert_eq!(rec.evaluator(), Some("alice"));
    let mut p = Player::new(rec, opts(), usize::MAX);
    assert_eq!(p.pos, 1);

    writer
        .append(view("t1", ViewAction::TabSwitched { tab: Tab::Checks }))
        .unwrap();
    writer
        .append(view("t2", ViewAction::TaskOpened { arm: None }))
        .unwrap();
    writer.sync().unwrap();
    let new = tail.read_new().unwrap();
    assert_eq!(new.len(), 2);
    update(&mut p, PlayerMsg::Appended(new));
    assert_eq!(
        (p.pos, p.app.current, p.app.tab),
        (3, 1, Tab::Checks),
        "live: on the newest"
    );
    assert!(tail.read_new().unwrap().is_empty(), "nothing new");

    // Looking back, new events do not move the position.
    update(&mut p, k(','));
    let next = writer
        .append(view("t2", ViewAction::TaskClosed))
        .unwrap()
        .clone();
    drop(writer);
    update(&mut p, PlayerMsg::Appended(tail.read_new().unwrap()));
    assert_eq!((p.pos, p.rec.len()), (2, 5));

    // A line still being written is left for later; once whole, it is read.
    let line = serde_json::to_string(&Event {
        seq: next.seq + 1,
        ..next
    })
    .unwrap()
        + "\n";
    let (head, rest) = line.split_at(line.len() / 2);
    let append = |s: &str| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("events.jsonl"))
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    };
    append(head);
    assert!(tail.read_new().unwrap().is_empty(), "torn line ignored");
    append(rest);
    let whole = tail.read_new().unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].seq, next.seq + 1);

    // A log rewritten shorter cannot be followed: said so, nothing misread.
    std::fs::write(dir.join("events.jsonl"), "").unwrap();
    let err = tail.read_new().unwrap_err().to_string();
    assert!(err.contains("shrank"), "{err}");
}
