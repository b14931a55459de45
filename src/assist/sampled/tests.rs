use super::*;
use crate::assist::scripted::{self, ScriptConfig, Scripted};
use crate::assist::Severity;
use crate::task::Task;
use std::time::Duration;

fn task() -> Arc<Task> {
    Arc::new(
        serde_json::from_value(serde_json::json!({
            "id": "t", "prompt": "What is 2+2?",
            "answer": "First we add two and two. The sum is 5 so the answer is 5."
        }))
        .unwrap(),
    )
}

fn request(id: u64, kind: Kind, seed: u32) -> Request {
    Request {
        id,
        task: task(),
        kind,
        seed,
    }
}

/// The scripted assistant behind the wrapper, with `n` samples.
fn wrapped(n: u32, config: ScriptConfig) -> (Box<dyn Assistant>, EventReceiver) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let scripted = |tx| -> Result<_, std::convert::Infallible> {
        let a: Box<dyn Assistant> = Box::new(Scripted::with_config(tx, config));
        Ok((a, "scripted".to_string()))
    };
    let Ok((a, name)) = start(n, tx, scripted);
    let want = match n {
        1 => "scripted".to_string(),
        n => format!("scripted ×{n}"),
    };
    assert_eq!(name, want);
    (a, rx)
}

/// Events until request `last` ends (requests are served in order, so
/// everything submitted before it has ended too).
fn until_end(rx: &mut EventReceiver, last: u64) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        let ev = rx.blocking_recv().expect("the wrapper stopped");
        let end = ev.id() == last && !matches!(ev, Event::Started { .. } | Event::Token { .. });
        out.push(ev);
        if end {
            return out;
        }
    }
}

fn ends(events: &[Event], id: u64) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.id() == id && !matches!(e, Event::Started { .. } | Event::Token { .. }))
        .collect()
}

fn tokens(events: &[Event], id: u64) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Token { id: i, text } if *i == id => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn done(e: &Event) -> &Assistance {
    match e {
        Event::Done { assistance, .. } => assistance,
        other => panic!("expected Done, got {other:?}"),
    }
}

#[test]
fn three_samples_end_in_one_merged_done_with_their_seeds() {
    let (one, mut rx1) = wrapped(1, ScriptConfig::default());
    one.submit(request(7, Kind::Critique, 100));
    let single = until_end(&mut rx1, 7);
    let (a, mut rx) = wrapped(3, ScriptConfig::default());
    a.submit(request(7, Kind::Critique, 100));
    a.submit(request(8, Kind::Checks, 5));
    let events = until_end(&mut rx, 8);
    assert!(
        events.iter().all(|e| e.id() == 7 || e.id() == 8),
        "private ids stay inside"
    );
    let (c, k) = (ends(&events, 7), ends(&events, 8));
    assert_eq!(
        (c.len(), k.len()),
        (1, 1),
        "one end per request: {events:?}"
    );
    let started = events
        .iter()
        .filter(|e| matches!(e, Event::Started { id: 7, .. }));
    assert_eq!(started.count(), 1, "sample 0's start only");
    assert_eq!(
        tokens(&events, 7),
        tokens(&single, 7),
        "sample 0's tokens only"
    );

    let merged = done(c[0]);
    let plain = done(ends(&single, 7)[0]);
    let p = &merged.provenance;
    assert_eq!(
        (p.seed, p.sample_seeds.as_slice()),
        (100, &[100, 101, 102][..])
    );
    assert_eq!(p.gen_tokens, 3 * plain.provenance.gen_tokens, "summed");
    assert_eq!(p.prompt_tokens, 3 * plain.provenance.prompt_tokens);
    assert_eq!(
        merged.raw,
        [plain.raw.as_str(); 3].join("\n"),
        "every sample's text"
    );
    assert!(plain.provenance.sample_seeds.is_empty());
    let Output::Critique { critiques } = &merged.output else {
        panic!("critique output")
    };
    // The scripted samples agree on both anchored critiques; unanchored
    // ones are never merged.
    let anchored: Vec<_> = critiques.iter().filter(|c| c.span.is_some()).collect();
    assert_eq!(anchored.len(), 2);
    assert!(anchored.iter().all(|c| c.agreement == Some(3)));
    assert!(
        critiques[..2].iter().all(|c| c.span.is_some()),
        "agreed ones first"
    );
    assert_eq!(
        critiques[0].severity,
        Severity::Critical,
        "then by severity"
    );
    assert!(critiques.iter().all(|c| c.agreement.is_some()));

    let checks = done(k[0]);
    assert!(
        checks.provenance.sample_seeds.is_empty(),
        "checks take one sample"
    );
    assert_eq!(checks.provenance.seed, 5);
}

#[test]
fn sample_seeds_are_written_only_when_sampled() {
    let (a, mut rx) = wrapped(2, ScriptConfig::default());
    a.submit(request(1, Kind::Critique, 9));
    a.submit(request(2, Kind::Decompose, 9));
    let events = until_end(&mut rx, 2);
    let sampled = serde_json::to_value(&done(ends(&events, 1)[0]).provenance).unwrap();
    assert_eq!(sampled["sample_seeds"], serde_json::json!([9, 10]));
    let single = serde_json::to_value(&done(ends(&events, 2)[0]).provenance).unwrap();
    assert!(
        single.get("sample_seeds").is_none(),
        "one-sample lines unchanged"
    );
}

#[test]
fn a_failing_sample_fails_the_request_once() {
    let config = ScriptConfig {
        fail: vec![Kind::Critique],
        ..ScriptConfig::default()
    };
    let (a, mut rx) = wrapped(3, config);
    a.submit(request(1, Kind::Critique, 40));
    a.submit(request(2, Kind::Checks, 41));
    let events = until_end(&mut rx, 2);
    let c = ends(&events, 1);
    assert_eq!(c.len(), 1, "{events:?}");
    let Event::Failed { error, .. } = c[0] else {
        panic!("expected Failed, got {:?}", c[0])
    };
    assert!(error.contains("sample 1 of 3 (seed 40)"), "{error}");
    assert!(matches!(ends(&events, 2)[0], Event::Done { .. }));
}

#[test]
fn cancel_cancels_every_sample_and_ends_once() {
    let config = ScriptConfig {
        token_delay: Duration::from_millis(2),
        token_chars: 1,
        ..ScriptConfig::default()
    };
    let (a, mut rx) = wrapped(3, config);
    a.submit(request(1, Kind::Critique, 1));
    let first = rx.blocking_recv().unwrap();
    assert!(matches!(first, Event::Started { id: 1, .. }));
    a.cancel(1);
    a.submit(request(2, Kind::Checks, 2));
    let events = until_end(&mut rx, 2);
    let c = ends(&events, 1);
    assert_eq!(c.len(), 1, "{events:?}");
    assert!(matches!(c[0], Event::Cancelled { id: 1 }));
    // Samples 1 and 2 were cancelled before they ran: the checks request
    // came right after, and nothing of the critique followed its end.
    let after = events
        .iter()
        .position(|e| matches!(e, Event::Cancelled { .. }));
    assert!(events[after.unwrap() + 1..].iter().all(|e| e.id() == 2));
}

#[test]
fn one_sample_is_the_assistant_itself() {
    let (a, mut rx) = wrapped(1, ScriptConfig::default());
    assert_eq!(a.name(), "scripted");
    a.submit(request(3, Kind::Critique, 3));
    let events = until_end(&mut rx, 3);
    let d = done(ends(&events, 3)[0]);
    assert!(d.provenance.sample_seeds.is_empty());
    let Output::Critique { critiques } = &d.output else {
        panic!()
    };
    assert!(critiques.iter().all(|c| c.agreement.is_none()));
}

#[test]
fn merge_ranks_by_agreement_and_sums_the_cost() {
    let t = task();
    let answer = t.answer.as_str();
    let mk = |cs: Vec<crate::assist::Critique>, tokens: u32| {
        let req = request(1, Kind::Critique, 0);
        Arc::new(Assistance {
            output: Output::Critique { critiques: cs },
            raw: format!("raw{tokens}"),
            provenance: scripted::provenance(&req, tokens),
            truncated: None,
        })
    };
    let sum = |sev| scripted::critique(answer, "The sum is 5", "wrong", sev, "math");
    let first = |sev| scripted::critique(answer, "First we add", "vague", sev, "style");
    let done = [
        mk(vec![first(Severity::Critical)], 10),
        mk(vec![sum(Severity::Minor), first(Severity::Minor)], 20),
        mk(vec![sum(Severity::Major)], 30),
    ];
    let m = merge(&[5, 6, 7], &done);
    let Output::Critique { critiques } = &m.output else {
        panic!()
    };
    let got: Vec<_> = critiques
        .iter()
        .map(|c| (c.quote.as_str(), c.agreement, c.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("First we add", Some(2), Severity::Critical),
            ("The sum is 5", Some(2), Severity::Major),
        ]
    );
    assert_eq!(
        (m.provenance.gen_tokens, m.raw.as_str()),
        (60, "raw10\nraw20\nraw30")
    );
    assert_eq!(m.provenance.sample_seeds, [5, 6, 7]);
}

#[test]
fn samples_come_from_the_flag_then_the_config() {
    let config: Config = toml::from_str("samples = 4\n").unwrap();
    let flag = SampleArgs { samples: Some(2) };
    assert_eq!(flag.resolve(&config).unwrap(), 2);
    if std::env::var_os("CRIT_SAMPLES").is_none() {
        assert_eq!(SampleArgs::default().resolve(&config).unwrap(), 4);
        assert_eq!(
            SampleArgs::default().resolve(&Config::default()).unwrap(),
            1
        );
    }
    for bad in [0, MAX_SAMPLES + 1] {
        let err = SampleArgs { samples: Some(bad) }
            .resolve(&config)
            .unwrap_err();
        assert!(matches!(err, StartError::BadOption(_)), "{err}");
    }
}
