//! The llama.cpp engine on the real default model. The model is loaded once
//! and shared; sampling uses a fixed seed; assertions are about structure,
//! never prose. These tests never skip: a missing model fails with the
//! message from `model::resolve` (run `crit model fetch` / `make model`).

use crit::assist::engine::{Engine, Tuning};
use crit::assist::prompt::Prompts;
use crit::assist::{model, Assistant, EngineSettings, Event, Kind, Output, Request};
use crit::task::Task;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

type Routes = Arc<Mutex<HashMap<u64, mpsc::Sender<Event>>>>;

/// An engine plus a router that hands each request's events to its test.
struct Harness {
    engine: Engine,
    routes: Routes,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn model_path() -> PathBuf {
    model::resolve(None, None).unwrap_or_else(|e| panic!("{e}"))
}

/// One llama.cpp thread: tests share the machine with other model
/// processes, and spinning threads on a busy machine are many times slower.
fn settings(n_ctx: u32) -> EngineSettings {
    EngineSettings {
        n_ctx,
        max_tokens: 512,
        n_threads: 1,
        ..EngineSettings::default()
    }
}

fn start(settings: EngineSettings) -> Harness {
    start_tuned(settings, Tuning::default())
}

fn start_tuned(settings: EngineSettings, tuning: Tuning) -> Harness {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start_tuned(&model_path(), settings, Prompts::builtin(), tx, tuning)
        .expect("engine starts");
    let routes: Routes = Arc::default();
    let r = routes.clone();
    std::thread::spawn(move || {
        while let Some(ev) = rx.blocking_recv() {
            if let Some(tx) = r.lock().unwrap().get(&ev.id()) {
                let _ = tx.send(ev);
            }
        }
    });
    Harness { engine, routes }
}

fn shared() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| start(settings(2048)))
}

impl Harness {
    fn submit(&self, task: &Arc<Task>, kind: Kind) -> (u64, mpsc::Receiver<Event>) {
        self.submit_seeded(task, kind, 42)
    }

    fn submit_seeded(
        &self,
        task: &Arc<Task>,
        kind: Kind,
        seed: u32,
    ) -> (u64, mpsc::Receiver<Event>) {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        self.routes.lock().unwrap().insert(id, tx);
        self.engine.submit(Request {
            id,
            task: task.clone(),
            kind,
            seed,
        });
        (id, rx)
    }

    /// All events of one request, up to and including the terminal one.
    fn run(&self, task: &Arc<Task>, kind: Kind) -> Vec<Event> {
        let (_, rx) = self.submit(task, kind);
        collect(&rx)
    }
}

fn collect(rx: &mpsc::Receiver<Event>) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let ev = rx
            .recv_timeout(Duration::from_secs(300))
            .expect("engine answers within 5 minutes");
        let last = matches!(
            ev,
            Event::Done { .. } | Event::Failed { .. } | Event::Cancelled { .. }
        );
        events.push(ev);
        if last {
            return events;
        }
    }
}

fn gsm8k_tasks() -> Vec<Arc<Task>> {
    let text = include_str!("../data/bench_tasks.jsonl");
    text.lines()
        .map(|l| Arc::new(serde_json::from_str::<Task>(l).expect("bench task parses")))
        .collect()
}

fn done(events: &[Event]) -> &crit::assist::Assistance {
    match events.last() {
        Some(Event::Done { assistance, .. }) => assistance,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn check_provenance(a: &crit::assist::Assistance, kind: Kind) {
    let p = &a.provenance;
    let m = p
        .model
        .as_ref()
        .expect("local assistance names its model file");
    assert_eq!(m.sha256.len(), 64);
    assert_eq!(m.file_name, model::DEFAULT_FILE);
    assert!(m.size > 0);
    assert_eq!(p.template_name, kind.name());
    assert_eq!(p.template_sha256.len(), 64);
    assert_eq!(p.prompt_sha256.len(), 64);
    assert!(p.prompt_tokens > 0 && p.gen_tokens > 0);
    assert!(p.n_threads > 0 && p.n_ctx > 0 && p.max_tokens > 0);
    assert_eq!(p.seed, 42);
    assert_eq!(p.crit_version, crit::VERSION);
    assert!(p.sampler.as_ref().is_some_and(|s| s.grammar));
}

#[test]
fn every_kind_parses_into_its_type_with_complete_provenance() {
    let h = shared();
    let task = gsm8k_tasks()[0].clone();
    for kind in Kind::ALL {
        let events = h.run(&task, kind);
        assert!(
            matches!(
                events[0],
                Event::Started {
                    truncated: None,
                    ..
                }
            ),
            "{:?}",
            events[0]
        );
        let a = done(&events);
        assert_eq!(a.output.kind(), kind);
        // "No flaw" is an answer: only critiques may be an empty list.
        assert!(
            kind == Kind::Critique || !a.output.is_empty(),
            "{kind:?}: {}",
            a.raw
        );
        check_provenance(a, kind);
        // The streamed tokens are exactly the raw text.
        let streamed: String = events
            .iter()
            .filter_map(|e| match e {
                Event::Token { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(streamed, a.raw);
        // The raw text re-parses to the same output.
        let reparsed = crit::assist::schema::parse(kind, &a.raw, &task).unwrap();
        assert_eq!(reparsed, a.output);
    }
}

#[test]
fn quotes_are_anchored_exactly_or_marked_unanchored() {
    let h = shared();
    for task in gsm8k_tasks() {
        let events = h.run(&task, Kind::Critique);
        let a = done(&events);
        let Output::Critique { critiques } = &a.output else {
            panic!("critique output expected")
        };
        for c in critiques {
            if let Some(span) = c.span {
                let region = &task.answer[span.start..span.end];
                assert_eq!(
                    crit::assist::anchor::find(region, &c.quote),
                    Some(crit::task::Span {
                        start: 0,
                        end: region.len()
                    }),
                    "span covers the quote {:?}, got {region:?}",
                    c.quote
                );
            } else {
                assert!(crit::assist::anchor::find(&task.answer, &c.quote).is_none());
            }
        }
    }
}

#[test]
fn fifty_megabyte_answer_is_truncated_visibly() {
    // Cutting costs about one tokenization of the part kept; `crit bench`
    // reports how long it takes. (It used to take minutes.)
    let h = start(settings(1536));
    let mut task = (*gsm8k_tasks()[0]).clone();
    let line = "She has 16 - 3 = 13 eggs left and sells them for 2 dollars each. ";
    task.answer = line.repeat(50_000_000 / line.len() + 1);
    let total = task.answer.len();
    assert!(total >= 50_000_000);
    let task = Arc::new(task);
    let events = h.run(&task, Kind::Checks);
    let Event::Started {
        truncated: Some(t),
        prompt_tokens,
        ..
    } = &events[0]
    else {
        panic!("expected a truncated start, got {:?}", events[0]);
    };
    assert_eq!(t.total_bytes, total);
    assert!(t.kept_bytes > 500 && t.kept_bytes < 10_000, "{t:?}");
    assert!(*prompt_tokens as usize <= 1536 - 512);
    // Most of the room is used: the cut is not needlessly short.
    assert!(
        *prompt_tokens as usize >= 1536 - 512 - 64,
        "{prompt_tokens}"
    );
    match events.last().unwrap() {
        Event::Done { assistance, .. } => assert_eq!(assistance.truncated.as_ref(), Some(t)),
        Event::Failed { error, .. } => assert!(error.contains("max_tokens"), "{error}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cached_prompt_prefix_gives_the_same_tokens_as_whole_prompts() {
    let cached = start_tuned(settings(2048), Tuning { prefix_cache: true });
    let whole = start_tuned(
        settings(2048),
        Tuning {
            prefix_cache: false,
        },
    );
    for task in &gsm8k_tasks()[..2] {
        let a = done(&cached.run(task, Kind::Critique)).clone();
        let b = done(&whole.run(task, Kind::Critique)).clone();
        assert_eq!(a.raw, b.raw, "{}", task.id);
        assert_eq!(a.output, b.output);
        let (pa, pb) = (&a.provenance, &b.provenance);
        assert_eq!(
            (&pa.prompt_sha256, pa.prompt_tokens, pa.gen_tokens),
            (&pb.prompt_sha256, pb.prompt_tokens, pb.gen_tokens)
        );
    }
    // The second critique restored the system message and worked example
    // instead of decoding them; the other engine decoded everything.
    let (c, w) = (cached.engine.stats(), whole.engine.stats());
    assert_eq!((c.requests, w.requests), (2, 2));
    assert_eq!(c.prompt_tokens, w.prompt_tokens);
    assert_eq!(w.reused_tokens, 0);
    assert!(c.reused_tokens > 200, "{c:?}");
}

/// Another sample of the same prompt (new seed) keeps the previous
/// request's prompt cells and decodes only the last `MIN_SEGMENT` tokens,
/// and still samples exactly what a whole decode gives. Hot sampling over a
/// long output, so a changed logit would show.
#[test]
fn same_prompt_again_reuses_its_cells_and_gives_the_same_tokens() {
    let mut hot = settings(2048);
    hot.sampler.temperature = 1.0;
    hot.max_tokens = 160;
    let cached = start_tuned(hot.clone(), Tuning { prefix_cache: true });
    let whole = start_tuned(
        hot,
        Tuning {
            prefix_cache: false,
        },
    );
    let task = &gsm8k_tasks()[0];
    let run = |h: &Harness, seed| collect(&h.submit_seeded(task, Kind::Checks, seed).1);
    let first = run(&cached, 7);
    let before = cached.engine.stats();
    let again = run(&cached, 8);
    let fresh = run(&whole, 8);
    let (a, b) = (last(&again), last(&fresh));
    assert_eq!(
        a, b,
        "another sample on the kept cells differs from a whole decode"
    );
    assert_ne!(last(&first), a, "seeds 7 and 8 sampled the same text");
    let after = cached.engine.stats();
    let prompt = after.prompt_tokens - before.prompt_tokens;
    assert_eq!(after.reused_tokens - before.reused_tokens, prompt - 64);
}

/// The raw text of a finished request, or the failure (max_tokens keeps the
/// raw output in its message): both show what was sampled.
fn last(events: &[Event]) -> String {
    match events.last() {
        Some(Event::Done { assistance, .. }) => assistance.raw.clone(),
        Some(Event::Failed { error, .. }) => error.clone(),
        other => panic!("no result: {other:?}"),
    }
}

#[test]
fn cancel_mid_generation_then_serve_the_next_request() {
    let h = shared();
    let task = gsm8k_tasks()[1].clone();
    let (id, rx) = h.submit(&task, Kind::Decompose);
    // Wait for generation to be under way, then cancel.
    loop {
        match rx.recv_timeout(Duration::from_secs(300)).expect("events") {
            Event::Token { .. } => break,
            Event::Started { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    h.engine.cancel(id);
    let rest = collect(&rx);
    assert!(
        matches!(rest.last(), Some(Event::Cancelled { id: i }) if *i == id),
        "{rest:?}"
    );

    // A queued request cancelled before it starts never starts.
    let (_, rx_a) = h.submit(&task, Kind::Checks);
    let (id_b, rx_b) = h.submit(&task, Kind::Checks);
    h.engine.cancel(id_b);
    let b = collect(&rx_b);
    assert!(matches!(b.as_slice(), [Event::Cancelled { .. }]), "{b:?}");
    let a = collect(&rx_a);
    assert_eq!(done(&a).output.kind(), Kind::Checks);
}

#[test]
fn bad_model_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-model.gguf");
    std::fs::write(&path, b"this is not a gguf file").unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let err = Engine::start(&path, EngineSettings::default(), Prompts::builtin(), tx)
        .err()
        .expect("loading garbage fails")
        .to_string();
    assert!(err.contains("not-a-model.gguf"), "{err}");
}

#[test]
fn pairwise_task_renders_both_answers_and_anchors_in_answer_a() {
    let h = shared();
    let mut task = (*gsm8k_tasks()[0]).clone();
    task.answer_b = Some("Janet sells 16 - 3 - 4 = 9 eggs a day and makes 9 * 2 = $18.".into());
    let task = Arc::new(task);
    let events = h.run(&task, Kind::Critique);
    let a = done(&events);
    eprintln!("pairwise critique raw: {}", a.raw);
    let Output::Critique { critiques } = &a.output else {
        panic!("critique output expected")
    };
    for c in critiques {
        let side = c.side.expect("pairwise critiques name their side");
        let answer = match side {
            crit::task::Side::A => &task.answer,
            crit::task::Side::B => task.answer_b.as_ref().unwrap(),
        };
        let span = c.span.expect("anchored by construction");
        assert_eq!(answer[span.start..span.end], c.quote);
    }
}
