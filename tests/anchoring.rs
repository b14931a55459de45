//! Anchored by construction, on the real default model: every critique on
//! a task from each shared data file quotes one of the answer's segments
//! (pairwise critiques name their side and anchor in that answer), and
//! decompositions are the answer's own segments, in order. Bounded: one
//! task per file, one llama.cpp thread, one model loaded for the file.
//! Anchoring holds for any prompt (the grammar only admits the answer's
//! segments); the prompts used here always ask for flaws.

use crit::assist::engine::Engine;
use crit::assist::prompt::Prompts;
use crit::assist::{model, Assistance, EngineSettings, Event, Kind, Output, Request};
use crit::task::{self, Format, Side, Task};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

fn shared_data() -> PathBuf {
    std::env::var_os("CRIT_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    )
}

/// Every task file in ../shared/data crit reads, with its local sample
/// copy (used in clean clones) and format. PRM800K's stepwise rows and
/// HumanEval are not task formats of crit.
const FILES: [(&str, &str, Format); 6] = [
    (
        "gsm8k_model_solutions/example_model_solutions.jsonl",
        "gsm8k.jsonl",
        Format::Gsm8k,
    ),
    (
        "prm800k_phase1_test/trajectories.jsonl",
        "prm800k.jsonl",
        Format::Prm800k,
    ),
    (
        "halueval_general/sample.jsonl",
        "halueval.jsonl",
        Format::Halueval,
    ),
    (
        "hh_rlhf_harmless_base_test/sample.jsonl",
        "hh-rlhf.jsonl",
        Format::HhRlhf,
    ),
    (
        "mt_bench/questions.jsonl",
        "mt-bench/questions.jsonl",
        Format::MtBench,
    ),
    (
        "mt_bench/human_pairwise_llmbar.jsonl",
        "mt-bench-human.jsonl",
        Format::MtBench,
    ),
];

/// The full copy in ../shared/data when present, else the sample in
/// data/samples.
fn data(shared: &str, local: &str) -> PathBuf {
    let full = shared_data().join(shared);
    if full.exists() {
        return full;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/samples")
        .join(local)
}

struct Harness {
    engine: Engine,
    rx: Mutex<tokio::sync::mpsc::UnboundedReceiver<Event>>,
}

fn shared() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let path = model::resolve(None, None).unwrap_or_else(|e| panic!("{e}"));
        let settings = EngineSettings {
            n_threads: 1,
            max_tokens: 384,
            ..EngineSettings::default()
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // Prompts that always ask for flaws: the lists to check are not
        // empty (the built-in prompt lets a model answer "no flaw").
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prompts_critical");
        let prompts = Prompts::load(Some(&dir)).expect("fixture prompts load");
        let engine = Engine::start(&path, settings, prompts, tx).expect("engine starts");
        Harness {
            engine,
            rx: Mutex::new(rx),
        }
    })
}

fn run(task: &Arc<Task>, kind: Kind, id: u64) -> Arc<Assistance> {
    let h = shared();
    let rx = &mut *h.rx.lock().unwrap();
    crit::assist::Assistant::submit(
        &h.engine,
        Request {
            id,
            task: task.clone(),
            kind,
            seed: 42,
        },
    );
    while let Some(ev) = rx.blocking_recv() {
        match ev {
            Event::Done { id: i, assistance } if i == id => return assistance,
            Event::Failed { id: i, error } if i == id => panic!("{kind} on {}: {error}", task.id),
            _ => {}
        }
    }
    panic!("engine stopped")
}

fn first_task(file: &str, local: &str, format: Format) -> Arc<Task> {
    let loaded = task::load(&data(file, local), Some(format), true)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let t = loaded
        .tasks
        .into_iter()
        .find(|t| !t.answer.trim().is_empty())
        .unwrap_or_else(|| panic!("{file}: no task"));
    Arc::new(t)
}

#[test]
fn every_critique_on_every_shared_file_is_anchored() {
    let mut total = 0;
    for (i, (file, local, format)) in FILES.iter().enumerate() {
        let task = first_task(file, local, *format);
        let a = run(&task, Kind::Critique, 100 + i as u64);
        let Output::Critique { critiques } = &a.output else {
            panic!("critique output expected")
        };
        eprintln!("{file}: {} critiques; raw {}", critiques.len(), a.raw);
        for c in critiques {
            let answer = match c.side {
                Some(Side::B) => task.answer_b.as_deref().unwrap(),
                _ => &task.answer,
            };
            let span = c
                .span
                .unwrap_or_else(|| panic!("{file}: unanchored {:?}", c.quote));
            assert_eq!(answer[span.start..span.end], c.quote, "{file}");
            assert_eq!(c.side.is_some(), task.is_pairwise(), "{file}: side");
            total += 1;
        }
    }
    eprintln!("{total} critiques, all anchored");
    assert!(total > 0, "the fixture prompt yields critiques to check");
}

#[test]
fn decompositions_are_the_answers_segments_in_order() {
    for (i, (file, local, format)) in FILES[..2].iter().enumerate() {
        let task = first_task(file, local, *format);
        let a = run(&task, Kind::Decompose, 200 + i as u64);
        let Output::Decompose { steps } = &a.output else {
            panic!("decompose output expected")
        };
        let segments: Vec<_> = task::segment::segment_task(&task).spans().collect();
        assert_eq!(
            steps.len(),
            segments.len(),
            "{file}: every segment is a step"
        );
        for (s, span) in steps.iter().zip(&segments) {
            assert_eq!(s.span, Some(*span), "{file}");
            assert_eq!(s.text, task.answer[span.start..span.end], "{file}");
        }
        let noted = steps.iter().filter(|s| s.restatement.is_some()).count();
        eprintln!(
            "{file}: {} steps, {noted} annotated; raw {}",
            steps.len(),
            a.raw
        );
        assert!(noted > 0, "{file}: the model annotates steps: {}", a.raw);
    }
}
