//! A synthetic study for the audit tests: six tasks (three right, three
//! wrong) and two planted copies, assigned by `crit assign` to ana, ben and
//! cho (overlap 2, QC rate 0.34, arms assisted/blind-first, seed 3), then
//! reviewed by script with known labels, written through the library with
//! scripted times.
//!
//! ana and ben are careful: they take 10-20 s per label, focus critiques
//! before labelling them, call the false alarm (critique 0) hallucinated and
//! the product critique (1) valid on wrong answers, a nitpick on right ones.
//! cho rubber-stamps: everything valid, every check pass, under 2 s a label,
//! accepts everything.

use crit::assist::{anchor, Check, CheckVerdict, Critique, Kind, Output, Severity, Step, StepKind};
#[path = "../export_support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;
use crit::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Protocol, Tab, Target, Verdict, ViewAction,
};
use crit::session::Session;
use crit::task::Span;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use synthetic::assistance;

pub const EVALUATORS: [&str; 3] = ["ana", "ben", "cho"];
/// Category of critique 1, with an escape sequence that must never reach
/// the terminal raw.
pub const CATEGORY_1: &str = "correct\u{1b}[31mness";

pub fn crit(sessions: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crit"));
    cmd.env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_MODEL");
    cmd
}

fn answer(x: u32) -> String {
    format!("First, 3 + 4 = 7. Then 7 * 2 = {x}. So the answer is {x}.")
}

fn result(task: &str) -> u32 {
    match task {
        "t1" | "t2" | "t3" => 14,
        "q1" | "q2" => 15,
        _ => 16,
    }
}

fn wrong(task: &str) -> bool {
    result(task) != 14
}

/// Task, planted-task and gold files in `dir`.
pub fn write_inputs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut tasks = String::new();
    for i in 1..=6 {
        let id = format!("t{i}");
        let line = serde_json::json!({"id": id, "prompt": format!("Q{i}: what is (3 + 4) * 2?"),
            "answer": answer(result(&id)), "reference": "14"});
        tasks.push_str(&format!("{line}\n"));
    }
    let mut planted = String::new();
    for i in 1..=2 {
        let a = answer(15);
        let start = a.find("15").unwrap();
        let line = serde_json::json!({"id": format!("q{i}"), "prompt": format!("Q{i}: what is (3 + 4) * 2?"),
            "answer": a, "reference": "14", "meta": {"planted_from": format!("t{i}"),
            "planted": {"span": {"start": start, "end": start + 2}, "original": "14",
                        "replacement": "15", "kind": "number", "description": "14 became 15"}}});
        planted.push_str(&format!("{line}\n"));
    }
    let gold: String = (1..=6)
        .map(|i| format!("{{\"task\": \"t{i}\", \"accept\": {}}}\n", i <= 3))
        .collect();
    let paths = (
        dir.join("tasks.jsonl"),
        dir.join("planted.jsonl"),
        dir.join("gold.jsonl"),
    );
    std::fs::write(&paths.0, tasks).unwrap();
    std::fs::write(&paths.1, planted).unwrap();
    std::fs::write(&paths.2, gold).unwrap();
    paths
}

/// Run `crit assign` for the study; returns its stdout.
pub fn assign(sessions: &Path, inputs: &(PathBuf, PathBuf, PathBuf)) -> String {
    let out = crit(sessions)
        .arg("assign")
        .arg(&inputs.0)
        .args([
            "--evaluators",
            "ana,ben,cho",
            "--overlap",
            "2",
            "--qc-rate",
            "0.34",
        ])
        .args([
            "--arms",
            "assisted,blind-first",
            "--seed",
            "3",
            "--prefix",
            "study",
        ])
        .arg("--planted")
        .arg(&inputs.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A session written with a scripted clock.
struct Clocked {
    s: Session,
    now: i64,
    stamps: HashMap<u64, i64>,
    evaluator: String,
}

impl Clocked {
    fn at(&mut self, after_ms: i64, body: Body) -> u64 {
        self.now += after_ms;
        let seq = self.s.append(body).unwrap().seq;
        self.stamps.insert(seq, self.now);
        seq
    }

    fn view(&mut self, after_ms: i64, task: &str, action: ViewAction) {
        let body = Body::View {
            task: task.into(),
            evaluator: self.evaluator.clone(),
            action,
        };
        self.at(after_ms, body);
    }

    fn label(&mut self, after_ms: i64, task: &str, target: Target, value: LabelValue) {
        let body = Body::Label {
            task: task.into(),
            evaluator: self.evaluator.clone(),
            target,
            value,
            source: None,
        };
        self.at(after_ms, body);
    }
}

fn critiques(answer: &str, x: u32) -> Output {
    let c = |quote: &str, comment: &str, severity, category: &str| Critique {
        quote: quote.into(),
        comment: comment.into(),
        severity,
        category: category.into(),
        span: anchor::find(answer, quote),
        side: None,
        agreement: None,
    };
    Output::Critique {
        critiques: vec![
            c("3 + 4 = 7", "Check the sum.", Severity::Major, "arithmetic"),
            c(
                &format!("7 * 2 = {x}"),
                "Check the product.",
                Severity::Minor,
                CATEGORY_1,
            ),
        ],
    }
}

fn decomposition(answer: &str, x: u32) -> Output {
    let texts = [
        "First, 3 + 4 = 7.".to_string(),
        format!("Then 7 * 2 = {x}."),
        format!("So the answer is {x}."),
    ];
    let steps = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Step {
            id: format!("s{}", i + 1),
            text: t.clone(),
            parent: None,
            kind: StepKind::Step,
            span: anchor::find(answer, t),
            restatement: None,
            verify: None,
        })
        .collect();
    Output::Decompose { steps }
}

fn check() -> Output {
    Output::Checks {
        checks: vec![Check {
            question: "Is 7 * 2 computed correctly?".into(),
            method: "recompute".into(),
            assistant_verdict: CheckVerdict::Pass,
            evidence: "looks right".into(),
            span: None,
        }],
    }
}

fn single(accept: bool, score: u8, confidence: u8) -> Verdict {
    Verdict::Single {
        accept: Some(accept),
        score: Some(score),
        confidence: Some(confidence),
        rationale: String::new(),
    }
}

/// (unaided, assisted) verdicts of each evaluator on each task.
fn verdicts(ev: &str, task: &str) -> (Option<Verdict>, Verdict) {
    match (ev, task) {
        ("ana", "t1") => (Some(single(false, 3, 60)), single(true, 6, 80)),
        ("ana", "t3") => (Some(single(true, 5, 70)), single(true, 6, 90)),
        ("ben", "t2") => (Some(single(true, 6, 80)), single(true, 6, 80)),
        ("ben", "t3") => (Some(single(true, 6, 70)), single(true, 5, 60)),
        ("cho", "t2") => (Some(single(false, 3, 50)), single(true, 6, 100)),
        ("cho", "t1") => (Some(single(true, 5, 50)), single(true, 5, 50)),
        ("ana", t) => (None, single(!wrong(t), if wrong(t) { 2 } else { 6 }, 80)),
        ("ben", "q1" | "q2") => (None, single(true, 6, 80)),
        ("ben", t) => (None, single(!wrong(t), if wrong(t) { 2 } else { 6 }, 80)),
        _ => (None, single(true, 6, 80)),
    }
}

/// The evaluator's own critiques: (quote, has a span).
fn own_critiques(ev: &str, task: &str) -> Vec<(&'static str, bool)> {
    match (ev, task) {
        ("ana", "t4") => vec![("So the answer is 16.", true), ("", false)],
        ("ana", "t5") | ("cho", "t5") => vec![("So the answer is 16.", true)],
        ("ben", "q1") => vec![("15", true)],
        ("ben", "t6") => vec![("7 * 2 = 16", true)],
        _ => vec![],
    }
}

fn active_ms(ev: &str, blind: bool) -> u64 {
    match (ev, blind) {
        ("ana", _) => 30_000,
        ("ben", false) => 60_000,
        ("ben", true) => 90_000,
        _ => 5_000,
    }
}

/// Review one task as `ev` would.
fn review(c: &mut Clocked, task: &str, arm: Protocol, a: [u64; 3]) {
    let ev = c.evaluator.clone();
    let careful = ev != "cho";
    let wrong = wrong(task);
    let blind = arm == Protocol::BlindFirst;
    let (unaided, assisted) = verdicts(&ev, task);
    c.view(5_000, task, ViewAction::TaskOpened { arm: Some(arm) });
    if let (true, Some(v)) = (blind, unaided) {
        let body = Body::Verdict {
            task: task.into(),
            evaluator: ev.clone(),
            verdict: v,
            phase: Phase::Unaided,
            source: None,
        };
        c.at(20_000, body);
        c.view(1_000, task, ViewAction::AssistanceRevealed);
    }
    let crit_label = |verdict| LabelValue::Critique {
        verdict,
        severity: None,
    };
    let target = |index| Target::Critique {
        assistance: a[0],
        index,
    };
    if careful {
        c.label(
            10_000,
            task,
            target(0),
            crit_label(CritiqueLabel::Hallucinated),
        );
        c.view(
            2_000,
            task,
            ViewAction::Focused {
                assistance: a[0],
                index: 1,
            },
        );
        let l1 = if wrong {
            CritiqueLabel::Valid
        } else {
            CritiqueLabel::Nitpick
        };
        c.label(8_000, task, target(1), crit_label(l1));
    } else {
        c.label(1_000, task, target(0), crit_label(CritiqueLabel::Valid));
        c.label(500, task, target(1), crit_label(CritiqueLabel::Valid));
    }
    let d = if careful { 10_000 } else { 1_000 };
    c.view(3_000, task, ViewAction::TabSwitched { tab: Tab::Checks });
    let human = if careful && wrong {
        CheckVerdict::Fail
    } else {
        CheckVerdict::Pass
    };
    c.label(
        d,
        task,
        Target::Check {
            assistance: a[1],
            index: 0,
        },
        LabelValue::Check { verdict: human },
    );
    c.view(3_000, task, ViewAction::TabSwitched { tab: Tab::Steps });
    let ratings: [i8; 3] = match (wrong, careful) {
        (false, _) => [1, 1, 1],
        (true, true) => [1, -1, -1],
        (true, false) => [1, 1, -1],
    };
    for (index, rating) in ratings.into_iter().enumerate() {
        let wait = match (careful, index) {
            (true, 0) => 10_000,
            (true, _) => 2_000,
            (false, _) => 500,
        };
        let target = Target::Step {
            assistance: Some(a[2]),
            index,
        };
        c.label(wait, task, target, LabelValue::Step { rating });
    }
    c.view(
        1_000,
        task,
        ViewAction::TabSwitched {
            tab: Tab::Critiques,
        },
    );
    let text = answer(result(task));
    for (quote, anchored) in own_critiques(&ev, task) {
        let span: Option<Span> = if anchored {
            anchor::find(&text, quote)
        } else {
            None
        };
        let body = Body::UserCritique {
            task: task.into(),
            evaluator: ev.clone(),
            span,
            quote: quote.into(),
            comment: "wrong".into(),
            severity: Severity::Major,
            category: "arithmetic".into(),
            answer: None,
            source: None,
        };
        c.at(5_000, body);
    }
    let body = Body::Verdict {
        task: task.into(),
        evaluator: ev.clone(),
        verdict: assisted,
        phase: Phase::Assisted,
        source: None,
    };
    c.at(5_000, body);
    let body = Body::ActiveTime {
        task: task.into(),
        evaluator: ev.clone(),
        ms: active_ms(&ev, blind),
    };
    c.at(100, body);
    c.view(500, task, ViewAction::TaskClosed);
}

/// Generate assistance for every task (as `crit generate` would), then
/// review in the assigned order. Returns the event times by seq.
fn run_session(dir: &Path, ev: &str) -> HashMap<u64, i64> {
    let s = Session::open(dir).unwrap();
    let (order, arms) = match &s.events()[1].body {
        Body::Assigned { order, arms, .. } => (order.clone(), arms.clone()),
        other => panic!("second event is not assigned: {other:?}"),
    };
    let mut c = Clocked {
        s,
        now: 0,
        stamps: HashMap::new(),
        evaluator: ev.into(),
    };
    let mut seqs: HashMap<String, [u64; 3]> = HashMap::new();
    for task in &order {
        let text = answer(result(task));
        let mut a = [0; 3];
        for (i, (_kind, out)) in [
            (Kind::Critique, critiques(&text, result(task))),
            (Kind::Checks, check()),
            (Kind::Decompose, decomposition(&text, result(task))),
        ]
        .into_iter()
        .enumerate()
        {
            a[i] = c.at(
                200,
                Body::Assistance {
                    task: task.clone(),
                    assistance: assistance(out),
                },
            );
        }
        seqs.insert(task.clone(), a);
    }
    for task in &order {
        review(&mut c, task, arms[task], seqs[task]);
    }
    c.s.sync().unwrap();
    c.stamps
}

fn timestamp(ms: i64) -> String {
    format!(
        "2025-03-01T{:02}:{:02}:{:02}.{:03}Z",
        9 + ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000
    )
}

/// Give every event its scripted time (events the script did not write,
/// like `session_created`, get the start time).
fn retime(dir: &Path, stamps: &HashMap<u64, i64>) {
    let path = dir.join("events.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let seq = v["seq"].as_u64().unwrap();
        v["ts"] = timestamp(stamps.get(&seq).copied().unwrap_or(0)).into();
        out.push_str(&format!("{v}\n"));
    }
    std::fs::write(&path, out).unwrap();
}

/// Build the whole study under `root`; returns the session directories
/// (ana, ben, cho), the gold file and `crit assign`'s output.
pub fn build(root: &Path) -> (Vec<PathBuf>, PathBuf, String) {
    let inputs = write_inputs(root);
    let sessions = root.join("sessions");
    let plan = assign(&sessions, &inputs);
    let dirs: Vec<PathBuf> = EVALUATORS
        .iter()
        .map(|e| sessions.join(format!("study-{e}")))
        .collect();
    for (dir, ev) in dirs.iter().zip(EVALUATORS) {
        let stamps = run_session(dir, ev);
        retime(dir, &stamps);
    }
    (dirs, inputs.2, plan)
}
