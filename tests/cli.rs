//! The binary as a user runs it: exit codes, messages, sanitized output,
//! and generate with the real default model.

use crit::session::event::SourceFormat;
use crit::session::{Body, Replay};
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
        format!("{f}:6: empty answer (field \"answer\" is blank)"),
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
fn generate_session(sessions: &Path, file: &str, format: &str, name: &str) -> Replay {
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
    Replay::read(&sessions.join(name)).unwrap()
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
                side: None,
                agreement: None,
            }],
        },
        raw: "{}".into(),
        provenance: Provenance {
            model: Some(ModelInfo {
                file_name: "m.gguf".into(),
                size: 1,
                sha256: "0".repeat(64),
            }),
            served: None,
            tool: None,
            template_name: "critique".into(),
            template_sha256: "1".repeat(64),
            prompt_sha256: "2".repeat(64),
            sampler: Some(SamplerSettings::default()),
            seed: 1,
            sample_seeds: Vec::new(),
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
            SourceFormat::Native,
        )
        .unwrap();
        s.append_durable(Body::Assistance {
            task: "esc".into(),
            assistance: fake_assistance("\u{1b}[31m5").into(),
        })
        .unwrap();
    }
    // Stored verbatim (JSON-escaped) in the session files.
    let data = Replay::read(&dir.path().join("esc")).unwrap();
    assert_eq!(data.tasks()[0].answer, answer);
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

fn assistance_events(data: &Replay) -> Vec<(String, crit::assist::Kind, crit::assist::Assistance)> {
    data.events()
        .iter()
        .filter_map(|e| match &e.body {
            Body::Assistance { task, assistance } => Some((
                task.clone(),
                assistance.output.kind(),
                (**assistance).clone(),
            )),
            _ => None,
        })
        .collect()
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn generate_with_the_real_model_for_three_formats() {
    use crit::assist::{Kind, Output};
    let dir = tempfile::tempdir().unwrap();
    let mut tasks_seen = 0;
    for (file, format) in [
        ("tests/fixtures/model/gsm8k.jsonl", "gsm8k"),
        ("tests/fixtures/model/halueval.jsonl", "halueval"),
        ("tests/fixtures/model/hh-rlhf.jsonl", "hh-rlhf"),
    ] {
        let data = generate_session(dir.path(), file, format, format);
        tasks_seen += data.tasks().len();
        let failures: Vec<_> = data
            .events()
            .iter()
            .filter(|e| matches!(e.body, Body::AssistanceFailed { .. }))
            .collect();
        assert!(failures.is_empty(), "{format}: {failures:?}");
        // Computed checks are recorded first, at most once per task (GSM8K's
        // calculations always give some); the model writes the 3 kinds.
        let (tool, got): (Vec<_>, Vec<_>) = assistance_events(&data)
            .into_iter()
            .partition(|(_, kind, _)| *kind == Kind::ToolChecks);
        assert!(tool.len() <= data.tasks().len(), "{format}: {}", tool.len());
        if format == "gsm8k" {
            assert_eq!(tool.len(), data.tasks().len(), "gsm8k: tool checks");
        }
        assert_eq!(
            got.len(),
            data.tasks().len() * 3,
            "{format}: every task gets 3 kinds"
        );
        for (task_id, kind, a) in got {
            let task = data.tasks().iter().find(|t| t.id == task_id).unwrap();
            assert_eq!(a.output.kind(), kind);
            let p = &a.provenance;
            let m = p.model.as_ref().expect("local model recorded");
            assert_eq!(m.sha256, crit::assist::model::DEFAULT_SHA256);
            assert_eq!(m.file_name, crit::assist::model::DEFAULT_FILE);
            assert!(m.size > 1_000_000);
            assert!(is_sha256(&p.template_sha256) && is_sha256(&p.prompt_sha256));
            assert_eq!(p.template_name, kind.name());
            assert!(p.prompt_tokens > 0 && p.gen_tokens > 0 && p.n_threads > 0 && p.n_ctx > 0);
            assert_eq!(p.crit_version, crit::VERSION);
            if let Output::Critique { critiques } = &a.output {
                for c in critiques {
                    if let Some(span) = c.span {
                        let quoted = &task.answer[span.start..span.end];
                        let norm = |s: &str| {
                            s.split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                                .to_lowercase()
                        };
                        assert_eq!(norm(quoted), norm(c.quote.trim().trim_matches('"')));
                    } else {
                        assert!(crit::assist::anchor::find(&task.answer, &c.quote).is_none());
                    }
                }
            }
            if kind == Kind::Decompose {
                assert!(!a.output.is_empty(), "a decomposition has steps");
            }
        }
        // Plain-text view works and has every kind.
        let out = crit(dir.path()).args(["show", format]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for k in ["--- critique", "--- checks", "--- decompose"] {
            assert!(text.contains(k), "{format}: {k} missing in show");
        }
    }
    assert!(tasks_seen >= 5, "at least 5 tasks, got {tasks_seen}");
}

fn count_assistance(dir: &Path) -> usize {
    Replay::read(dir)
        .map(|d| assistance_events(&d).len())
        .unwrap_or(0)
}

#[test]
fn interrupted_generate_resumes_without_redoing_work() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model/gsm8k.jsonl");
    let session = dir.path().join("resume");
    let args = [
        "generate",
        tasks.to_str().unwrap(),
        "--session",
        "resume",
        "--kinds",
        "critique",
    ];
    let child = crit(dir.path())
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while count_assistance(&session) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no assistance recorded in time"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let done = count_assistance(&session);
    // Either the run was cut short (130) or it had just finished everything.
    if done < 4 {
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(err.contains("interrupted"), "{err}");
    }
    // A torn line, as a kill -9 mid-write leaves it, is cut off on resume.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(session.join("events.jsonl"))
        .unwrap();
    f.write_all(br#"{"v":1,"seq":999,"ts":"2026-01-01T00:"#)
        .unwrap();
    drop(f);
    let out = crit(dir.path()).args(args).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("last line was incomplete"), "{err}");
    assert!(err.contains(&format!("{done} already done")), "{err}");
    let data = Replay::read(&session).unwrap();
    let mut ids: Vec<String> = assistance_events(&data)
        .into_iter()
        .map(|(t, _, _)| t)
        .collect();
    ids.sort();
    let mut expected: Vec<String> = data.tasks().iter().map(|t| t.id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected, "each task exactly once");
}

#[test]
fn second_writer_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let tasks_file = write(dir.path(), "t.jsonl", &format!("{GOOD}\n"));
    let loaded = crit::task::load(&tasks_file, None, false).unwrap();
    let _held = crit::session::Session::create_or_open(
        &dir.path().join("busy"),
        &loaded.tasks,
        "t",
        SourceFormat::Native,
    )
    .unwrap();
    let out = crit(dir.path())
        .args([
            "generate",
            tasks_file.to_str().unwrap(),
            "--session",
            "busy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "in use by another crit process (pid {})",
            std::process::id()
        )),
        "{err}"
    );
}

#[test]
fn review_qc_rate_bad_values_exit_2_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let file = write(
        tmp.path(),
        "t.jsonl",
        "{\"id\":\"a\",\"prompt\":\"p\",\"answer\":\"2+2=5\",\"reference\":\"4\"}\n",
    );
    for (rate, says) in [("1.5", "--qc-rate"), ("0.2", "planted")] {
        let out = crit(&sessions)
            .args(["review"])
            .arg(&file)
            .args(["--session", "qc", "--no-assist", "--qc-rate", rate])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!sessions.join("qc").exists(), "nothing written: {err}");
    }
}
