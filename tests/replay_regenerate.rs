//! `crit replay --regenerate` with the real default model: assistance
//! generated locally is reproduced identically; a tampered record differs
//! (with its diff); an edited prompt template leaves its kind not run.
//! Assistance served by a real llama.cpp `llama-server` (built by `make
//! tools`) is re-run on a fresh server with its recorded seed and settings
//! and comes out identical; a server that cannot be reached is reported as
//! such. Model runs one at a time, on one thread.

#[path = "common/server.rs"]
mod harness;

use harness::{crit, free_port, serial, LlamaServer};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

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

/// Two GSM8K-style tasks, critiques only, generated with the real default
/// model on one thread; regenerated, every piece is identical. With a
/// prompts directory whose critique template was edited, none is run and
/// the template is named.
#[test]
fn regenerate_reproduces_fresh_assistance_and_names_a_changed_template() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let tasks = root.join("tasks.jsonl");
    std::fs::write(
        &tasks,
        concat!(
            r#"{"id":"a","prompt":"Tom buys 3 pens at $2 each. How much does he pay?","answer":"3 * 2 = 5. He pays $5."}"#,
            "\n",
            r#"{"id":"b","prompt":"What is 10 + 15?","answer":"10 + 15 = 25."}"#,
            "\n"
        ),
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
            "--threads",
            "1",
        ],
        Duration::from_secs(300),
    );
    stdout(&gen);
    let events = root.join("s/events.jsonl");
    let before = std::fs::read(&events).unwrap();

    let out = stdout(&crit(
        root,
        &["replay", "s", "--regenerate"],
        Duration::from_secs(300),
    ));
    assert_eq!(out.matches(": identical").count(), 2, "{out}");
    assert!(
        out.contains("reproduced 2 of 2 pieces run (100.0%); 0 not run"),
        "{out}"
    );

    // A copy whose record of b's text was tampered with: b differs, shown.
    let copy = root.join("s2");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(root.join("s/tasks.jsonl"), copy.join("tasks.jsonl")).unwrap();
    let log = std::fs::read_to_string(&events).unwrap();
    let tampered: Vec<String> = log
        .lines()
        .map(|l| {
            if l.contains(r#""type":"assistance""#) && l.contains(r#""task":"b""#) {
                l.replacen(r#""raw":""#, r#""raw":"tampered "#, 1)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(tampered.join("\n") + "\n", log, "b's record was found");
    std::fs::write(copy.join("events.jsonl"), tampered.join("\n") + "\n").unwrap();
    let out = stdout(&crit(
        root,
        &["replay", "s2", "--regenerate", "--task", "b"],
        Duration::from_secs(300),
    ));
    assert!(out.contains(" b critique: differs"), "{out}");
    assert!(out.contains("[-") && out.contains("tampered"), "{out}");
    assert!(
        out.contains("reproduced 0 of 1 pieces run (0.0%); 0 not run"),
        "{out}"
    );

    let prompts = root.join("prompts");
    std::fs::create_dir(&prompts).unwrap();
    for kind in ["critique", "checks", "decompose"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("prompts/{kind}.txt"));
        std::fs::copy(src, prompts.join(format!("{kind}.txt"))).unwrap();
    }
    let edited = prompts.join("critique.txt");
    let text_now = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(
        &edited,
        format!("{{{{! edited for the test }}}}\n{text_now}"),
    )
    .unwrap();
    let out = stdout(&crit(
        root,
        &[
            "replay",
            "s",
            "--regenerate",
            "--task",
            "a",
            "--prompts",
            prompts.to_str().unwrap(),
        ],
        Duration::from_secs(300),
    ));
    assert!(
        out.contains("a critique: not run: prompt template critique differs"),
        "{out}"
    );
    assert!(out.contains("critique.txt"), "names the file: {out}");
    assert!(
        out.contains("reproduced 0 of 0 pieces run (nothing could be run); 1 not run"),
        "{out}"
    );

    for (args, says) in [
        (vec!["--task", "zz"], "has no task"),
        (vec!["--model", "/nonexistent/m.gguf"], "does not exist"),
    ] {
        let all = [&["replay", "s", "--regenerate"][..], &args[..]].concat();
        let out = crit(root, &all, Duration::from_secs(300));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read(&events).unwrap(),
        before,
        "nothing written to the session"
    );
}
