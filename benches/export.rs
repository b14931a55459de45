//! Export benchmark: a synthetic session of 100,000 events (override with
//! CRIT_BENCH_EVENTS) exported to several formats. Target: under 1 s per
//! export, memory flat in the record count.
//!
//! Each export runs in a fresh child process (this binary re-executed with
//! `--child`), so its peak RSS (VmHWM from /proc/self/status) is its own; a
//! baseline export that folds everything but writes no record shows what the read and the
//! fold cost, and every format should sit at that same peak whatever its
//! record count.

use crit::labels::{export, ExportFormat, ExportOptions, Sink};
use std::path::Path;

// The synthetic session the export tests use too.
#[path = "../tests/export_support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;
use std::process::Command;
use std::time::Instant;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn parse_format(name: &str) -> ExportFormat {
    ExportFormat::all()
        .find(|f| f.name() == name)
        .expect("known format")
}

/// Child: one export, then "seconds records peak_kib" on stdout. The
/// baseline keeps every event (same fold) but no verdict passes its
/// confidence bar, so it writes nothing.
fn child(dir: &str, format: &str, out: &str, baseline: bool) {
    let mut opts = ExportOptions::new(parse_format(format));
    if baseline {
        opts.filters.min_confidence = Some(101);
    }
    let start = Instant::now();
    let mut sink = Sink::file(Path::new(out)).expect("open output");
    let m = export(&[dir.into()], &opts, &mut sink).expect("export");
    sink.finish().expect("finish");
    let secs = start.elapsed().as_secs_f64();
    println!("{secs} {} {}", m.counts.records, vm_hwm_kib());
}

fn run_child(dir: &Path, out_dir: &Path, format: ExportFormat, baseline: bool) {
    let out = out_dir.join(format!("{}.jsonl", format.name()));
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.arg("--child").arg(dir).arg(format.name()).arg(&out);
    if baseline {
        cmd.arg("--baseline");
    }
    let res = cmd.output().expect("run child");
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
    let (secs, records, kib) = (f[0], f[1], f[2]);
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let label = if baseline {
        format!("{} (baseline)", format.name())
    } else {
        format.name().to_string()
    };
    println!(
        "{label:<26} {records:>7} records {:>6.1} MiB {secs:>7.3} s {:>9.0} records/s  peak RSS {:>6.1} MiB",
        size as f64 / (1024.0 * 1024.0),
        if secs > 0.0 { records / secs } else { 0.0 },
        kib / 1024.0,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let baseline = args.iter().any(|a| a == "--baseline");
        return child(&args[i + 1], &args[i + 2], &args[i + 3], baseline);
    }
    let events: usize = std::env::var("CRIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("bench");
    let start = Instant::now();
    let n = synthetic::bench_session(&dir, events).expect("build session");
    let size = std::fs::metadata(dir.join("events.jsonl")).map_or(0, |m| m.len());
    println!(
        "synthetic session: {n} events, {:.1} MiB, built in {:.2} s",
        size as f64 / (1024.0 * 1024.0),
        start.elapsed().as_secs_f64()
    );
    // Baseline first: same read and fold, nothing written.
    run_child(&dir, tmp.path(), ExportFormat::Reward, true);
    for format in [
        ExportFormat::TrlPreference,
        ExportFormat::TrlKto,
        ExportFormat::Reward,
        ExportFormat::TrlStepwise,
        ExportFormat::Prm800k,
        ExportFormat::OpenaiSft,
        ExportFormat::OpenaiDpo,
        ExportFormat::Critiques,
        ExportFormat::HhRlhf,
    ] {
        run_child(&dir, tmp.path(), format, false);
    }
    breakdown(&dir);
}

/// Where the time goes, in this process: reading+parsing and folding.
fn breakdown(dir: &Path) {
    let t = Instant::now();
    let replay = crit::session::Replay::read(dir).expect("read");
    let both = t.elapsed().as_secs_f64();
    let (tasks, events) = replay.into_parts();
    let n = tasks.len();
    let t = Instant::now();
    drop(crit::session::Replay::new(tasks, events));
    let fold = t.elapsed().as_secs_f64();
    println!(
        "of each export: read+parse {:.3} s, fold {fold:.3} s ({n} tasks); the rest is building and writing records",
        both - fold
    );
}
