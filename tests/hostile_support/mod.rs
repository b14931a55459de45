//! The hostile corpus and the checks of what reaches the terminal, for
//! tests/hostile.rs.

#[cfg(target_os = "linux")]
pub mod pty;

use crit::assist::{
    anchor, Check, CheckVerdict, Critique, Kind, ModelInfo, Output, Provenance, SamplerSettings,
    Severity, Step, StepKind,
};
use crit::sanitize::is_unsafe;
use crit::task::Task;
use crit::tui::view::SCRUBBED;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::sync::{Arc, Mutex};

/// The corpus: (name, text).
pub fn corpus() -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/hostile/corpus.json")).unwrap();
    let entries = v.as_array().unwrap();
    assert!(entries.len() >= 20);
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("name"), s("text"))
        })
        .collect()
}

/// A long text for `field`: every corpus entry, a 6000-column word and a
/// long wrapped line. Without NUL: task files and the session log refuse
/// it (a clear error, tested elsewhere), so it reaches the screen only
/// from what is never stored ([`with_nul`]).
pub fn evil(field: &str) -> String {
    with_nul(field).replace('\0', "")
}

/// [`evil`] with its NUL characters: the model's stream, guidelines and
/// the reason there is no assistant.
pub fn with_nul(field: &str) -> String {
    let mut s = format!("{field}:");
    for (name, text) in corpus() {
        s += &format!(" [{name}] {text}");
    }
    s + " " + &"long".repeat(1500) + " " + &"word ".repeat(300)
}

/// A one-line hostile name (ids, names, categories, key-free fields).
pub fn short(field: &str) -> String {
    format!("{field}\u{1b}]0;PWNED\u{7}\u{202e}dir\u{200b}\u{9b}2J\r\u{e0041}\u{1b}[2J漢\u{301}")
}

pub fn task(v: serde_json::Value) -> Task {
    serde_json::from_value(v).unwrap()
}

pub fn hostile_tasks() -> Vec<Task> {
    vec![
        task(serde_json::json!({
            "id": short("t0"), "prompt": evil("prompt"), "answer": evil("answer"),
            "reference": evil("reference"),
        })),
        task(serde_json::json!({
            "id": short("t1"), "prompt": evil("pairwise prompt"),
            "answer": evil("answer A"), "answer_b": evil("answer B"),
        })),
    ]
}

/// The quote critiques and your own critique point at (it is in every answer).
pub fn quote() -> String {
    corpus()
        .into_iter()
        .find(|(n, _)| n == "zero_width")
        .unwrap()
        .1
}

pub fn provenance() -> Provenance {
    Provenance {
        model: Some(ModelInfo {
            file_name: short("model.gguf"),
            size: 1,
            sha256: "m".repeat(64),
        }),
        served: None,
        tool: None,
        template_name: "critique".into(),
        template_sha256: "t".repeat(64),
        prompt_sha256: "p".repeat(64),
        sampler: Some(SamplerSettings::default()),
        seed: 7,
        sample_seeds: Vec::new(),
        n_ctx: 4096,
        n_threads: 1,
        max_tokens: 512,
        crit_version: crit::VERSION.into(),
        prompt_tokens: 10,
        gen_tokens: 20,
        prompt_ms: 1,
        gen_ms: 2,
    }
}

pub fn output(task: &Task, kind: Kind) -> Output {
    match kind {
        Kind::Critique => Output::Critique {
            critiques: vec![
                Critique {
                    quote: quote(),
                    comment: evil("comment"),
                    severity: Severity::Major,
                    category: short("category"),
                    span: anchor::find(&task.answer, &quote()),
                    side: None,
                    agreement: None,
                },
                Critique {
                    quote: short("unanchored"),
                    comment: short("comment"),
                    severity: Severity::Minor,
                    category: short("category"),
                    span: None,
                    side: None,
                    agreement: None,
                },
            ],
        },
        Kind::Checks | Kind::ToolChecks => Output::Checks {
            checks: vec![Check {
                question: evil("question"),
                method: short("method"),
                assistant_verdict: CheckVerdict::Fail,
                evidence: evil("evidence"),
                span: None,
            }],
        },
        Kind::Decompose => Output::Decompose {
            steps: vec![Step {
                id: short("s1"),
                text: evil("step"),
                parent: Some(short("parent")),
                kind: StepKind::Step,
                span: None,
                restatement: Some(evil("restatement")),
                verify: Some(evil("verify")),
            }],
        },
    }
}

/// Problems in a frame drawn on the TestBackend.
pub fn cell_problems(term: &Terminal<TestBackend>) -> Vec<String> {
    let buf = term.backend().buffer();
    let mut out = Vec::new();
    for (i, cell) in buf.content.iter().enumerate() {
        let s = cell.symbol();
        let (x, y) = (i % buf.area.width as usize, i / buf.area.width as usize);
        if s.chars().any(|c| c.is_control() || is_unsafe(c)) {
            out.push(format!("cell {x},{y} holds {s:?}"));
        } else if s == SCRUBBED {
            out.push(format!(
                "cell {x},{y} was scrubbed: a path skipped the sanitizer"
            ));
        }
    }
    out
}

/// Problems in the bytes crossterm wrote for a frame: every ESC must open
/// one of crossterm's own CSI sequences (cursor moves, colours and
/// attributes, cursor show/hide); nothing else may be a control character.
pub fn byte_problems(bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec!["output is not UTF-8".into()];
    };
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() != Some('[') {
                out.push("ESC not followed by [ (OSC, DCS, APC or other escape)".into());
                continue;
            }
            let mut params = String::new();
            while let Some(&p) = chars.peek().filter(|p| ('\u{20}'..='\u{3f}').contains(*p)) {
                params.push(p);
                chars.next();
            }
            let fin = chars.next();
            let ok = match fin {
                Some('H' | 'm') => !params.contains('?'),
                Some('l' | 'h') => params == "?25",
                _ => false,
            };
            if !ok {
                out.push(format!("unexpected CSI {params:?} {fin:?}"));
            }
        } else if c.is_control() || is_unsafe(c) {
            out.push(format!("raw {c:?} in the output"));
        }
    }
    out
}

/// The bytes a CrosstermBackend writes (its own writer accessor is unstable).
#[derive(Clone, Default)]
pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Plain output may hold newlines and tabs, nothing else unsafe.
pub fn plain_problems(what: &str, bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.chars()
        .filter(|c| (c.is_control() && !matches!(c, '\n' | '\t')) || is_unsafe(*c))
        .take(5)
        .map(|c| format!("{what}: raw {c:?}"))
        .collect()
}
