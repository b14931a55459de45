//! The event schema across versions, and the one fold: version-1 logs are
//! read and upgraded, fold and export exactly like their version-2
//! rewrite, and events pushed one by one fold like the whole log at once.

use crit::assist::{CheckVerdict, Kind};
use crit::session::event::{
    Body, CritiqueLabel, Event, FailReason, LabelValue, Phase, Protocol, ProtocolSpec, Tab, Target,
    ViewAction,
};
use crit::session::{Replay, Timestamp, EVENTS_FILE, TASKS_FILE};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v1")
        .join(name)
}

/// Everything the fold holds, as text (records hold shared assistance, so
/// compare their rendering).
fn folded(r: &Replay) -> String {
    format!("{:#?}", r.states())
}

#[test]
fn version_1_lines_are_upgraded_on_read() {
    let r = Replay::read(&fixture("arms")).unwrap();
    assert!(r.events().iter().all(|e| e.v == 1));
    let protocol = r.events().iter().find_map(|e| match &e.body {
        Body::Opened { protocol, .. } => protocol.clone(),
        _ => None,
    });
    assert_eq!(
        protocol,
        Some(ProtocolSpec::Arms {
            arms: vec![Protocol::Assisted, Protocol::BlindFirst],
            seed: 7
        })
    );
    let t1 = r.task_state("t1").unwrap();
    assert_eq!(t1.current(Kind::Critique).unwrap().stamp.seq, 3);
    let reasons: Vec<(Kind, FailReason, &str)> = t1
        .failures
        .iter()
        .map(|f| (f.kind, f.reason, f.error.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (Kind::Checks, FailReason::Cancelled, ""),
            (
                Kind::Decompose,
                FailReason::Error,
                "the model produced no JSON"
            ),
        ]
    );
    let ana = &t1.by_evaluator["ana"];
    assert_eq!(ana.arm, Some(Protocol::BlindFirst));
    assert!(ana.revealed);
    assert_eq!(ana.active_ms, 4200);
    let label = &ana.labels[&Target::Critique {
        assistance: 3,
        index: 0,
    }];
    assert!(matches!(
        label.value,
        LabelValue::Critique {
            verdict: CritiqueLabel::Valid,
            ..
        }
    ));
    assert_eq!(
        ana.verdicts.keys().copied().collect::<Vec<_>>(),
        [Phase::Unaided, Phase::Assisted]
    );
    let resume = r.resume_point("ana").unwrap();
    assert_eq!(resume.task, "t1");
    assert_eq!(resume.tab, Some(Tab::Checks));
    assert_eq!(resume.scroll, Some(3));
    assert_eq!(
        r.event(2).unwrap().ts,
        Timestamp::parse("2026-11-20T10:00:01.007Z").unwrap()
    );
}

/// A copy of session `src` whose events are written as this crit writes
/// them (version 2), under `parent/<same name>`.
fn rewrite_as_current(src: &Path, parent: &Path) -> PathBuf {
    let dir = parent.join(src.file_name().unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join(TASKS_FILE), dir.join(TASKS_FILE)).unwrap();
    let replay = Replay::read(src).unwrap();
    let mut text = String::new();
    for e in replay.events() {
        let e = Event {
            v: crit::session::event::SCHEMA_VERSION,
            ..e.clone()
        };
        text.push_str(&serde_json::to_string(&e).unwrap());
        text.push('\n');
    }
    std::fs::write(dir.join(EVENTS_FILE), text).unwrap();
    dir
}

fn export(session: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crit"))
        .args(["export", session.to_str().unwrap(), "--format", format])
        .env("CRIT_LOG", "off")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_version_1_example_session_folds_and_exports_like_its_rewrite() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["demo-smollm2", "arms"] {
        let old = fixture(name);
        let new = rewrite_as_current(&old, tmp.path());
        let (a, b) = (Replay::read(&old).unwrap(), Replay::read(&new).unwrap());
        assert_eq!(folded(&a), folded(&b), "{name}");
        assert!(b.events().iter().all(|e| e.v == 2));
        let raw = std::fs::read_to_string(new.join(EVENTS_FILE)).unwrap();
        assert!(!raw.contains("\"error\":\"cancelled\""));
        for format in ["trl-kto", "reward", "critiques", "openai-sft"] {
            let (x, y) = (export(&old, format), export(&new, format));
            assert_eq!(x, y, "{name} {format}");
        }
    }
    let demo = Replay::read(&fixture("demo-smollm2")).unwrap();
    assert_eq!(demo.tasks().len(), 6);
    assert!(!export(&fixture("demo-smollm2"), "critiques").is_empty());
}

/// A small deterministic generator (no RNG crate needed for a test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn random_body(rng: &mut Lcg, seq: u64, own: &mut Vec<u64>) -> Body {
    let task = format!("t{}", rng.next(3) + 1);
    let evaluator = ["ana", "ben"][rng.next(2) as usize].to_string();
    match rng.next(5) {
        0 if !own.is_empty() => {
            let target_seq = own.remove(rng.next(own.len() as u64) as usize);
            Body::Retract {
                target_seq,
                evaluator,
                reason: None,
            }
        }
        1 => Body::View {
            task,
            evaluator,
            action: ViewAction::TabSwitched {
                tab: Tab::ALL[rng.next(4) as usize],
            },
        },
        2 => {
            own.push(seq);
            Body::Label {
                task,
                evaluator,
                target: Target::Check {
                    assistance: 1,
                    index: rng.next(2) as usize,
                },
                value: LabelValue::Check {
                    verdict: [CheckVerdict::Pass, CheckVerdict::Fail][rng.next(2) as usize],
                },
                source: None,
            }
        }
        _ => {
            own.push(seq);
            Body::Correction {
                task,
                evaluator,
                text: format!("fixed {seq}"),
            }
        }
    }
}

#[test]
fn pushing_events_one_by_one_folds_like_the_whole_log() {
    let tasks: Vec<crit::task::Task> = (1..=3)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "id": format!("t{i}"), "prompt": "p", "answer": "a"
            }))
            .unwrap()
        })
        .collect();
    let mut rng = Lcg(7);
    let mut own = Vec::new();
    let mut live = Replay::new(tasks.clone(), Vec::new());
    let mut events = Vec::new();
    for seq in 1..=300 {
        let event = Event {
            v: 2,
            seq,
            ts: Timestamp::now(),
            body: random_body(&mut rng, seq, &mut own),
        };
        events.push(event.clone());
        live.push(event);
        if seq % 25 == 0 {
            let whole = Replay::new(tasks.clone(), events.clone());
            assert_eq!(folded(&live), folded(&whole), "after {seq} events");
            assert_eq!(live.resume_point("ana"), whole.resume_point("ana"));
            assert_eq!(
                folded(&live.until(seq / 2)),
                folded(&Replay::new(
                    tasks.clone(),
                    events[..(seq / 2) as usize].to_vec()
                ))
            );
        }
    }
    assert!(events
        .iter()
        .any(|e| matches!(e.body, Body::Retract { .. })));
}
