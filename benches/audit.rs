//! Audit benchmark: open, fold and fully audit a synthetic session of
//! 100,000 events (override with CRIT_BENCH_EVENTS). Target: under 1 s.
//!
//! Then the same audit over 1, 2, 4 and 8 such sessions, each in a fresh
//! child process (this binary re-executed with `--child`) so its peak RSS
//! (VmHWM) is its own: sessions are read and folded one after another and
//! dropped, so the peak should stay near one session's, growing only by the
//! observations kept per session.

use crit::audit::stats::Bootstrap;
use crit::audit::{audit, extract, render, Settings};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../tests/export_support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process used so far, from
/// /proc/self/stat (clock ticks of 10 ms): on a shared machine wall time
/// counts the other processes too.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ")".
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// Child: audit the given sessions, print "seconds cpu_seconds peak_kib".
fn child(dirs: &[String]) {
    let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
    let start = Instant::now();
    let cpu = cpu_secs();
    let report = audit(&dirs, None, Settings::new(Bootstrap::default())).expect("audit");
    let text = render::terminal(&report);
    let secs = start.elapsed().as_secs_f64();
    assert!(text.contains("Critique precision"));
    println!("{secs} {} {}", cpu_secs() - cpu, vm_hwm_kib());
}

fn run_child(dirs: &[PathBuf]) -> (f64, f64, f64) {
    let res = Command::new(std::env::current_exe().expect("own path"))
        .arg("--child")
        .args(dirs)
        .output()
        .expect("run child");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let text = String::from_utf8_lossy(&res.stdout);
    let f: Vec<f64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f[0], f[1], f[2] / 1024.0)
}

/// Rough heap size of the observations (vectors' lengths times item sizes,
/// plus the step ratings), to explain the growth per session.
fn observations_bytes(o: &crit::audit::obs::Observations) -> usize {
    use std::mem::size_of_val;
    let v = |len: usize, item: usize| len * item;
    v(
        o.critique_labels.len(),
        o.critique_labels.first().map_or(0, size_of_val),
    ) + v(
        o.user_critiques.len(),
        o.user_critiques.first().map_or(0, size_of_val),
    ) + v(o.checks.len(), o.checks.first().map_or(0, size_of_val))
        + v(o.work.len(), o.work.first().map_or(0, size_of_val))
        + v(
            o.label_latencies.len(),
            o.label_latencies.first().map_or(0, size_of_val),
        )
        + o.step_paths
            .iter()
            .map(|p| size_of_val(p) + p.ratings.len() * 16)
            .sum::<usize>()
}

/// Where the time of one audit goes, in this process.
fn breakdown(dir: &Path) {
    // (wall, CPU) seconds of `f`.
    fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
        let (t, c) = (Instant::now(), cpu_secs());
        let out = f();
        (out, t.elapsed().as_secs_f64(), cpu_secs() - c)
    }
    let (replay, lw, lc) = timed(|| extract::load(dir).expect("load"));
    let events = replay.events().len();
    drop(replay);
    let (obs, ow, oc) = timed(|| extract::observe(&[dir.to_path_buf()]).expect("observe"));
    let kept = observations_bytes(&obs);
    let (report, mw, mc) = timed(|| {
        let gold = crit::audit::gold::combine(&Default::default(), &obs);
        crit::audit::metrics::report(&obs, &gold, Settings::new(Bootstrap::default()))
    });
    let (_, rw, rc) = timed(|| {
        (
            render::terminal(&report),
            render::json(&report),
            render::html(&report),
        )
    });
    println!("one session of {events} events, wall / CPU seconds:");
    println!("  read + fold (the session reader)   {lw:.3} / {lc:.2}");
    println!("  read + fold + extract observations {ow:.3} / {oc:.2}");
    println!("  metrics                            {mw:.3} / {mc:.2}");
    println!("  terminal + JSON + HTML renderings  {rw:.3} / {rc:.2}");
    println!(
        "observations kept per session: about {:.1} MiB (what grows with the number of sessions)",
        kept as f64 / (1024.0 * 1024.0)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1..]);
    }
    let events: usize = std::env::var("CRIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = tmp.path().join("s0");
    let start = Instant::now();
    let n = synthetic::bench_session(&first, events).expect("build session");
    let size = std::fs::metadata(first.join("events.jsonl")).map_or(0, |m| m.len());
    println!(
        "synthetic session: {n} events, {:.1} MiB, built in {:.2} s",
        size as f64 / (1024.0 * 1024.0),
        start.elapsed().as_secs_f64()
    );
    // Copies, so several sessions are folded one after another.
    let mut dirs = vec![first.clone()];
    for i in 1..8 {
        let d = tmp.path().join(format!("s{i}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        for f in ["events.jsonl", "tasks.jsonl"] {
            std::fs::copy(first.join(f), d.join(f)).expect("copy");
        }
        dirs.push(d);
    }
    let (secs, cpu, _) = run_child(&dirs[..1]);
    let verdict = if cpu < 1.0 { "under" } else { "OVER" };
    println!(
        "open + fold + full audit + terminal report: {secs:.3} s wall, {cpu:.2} s CPU ({verdict} the 1 s target)"
    );
    for k in [1, 2, 4, 8] {
        let (secs, cpu, mib) = run_child(&dirs[..k]);
        println!(
            "{k} session(s), {:>7} events: {secs:>6.3} s wall, {cpu:>5.2} s CPU, peak RSS {mib:>6.1} MiB",
            k * n
        );
    }
    breakdown(&first);
}
