//! `crit plant`: planted flaws in known-good tasks, on the shared GSM8K
//! sample and through the binary.

use crit::assist::tools::final_answer;
use crit::audit::plant::{self, PlantKind, META_FROM};
use crit::task::{self, native, Format, Task};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// ../shared/data of the workspace; `CRIT_SHARED_DATA` overrides it.
fn shared_data() -> PathBuf {
    std::env::var_os("CRIT_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    )
}

/// The full GSM8K sample when present (the stronger test), else the small
/// one shipped in data/samples.
fn gsm8k_path() -> PathBuf {
    let full = shared_data().join("gsm8k_model_solutions/example_model_solutions.jsonl");
    if full.exists() {
        return full;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples/gsm8k.jsonl")
}

fn gsm8k() -> Vec<Task> {
    task::load(&gsm8k_path(), Some(Format::Gsm8k), false)
        .unwrap()
        .tasks
}

fn lines(tasks: &[Task]) -> Vec<String> {
    tasks.iter().map(native::to_native_line).collect()
}

fn final_value(answer: &str) -> Option<final_answer::Value> {
    final_answer::extract(answer).and_then(|f| f.value)
}

#[test]
fn deterministic_per_seed_and_per_task() {
    let mut tasks = gsm8k();
    tasks.truncate(400); // determinism needs no more (and keeps the test fast)
    let a = plant::plant_all(&tasks, 11);
    let b = plant::plant_all(&tasks, 11);
    assert_eq!(lines(&a.planted), lines(&b.planted));
    let c = plant::plant_all(&tasks, 12);
    assert_ne!(lines(&a.planted), lines(&c.planted));
    // A task plants the same way alone as among the others.
    let alone = plant::plant(
        &tasks[1..]
            .iter()
            .find(|t| plant::known_good(t))
            .unwrap()
            .clone(),
        11,
    );
    let among = a.planted.iter().find(|p| {
        Some(p.meta[META_FROM].as_str().unwrap())
            == alone.as_ref().map(|t| t.meta[META_FROM].as_str().unwrap())
    });
    assert_eq!(alone.as_ref(), among);
}

#[test]
fn gsm8k_planted_tasks_differ_at_their_span_and_change_the_final_answer() {
    let tasks = gsm8k();
    let by_id: HashMap<&str, &Task> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let report = plant::plant_all(&tasks, 7);
    let mut kinds: HashMap<PlantKind, usize> = HashMap::new();
    let (mut numeric, mut changed) = (0, 0);
    for p in &report.planted {
        let source = by_id[p.meta[META_FROM].as_str().unwrap()];
        let planting = plant::planting(p).expect("meta.planted");
        *kinds.entry(planting.kind).or_default() += 1;
        assert_eq!(
            &p.answer[planting.span.start..planting.span.end],
            planting.replacement
        );
        assert_ne!(planting.original, planting.replacement, "{}", source.id);
        assert!(source.answer.contains(&planting.original), "{}", source.id);
        assert_ne!(p.answer, source.answer);
        assert_ne!(p.id, source.id);
        assert!(
            !p.id.contains(&source.id),
            "the id must not reveal the source"
        );
        assert_eq!(p.prompt, source.prompt);
        assert_eq!(p.meta["gsm8k"]["is_correct"], false);
        assert!(!planting.description.is_empty());
        if let Some(before) = final_value(&source.answer) {
            numeric += 1;
            let after = final_value(&p.answer);
            changed += usize::from(after.is_none_or(|a| !final_answer::same_value(&a, &before)));
        }
        assert!(
            !plant::known_good(p),
            "{}: the planted answer still matches",
            p.id
        );
    }
    let rate = changed as f64 / numeric as f64;
    eprintln!(
        "plant on gsm8k: {} known good, {} planted, {} unplantable; final answer changed in \
         {changed}/{numeric} ({:.1}%); kinds {kinds:?}",
        report.known_good,
        report.planted.len(),
        report.unplantable.len(),
        rate * 100.0
    );
    assert!(report.planted.len() * 10 >= report.known_good * 9);
    assert!(
        rate >= 0.9,
        "final answer changed in only {:.1}%",
        rate * 100.0
    );
    assert!(kinds.len() >= 3, "kinds used: {kinds:?}");
}

#[test]
fn only_known_good_tasks_are_planted() {
    let mk = |id: &str, answer: &str, reference: Option<&str>| Task {
        id: id.into(),
        prompt: "What is 12 * 13?".into(),
        answer: answer.into(),
        answer_b: None,
        reference: reference.map(str::to_string),
        steps: None,
        meta: Default::default(),
    };
    let tasks = [
        mk("good", "12 * 13 = 156. So the answer is 156.", Some("156")),
        mk("wrong", "12 * 13 = 166. So the answer is 166.", Some("156")),
        mk("no-ref", "12 * 13 = 156.", None),
    ];
    let report = plant::plant_all(&tasks, 1);
    assert_eq!(report.known_good, 1);
    assert_eq!(report.planted.len(), 1);
    let p = &report.planted[0];
    assert_eq!(p.meta[META_FROM], "good");
    let v = final_value(&p.answer).unwrap();
    assert!(!final_answer::same_value(&v, &final_value("156").unwrap()));
}

#[test]
fn step_boundaries_move_with_the_edit() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prm800k_openai_layout.jsonl");
    let tasks = task::load(&path, None, false).unwrap().tasks;
    let report = plant::plant_all(&tasks, 5);
    assert_eq!(report.planted.len(), 1);
    let p = &report.planted[0];
    let steps = p.steps.as_ref().unwrap();
    native::check_spans(&p.answer, steps).unwrap();
    assert_eq!(steps.len(), tasks[0].steps.as_ref().unwrap().len());
    // The step ratings described the source's answer: not carried over.
    assert!(p.meta.get("prm800k").is_none());
}

// ---- the binary ----

fn crit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crit"))
}

#[test]
fn cli_writes_native_jsonl_the_same_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, out: &Path| {
        let o = crit()
            .args(["plant"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples/gsm8k.jsonl"))
            .args(["--seed", seed, "-o"])
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let said = run("9", &a);
    run("9", &b);
    assert!(said.contains("planted"), "{said}");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let loaded = task::load(&a, None, false).unwrap();
    assert_eq!(loaded.format, Some(Format::Native));
    assert!(!loaded.tasks.is_empty());
    assert!(loaded.tasks.iter().all(|t| plant::planting(t).is_some()));
}

#[test]
fn cli_bad_input_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\":\"a\",\"prompt\":\"p\",\"answer\":\"1\",\"reference\":\"1\"}\n{oops\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let o = crit()
        .arg("plant")
        .arg(&bad)
        .args(["--seed", "1", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:2:", bad.display())), "{err}");
    assert!(!out.exists(), "nothing written on bad input");

    let none = dir.path().join("none.jsonl");
    std::fs::write(
        &none,
        "{\"id\":\"a\",\"prompt\":\"p\",\"answer\":\"2+2=5\"}\n",
    )
    .unwrap();
    let o = crit()
        .arg("plant")
        .arg(&none)
        .args(["--seed", "1", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("known good"), "{err}");
    assert!(!out.exists());
}
