//! `--samples N` with the real default model: one critique event per
//! task holding the merged samples, their seeds, an agreement on every
//! critique; a re-run resumes, and `replay --regenerate` reproduces it.

mod common;

use crit::assist::{Kind, Output};
use crit::session::{Body, Replay};
use std::path::Path;
use std::process::{Command, Output as Run};

fn crit(sessions: &Path, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_crit"))
        .args(args)
        .env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_MODEL")
        .env_remove("CRIT_BACKEND")
        .env_remove("CRIT_PROMPTS")
        .env_remove("CRIT_SAMPLES")
        .output()
        .unwrap()
}

fn stderr(out: &Run) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn critique_events(dir: &Path) -> usize {
    let r = Replay::read(dir).unwrap();
    r.events()
        .iter()
        .filter(|e| {
            matches!(&e.body, Body::Assistance { assistance, .. }
                if assistance.output.kind() == Kind::Critique)
        })
        .count()
}

/// A critique template of the test's own: the shipped prompts make the
/// default model answer "no flaw" ({"critiques":[]}) on every short task
/// tried, which would leave nothing to merge. Checks and decomposition
/// templates are the shipped ones.
const EAGER_CRITIQUE: &str = r#"{{! A test template: every answer has a mistake, and the worked example finds one. }}
=== system ===
You are a strict reviewer. Every answer you are shown has a mistake: find it. You reply with JSON only.
=== example user ===
Question:
<<<DATA
A shop sells pencils at 3 for $1. How much do 12 pencils cost?
DATA>>>
Answer to review:
<<<DATA
12 pencils is 12 / 3 = 4 groups.
So 12 pencils cost 4 x $1 = $5.
DATA>>>
Give each mistake as "quote" (the line with the mistake, copied exactly), "comment", "severity" and "category".
=== example assistant ===
{"critiques":[{"quote":"So 12 pencils cost 4 x $1 = $5.","comment":"4 x $1 is $4, not $5.","severity":"major","category":"arithmetic"}]}
=== user ===
Question:
<<<DATA
{{prompt}}
DATA>>>
Answer to review:
<<<DATA
{{answer}}
DATA>>>
{{#facts}}
Facts computed by crit (exact, trust them):
<<<DATA
{{facts}}
DATA>>>
{{/facts}}
Give each mistake as "quote" (the line with the mistake, copied exactly), "comment", "severity" and "category".
"#;

fn eager_prompts(dir: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let out = dir.join("prompts");
    std::fs::create_dir_all(&out).unwrap();
    for f in ["checks.txt", "decompose.txt"] {
        std::fs::copy(src.join(f), out.join(f)).unwrap();
    }
    std::fs::write(out.join("critique.txt"), EAGER_CRITIQUE).unwrap();
    out
}

#[test]
fn three_samples_record_one_merged_critique_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = dir.path().join("t.jsonl");
    std::fs::write(
        &tasks,
        "{\"id\":\"a\",\"prompt\":\"What is the capital of France?\",\"answer\":\"The capital of France is Berlin.\"}\n",
    )
    .unwrap();
    let prompts = eager_prompts(dir.path());
    let args = [
        "generate",
        tasks.to_str().unwrap(),
        "--session",
        "s",
        "--kinds",
        "critique",
        "--samples",
        "3",
        "--threads",
        "1",
        "--max-tokens",
        "160",
        "--prompts",
        prompts.to_str().unwrap(),
        // Hot sampling: the samples differ, and one of them finds the flaw.
        "--temperature",
        "1.5",
        "--min-p",
        "0",
        "--top-p",
        "1",
    ];
    let out = crit(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let session = dir.path().join("s");
    assert_eq!(critique_events(&session), 1, "one event for three samples");

    let replay = Replay::read(&session).unwrap();
    let record = replay.state(0).current(Kind::Critique).expect("a critique");
    let p = &record.assistance.provenance;
    assert_eq!(p.sample_seeds, [p.seed, p.seed + 1, p.seed + 2], "seeds");
    assert!(p.gen_tokens > 0);
    let Output::Critique { critiques } = &record.assistance.output else {
        panic!("critique output")
    };
    assert!(!critiques.is_empty(), "{:?}", record.assistance.raw);
    for c in critiques {
        let n = c
            .agreement
            .expect("every merged critique has its agreement");
        assert!((1..=3).contains(&n), "{n}");
        assert!(c.span.is_some(), "anchored by construction");
    }
    let log = std::fs::read_to_string(session.join("events.jsonl")).unwrap();
    let want = format!(
        "\"sample_seeds\":[{},{},{}]",
        p.seed,
        p.seed + 1,
        p.seed + 2
    );
    assert!(log.contains(&want), "{log}");

    let out = crit(dir.path(), &["show", "s"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(" of 3 samples)"), "{shown}");

    // Resumed: the critique is there, nothing is generated again.
    let out = crit(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 to generate"), "{}", stderr(&out));
    assert_eq!(critique_events(&session), 1);
    assert_eq!(
        std::fs::read_to_string(session.join("events.jsonl")).unwrap(),
        log,
        "the log is untouched"
    );

    // Re-run with the recorded seeds, merged again: the same result.
    let p = prompts.to_str().unwrap();
    let out = crit(dir.path(), &["replay", "s", "--regenerate", "--prompts", p]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{text}", stderr(&out));
    assert!(text.contains("critique: identical"), "{text}");
    assert!(text.contains("reproduced 1 of 1"), "{text}");
}

/// The review lists a sampled critique with its agreement (no model: the
/// session already holds a merged critique when the review opens it).
#[test]
fn review_shows_how_many_samples_agree() {
    use crit::assist::{sampled, scripted, Assistance, Request, Severity};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let tasks = common::tasks();
    let mut session = crit::session::Session::create_or_open(
        &dir,
        &tasks,
        "tasks.jsonl",
        crit::session::event::SourceFormat::Native,
    )
    .unwrap();
    let task = std::sync::Arc::new(tasks[0].clone());
    let answer = task.answer.as_str();
    let req = Request {
        id: 1,
        task: task.clone(),
        kind: Kind::Critique,
        seed: 42,
    };
    let sample = |quotes: &[&str]| {
        let critiques = quotes
            .iter()
            .map(|q| scripted::critique(answer, q, "wrong", Severity::Major, "math"))
            .collect();
        std::sync::Arc::new(Assistance {
            output: Output::Critique { critiques },
            raw: String::new(),
            provenance: scripted::provenance(&req, 5),
            truncated: None,
        })
    };
    let agreed = "That is 120 + 36.";
    let alone = "So the answer is 156.";
    let merged = sampled::merge(
        &[42, 43, 44],
        &[
            sample(&[agreed]),
            sample(&[agreed, alone]),
            sample(&[agreed]),
        ],
    );
    session
        .append_durable(Body::Assistance {
            task: task.id.clone(),
            assistance: std::sync::Arc::new(merged),
        })
        .unwrap();
    drop(session);
    let mut sim = common::Sim::in_dir(&dir, common::opts());
    sim.send(crit::tui::Msg::Start);
    sim.send(crit::tui::Msg::Resize(120, 40));
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    term.draw(|f| f.render_widget(&sim.app, f.area())).unwrap();
    let screen = term.backend().to_string();
    assert_eq!(screen.matches("3 samples agree").count(), 1, "{screen}");
    assert!(!screen.contains("1 samples agree"), "{screen}");
    let first = screen.find("“That is 120 + 36.”").expect("listed");
    let second = screen.find("“So the answer is 156.”").expect("listed");
    assert!(first < second, "the agreed critique ranks first: {screen}");
}
