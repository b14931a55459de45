//! The real binary killed with SIGKILL at random (seeded) moments: no
//! label is lost or half-imported, a session is whole or absent, and the
//! writer's lock holds when its `lock` file is deleted.

use crit::session::{Body, Replay};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn crit(sessions: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crit"));
    cmd.env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_MODEL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A PRM800K file of `problems` problems with `steps` rated steps each
/// (one label per step).
fn prm800k(dir: &Path, name: &str, problems: usize, steps: usize) -> PathBuf {
    let mut text = String::new();
    for i in 0..problems {
        let rated: Vec<String> = (0..steps)
            .map(|j| {
                format!(
                    r#"{{"completions":[{{"text":"Step {j} of {i}.","rating":1,"flagged":null}}],"human_completion":null,"chosen_completion":0}}"#
                )
            })
            .collect();
        writeln!(
            text,
            r#"{{"labeler":"L","question":{{"problem":"Problem {i}?","ground_truth_answer":"1"}},"label":{{"steps":[{}],"finish_reason":"solution"}}}}"#,
            rated.join(",")
        )
        .unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// SIGKILL `child` once `ready` says so (or it exits first). True when it
/// was killed, false when it finished on its own.
fn kill_when(mut child: Child, ready: impl Fn() -> bool) -> (bool, Output) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return (false, child.wait_with_output().unwrap());
        }
        if ready() {
            child.kill().unwrap();
            return (true, child.wait_with_output().unwrap());
        }
        assert!(Instant::now() < deadline, "the process never got there");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The labels every reader sees.
fn visible_labels(dir: &Path) -> usize {
    let replay = Replay::read(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    replay
        .events()
        .iter()
        .filter(|e| matches!(e.body, Body::Label { .. }))
        .count()
}

#[test]
fn a_killed_import_leaves_all_or_nothing_and_runs_again_in_full() {
    let tmp = tempfile::tempdir().unwrap();
    let file = prm800k(tmp.path(), "ratings.jsonl", 10_000, 10);
    let dir = tmp.path().join("s");
    let events = dir.join("events.jsonl");
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (mut kills, mut moments) = (0, Vec::new());
    for run in 0..15 {
        let child = crit(tmp.path())
            .args(["import", file.to_str().unwrap(), "-f", "prm800k", "-s", "s"])
            .spawn()
            .unwrap();
        let (killed, out) = if run % 5 == 0 {
            // Some while the file is read or the session created.
            let at = Instant::now() + Duration::from_millis(rng.random_range(0..1500));
            kill_when(child, || Instant::now() >= at)
        } else {
            // Most while the events are written: a little past where the
            // log stood, so the log stays small enough to read quickly.
            let at = size(&events) + rng.random_range(0..4_000_000);
            kill_when(child, || size(&events) > at)
        };
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        moments.push(size(&events));
        if !killed {
            assert!(out.status.success(), "{err}");
            break;
        }
        kills += 1;
        if dir.join("events.jsonl").is_file() {
            let n = visible_labels(&dir);
            assert!(n == 0 || n == 100_000, "run {run}: {n} labels visible");
        } else {
            assert!(!dir.exists(), "run {run}: a session without a log");
        }
    }
    assert!(kills >= 10, "only {kills} runs were killed: {moments:?}");
    let out = crit(tmp.path())
        .args(["import", file.to_str().unwrap(), "-f", "prm800k", "-s", "s"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if visible_labels(&dir) == 100_000 && !out.status.success() {
        assert!(err.contains("already imported"), "{err}");
    } else {
        assert!(out.status.success(), "{err}");
        assert!(err.contains("100000 label(s)"), "{err}");
    }
    assert_eq!(visible_labels(&dir), 100_000);
    // The next writer finds nothing to discard.
    let again = crit(tmp.path())
        .args(["import", file.to_str().unwrap(), "-f", "prm800k", "-s", "s"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("already imported"), "{err}");
    assert!(!err.contains("interrupted"), "{err}");
}

#[test]
fn a_session_killed_while_created_is_whole_or_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let file = prm800k(tmp.path(), "small.jsonl", 200, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut made = 0;
    for run in 0..20 {
        let name = format!("s{run}");
        let child = crit(tmp.path())
            .args([
                "import",
                file.to_str().unwrap(),
                "-f",
                "prm800k",
                "-s",
                &name,
            ])
            .spawn()
            .unwrap();
        let at = Instant::now() + Duration::from_millis(rng.random_range(0..120));
        kill_when(child, || Instant::now() >= at);
        let dir = tmp.path().join(&name);
        if !dir.exists() {
            continue;
        }
        made += 1;
        let replay = Replay::read(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(matches!(
            replay.events()[0].body,
            Body::SessionCreated { .. }
        ));
        assert_eq!(replay.tasks().len(), 200, "{name}");
        let n = visible_labels(&dir);
        assert!(n == 0 || n == 600, "{name}: {n} labels");
    }
    // A creator killed before its rename leaves `.NAME.creating.PID`.
    std::fs::create_dir(tmp.path().join(".ghost.creating.999999")).unwrap();
    std::fs::write(tmp.path().join(".ghost.creating.999999/events.jsonl"), "").unwrap();
    let out = crit(tmp.path())
        .arg("sessions")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!listed.contains("creating"), "{listed}");
    assert!(!listed.contains("unreadable"), "{listed}");
    assert_eq!(
        listed.lines().count(),
        made + usize::from(made > 0),
        "{listed}"
    );
}

#[test]
fn deleting_the_lock_file_does_not_admit_a_second_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let big = prm800k(tmp.path(), "big.jsonl", 3_000, 10);
    let other = prm800k(tmp.path(), "other.jsonl", 5, 2);
    let dir = tmp.path().join("s");
    let events = dir.join("events.jsonl");
    let mut holder = crit(tmp.path())
        .args(["import", big.to_str().unwrap(), "-f", "prm800k", "-s", "s"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while size(&events) < 100_000 {
        assert!(
            holder.try_wait().unwrap().is_none(),
            "the import ended early"
        );
        assert!(
            Instant::now() < deadline,
            "the import never started writing"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::remove_file(dir.join("lock")).unwrap();
    let second = crit(tmp.path())
        .args([
            "import",
            other.to_str().unwrap(),
            "-f",
            "prm800k",
            "-s",
            "s",
        ])
        .output()
        .unwrap();
    let still_writing = holder.try_wait().unwrap().is_none();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        still_writing,
        "the holder finished before the test could check"
    );
    assert!(!second.status.success(), "{err}");
    assert!(err.contains("in use by another crit process"), "{err}");
    assert!(err.contains(&format!("pid {}", holder.id())), "{err}");
    let out = holder.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(visible_labels(&dir), 30_000);
}
