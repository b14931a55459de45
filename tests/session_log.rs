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

#[test]
fn deleting_the_lock_file_does_not_admit_a_second_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let _first = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    std::fs::remove_file(path.join("lock")).unwrap();
    let err = Session::open(&path).unwrap_err();
    assert!(matches!(err, SessionError::Locked { .. }), "{err}");
}

#[test]
fn a_writer_stops_when_the_log_changes_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    s.append_durable(label("t1", 0)).unwrap();
    // Another process appends behind the lock's back.
    let mut other = std::fs::OpenOptions::new()
        .append(true)
        .open(path.join("events.jsonl"))
        .unwrap();
    let stray =
        r#"{"v":2,"seq":3,"ts":"2026-11-27T00:00:00.000Z","type":"recovered","dropped_bytes":1}"#;
    writeln!(other, "{stray}").unwrap();
    let err = s.append(label("t1", 1)).unwrap_err();
    assert!(matches!(err, SessionError::Changed { .. }), "{err}");
    assert!(err.to_string().contains("crit fsck"), "{err}");
    drop(s);
    // Nothing of ours collided with it: the log still reads.
    let seqs: Vec<u64> = Replay::read(&path)
        .unwrap()
        .events()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
}

#[test]
fn fsck_lists_bad_lines_and_repair_moves_them_aside() {
    use crit::session::fsck;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    for i in 0..3 {
        s.append_durable(label("t1", i)).unwrap();
    }
    drop(s);
    let log = path.join("events.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let duplicate = lines[2].clone(); // seq 3 again, as two writers would
    lines.insert(2, "{not json".into());
    lines.push(duplicate);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let err = Replay::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("events.jsonl:3:") && err.contains("crit fsck"),
        "{err}"
    );
    let report = fsck::check(&path).unwrap();
    let bad: Vec<usize> = report.bad.iter().map(|b| b.line).collect();
    assert_eq!(bad, vec![3, 6]);
    assert_eq!(report.good, 4);
    let repaired = fsck::repair(&path).unwrap();
    assert_eq!(repaired.quarantined, 2);
    let aside = std::fs::read_to_string(path.join(fsck::QUARANTINE_FILE)).unwrap();
    assert_eq!(aside.lines().count(), 2);
    assert!(aside.starts_with("{not json"));
    let r = Replay::read(&path).unwrap();
    assert_eq!(r.events().len(), 4);
    assert!(fsck::check(&path).unwrap().is_clean());
    // And writers work again.
    let mut s = Session::open(&path).unwrap();
    assert_eq!(s.append(label("t2", 0)).unwrap().seq, 5);
}

#[test]
fn an_empty_log_says_how_to_repair_and_repair_rebuilds_the_header() {
    use crit::session::fsck;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    drop(Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap());
    // What a creation killed before its first event left (older crit).
    std::fs::write(path.join("events.jsonl"), "").unwrap();
    for err in [
        Replay::read(&path).unwrap_err(),
        Session::open(&path).unwrap_err(),
    ] {
        assert!(matches!(err, SessionError::Headless(_)), "{err}");
        assert!(err.to_string().contains("--repair"), "{err}");
    }
    let report = fsck::repair(&path).unwrap();
    assert!(report.rebuilt_header);
    let r = Replay::read(&path).unwrap();
    assert_eq!(r.tasks().len(), 3);
    // Same tasks: resuming the session from them works.
    let mut s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    s.append(label("t1", 0)).unwrap();
}

#[test]
fn creating_a_session_leaves_no_trace_until_it_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let s = Session::create_or_open(&path, &tasks(), "x", SourceFormat::Native).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["s"], "no temp directory left behind");
    assert_eq!(s.events().len(), 1);
    // A directory that is not a session is not taken over.
    let other = dir.path().join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("tasks.jsonl"), "keep me").unwrap();
    let err = Session::create_or_open(&other, &tasks(), "x", SourceFormat::Native).unwrap_err();
    assert!(matches!(err, SessionError::NotASession(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(other.join("tasks.jsonl")).unwrap(),
        "keep me"
    );
}
