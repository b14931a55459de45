//! `make soak` (not part of `make test`): the real binary SIGKILLed at
//! random (seeded) moments during `import`, `export`, `generate` (local
//! model, 1 thread) and headless `review`, SOAK_RUNS times each (default 100). After every kill:
//! the session opens (`crit fsck` finds no bad line; a torn last line is
//! what a kill leaves and the next writer cuts off), every line that was
//! complete before is still there (the log only grows, seq contiguous), an
//! import is all or nothing, and an export target is the old file or the
//! complete new one. Prints the figures; exits 1 unless they are all 0.

use crit::session::{Body, Replay};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Figures {
    runs: usize,
    kills: usize,
    unreadable: usize,
    lost: usize,
    partial: usize,
}

struct Soak {
    root: PathBuf,
    rng: ChaCha8Rng,
    runs: usize,
}

impl Soak {
    fn crit(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crit"));
        cmd.env("CRIT_SESSIONS", &self.root)
            .env("CRIT_CONFIG", self.root.join("no-config.toml"))
            .env_remove("CRIT_MODEL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Run `cmd`, SIGKILL it after a random delay below `max_ms`. True
    /// when it was killed (not finished first).
    fn run_killed(&mut self, mut cmd: Command, max_ms: u64) -> bool {
        let mut child = cmd.spawn().expect("crit runs");
        let at = Instant::now() + Duration::from_millis(self.rng.random_range(0..max_ms));
        while Instant::now() < at {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let killed = child.try_wait().unwrap().is_none();
        child.kill().ok();
        child.wait().ok();
        killed
    }
}

/// What a session's log held at the last check: its complete lines.
struct Watch {
    dir: PathBuf,
    seen: Vec<u8>,
}

impl Watch {
    fn new(dir: PathBuf) -> Watch {
        Watch {
            dir,
            seen: Vec::new(),
        }
    }

    /// Check the session after a run; add to the figures.
    fn check(&mut self, soak: &Soak, f: &mut Figures) {
        let events = self.dir.join("events.jsonl");
        if !events.is_file() {
            if self.dir.exists() || !self.seen.is_empty() {
                f.unreadable += 1;
            }
            return;
        }
        let bytes = std::fs::read(&events).unwrap();
        let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let complete = &bytes[..end];
        f.lost += lost_lines(&self.seen, complete);
        if !seq_contiguous(complete) || !opens(soak, &self.dir) {
            f.unreadable += 1;
        }
        self.seen = complete.to_vec();
    }
}

/// Lines of `before` that `after` no longer starts with.
fn lost_lines(before: &[u8], after: &[u8]) -> usize {
    let common = before
        .split_inclusive(|&b| b == b'\n')
        .zip(after.split_inclusive(|&b| b == b'\n'))
        .take_while(|(a, b)| a == b)
        .count();
    before.split_inclusive(|&b| b == b'\n').count() - common
}

fn seq_contiguous(complete: &[u8]) -> bool {
    complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .all(|(i, line)| {
            serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["seq"].as_u64())
                == Some(i as u64 + 1)
        })
}

/// `crit fsck` finds no bad line (a torn last line is allowed) and
/// readers fold the session.
fn opens(soak: &Soak, dir: &Path) -> bool {
    let out = soak
        .crit()
        .arg("fsck")
        .arg(dir)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    report.contains(" 0 bad lines") && Replay::read(dir).is_ok()
}

fn visible_labels(dir: &Path) -> Option<usize> {
    let r = Replay::read(dir).ok()?;
    let labels = r
        .events()
        .iter()
        .filter(|e| matches!(e.body, Body::Label { .. }));
    Some(labels.count())
}

fn prm800k(path: &Path, problems: usize, steps: usize) {
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
    std::fs::write(path, text).unwrap();
}

/// Import into one session until a run completes it (re-running a killed
/// import completes it), then into the next; kill moments spread over the
/// time a whole import takes.
fn soak_import(soak: &mut Soak) -> Figures {
    let (problems, steps) = (2_000, 10);
    let all = problems * steps;
    let file = soak.root.join("labels.jsonl");
    prm800k(&file, problems, steps);
    let import = |s: &Soak, name: &str| {
        let mut c = s.crit();
        c.arg("import")
            .arg(&file)
            .args(["-f", "prm800k", "-s", name]);
        c
    };
    let started = Instant::now();
    assert!(import(soak, "imported").status().unwrap().success());
    let whole = started.elapsed().as_millis() as u64 + 1;
    let mut f = Figures::default();
    let mut session = 0;
    let mut watch = Watch::new(soak.root.join("imported-0"));
    for _ in 0..soak.runs {
        f.runs += 1;
        let name = format!("imported-{session}");
        f.kills += usize::from(soak.run_killed(import(soak, &name), whole));
        watch.check(soak, &mut f);
        let n = visible_labels(&watch.dir).unwrap_or(0);
        f.partial += usize::from(n != 0 && n != all);
        if n == all {
            session += 1;
            watch = Watch::new(soak.root.join(format!("imported-{session}")));
        }
    }
    // Running it once more completes a killed import.
    let name = format!("imported-{session}");
    import(soak, &name).status().unwrap();
    watch.check(soak, &mut f);
    f.partial += usize::from(visible_labels(&watch.dir) != Some(all));
    f
}

fn soak_export(soak: &mut Soak) -> Figures {
    let target = soak.root.join("out.jsonl");
    let export = |s: &Soak| {
        let mut c = s.crit();
        c.args(["export", "-f", "prm800k", "imported", "-o"])
            .arg(&target);
        c
    };
    let started = Instant::now();
    assert!(export(soak).status().unwrap().success(), "export runs");
    let whole = started.elapsed().as_millis() as u64 + 1;
    let new = std::fs::read(&target).unwrap();
    let old = b"the old file\n".to_vec();
    let mut f = Figures::default();
    for _ in 0..soak.runs {
        f.runs += 1;
        std::fs::write(&target, &old).unwrap();
        let cmd = export(soak);
        f.kills += usize::from(soak.run_killed(cmd, whole));
        let now = std::fs::read(&target).unwrap_or_default();
        f.partial += usize::from(now != old && now != new);
    }
    f
}

fn soak_generate(soak: &mut Soak) -> Figures {
    let tasks = soak.root.join("tasks.jsonl");
    // More tasks than 100 runs finish, so every run still has work when the
    // kill lands (a finished session would make the later runs no-ops).
    let lines: String = (0..400)
        .map(|i| {
            format!(
                "{{\"id\":\"t{i}\",\"prompt\":\"What is {i}+{i}?\",\"answer\":\"It is {}.\"}}\n",
                i * 3
            )
        })
        .collect();
    std::fs::write(&tasks, lines).unwrap();
    let mut watch = Watch::new(soak.root.join("generated"));
    let mut f = Figures::default();
    for _ in 0..soak.runs {
        f.runs += 1;
        let mut cmd = soak.crit();
        cmd.arg("generate").arg(&tasks).args([
            "--session",
            "generated",
            "--threads",
            "1",
            "--kinds",
            "critique",
            "--max-tokens",
            "48",
        ]);
        f.kills += usize::from(soak.run_killed(cmd, 15_000));
        watch.check(soak, &mut f);
    }
    f
}

/// `crit review --headless` (scripted assistant) fed keys that label,
/// move and switch tasks, paced so a kill lands mid-review.
fn soak_review(soak: &mut Soak) -> Figures {
    let tasks = soak.root.join("review.jsonl");
    let lines: String = (0..5)
        .map(|i| format!("{{\"id\":\"r{i}\",\"prompt\":\"What is {i}*2?\",\"answer\":\"It is {}.\\nSo.\"}}\n", i * 3))
        .collect();
    std::fs::write(&tasks, lines).unwrap();
    let keys = soak.root.join("keys.txt");
    let round = ["1", "j", "2", "]", "y", "n", "x", "p"];
    let script: String = (0..20)
        .flat_map(|_| round.iter().map(|k| format!("{k}\nwait 25\n")))
        .collect();
    std::fs::write(&keys, script).unwrap();
    let mut watch = Watch::new(soak.root.join("reviewed"));
    let mut f = Figures::default();
    for _ in 0..soak.runs {
        f.runs += 1;
        let mut cmd = soak.crit();
        cmd.arg("review").arg(&tasks).args([
            "--session",
            "reviewed",
            "--scripted",
            "--headless",
            "--keys",
        ]);
        cmd.arg(&keys);
        f.kills += usize::from(soak.run_killed(cmd, 5_000));
        watch.check(soak, &mut f);
    }
    f
}

/// One soaked command.
type Phase = fn(&mut Soak) -> Figures;

fn main() {
    let runs = std::env::var("SOAK_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    let tmp = tempfile::tempdir().unwrap();
    let mut soak = Soak {
        root: tmp.path().to_path_buf(),
        rng: ChaCha8Rng::seed_from_u64(8),
        runs,
    };
    let mut bad = false;
    println!(
        "{:<10} {:>5} {:>5} {:>10} {:>11} {:>7}",
        "phase", "runs", "kills", "unreadable", "events_lost", "partial"
    );
    let phases: [(&str, Phase); 4] = [
        ("import", soak_import),
        ("export", soak_export),
        ("generate", soak_generate),
        ("review", soak_review),
    ];
    for (name, phase) in phases {
        let f = phase(&mut soak);
        println!(
            "{name:<10} {:>5} {:>5} {:>10} {:>11} {:>7}",
            f.runs, f.kills, f.unreadable, f.lost, f.partial
        );
        bad |= f.unreadable + f.lost + f.partial > 0;
    }
    if bad {
        std::process::exit(1);
    }
}
