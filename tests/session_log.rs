//! The append-only log: sequence numbers, resume, torn-tail recovery, the
//! single-writer lock and corrupt lines.

use crit::session::event::SourceFormat;
use crit::session::event::{Body, CritiqueLabel, LabelValue, Target};
use crit::session::{Replay, Session, SessionError};
use crit::task::Task;
use std::io::Write;

fn tasks() -> Vec<Task> {
    (1..=3)
        .map(|i| Task {
            id: format!("t{i}"),
            prompt: format!("What is {i}+{i}?"),
            answer: format!("It is {}.", i * 2),
            answer_b: None,
            reference: None,
            steps: None,
            meta: Default::default(),
        })
        .collect()
}

fn label(task: &str, index: usize) -> Body {
    Body::Label {
        task: task.into(),
        evaluator: "ann".into(),
        target: Target::Critique {
            assistance: 99,
            index,
        },
        value: LabelValue::Critique {
            verdict: CritiqueLabel::Valid,
            severity: None,
        },
        source: None,
    }
}

#[test]
fn create_append_and_reopen_keeps_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s1");
    {
        let mut s =
            Session::create_or_open(&path, &tasks(), "x.jsonl", SourceFormat::Native).unwrap();
        s.append_durable(label("t1", 0)).unwrap();
        assert_eq!(s.events().len(), 2);
    }
    let mut s = Session::create_or_open(&path, &tasks(), "x.jsonl", SourceFormat::Native).unwrap();
    let ev = s.append(label("t2", 1)).unwrap();
    assert_eq!(ev.seq, 3);
    drop(s);
    let data = Replay::read(&path).unwrap();
    let seqs: Vec<u64> = data.events().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let read: Vec<_> = data.tasks().iter().map(|t| (**t).clone()).collect();
    assert_eq!(read, tasks());
    assert!(matches!(
        data.events()[0].body,
        Body::SessionCreated { task_count: 3, .. }
    ));
    let text = std::fs::read_to_string(path.join("events.jsonl")).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["v"], crit::session::event::SCHEMA_VERSION);
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
        assert!(v["type"].is_string());
    }
}

#[test]
fn second_writer_is_refused_with_pid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let _first = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    let err = Session::open(&path).unwrap_err();
    match &err {
        SessionError::Locked { pid, .. } => assert_eq!(pid, &std::process::id().to_string()),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(err.to_string().contains("in use by another crit process"));
    // Readers need no lock.
    assert_eq!(Replay::read(&path).unwrap().events().len(), 1);
}

#[test]
fn torn_last_line_is_truncated_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    {
        let mut s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
        s.append_durable(label("t1", 0)).unwrap();
    }
    let events = path.join("events.jsonl");
    let before = std::fs::read(&events).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&events)
        .unwrap();
    f.write_all(br#"{"v":1,"seq":3,"ts":"2026-01-01T00:00:00.000Z","type":"lab"#)
        .unwrap();
    drop(f);
    // A reader ignores the torn tail.
    assert_eq!(Replay::read(&path).unwrap().events().len(), 2);
    let s = Session::open(&path).unwrap();
    let last = s.events().last().unwrap();
    assert_eq!(last.seq, 3);
    assert!(matches!(last.body, Body::Recovered { dropped_bytes } if dropped_bytes > 0));
    drop(s);
    let after = std::fs::read(&events).unwrap();
    assert!(after.starts_with(&before), "earlier lines are untouched");
    assert!(after.ends_with(b"\n"));
}

#[test]
fn corrupt_middle_line_reports_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    {
        let mut s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
        s.append_durable(label("t1", 0)).unwrap();
        s.append_durable(label("t1", 1)).unwrap();
    }
    let events = path.join("events.jsonl");
    let text = std::fs::read_to_string(&events).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{not json";
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let err = Replay::read(&path).unwrap_err().to_string();
    assert!(err.contains("events.jsonl:2: invalid JSON"), "{err}");
}

#[test]
fn resuming_with_different_tasks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    drop(Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap());
    let mut other = tasks();
    other[0].answer = "changed".into();
    let err = Session::create_or_open(&path, &other, "x", SourceFormat::Native).unwrap_err();
    assert!(matches!(err, SessionError::Mismatch { .. }), "{err}");
}

#[test]
fn retraction_restores_previous_label() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    s.append(label("t1", 0)).unwrap();
    let second = s
        .append(Body::Label {
            task: "t1".into(),
            evaluator: "ann".into(),
            target: Target::Critique {
                assistance: 99,
                index: 0,
            },
            value: LabelValue::Critique {
                verdict: CritiqueLabel::Nitpick,
                severity: None,
            },
            source: None,
        })
        .unwrap()
        .seq;
    let target = Target::Critique {
        assistance: 99,
        index: 0,
    };
    let value_now = |s: &Session| {
        // The session's own fold (incremental) and a fresh one agree.
        let read = |r: &Replay| {
            r.task_state("t1").unwrap().by_evaluator["ann"].labels[&target]
                .value
                .clone()
        };
        let fresh = Replay::read(s.dir()).unwrap();
        assert_eq!(read(s.replay()), read(&fresh));
        read(s.replay())
    };
    assert!(matches!(
        value_now(&s),
        LabelValue::Critique {
            verdict: CritiqueLabel::Nitpick,
            ..
        }
    ));
    s.append(Body::Retract {
        target_seq: second,
        evaluator: "ann".into(),
        reason: None,
    })
    .unwrap();
    assert!(matches!(
        value_now(&s),
        LabelValue::Critique {
            verdict: CritiqueLabel::Valid,
            ..
        }
    ));
}
