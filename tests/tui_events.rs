//! Headless end-to-end: key sequences through the real driver, a real
//! session in a temp dir and the scripted assistant; asserts the exact
//! events written to `events.jsonl` (timestamps ignored).

mod common;

use common::*;
use crit::session::event::{Body, Event};
use crit::session::{Replay, Session};
use crit::tui::{Msg, Options};
use serde_json::{json, Value};
use std::time::Duration;

/// The real driver on a session in `dir` (see `common::Sim`).
fn rig(dir: &std::path::Path, o: Options) -> Sim {
    Sim::in_dir(dir, o)
}

/// The log as (type, the fields that matter) with seq and ts dropped.
fn summary(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(&e.body).unwrap();
            let o = v.as_object_mut().unwrap();
            // An assistance event names its kind in its output.
            if let Some(kind) = o.get("output").map(|out| out["kind"].clone()) {
                o.insert("kind".into(), kind);
            }
            for k in [
                "ts",
                "pid",
                "crit_version",
                "tasks_sha256",
                "raw",
                "provenance",
                "output",
                "source_path",
                "truncated",
            ] {
                o.remove(k);
            }
            v
        })
        .collect()
}

#[test]
fn key_sequence_writes_exact_events() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let mut r = rig(
        &dir,
        Options {
            prefetch: 0,
            ..opts()
        },
    );
    r.send(Msg::Resize(120, 40));
    r.send(Msg::Start);
    // critique 1 valid, critique 2 hallucinated, undo it, nitpick instead;
    // check 1 (computed) fail; verdict accept 6/7; next task; quit.
    r.keys([
        key('1'),
        key('2'),
        key('u'),
        key('k'),
        key('3'),
        key(']'),
        key('2'),
    ]);
    r.keys([
        key('V'),
        key('a'),
        code(crossterm::event::KeyCode::Tab),
        key('6'),
        ctrl('s'),
    ]);
    r.keys([key('n'), key('q')]);
    r.driver.finish().unwrap();
    let data = Replay::read(r.dir()).unwrap();
    let got = summary(data.events());
    let a = |seq: u64| seq; // readability: assistance seqs are 3 (computed checks), 4, 5, 6
                            // Views are debounced (no ticks here): they are flushed when the task closes.
    let want = vec![
        json!({"type": "session_created", "source_format": "native", "task_count": 3}),
        json!({"type": "view", "task": "t1", "evaluator": "alice", "action": {"what": "task_opened", "arm": "assisted"}}),
        json!({"type": "assistance", "task": "t1", "kind": "tool_checks"}),
        json!({"type": "assistance", "task": "t1", "kind": "critique"}),
        json!({"type": "assistance", "task": "t1", "kind": "checks"}),
        json!({"type": "assistance", "task": "t1", "kind": "decompose"}),
        json!({"type": "label", "task": "t1", "evaluator": "alice", "target": {"on": "critique", "assistance": a(4), "index": 0}, "value": {"label": "critique", "verdict": "valid"}}),
        json!({"type": "label", "task": "t1", "evaluator": "alice", "target": {"on": "critique", "assistance": a(4), "index": 1}, "value": {"label": "critique", "verdict": "hallucinated"}}),
        json!({"type": "retract", "target_seq": 8, "evaluator": "alice", "reason": "undo"}),
        json!({"type": "label", "task": "t1", "evaluator": "alice", "target": {"on": "critique", "assistance": a(4), "index": 1}, "value": {"label": "critique", "verdict": "nitpick"}}),
        json!({"type": "label", "task": "t1", "evaluator": "alice", "target": {"on": "check", "assistance": a(3), "index": 0}, "value": {"label": "check", "verdict": "fail"}}),
        json!({"type": "verdict", "task": "t1", "evaluator": "alice", "verdict": {"mode": "single", "accept": true, "score": 6}, "phase": "assisted"}),
        json!({"type": "view", "task": "t1", "evaluator": "alice", "action": {"what": "focused", "assistance": 4, "index": 2}}),
        json!({"type": "view", "task": "t1", "evaluator": "alice", "action": {"what": "tab_switched", "tab": "checks"}}),
        json!({"type": "view", "task": "t1", "evaluator": "alice", "action": {"what": "focused", "assistance": 3, "index": 1}}),
        json!({"type": "active_time", "task": "t1", "evaluator": "alice", "ms": 13_000}),
        json!({"type": "view", "task": "t1", "evaluator": "alice", "action": {"what": "task_closed"}}),
        json!({"type": "view", "task": "t2", "evaluator": "alice", "action": {"what": "task_opened", "arm": "assisted"}}),
        json!({"type": "assistance", "task": "t2", "kind": "tool_checks"}),
        json!({"type": "assistance", "task": "t2", "kind": "critique"}),
        json!({"type": "assistance", "task": "t2", "kind": "checks"}),
        json!({"type": "assistance", "task": "t2", "kind": "decompose"}),
        json!({"type": "active_time", "task": "t2", "evaluator": "alice", "ms": 1_000}),
        json!({"type": "view", "task": "t2", "evaluator": "alice", "action": {"what": "task_closed"}}),
    ];
    assert_eq!(
        got,
        want,
        "got:\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
    // Labels and verdicts were made durable; the fold sees one label per target.
    let work = &data.state(0).by_evaluator["alice"];
    assert_eq!(work.labels.len(), 3);
    assert!(data.state(0).by_evaluator["alice"]
        .final_verdict()
        .is_some());
    let _ = Body::type_name; // keep the import meaningful
}

#[test]
fn reopening_resumes_and_never_regenerates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    {
        let mut r = rig(
            &dir,
            Options {
                prefetch: 1,
                ..opts()
            },
        );
        r.send(Msg::Start);
        r.keys([key('n'), key(']'), key('j'), key('q')]);
        r.driver.finish().unwrap();
    }
    let before = Replay::read(&dir).unwrap().events().len();
    let mut r = rig(
        &dir,
        Options {
            prefetch: 1,
            ..opts()
        },
    );
    assert_eq!(r.app.current, 1, "resumed on task 2");
    assert_eq!(r.app.tab, crit::tui::Tab::Checks);
    assert_eq!(r.app.selected(), 1);
    r.send(Msg::Start);
    r.keys([key('q')]);
    r.driver.finish().unwrap();
    let data = Replay::read(&dir).unwrap();
    let assistance: Vec<(String, String)> = data
        .events()
        .iter()
        .filter_map(|e| match &e.body {
            Body::Assistance {
                task, assistance, ..
            } => Some((task.clone(), assistance.output.kind().to_string())),
            _ => None,
        })
        .collect();
    // Tasks 1-2 from the first run, task 3 prefetched now: each kind once,
    // plus the computed checks of the two opened tasks.
    assert_eq!(assistance.len(), 11, "{assistance:?}");
    assert!(data.events().len() > before);
}

#[test]
fn second_writer_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let _r = rig(&dir, opts());
    let err = Session::open(&dir).unwrap_err();
    assert!(
        err.to_string().contains("in use by another crit process"),
        "{err}"
    );
}

#[test]
fn run_loop_on_test_backend_quits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let mut r = rig(&dir, opts());
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    let keys: Vec<std::io::Result<crossterm::event::Event>> = ['1', 'q']
        .into_iter()
        .map(|c| {
            Ok(crossterm::event::Event::Key(
                crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                ),
            ))
        })
        .collect();
    // Wait for assistance before the keys arrive, like a person would.
    let input = futures::stream::iter(keys);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    r.driver.dispatch(&mut r.app, Msg::Resize(120, 40)).unwrap();
    let mut editor = crit::tui::driver::NoEditor;
    rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(10),
            crit::tui::driver::run(&mut term, &mut r.app, &mut r.driver, input, &mut editor),
        )
        .await
        .expect("loop ends")
        .unwrap();
    });
    assert!(r.app.quit);
    let data = Replay::read(&dir).unwrap();
    assert!(data.events().iter().any(|e| matches!(
        &e.body,
        Body::View {
            action: crit::session::event::ViewAction::TaskClosed,
            ..
        }
    )));
}
