//! `crit replay --regenerate` on assistance served by a real llama.cpp
//! `llama-server` (the default model, built by `make tools`): the piece is
//! re-run on a fresh server with its recorded seed and settings and comes
//! out identical; a server that cannot be reached is reported as such.

#[path = "common/server.rs"]
mod harness;

use harness::{free_port, serial, LlamaServer};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run crit with a deadline (killed and failed past it).
fn crit(sessions: &Path, args: &[&str], within: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crit"))
        .args(args)
        .env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_BACKEND")
        .env_remove("CRIT_PROMPTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "crit {args:?} ran past {within:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn regenerate_reruns_served_assistance_on_its_recorded_server() {
    let _one = serial();
    let server = LlamaServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tasks = root.join("tasks.jsonl");
    std::fs::write(
        &tasks,
        r#"{"id":"sum","prompt":"What is 10 + 15?","answer":"10 + 15 = 25."}"#,
    )
    .unwrap();
    let gen = crit(
        root,
        &[
            "generate",
            tasks.to_str().unwrap(),
            "--session",
            "s",
            "--kinds",
            "critique",
            "--backend",
            &server.url,
            "--max-tokens",
            "256",
        ],
        Duration::from_secs(180),
    );
    stdout(&gen);
    let events = root.join("s/events.jsonl");
    let before = std::fs::read(&events).unwrap();

    // A server started afresh with the same model and settings gives the
    // same text. (The one that generated it would not: llama-server reuses
    // the cached prompt, and decoding from the cache changes the numbers.)
    drop(server);
    let fresh = LlamaServer::start();
    let out = stdout(&crit(
        root,
        &["replay", "s", "--regenerate", "--backend", &fresh.url],
        Duration::from_secs(180),
    ));
    assert!(out.contains(" sum critique: identical"), "{out}");
    assert!(
        out.contains("reproduced 1 of 1 pieces run (100.0%); 0 not run"),
        "{out}"
    );
    drop(fresh);

    // Nobody listening: not run, and said why; the command still ran.
    let dead = format!("http://127.0.0.1:{}/v1", free_port());
    let out = stdout(&crit(
        root,
        &[
            "replay",
            "s",
            "--regenerate",
            "--backend",
            &dead,
            "--connect-timeout",
            "2",
        ],
        Duration::from_secs(60),
    ));
    assert!(
        out.contains("sum critique: not run: the server cannot be used"),
        "{out}"
    );
    assert!(
        out.contains("reproduced 0 of 0 pieces run (nothing could be run); 1 not run"),
        "{out}"
    );
    assert_eq!(std::fs::read(&events).unwrap(), before, "nothing written");
}
