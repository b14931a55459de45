//! Shared by the export tests: the golden session (three evaluators, every
//! kind of label, retractions), the shared data, and export/import helpers.
#![allow(dead_code)]

pub mod synthetic;

use crit::assist::{Output, Severity};
use crit::labels::import::{import, ImportFormat, ImportOptions, ImportReport};
use crit::labels::{export, ExportFormat, ExportOptions, Manifest, MetaMode, Sink};
use crit::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Preference, Side, Target, Verdict, ViewAction,
};
use crit::session::event::{Protocol, SourceFormat};
use crit::session::Session;
use crit::task::{Span, Task};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use synthetic::{assistance, critique, step};

const STEPS_ANSWER: &str = "Let x be 3. Then 2x = 6. So x + 1 = 5.";

pub fn tasks() -> Vec<Task> {
    let spans = vec![
        Span { start: 0, end: 11 },
        Span { start: 11, end: 24 },
        Span {
            start: 24,
            end: STEPS_ANSWER.len(),
        },
    ];
    let mut prm = serde_json::Map::new();
    prm.insert(
        "prm800k".into(),
        json!({"steps": [
            {"completions": [{"text": "Let x be 3.", "is_human": false}], "chosen_completion": 0},
            {"completions": [{"text": " Then 2x = 6.", "is_human": false}], "chosen_completion": 0},
            {"completions": [
                {"text": " So x + 1 = 5.", "is_human": false},
                {"text": " So x + 1 = 4.", "is_human": false}
            ], "chosen_completion": 0}
        ]}),
    );
    vec![
        Task {
            id: "math".into(),
            prompt: "Let x = 3. What is x + 1?".into(),
            answer: STEPS_ANSWER.into(),
            answer_b: None,
            reference: Some("4".into()),
            steps: Some(spans),
            meta: prm,
        },
        Task {
            id: "pair".into(),
            prompt: "Greet the user.".into(),
            answer: "Hello! How can I help?".into(),
            answer_b: Some("What do you want?".into()),
            reference: None,
            steps: None,
            meta: Default::default(),
        },
        Task {
            id: "essay".into(),
            prompt: "Name the capital of France.".into(),
            answer: "The capital of France is Lyon.".into(),
            answer_b: None,
            reference: None,
            steps: None,
            meta: Default::default(),
        },
        Task {
            id: "unlabelled".into(),
            prompt: "Say nothing.".into(),
            answer: "...".into(),
            answer_b: None,
            reference: None,
            steps: None,
            meta: Default::default(),
        },
    ]
}

pub fn label(s: &mut Session, task: &str, ev: &str, target: Target, value: LabelValue) -> u64 {
    s.append(Body::Label {
        task: task.into(),
        evaluator: ev.into(),
        target,
        value,
        source: None,
    })
    .unwrap()
    .seq
}

pub fn verdict(s: &mut Session, task: &str, ev: &str, v: Verdict) -> u64 {
    s.append(Body::Verdict {
        task: task.into(),
        evaluator: ev.into(),
        verdict: v,
        phase: Phase::Assisted,
        source: None,
    })
    .unwrap()
    .seq
}

pub fn single(accept: bool, score: u8, confidence: u8) -> Verdict {
    Verdict::Single {
        accept: Some(accept),
        score: Some(score),
        confidence: Some(confidence),
        rationale: "because".into(),
    }
}

pub fn pairwise(p: Preference, confidence: u8) -> Verdict {
    Verdict::Pairwise {
        preferred: p,
        strength: Some(2),
        confidence: Some(confidence),
        rationale: String::new(),
    }
}

pub fn retract(s: &mut Session, seq: u64, ev: &str) {
    s.append(Body::Retract {
        target_seq: seq,
        evaluator: ev.into(),
        reason: Some("undo".into()),
    })
    .unwrap();
}

pub fn step_label(s: &mut Session, ev: &str, index: usize, rating: i8) -> u64 {
    let target = Target::Step {
        assistance: None,
        index,
    };
    label(s, "math", ev, target, LabelValue::Step { rating })
}

/// The golden session: three evaluators, every kind of label, retractions.
pub fn build(dir: &Path) -> PathBuf {
    let dir = dir.join("golden");
    let mut s =
        Session::create_or_open(&dir, &tasks(), "golden.jsonl", SourceFormat::Native).unwrap();
    for ev in ["alice", "bob"] {
        s.append(Body::View {
            task: "math".into(),
            evaluator: ev.into(),
            action: ViewAction::TaskOpened {
                arm: Some(if ev == "alice" {
                    Protocol::Assisted
                } else {
                    Protocol::Unassisted
                }),
            },
        })
        .unwrap();
    }
    math_labels(&mut s);
    pair_labels(&mut s);
    essay_labels(&mut s);
    s.sync().unwrap();
    dir
}

fn math_labels(s: &mut Session) {
    // alice: +1, +1, -1 on the own steps, and the rated alternative at step 2.
    step_label(s, "alice", 0, 1);
    step_label(s, "alice", 1, 1);
    step_label(s, "alice", 2, 1);
    let wrong = step_label(s, "alice", 2, 0);
    retract(s, wrong, "alice"); // back to +1 ...
    step_label(s, "alice", 2, -1); // ... then corrected to -1
    label(
        s,
        "math",
        "alice",
        Target::Alternative { step: 2, index: 1 },
        LabelValue::Step { rating: 1 },
    );
    // bob rated only the first step.
    step_label(s, "bob", 0, 0);
    verdict(s, "math", "alice", single(false, 2, 90));
    s.append(Body::Correction {
        task: "math".into(),
        evaluator: "alice".into(),
        text: "Let x be 3. So x + 1 = 4.".into(),
    })
    .unwrap();
    verdict(s, "math", "bob", single(true, 6, 60));
    verdict(s, "math", "carol", single(false, 3, 70));
}

fn pair_labels(s: &mut Session) {
    verdict(s, "pair", "alice", pairwise(Preference::A, 80));
    verdict(s, "pair", "bob", pairwise(Preference::B, 70));
    let oops = verdict(s, "pair", "bob", pairwise(Preference::A, 95));
    retract(s, oops, "bob"); // bob still prefers B: a tie for majority
    verdict(s, "pair", "carol", pairwise(Preference::Tie, 50));
    s.append(Body::UserCritique {
        task: "pair".into(),
        evaluator: "carol".into(),
        span: Some(Span { start: 0, end: 17 }),
        quote: "What do you want?".into(),
        comment: "Rude.".into(),
        severity: Severity::Major,
        category: "tone".into(),
        answer: Some(Side::B),
        source: None,
    })
    .unwrap();
}

fn essay_labels(s: &mut Session) {
    let answer = "The capital of France is Lyon.";
    let out = Output::Critique {
        critiques: vec![
            critique(answer, "Lyon", "The capital is Paris.", Severity::Critical),
            critique(answer, "The capital", "Should say 'city'.", Severity::Minor),
            critique(
                answer,
                "Marseille",
                "Not mentioned anywhere.",
                Severity::Major,
            ),
        ],
    };
    let a = s
        .append(Body::Assistance {
            task: "essay".into(),
            assistance: assistance(out),
        })
        .unwrap()
        .seq;
    let dec = Output::Decompose {
        steps: vec![
            step(0, "Identify the country."),
            step(1, "Name its capital."),
        ],
    };
    let d = s
        .append(Body::Assistance {
            task: "essay".into(),
            assistance: assistance(dec),
        })
        .unwrap()
        .seq;
    let crit = |index| Target::Critique {
        assistance: a,
        index,
    };
    let value = |v, severity| LabelValue::Critique {
        verdict: v,
        severity,
    };
    label(
        s,
        "essay",
        "alice",
        crit(0),
        value(CritiqueLabel::Valid, None),
    );
    label(
        s,
        "essay",
        "bob",
        crit(0),
        value(CritiqueLabel::Valid, None),
    );
    label(
        s,
        "essay",
        "alice",
        crit(1),
        value(CritiqueLabel::Nitpick, Some(Severity::Minor)),
    );
    let h = label(
        s,
        "essay",
        "alice",
        crit(2),
        value(CritiqueLabel::Valid, None),
    );
    retract(s, h, "alice"); // critique 2 ends up unlabelled
    for (index, rating) in [(0, 1), (1, -1)] {
        let target = Target::Step {
            assistance: Some(d),
            index,
        };
        label(s, "essay", "bob", target, LabelValue::Step { rating });
    }
    verdict(s, "essay", "bob", single(false, 1, 100));
    s.append(Body::Correction {
        task: "essay".into(),
        evaluator: "bob".into(),
        text: "The capital of France is Paris.".into(),
    })
    .unwrap();
    s.append(Body::UserCritique {
        task: "essay".into(),
        evaluator: "bob".into(),
        span: None,
        quote: "France".into(),
        comment: "Missing the country's population.".into(),
        severity: Severity::Minor,
        category: "completeness".into(),
        answer: None,
        source: None,
    })
    .unwrap();
}

/// Timestamps become `[ts]` so snapshots are stable.
pub fn normalize(v: &mut Value) {
    match v {
        Value::String(s) if is_ts(s) => *s = "[ts]".into(),
        Value::Array(a) => a.iter_mut().for_each(normalize),
        Value::Object(o) => o.values_mut().for_each(normalize),
        _ => {}
    }
}

pub fn is_ts(s: &str) -> bool {
    s.len() == 24 && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

/// Export the golden session to a file; records (timestamps normalized),
/// the manifest, and the meta sidecar's lines when there is one.
pub fn run(dir: &Path, opts: &ExportOptions) -> (String, Manifest) {
    let (text, manifest, _) = run_with_meta(dir, opts);
    (text, manifest)
}

pub fn run_with_meta(dir: &Path, opts: &ExportOptions) -> (String, Manifest, Option<String>) {
    let out = dir.join(format!("out-{}.jsonl", opts.format.name()));
    let mut sink = Sink::file(&out).unwrap();
    let manifest = export(&[dir.join("golden")], opts, &mut sink).unwrap();
    sink.finish().unwrap();
    let sidecar = crit::labels::meta_path(&out);
    let meta = sidecar.exists().then(|| normalized_lines(&sidecar));
    (normalized_lines(&out), manifest, meta)
}

fn normalized_lines(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            normalize(&mut v);
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    lines.join("\n")
}

/// Records, the meta sidecar (if any), then the manifest's counts (the
/// rest holds paths and hashes).
pub fn golden(opts: &ExportOptions) -> String {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let (text, manifest, meta) = run_with_meta(tmp.path(), opts);
    let counts = serde_json::to_string_pretty(&manifest.counts).unwrap();
    let meta = meta
        .map(|m| format!("\n--- meta sidecar\n{m}"))
        .unwrap_or_default();
    format!("{text}{meta}\n--- counts\n{counts}")
}

pub fn opts(format: ExportFormat) -> ExportOptions {
    ExportOptions::new(format)
}

/// ../shared/data of the workspace; `CRIT_SHARED_DATA` overrides it.
pub fn shared_data() -> PathBuf {
    std::env::var_os("CRIT_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    )
}

/// The full copy in ../shared/data when present (the stronger test), else
/// the small samples shipped in data/samples (clean clones, CI).
pub fn data(shared: &str, local: &str) -> PathBuf {
    let full = shared_data().join(shared);
    if full.exists() {
        return full;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/samples")
        .join(local)
}

pub fn prm_data() -> PathBuf {
    data("prm800k_phase1_test/trajectories.jsonl", "prm800k.jsonl")
}

pub fn import_into(file: &Path, format: ImportFormat, dir: &Path, skip: bool) -> ImportReport {
    let opts = ImportOptions {
        skip_invalid: skip,
        ..Default::default()
    };
    import(file, format, dir, opts).unwrap()
}

pub fn export_lines(dir: &Path, o: &ExportOptions) -> Vec<Value> {
    let mut buf = Vec::new();
    {
        let shared = SharedBuf(std::rc::Rc::new(std::cell::RefCell::new(Vec::new())));
        let mut sink = Sink::writer(Box::new(shared.clone()));
        export(&[dir.to_path_buf()], o, &mut sink).unwrap();
        sink.finish().unwrap();
        buf.extend_from_slice(&shared.0.borrow());
    }
    String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[derive(Clone)]
pub struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn no_meta(format: ExportFormat) -> ExportOptions {
    let mut o = opts(format);
    o.meta = MetaMode::None;
    o
}

/// Run scripts/check_exports.py on `files` with extra `args`.
pub fn check_exports(files: &[PathBuf], args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_exports.py");
    std::process::Command::new("python3")
        .arg(&script)
        .args(args)
        .args(files)
        .output()
        .expect("python3 runs (make test installs it)")
}

/// Export `sessions` to `out` (with its manifest) through the library.
pub fn export_to(sessions: &[PathBuf], o: &ExportOptions, out: &Path) -> Manifest {
    let mut sink = Sink::file(out).unwrap();
    let m = export(sessions, o, &mut sink).unwrap();
    sink.finish().unwrap();
    m.write(&Manifest::path_for(out)).unwrap();
    m
}
