//! The binary as a user runs it: exit codes, messages, sanitized output,
//! and generate with the real default model.

use crit::session::{Body, SessionData};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crit(sessions: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crit"));
    cmd.env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_MODEL");
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = r#"{"id":"a","prompt":"What is 2+2?","answer":"2+2 is 5."}"#;

#[test]
fn malformed_tasks_exit_2_with_file_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.jsonl",
        &format!(
            "{GOOD}\n{{\"id\":\"b\",\"prompt\":\"p\"}}\n{{\"id\":\"c\",\"prompt\":3,\"answer\":\"x\"}}\nnot json\n{GOOD}\n{{\"id\":\"e\",\"prompt\":\"p\",\"answer\":\"  \"}}\n"
        ),
    );
    let out = crit(dir.path())
        .args(["generate", bad.to_str().unwrap(), "--session", "s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let f = bad.display();
    for expected in [
        format!("{f}:2: missing field \"answer\""),
        format!("{f}:3: field \"prompt\" must be a string, found a number"),
        format!("{f}:4: invalid JSON"),
        format!("{f}:5: duplicate id \"a\" (first seen on line 1)"),
        format!("{f}:6: field \"answer\" is empty"),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert!(!dir.path().join("s").exists(), "no partial session");
}

#[test]
fn invalid_utf8_is_reported_with_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.jsonl");
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\":\"b\",\"prompt\":\"\xff\xfe\",\"answer\":\"x\"}\n");
    std::fs::write(&p, bytes).unwrap();
    let out = crit(dir.path())
        .args(["generate", p.to_str().unwrap(), "--session", "s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}:2: invalid UTF-8", p.display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_model_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = write(dir.path(), "t.jsonl", &format!("{GOOD}\n"));
    let out = crit(dir.path())
        .args([
            "generate",
            tasks.to_str().unwrap(),
            "--session",
            "s",
            "--model",
        ])
        .arg(dir.path().join("nope.gguf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("nope.gguf") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("crit model fetch"), "{err}");
}

#[test]
fn show_on_unknown_session_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = crit(dir.path()).args(["show", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no session at"), "{}", stderr(&out));
}

/// Tasks from three formats, generated with the real default model.
fn generate_session(sessions: &Path, file: &str, format: &str, name: &str) -> SessionData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let out = crit(sessions)
        .args([
            "generate",
            path.to_str().unwrap(),
            "--format",
            format,
            "--session",
            name,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "generate {file}: {}", stderr(&out));
    SessionData::read(&sessions.join(name)).unwrap()
}

fn fake_assistance(quote: &str) -> crit::assist::Assistance {
    use crit::assist::*;
    Assistance {
        output: Output::Critique {
            critiques: vec![Critique {
                quote: quote.into(),
                comment: "bad \u{1b}]0;pwned\u{7} math".into(),
                severity: Severity::Major,
                category: "math".into(),
                span: None,
            }],
        },
        raw: "{}".into(),
        provenance: Provenance {
            model: ModelInfo {
                file_name: "m.gguf".into(),
                size: 1,
                sha256: "0".repeat(64),
            },
            template_name: "critique".into(),
            template_sha256: "1".repeat(64),
            prompt_sha256: "2".repeat(64),
            sampler: SamplerSettings::default(),
            seed: 1,
            n_ctx: 512,
            n_threads: 1,
            max_tokens: 16,
            crit_version: crit::VERSION.into(),
            prompt_tokens: 1,
            gen_tokens: 1,
            prompt_ms: 1,
            gen_ms: 1,
        },
        truncated: None,
    }
}

#[test]
fn escape_sequences_are_stored_verbatim_and_shown_sanitized() {
    let dir = tempfile::tempdir().unwrap();
    let answer = "Total: \u{1b}[31m5\u{1b}[0m apples\u{7}";
    let line = serde_json::json!({"id": "esc", "prompt": "Count \u{1b}[2J", "answer": answer});
    let tasks = write(dir.path(), "t.jsonl", &format!("{line}\n"));
    let loaded = crit::task::load(&tasks, None, false).unwrap();
    assert_eq!(loaded.tasks[0].answer, answer);
    {
        let mut s = crit::session::Session::create_or_open(
            &dir.path().join("esc"),
            &loaded.tasks,
            "t.jsonl",
            "native",
        )
        .unwrap();
        s.append_durable(Body::Assistance {
            task: "esc".into(),
            kind: crit::assist::Kind::Critique,
            assistance: Box::new(fake_assistance("\u{1b}[31m5")),
        })
        .unwrap();
    }
    // Stored verbatim (JSON-escaped) in the session files.
    let data = SessionData::read(&dir.path().join("esc")).unwrap();
    assert_eq!(data.tasks[0].answer, answer);
    let out = crit(dir.path()).args(["show", "esc"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "raw control chars in:\n{text}"
    );
    assert!(text.contains("Total: \\e[31m5\\e[0m apples\\x07"), "{text}");
    assert!(text.contains("\\e]0;pwned\\x07"), "{text}");
    assert!(text.contains("unanchored"), "{text}");
    let list = crit(dir.path()).arg("sessions").output().unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("esc") && list.contains(" 1 ") && list.contains(" 2 "),
        "{list}"
    );
}
