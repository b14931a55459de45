//! Golden-file tests of `crit export` on a synthetic session with fixed
//! content, plus retraction, `--resolve`, missing-label and atomic-write
//! cases. Timestamps and paths are normalized before snapshotting.

use crit::assist::{Output, Severity};
use crit::labels::synthetic::{assistance, critique, step};
use crit::labels::{export, ExportFormat, ExportOptions, LabelKind, Manifest, Resolve, Sink};
use crit::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Preference, Side, Target, Verdict, ViewAction,
};
use crit::session::event::{Protocol, SourceFormat};
use crit::session::Session;
use crit::task::{Span, Task};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const STEPS_ANSWER: &str = "Let x be 3. Then 2x = 6. So x + 1 = 5.";

fn tasks() -> Vec<Task> {
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

fn label(s: &mut Session, task: &str, ev: &str, target: Target, value: LabelValue) -> u64 {
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

fn verdict(s: &mut Session, task: &str, ev: &str, v: Verdict) -> u64 {
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

fn single(accept: bool, score: u8, confidence: u8) -> Verdict {
    Verdict::Single {
        accept: Some(accept),
        score: Some(score),
        confidence: Some(confidence),
        rationale: "because".into(),
    }
}

fn pairwise(p: Preference, confidence: u8) -> Verdict {
    Verdict::Pairwise {
        preferred: p,
        strength: Some(2),
        confidence: Some(confidence),
        rationale: String::new(),
    }
}

fn retract(s: &mut Session, seq: u64, ev: &str) {
    s.append(Body::Retract {
        target_seq: seq,
        evaluator: ev.into(),
        reason: Some("undo".into()),
    })
    .unwrap();
}

fn step_label(s: &mut Session, ev: &str, index: usize, rating: i8) -> u64 {
    let target = Target::Step {
        assistance: None,
        index,
    };
    label(s, "math", ev, target, LabelValue::Step { rating })
}

/// The golden session: three evaluators, every kind of label, retractions.
fn build(dir: &Path) -> PathBuf {
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
fn normalize(v: &mut Value) {
    match v {
        Value::String(s) if is_ts(s) => *s = "[ts]".into(),
        Value::Array(a) => a.iter_mut().for_each(normalize),
        Value::Object(o) => o.values_mut().for_each(normalize),
        _ => {}
    }
}

fn is_ts(s: &str) -> bool {
    s.len() == 24 && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

fn run(dir: &Path, opts: &ExportOptions) -> (String, Manifest) {
    let out = dir.join(format!("out-{}.jsonl", opts.format.name()));
    let mut sink = Sink::file(&out).unwrap();
    let manifest = export(&[dir.join("golden")], opts, &mut sink).unwrap();
    sink.finish().unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            normalize(&mut v);
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    (lines.join("\n"), manifest)
}

/// Records, then the manifest's counts (the rest holds paths and hashes).
fn golden(opts: &ExportOptions) -> String {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let (text, manifest) = run(tmp.path(), opts);
    let counts = serde_json::to_string_pretty(&manifest.counts).unwrap();
    format!("{text}\n--- counts\n{counts}")
}

fn opts(format: ExportFormat) -> ExportOptions {
    ExportOptions::new(format)
}

#[test]
fn golden_trl_preference() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::TrlPreference)));
}

#[test]
fn golden_trl_preference_conversational_no_meta() {
    let mut o = opts(ExportFormat::TrlPreference);
    o.conversational = true;
    o.no_meta = true;
    insta::assert_snapshot!(golden(&o));
}

#[test]
fn golden_trl_kto() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::TrlKto)));
}

#[test]
fn golden_reward() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::Reward)));
}

#[test]
fn golden_reward_normalized_no_meta() {
    let mut o = opts(ExportFormat::Reward);
    o.normalize = true;
    o.no_meta = true;
    insta::assert_snapshot!(golden(&o));
}

#[test]
fn golden_trl_stepwise() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::TrlStepwise)));
}

#[test]
fn golden_prm800k() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::Prm800k)));
}

#[test]
fn golden_openai_sft() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::OpenaiSft)));
}

#[test]
fn golden_openai_dpo() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::OpenaiDpo)));
}

#[test]
fn golden_critiques() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::Critiques)));
}

#[test]
fn golden_hh_rlhf() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::HhRlhf)));
}

fn export_records(o: &ExportOptions) -> (Vec<Value>, Manifest) {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let (text, m) = run(tmp.path(), o);
    let v = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (v, m)
}

#[test]
fn retracted_labels_are_not_exported() {
    // bob's retracted "prefers A" must not appear; his earlier B stands.
    let (recs, _) = export_records(&opts(ExportFormat::TrlPreference));
    let bob: Vec<&Value> = recs
        .iter()
        .filter(|r| r["meta"]["evaluator"] == "bob" && r["meta"]["task"] == "pair")
        .collect();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["chosen"], "What do you want?");
    // alice's retracted step rating 0 is gone; her later -1 counts.
    let (recs, _) = export_records(&opts(ExportFormat::Prm800k));
    let alice = recs.iter().find(|r| r["labeler"] == "alice").unwrap();
    assert_eq!(alice["label"]["steps"][2]["completions"][0]["rating"], -1);
    assert_eq!(alice["label"]["finish_reason"], "found_error");
    // the retracted critique label leaves critique 2 unlabelled, counted.
    let (recs, m) = export_records(&opts(ExportFormat::Critiques));
    assert!(recs.iter().all(|r| r["quote"] != "Marseille"));
    assert_eq!(m.counts.skipped.get("unlabelled_critique"), Some(&1));
}

#[test]
fn resolve_all_keeps_every_evaluator() {
    let (recs, m) = export_records(&opts(ExportFormat::TrlKto));
    let math: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["task"] == "math")
        .collect();
    assert_eq!(math.len(), 3);
    assert!(m.counts.conflicts >= 1);
}

#[test]
fn resolve_latest_takes_the_most_recent() {
    let mut o = opts(ExportFormat::TrlKto);
    o.resolve = Resolve::Latest;
    let (recs, _) = export_records(&o);
    let math: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["task"] == "math")
        .collect();
    assert_eq!(math.len(), 1);
    assert_eq!(math[0]["meta"]["evaluator"], "carol");
}

#[test]
fn resolve_majority_and_tie() {
    let mut o = opts(ExportFormat::TrlKto);
    o.resolve = Resolve::Majority;
    let (recs, _) = export_records(&o);
    let math: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["task"] == "math")
        .collect();
    assert_eq!(math.len(), 1);
    assert_eq!(math[0]["label"], false);
    assert_eq!(math[0]["meta"]["evaluators"], json!(["alice", "carol"]));
    // pair: alice A, bob B (carol's tie gives no pair): a tie, nothing written.
    let mut o = opts(ExportFormat::TrlPreference);
    o.resolve = Resolve::Majority;
    let (recs, m) = export_records(&o);
    assert!(recs.iter().all(|r| r["meta"]["task"] != "pair"));
    assert_eq!(m.counts.ties, 1);
    assert_eq!(m.counts.skipped.get("pairwise_tie"), Some(&1));
}

#[test]
fn missing_labels_are_counted_not_invented() {
    let (recs, m) = export_records(&opts(ExportFormat::Reward));
    assert!(recs.iter().all(|r| r["meta"]["task"] != "unlabelled"));
    // reward needs a 1-7 score: only math and essay have one.
    assert_eq!(m.counts.tasks_without_label, 2);
    let (_, m) = export_records(&opts(ExportFormat::TrlStepwise));
    assert_eq!(m.counts.tasks_without_label, 2);
}

#[test]
fn filters_evaluator_confidence_arm_kinds_window() {
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.evaluators = vec!["bob".into()];
    let (recs, _) = export_records(&o);
    assert!(recs.iter().all(|r| r["meta"]["evaluator"] == "bob"));
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.min_confidence = Some(75);
    let (recs, m) = export_records(&o);
    // bob's 60% verdict on math is out, his 100% one on essay stays.
    let bob: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["evaluator"] == "bob")
        .collect();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["meta"]["task"], "essay");
    assert!(m.counts.skipped["below_min_confidence"] >= 1);
    let mut o = opts(ExportFormat::TrlStepwise);
    o.filters.arm = Some(Protocol::Assisted);
    let (recs, _) = export_records(&o);
    assert_eq!(recs.len(), 2); // alice's alternative + path; bob is unassisted
    let mut o = opts(ExportFormat::TrlPreference);
    o.filters.kinds = vec![LabelKind::Correction];
    let (recs, _) = export_records(&o);
    assert!(recs.iter().all(|r| r["meta"]["kind"] == "correction"));
    assert_eq!(recs.len(), 2);
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.until = Some("2000-01-01T00:00:00Z".into());
    let (recs, _) = export_records(&o);
    assert!(recs.is_empty());
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.since = Some("2000-01-01T00:00:00Z".into());
    assert_eq!(export_records(&o).0.len(), 4);
}

#[test]
fn failed_export_leaves_target_unchanged_and_no_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let good = build(tmp.path());
    // A second "session" whose log is corrupt: the export fails after the
    // first session's records were already streamed to the temp file.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::copy(good.join("tasks.jsonl"), bad.join("tasks.jsonl")).unwrap();
    std::fs::write(bad.join("events.jsonl"), "{not json\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    std::fs::write(&out, "previous export\n").unwrap();
    let mut sink = Sink::file(&out).unwrap();
    let temp = crit::labels::temp_path(&out);
    assert!(temp.exists(), "records stream into a temp file");
    let err = export(&[good, bad], &opts(ExportFormat::Critiques), &mut sink);
    assert!(err.is_err());
    drop(sink);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous export\n");
    assert!(!temp.exists(), "temp file removed");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn target_is_never_partial_during_export() {
    // Until `finish`, the target path does not exist: records go elsewhere.
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let out = tmp.path().join("new.jsonl");
    let mut sink = Sink::file(&out).unwrap();
    export(&[dir], &opts(ExportFormat::Critiques), &mut sink).unwrap();
    assert!(!out.exists());
    sink.finish().unwrap();
    assert!(out.exists());
}

#[test]
fn manifest_lists_sessions_filters_and_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let out = tmp.path().join("m.jsonl");
    let mut sink = Sink::file(&out).unwrap();
    let m = export(&[dir], &opts(ExportFormat::Critiques), &mut sink).unwrap();
    sink.finish().unwrap();
    let path = Manifest::path_for(&out);
    m.write(&path).unwrap();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["format"], "critiques");
    assert_eq!(v["sessions"][0]["name"], "golden");
    assert_eq!(
        v["sessions"][0]["events_sha256"].as_str().unwrap().len(),
        64
    );
    assert_eq!(v["counts"]["records"], 5);
    assert_eq!(v["counts"]["by_kind"]["user_critique"], 2);
    assert_eq!(v["crit_version"], crit::VERSION);
}

/// Every format (and the conversational variant), with manifests, through
/// scripts/check_exports.py; then a broken file must fail with file:line.
#[test]
fn python_check_accepts_every_export_and_rejects_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let mut files = Vec::new();
    let mut variants: Vec<ExportOptions> = ExportFormat::ALL.iter().map(|f| opts(*f)).collect();
    let mut conv = opts(ExportFormat::TrlPreference);
    conv.conversational = true;
    variants.push(conv);
    let mut norm = opts(ExportFormat::Reward);
    norm.normalize = true;
    norm.no_meta = true;
    variants.push(norm);
    for (i, o) in variants.iter().enumerate() {
        let out = tmp.path().join(format!("{i}-{}.jsonl", o.format.name()));
        let mut sink = Sink::file(&out).unwrap();
        let m = export(std::slice::from_ref(&dir), o, &mut sink).unwrap();
        sink.finish().unwrap();
        m.write(&Manifest::path_for(&out)).unwrap();
        assert!(m.counts.records > 0, "{} wrote nothing", o.format.name());
        files.push(out);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_exports.py");
    let run = |files: &[PathBuf]| {
        std::process::Command::new("python3")
            .arg(&script)
            .args(files)
            .output()
            .expect("python3 runs (make test installs it)")
    };
    let ok = run(&files);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Rename a field in one record: the check names file, line and field.
    let broken = tmp.path().join("broken.jsonl");
    let text = std::fs::read_to_string(&files[1])
        .unwrap()
        .replacen("\"label\"", "\"lable\"", 1);
    std::fs::write(&broken, text).unwrap();
    std::fs::copy(Manifest::path_for(&files[1]), Manifest::path_for(&broken)).unwrap();
    let bad = run(&[broken]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(
        err.contains("broken.jsonl:1:") && err.contains("lable"),
        "{err}"
    );
}

// ---- import and round trips ----

use crit::labels::import::{import, ImportFormat, ImportOptions, ImportReport};

/// ../shared/data of the workspace; `CRIT_SHARED_DATA` overrides it.
fn shared_data() -> PathBuf {
    std::env::var_os("CRIT_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    )
}

/// The full copy in ../shared/data when present (the stronger test), else
/// the small samples shipped in data/samples (clean clones, CI).
fn data(shared: &str, local: &str) -> PathBuf {
    let full = shared_data().join(shared);
    if full.exists() {
        return full;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/samples")
        .join(local)
}

fn prm_data() -> PathBuf {
    data("prm800k_phase1_test/trajectories.jsonl", "prm800k.jsonl")
}

fn import_into(file: &Path, format: ImportFormat, dir: &Path, skip: bool) -> ImportReport {
    let opts = ImportOptions {
        evaluator: None,
        skip_invalid: skip,
    };
    import(file, format, dir, opts).unwrap()
}

fn export_lines(dir: &Path, o: &ExportOptions) -> Vec<Value> {
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
struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn no_meta(format: ExportFormat) -> ExportOptions {
    let mut o = opts(format);
    o.no_meta = true;
    o
}

/// (text, rating) of the machine-written candidates at one source step.
fn source_candidates(step: &Value) -> Vec<(String, Option<i64>)> {
    step["completions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["is_human"] != true)
                .map(|c| {
                    (
                        c["text"].as_str().unwrap().to_string(),
                        c["rating"].as_i64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn prm800k_ratings_round_trip_one_for_one() {
    let src_path = prm_data();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prm");
    let report = import_into(&src_path, ImportFormat::Prm800k, &dir, true);
    let sources: Vec<Value> = read_jsonl(&src_path);
    // The task reader leaves out trajectories whose first step kept nothing
    // (3 of the 101 in ../shared/data): no answer to show.
    for e in &report.skipped {
        assert!(e.message.contains("no step has a chosen completion"), "{e}");
    }
    let by_problem: std::collections::HashMap<&str, &Value> = sources
        .iter()
        .map(|s| (s["problem"].as_str().unwrap(), s))
        .collect();
    let exported = export_lines(&dir, &no_meta(ExportFormat::Prm800k));
    assert_eq!(exported.len() + report.skipped.len(), sources.len());
    let mut matched = 0;
    for rec in &exported {
        let src = by_problem[rec["question"]["problem"].as_str().unwrap()];
        let src_steps = src["steps"].as_array().unwrap();
        let out_steps = rec["label"]["steps"].as_array().unwrap();
        for (i, s) in src_steps.iter().enumerate() {
            let want = source_candidates(s);
            let got: Vec<(String, Option<i64>)> = out_steps
                .get(i)
                .and_then(|o| o["completions"].as_array())
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            (
                                c["text"].as_str().unwrap().to_string(),
                                c["rating"].as_i64(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_else(|| want.iter().map(|(t, _)| (t.clone(), None)).collect());
            assert_eq!(got, want, "problem {} step {i}", src["problem_index"]);
            matched += want.iter().filter(|(_, r)| r.is_some()).count();
        }
    }
    assert_eq!(
        matched, report.labels,
        "every imported rating exported once"
    );
}

#[test]
fn prm800k_ratings_round_trip_through_trl_stepwise() {
    let src_path = prm_data();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prm");
    let report = import_into(&src_path, ImportFormat::Prm800k, &dir, true);
    let sources = read_jsonl(&src_path);
    // Source: every rated candidate as (problem, step, text, rated +1).
    type Key = (String, usize, String, bool);
    let mut want: Vec<Key> = Vec::new();
    let imported: std::collections::HashSet<String> =
        export_lines(&dir, &no_meta(ExportFormat::Prm800k))
            .iter()
            .map(|r| r["question"]["problem"].as_str().unwrap().to_string())
            .collect();
    let mut human: std::collections::HashSet<(String, usize)> = Default::default();
    for s in &sources {
        let p = s["problem"].as_str().unwrap().to_string();
        if !imported.contains(&p) {
            continue;
        }
        for (i, step) in s["steps"].as_array().unwrap().iter().enumerate() {
            let cs = step["completions"].as_array().unwrap();
            for c in cs {
                if let Some(r) = c["rating"].as_i64() {
                    want.push((p.clone(), i, c["text"].as_str().unwrap().into(), r == 1));
                }
            }
            // A kept step the labeller wrote: in the path, but never rated.
            let kept = step["chosen_completion"].as_u64().map(|k| &cs[k as usize]);
            if kept.is_some_and(|c| c["is_human"] == true) {
                human.insert((p.clone(), i));
            }
        }
    }
    // Export: each alternative record ends in its candidate; the main path
    // carries the kept steps (human-written ones have no source rating).
    let mut got: Vec<Key> = Vec::new();
    let recs = export_lines(&dir, &no_meta(ExportFormat::TrlStepwise));
    let mut by_problem: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for r in &recs {
        by_problem
            .entry(r["prompt"].as_str().unwrap().into())
            .or_default()
            .push(r);
    }
    // Per problem the alternatives come first and the kept path last.
    for (p, rs) in &by_problem {
        let (main, alts) = rs.split_last().unwrap();
        for a in alts {
            let n = a["completions"].as_array().unwrap().len();
            let text = a["completions"][n - 1].as_str().unwrap().to_string();
            got.push((
                p.clone(),
                n - 1,
                text,
                a["labels"][n - 1].as_bool().unwrap(),
            ));
        }
        for (i, t) in main["completions"].as_array().unwrap().iter().enumerate() {
            if !human.contains(&(p.clone(), i)) {
                got.push((
                    p.clone(),
                    i,
                    t.as_str().unwrap().into(),
                    main["labels"][i].as_bool().unwrap(),
                ));
            }
        }
    }
    want.sort();
    got.sort();
    assert_eq!(got.len(), report.labels);
    assert_eq!(got, want);
    assert_eq!(by_problem.len(), imported.len());
}

#[test]
fn hh_rlhf_pairs_round_trip() {
    let src_path = data("hh_rlhf_harmless_base_test/sample.jsonl", "hh-rlhf.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hh");
    let report = import_into(&src_path, ImportFormat::HhRlhf, &dir, true);
    let skipped: Vec<usize> = report.skipped.iter().map(|e| e.line).collect();
    let sources: Vec<Value> = read_jsonl(&src_path)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !skipped.contains(&(i + 1)))
        .map(|(_, v)| v)
        .collect();
    let hh = export_lines(&dir, &no_meta(ExportFormat::HhRlhf));
    let pref = export_lines(&dir, &no_meta(ExportFormat::TrlPreference));
    assert_eq!(hh.len(), sources.len());
    assert_eq!(pref.len(), sources.len());
    let mut exact = 0;
    for ((h, p), s) in hh.iter().zip(&pref).zip(&sources) {
        // The chosen transcript comes back exactly; so does the rejected one
        // unless the source's two transcripts differ before the last reply.
        assert_eq!(h["chosen"], s["chosen"]);
        let (prompt, chosen) = split_hh(s["chosen"].as_str().unwrap());
        let (rprompt, rejected) = split_hh(s["rejected"].as_str().unwrap());
        assert_eq!(p["prompt"], prompt);
        assert_eq!(p["chosen"], chosen);
        assert_eq!(p["rejected"], rejected);
        if h["rejected"] == s["rejected"] {
            exact += 1;
        } else {
            assert_ne!(
                prompt, rprompt,
                "rejected differs only with a prefix mismatch"
            );
        }
    }
    assert!(exact > 0);
}

fn split_hh(t: &str) -> (&str, &str) {
    let at = t.rfind("\n\nAssistant:").unwrap();
    let reply = &t[at + "\n\nAssistant:".len()..];
    (
        t[..at].trim_start_matches('\n'),
        reply.strip_prefix(' ').unwrap_or(reply),
    )
}

#[test]
fn mt_bench_human_votes_import() {
    let src_path = data(
        "mt_bench/human_pairwise_llmbar.jsonl",
        "mt-bench-human.jsonl",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mtb");
    let report = import_into(&src_path, ImportFormat::MtBenchHuman, &dir, false);
    let sources = read_jsonl(&src_path);
    assert_eq!(report.verdicts, sources.len());
    let pref = export_lines(&dir, &opts(ExportFormat::TrlPreference));
    for (p, s) in pref.iter().zip(&sources) {
        let (chosen, rejected) = if s["label"] == 1 {
            ("output_1", "output_2")
        } else {
            ("output_2", "output_1")
        };
        assert_eq!(p["chosen"], s[chosen]);
        assert_eq!(p["rejected"], s[rejected]);
        assert_eq!(p["meta"]["source"]["format"], "mt-bench-human");
    }
}

/// export (with meta) -> import -> export: identical without meta (meta
/// names the new session, its seqs and the import source, so it differs).
fn crit_round_trip(format: ExportFormat, import_as: ImportFormat, conversational: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let mut with_meta = opts(format);
    with_meta.conversational = conversational;
    let first = tmp.path().join("first.jsonl");
    let mut sink = Sink::file(&first).unwrap();
    export(std::slice::from_ref(&dir), &with_meta, &mut sink).unwrap();
    sink.finish().unwrap();
    let again = tmp.path().join("again");
    import_into(&first, import_as, &again, false);
    let mut plain = no_meta(format);
    plain.conversational = conversational;
    let before = export_lines(&dir, &plain);
    let after = export_lines(&again, &plain);
    assert!(!before.is_empty());
    assert_eq!(after, before);
}

#[test]
fn critiques_export_import_export_is_identical() {
    crit_round_trip(ExportFormat::Critiques, ImportFormat::Critiques, false);
}

/// Without meta the prompt identifies the task and every label gets the
/// import's evaluator; the records still come back the same.
#[test]
fn critiques_round_trip_without_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let before = export_lines(&dir, &no_meta(ExportFormat::Critiques));
    let file = tmp.path().join("c.jsonl");
    let text: String = before.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let again = tmp.path().join("again");
    import_into(&file, ImportFormat::Critiques, &again, false);
    assert_eq!(
        export_lines(&again, &no_meta(ExportFormat::Critiques)),
        before
    );
}

#[test]
fn trl_preference_export_import_export_is_identical() {
    crit_round_trip(
        ExportFormat::TrlPreference,
        ImportFormat::TrlPreference,
        false,
    );
    crit_round_trip(
        ExportFormat::TrlPreference,
        ImportFormat::TrlPreference,
        true,
    );
}

#[test]
fn bad_import_lines_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"b\"}\nnot json\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crit"))
        .args(["--sessions-dir"])
        .arg(tmp.path())
        .args(["import"])
        .arg(&file)
        .args(["--format", "trl-preference", "--session", "s"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.jsonl:2: field \"chosen\" must be a string"),
        "{err}"
    );
    assert!(err.contains("bad.jsonl:3: invalid JSON"), "{err}");
    assert!(!tmp.path().join("s").exists(), "nothing written");
}

#[test]
fn cli_export_writes_file_and_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let out = tmp.path().join("kto.jsonl");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_crit"))
        .arg("--sessions-dir")
        .arg(tmp.path())
        .args([
            "export",
            "golden",
            "--format",
            "trl-kto",
            "--resolve",
            "majority",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(read_jsonl(&out).len(), 2);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(Manifest::path_for(&out)).unwrap()).unwrap();
    assert_eq!(m["options"]["resolve"], "majority");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_crit"))
        .arg("--sessions-dir")
        .arg(tmp.path())
        .args([
            "export",
            "golden",
            "--format",
            "trl-kto",
            "--since",
            "yesterday",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn prm800k_openai_layout_round_trip() {
    let src_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prm800k_openai_layout.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prm");
    import_into(&src_path, ImportFormat::Prm800k, &dir, false);
    let sources = read_jsonl(&src_path);
    let exported = export_lines(&dir, &no_meta(ExportFormat::Prm800k));
    assert_eq!(exported.len(), sources.len());
    for (out, src) in exported.iter().zip(&sources) {
        assert_eq!(
            out["labeler"],
            format!("prm800k:{}", src["labeler"].as_str().unwrap())
        );
        let s_steps = src["label"]["steps"].as_array().unwrap();
        let o_steps = out["label"]["steps"].as_array().unwrap();
        for (i, s) in s_steps.iter().enumerate() {
            let ratings = |v: &Value| -> Vec<Value> {
                v["completions"]
                    .as_array()
                    .map(|cs| cs.iter().map(|c| c["rating"].clone()).collect())
                    .unwrap_or_default()
            };
            let o = o_steps.get(i).cloned().unwrap_or(Value::Null);
            if ratings(s).iter().all(Value::is_null) && o.is_null() {
                continue; // nothing rated at this step: not exported
            }
            assert_eq!(ratings(&o), ratings(s), "step {i}");
            assert_eq!(o["chosen_completion"], s["chosen_completion"], "step {i}");
            assert_eq!(
                o["human_completion"]["text"], s["human_completion"]["text"],
                "step {i}"
            );
        }
    }
}

/// Ctrl-C in the middle of a large export: no temp file is left and the
/// target is either absent or complete (when the export won the race).
#[test]
fn interrupted_cli_export_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    crit::labels::synthetic::bench_session(&dir, 300_000).unwrap();
    let out = tmp.path().join("big.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crit"))
        .arg("export")
        .arg(&dir)
        .args(["--format", "critiques", "-o"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp file left behind");
    if out.exists() {
        let m: Value =
            serde_json::from_str(&std::fs::read_to_string(Manifest::path_for(&out)).unwrap())
                .unwrap();
        assert_eq!(
            read_jsonl(&out).len() as u64,
            m["counts"]["records"].as_u64().unwrap()
        );
    } else {
        assert!(killed.success() && !status.success());
    }
}

/// HH-RLHF dialogues become chat turns in the message formats, and the
/// conversational export imports back to the same pairs.
#[test]
fn hh_rlhf_dialogues_become_turns_and_round_trip_conversationally() {
    let src_path = data("hh_rlhf_harmless_base_test/sample.jsonl", "hh-rlhf.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hh");
    import_into(&src_path, ImportFormat::HhRlhf, &dir, true);
    let data = crit::session::Replay::read(&dir).unwrap();
    for t in data.tasks() {
        let msgs = crit::labels::prompt_messages(&t.prompt);
        assert_eq!(msgs[0]["role"], "user");
        let pairs: Vec<(String, String)> = msgs
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().into(),
                    m["content"].as_str().unwrap().into(),
                )
            })
            .collect();
        // One turn comes back as plain text (no "Human: " prefix).
        let back = crit::labels::prompt_from_messages(&pairs);
        if pairs.len() == 1 {
            assert_eq!(format!("Human: {back}"), t.prompt);
        } else {
            assert_eq!(back, t.prompt);
        }
    }
    let mut conv = no_meta(ExportFormat::TrlPreference);
    conv.conversational = true;
    let first = export_lines(&dir, &conv);
    assert!(first
        .iter()
        .any(|r| r["prompt"].as_array().unwrap().len() > 1));
    let file = tmp.path().join("conv.jsonl");
    let text: String = first.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let again = tmp.path().join("again");
    import_into(&file, ImportFormat::TrlPreference, &again, false);
    assert_eq!(export_lines(&again, &conv), first);
}

#[test]
fn import_refuses_a_second_copy_and_foreign_sessions() {
    let src = data(
        "mt_bench/human_pairwise_llmbar.jsonl",
        "mt-bench-human.jsonl",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    import_into(&src, ImportFormat::MtBenchHuman, &dir, false);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let o = ImportOptions::default();
    let again = import(&src, ImportFormat::MtBenchHuman, &dir, o).unwrap_err();
    assert!(again.to_string().contains("already imported"), "{again}");
    let hh = data("hh_rlhf_harmless_base_test/sample.jsonl", "hh-rlhf.jsonl");
    let o = ImportOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let foreign = import(&hh, ImportFormat::HhRlhf, &dir, o).unwrap_err();
    assert!(
        foreign.to_string().contains("is not in session"),
        "{foreign}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("events.jsonl")).unwrap(),
        events
    );
}
