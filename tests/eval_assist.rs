//! `crit eval-assist` and the computed checks in sessions: exact rates on a
//! hand-computed fixture with a scripted assistant, the CLI's JSON shape,
//! tool checks in the review's Checks tab (labelled, audited), and one
//! short run with the real default model.

mod common;

use common::{key, opts, Sim};
use crit::assist::scripted::{ScriptConfig, Scripted};
use crit::assist::{Check, CheckVerdict, Critique, Kind, Output, Severity};
use crit::audit::stats::Bootstrap;
use crit::evalassist::{self, Header, Options, Report};
use crit::session::event::{Body, LabelValue, Target};
use crit::task::{Span, Task};
use crit::tui::Msg;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;
use std::sync::Arc;

/// A three-step PRM800K-style answer whose step `wrong` is rated -1; step
/// `wrong` holds a false sum when `bad_sum`.
fn marked(i: usize, wrong: usize, bad_sum: bool) -> Task {
    let steps: Vec<String> = (0..3)
        .map(|s| match (s == wrong, bad_sum) {
            (true, true) => format!("So 2 + 2 = 5 in case {i}."),
            _ => format!("Step {s} of case {i}."),
        })
        .collect();
    let answer = steps.join("\n");
    let mut spans = Vec::new();
    let mut at = 0;
    for s in &steps {
        spans.push(json!({"start": at, "end": at + s.len()}));
        at += s.len() + 1;
    }
    let ratings: Vec<i8> = (0..3).map(|s| if s == wrong { -1 } else { 1 }).collect();
    serde_json::from_value(json!({
        "id": format!("m{i}"), "prompt": "p", "answer": answer, "steps": spans,
        "meta": {"prm800k": {"ratings": ratings}}
    }))
    .unwrap()
}

fn graded(id: &str, answer: &str, correct: bool) -> Task {
    serde_json::from_value(json!({
        "id": id, "prompt": "p", "answer": answer,
        "meta": {"gsm8k": {"is_correct": correct}}
    }))
    .unwrap()
}

/// Five marked answers (first error on steps 3, 2, 1, 3, 2; false sums in
/// the first two), five correct ones (two with "alarm", one with a false
/// sum) and one wrong answer without a marked step.
fn fixture() -> Vec<Task> {
    let mut t: Vec<Task> = [(2, true), (1, true), (0, false), (2, false), (1, false)]
        .iter()
        .enumerate()
        .map(|(i, (w, bad))| marked(i, *w, *bad))
        .collect();
    t.push(graded("c0", "We get 3 + 3 = 7. alarm", true));
    t.push(graded("c1", "An alarm here.", true));
    for i in 2..5 {
        t.push(graded(&format!("c{i}"), &format!("All good {i}."), true));
    }
    t.push(graded("w0", "Wrong.", false));
    t
}

fn critique(span: Option<Span>, severity: Severity) -> Critique {
    Critique {
        quote: "q".into(),
        comment: "c".into(),
        severity,
        category: "x".into(),
        span,
        side: None,
        agreement: None,
    }
}

/// Critiques on the last step then the first (major, minor) of stepped
/// answers, a major one on answers saying "alarm"; a failing unanchored
/// model check on stepped answers.
fn script(task: &Task, kind: Kind) -> Output {
    let steps = task.steps.clone().unwrap_or_default();
    match kind {
        Kind::Critique => {
            let mut critiques = Vec::new();
            if let (Some(first), Some(last)) = (steps.first(), steps.last()) {
                critiques.push(critique(Some(*last), Severity::Major));
                critiques.push(critique(Some(*first), Severity::Minor));
            }
            if task.answer.contains("alarm") {
                critiques.push(critique(None, Severity::Major));
            }
            Output::Critique { critiques }
        }
        _ => Output::Checks {
            checks: steps
                .first()
                .map(|_| Check {
                    question: "q".into(),
                    method: "m".into(),
                    assistant_verdict: CheckVerdict::Fail,
                    evidence: "e".into(),
                    span: None,
                })
                .into_iter()
                .collect(),
        },
    }
}

fn run_fixture(samples: usize) -> Report {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = ScriptConfig {
        script: Arc::new(script),
        ..ScriptConfig::default()
    };
    let assistant = Scripted::with_config(tx, config);
    let opts = Options { samples, seed: 7 };
    let tasks = fixture();
    let run = evalassist::run(&tasks, &assistant, &mut rx, opts, &mut |_| {}).unwrap();
    let header = Header {
        data: "fixture".into(),
        samples,
        seed: 7,
        assistant: "scripted".into(),
    };
    evalassist::report(&run, header, Bootstrap::default())
}

fn counted(f: &crit::audit::stats::Figure) -> (usize, usize) {
    (f.count.expect("a proportion"), f.n)
}

#[test]
fn rates_and_baselines_are_the_hand_computed_ones() {
    let r = run_fixture(2);
    let e = &r.first_error;
    assert_eq!(e.n, 5);
    // Top-1 is the last step: errors on step 3 (cases 0 and 3).
    assert_eq!(counted(&e.critique_top1), (2, 5));
    // Last or first step: cases 0, 2, 3.
    assert_eq!(counted(&e.critique_any), (3, 5));
    assert_eq!(counted(&e.critique_any_sample), (3, 5));
    assert_eq!(
        counted(&e.model_check),
        (0, 5),
        "unanchored checks never hit"
    );
    assert_eq!(counted(&e.model), (3, 5));
    // The false sums sit on the wrong steps of cases 0 and 1.
    assert_eq!(counted(&e.tool), (2, 5));
    assert_eq!(counted(&e.both), (4, 5));
    assert_eq!(counted(&e.last_segment), (2, 5));
    let random = e.random_segment.value.unwrap();
    assert!((random - 1.0 / 3.0).abs() < 1e-12, "{random}");
    assert_eq!(e.random_segment.n, 5);
    // Correct answers: "alarm" twice (major critique), one false sum.
    assert_eq!(r.false_alarm.n, 5);
    assert_eq!(counted(&r.false_alarm.model), (2, 5));
    assert_eq!(counted(&r.false_alarm.tool), (1, 5));
    assert_eq!(counted(&r.false_alarm.both), (2, 5));
    // Wrong answers: the five marked (all flagged by the model) and w0.
    assert_eq!(counted(&r.detection.model), (5, 6));
    assert_eq!(counted(&r.detection.tool), (2, 6));
    assert_eq!(r.cost.failed_requests, 0);
    assert_eq!(r.model_id.as_deref(), Some("0".repeat(64).as_str()));
    assert!(r.templates.contains_key("critique") && r.templates.contains_key("checks"));
    assert!(r.notes.iter().any(|n| n.starts_with("1 wrong answers")));
}

#[test]
fn prm800k_errors_come_from_the_rejected_alternatives() {
    let line = json!({"problem_index": 3, "problem": "P", "steps": [
        {"completions": [{"text": "Good.", "rating": 1}], "chosen_completion": 0},
        {"completions": [{"text": "Bad.", "rating": -1}, {"text": "Fixed.", "rating": 1}],
         "chosen_completion": 1}
    ]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let loaded = crit::task::load(&path, Some(crit::task::Format::Prm800k), false).unwrap();
    let (tasks, dropped) = evalassist::prepare(&loaded.tasks);
    assert_eq!(dropped, 0);
    let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["prm800k-3", "prm800k-3-err1"]);
    assert_eq!(evalassist::gold(&tasks[0]).correct, Some(true));
    let bad = &tasks[1];
    assert_eq!(bad.answer, "Good.\nBad.");
    let g = evalassist::gold(bad);
    assert_eq!(g.first_wrong, Some(Span { start: 6, end: 10 }));
    assert_eq!(g.correct, Some(false));
}

fn crit_bin(home: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crit"));
    cmd.env("CRIT_SESSIONS", home.join("sessions"))
        .env("CRIT_CONFIG", home.join("no-config.toml"));
    cmd
}

fn write_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fixture.jsonl");
    let lines: Vec<String> = fixture()
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn the_cli_prints_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_fixture(dir.path());
    let out = crit_bin(dir.path())
        .args(["eval-assist", "--scripted", "--json", "--samples", "2"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], evalassist::SCHEMA);
    assert_eq!(v["tasks"], 11);
    assert_eq!(v["samples"], 2);
    assert_eq!(v["tool"], "crit-tools 1");
    for key in ["critique_top1", "critique_any", "model", "tool", "both"] {
        assert!(v["first_error"][key]["n"].is_u64(), "{key}");
    }
    for key in ["random_segment", "last_segment"] {
        assert!(v["first_error"][key]["value"].is_f64(), "{key}");
    }
    assert!(v["false_alarm"]["both"]["ci95"].is_array());
    assert!(v["cost"]["ms_per_task"]["value"].is_number());
    assert_eq!(v["model_id"], "0".repeat(64));
    // Unknown data is bad input: exit code 2.
    let bad = crit_bin(dir.path())
        .args(["eval-assist", "--scripted"])
        .arg(dir.path().join("missing.jsonl"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn generate_records_tool_checks_without_an_engine() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_fixture(dir.path());
    let out = crit_bin(dir.path())
        .args(["generate", "--kinds", "tool_checks", "--session"])
        .arg(dir.path().join("s"))
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replay = crit::session::Replay::read(&dir.path().join("s")).unwrap();
    let m0 = replay.task_state("m0").unwrap();
    let rec = m0.current(Kind::ToolChecks).expect("tool checks recorded");
    let checks = rec.assistance.output.checks().unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].assistant_verdict, CheckVerdict::Fail);
    assert!(rec.assistance.provenance.tool.is_some());
    assert!(
        rec.assistance.provenance.model.is_none(),
        "no model is faked"
    );
    assert!(m0.current(Kind::Critique).is_none());
    let c2 = replay.task_state("c2").unwrap();
    let none = c2
        .current(Kind::ToolChecks)
        .expect("recorded, even when empty");
    assert!(none.assistance.output.is_empty());
}

fn screen(sim: &mut Sim) -> String {
    sim.send(Msg::Resize(100, 30));
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    term.draw(|f| f.render_widget(&sim.app, f.area())).unwrap();
    term.backend().to_string()
}

#[test]
fn the_review_records_shows_and_labels_computed_checks() {
    let mut sim = Sim::new(opts());
    sim.send(Msg::Start);
    let tool_seq = sim
        .log()
        .iter()
        .find_map(|e| match &e.body {
            Body::Assistance { task, assistance }
                if task == "t1" && assistance.output.kind() == Kind::ToolChecks =>
            {
                Some(e.seq)
            }
            _ => None,
        })
        .expect("recorded when the task opened");
    sim.send_all([key(']'), key('1')]);
    let labelled = sim.of_type("label").into_iter().any(|b| {
        matches!(b, Body::Label { target: Target::Check { assistance, index: 0 }, value: LabelValue::Check { verdict: CheckVerdict::Pass }, .. } if *assistance == tool_seq)
    });
    assert!(labelled, "the first row is the computed check");
    let shown = screen(&mut sim);
    assert!(shown.contains("= computed by crit-tools 1"), "{shown}");
    insta::with_settings!({filters => vec![(r"\d\d:\d\d active", "--:-- active")]}, {
        insta::assert_snapshot!("checks_tab_with_computed_checks", shown);
    });
}

/// The real default model on two shared GSM8K solutions: the report's
/// structure and provenance, not its numbers (short generations).
#[test]
fn a_real_model_run_reports_its_model_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples/gsm8k.jsonl");
    let out = crit_bin(dir.path())
        .args(["eval-assist", "--json", "--limit", "2", "--threads", "1"])
        .args(["--max-tokens", "48"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tasks"], 2);
    let sha = v["model_id"].as_str().expect("the model's SHA-256");
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{sha}"
    );
    assert_ne!(sha, "0".repeat(64));
    for kind in ["critique", "checks"] {
        assert_eq!(
            v["templates"][kind].as_str().map(str::len),
            Some(64),
            "{kind}"
        );
    }
    assert_eq!(
        v["false_alarm"]["n"].as_u64().unwrap() + v["detection"]["n"].as_u64().unwrap(),
        2
    );
    assert!(v["cost"]["gen_tokens_per_task"]["n"] == 2);
}
