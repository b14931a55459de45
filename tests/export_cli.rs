//! `crit export` and `crit import` as a user runs them: exit codes, the
//! manifest and meta sidecar, atomic output, refused paths, stale temp
//! files, records that would leave a session nothing can read.

mod export_support;

use crit::labels::Manifest;
use export_support::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn crit(sessions: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crit"))
        .arg("--sessions-dir")
        .arg(sessions)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
        err.contains("bad.jsonl:2: field \"chosen\": invalid type: integer `3`, expected a string"),
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

/// Ctrl-C in the middle of a large export: no temp file is left and the
/// target is either absent or complete (when the export won the race).
#[test]
fn interrupted_cli_export_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    export_support::synthetic::bench_session(&dir, 300_000).unwrap();
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

/// `crit export -o SESSION/events.jsonl` once replaced the session's log:
/// any output (or manifest) inside a session directory is refused with
/// exit 2 and the session is left as it was.
#[test]
fn export_refuses_paths_inside_a_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let log = std::fs::read(dir.join("events.jsonl")).unwrap();
    let targets = [
        dir.join("events.jsonl"),
        dir.join("tasks.jsonl"),
        dir.join("labels.jsonl"),
    ];
    for target in &targets {
        let out = crit(
            tmp.path(),
            &[
                "export",
                "golden",
                "--format",
                "critiques",
                "-o",
                target.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("inside session directory"),
            "{}",
            stderr(&out)
        );
    }
    let manifest = dir.join("m.json");
    let elsewhere = tmp.path().join("ok.jsonl");
    let out = crit(
        tmp.path(),
        &[
            "export",
            "golden",
            "--format",
            "critiques",
            "-o",
            elsewhere.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.join("events.jsonl")).unwrap(), log);
    assert!(!targets[2].exists() && !manifest.exists());
    // Nothing written inside: the session still opens and exports.
    let again = crit(tmp.path(), &["export", "golden", "--format", "critiques"]);
    assert!(again.status.success(), "{}", stderr(&again));
}

/// A killed export leaves `.NAME.PID.tmp`; the next export to that target
/// removes it once that pid is gone, and leaves a running writer's alone.
#[test]
fn stale_temp_files_of_killed_exports_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let out = tmp.path().join("c.jsonl");
    // A real export killed mid-write would leave this; a dead pid stands in.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = tmp.path().join(format!(".c.jsonl.{dead}.tmp"));
    let stale_manifest = tmp
        .path()
        .join(format!(".c.jsonl.manifest.json.{dead}.tmp"));
    let live = tmp.path().join(".c.jsonl.1.tmp");
    for f in [&stale, &stale_manifest, &live] {
        std::fs::write(f, "half a file").unwrap();
    }
    let run = crit(
        tmp.path(),
        &[
            "export",
            "golden",
            "--format",
            "critiques",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(!stale.exists() && !stale_manifest.exists());
    assert!(
        live.exists(),
        "pid 1 is running: its file is not ours to remove"
    );
    assert_eq!(read_jsonl(&out).len(), 5);
}

/// The OpenAI formats write only their documented keys, with meta in
/// FILE.meta.jsonl; to stdout the default sidecar has nowhere to go, so
/// no meta; asking for a sidecar on stdout is bad input.
#[test]
fn openai_exports_put_meta_in_a_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let out = tmp.path().join("sft.jsonl");
    let run = crit(
        tmp.path(),
        &[
            "export",
            "golden",
            "--format",
            "openai-sft",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let recs = read_jsonl(&out);
    let metas = read_jsonl(&crit::labels::meta_path(&out));
    assert_eq!(recs.len(), metas.len());
    assert!(recs.iter().all(|r| r.as_object().unwrap().len() == 1));
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(Manifest::path_for(&out)).unwrap()).unwrap();
    assert_eq!(m["options"]["meta"], "sidecar");
    assert!(m["meta_output"]
        .as_str()
        .unwrap()
        .ends_with("sft.jsonl.meta.jsonl"));
    let ok = check_exports(&[out], &[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let stdout = crit(tmp.path(), &["export", "golden", "--format", "openai-dpo"]);
    assert!(stdout.status.success());
    let text = String::from_utf8(stdout.stdout).unwrap();
    assert!(!text.is_empty() && !text.contains("\"meta\""));
    let bad = crit(
        tmp.path(),
        &[
            "export",
            "golden",
            "--format",
            "openai-dpo",
            "--meta",
            "sidecar",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let bad = crit(
        tmp.path(),
        &[
            "export",
            "golden",
            "--format",
            "prm800k",
            "--conversational",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let bad = crit(
        tmp.path(),
        &[
            "export",
            "golden",
            "--format",
            "critiques",
            "--merge-consecutive",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
}

fn import(sessions: &Path, file: &Path, format: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--format",
        format,
        "--session",
        "s",
    ];
    args.extend_from_slice(extra);
    crit(sessions, &args)
}

/// Records that would make a session nothing can read (an empty prompt
/// or answer, a span outside the answer) are bad lines: file:line, exit 2,
/// nothing written; with --skip-invalid the rest is imported and the
/// session opens.
#[test]
fn importers_refuse_what_the_session_could_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let pref = tmp.path().join("pref.jsonl");
    std::fs::write(
        &pref,
        concat!(
            "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
            "{\"prompt\": \"\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
            "{\"prompt\": \"p\", \"chosen\": \" \", \"rejected\": \"b\"}\n",
            "{\"prompt\": [{\"role\": \"system\", \"content\": \"s\"}], \"chosen\": [], \"rejected\": []}\n",
            "{\"prompt\": \"p\", \"chosen\": [], \"rejected\": \"b\"}\n",
        ),
    )
    .unwrap();
    let out = import(tmp.path(), &pref, "trl-preference", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (line, what) in [
        (2, "field \"prompt\" is empty"),
        (3, "empty answer"),
        (4, "system"),
        (5, "all be strings or all be message lists"),
    ] {
        let at = format!("pref.jsonl:{line}: ");
        let msg = err
            .lines()
            .find(|l| l.contains(&at))
            .unwrap_or_else(|| panic!("{at} in {err}"));
        assert!(msg.contains(what), "{msg}");
    }
    assert!(!tmp.path().join("s").exists(), "nothing written");
    let crits = tmp.path().join("crits.jsonl");
    let rec = |answer: &str, span: &str| {
        format!(
            "{{\"prompt\": \"p\", \"answer\": \"{answer}\", \"quote\": \"q\", \"span\": {span}, \"comment\": \"c\", \"severity\": \"minor\", \"category\": \"x\", \"source\": \"assistant\", \"label\": \"valid\", \"corrected_severity\": null}}\n"
        )
    };
    let text = rec("fine", "null") + &rec("", "null") + &rec("ok", "{\"start\": 0, \"end\": 9}");
    std::fs::write(&crits, text).unwrap();
    let out = import(tmp.path(), &crits, "critiques", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("crits.jsonl:2: empty answer"), "{err}");
    assert!(err.contains("crits.jsonl:3: field \"span\""), "{err}");
    assert!(!tmp.path().join("s").exists());
    let out = import(tmp.path(), &crits, "critiques", &["--skip-invalid"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let show = crit(tmp.path(), &["export", "s", "--format", "critiques"]);
    assert!(show.status.success(), "{}", stderr(&show));
    assert_eq!(String::from_utf8_lossy(&show.stdout).lines().count(), 1);
}
