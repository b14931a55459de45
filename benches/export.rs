//! Export benchmark: a synthetic session of 100,000 events exported to a few
//! formats. Target: under 1 s per export, memory flat in the record count
//! (peak RSS is read from /proc/self/status before and after).

use crit::labels::{export, synthetic, ExportFormat, ExportOptions, Sink};
use std::time::Instant;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fmt_kib(k: Option<u64>) -> String {
    k.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn run(dir: &std::path::Path, out_dir: &std::path::Path, format: ExportFormat) {
    let out = out_dir.join(format!("{}.jsonl", format.name()));
    let before = vm_hwm_kib();
    let start = Instant::now();
    let mut sink = Sink::file(&out).expect("open output");
    let manifest =
        export(&[dir.to_path_buf()], &ExportOptions::new(format), &mut sink).expect("export");
    sink.finish().expect("finish");
    let secs = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{:<15} {:>8} records {:>8.1} MiB {:>8.3} s {:>10.0} records/s   peak RSS {} -> {}",
        format.name(),
        manifest.counts.records,
        size as f64 / (1024.0 * 1024.0),
        secs,
        manifest.counts.records as f64 / secs,
        fmt_kib(before),
        fmt_kib(vm_hwm_kib()),
    );
}

fn main() {
    let events: usize = std::env::var("CRIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("bench");
    let start = Instant::now();
    let n = synthetic::bench_session(&dir, events).expect("build session");
    println!(
        "synthetic session: {n} events, {:.1} MiB, built in {:.2} s; peak RSS {}",
        std::fs::metadata(dir.join("events.jsonl"))
            .map(|m| m.len())
            .unwrap_or(0) as f64
            / (1024.0 * 1024.0),
        start.elapsed().as_secs_f64(),
        fmt_kib(vm_hwm_kib())
    );
    let t = Instant::now();
    let data = crit::session::SessionData::read(&dir).expect("read");
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let state = crit::session::fold(&data.tasks, &data.events);
    println!(
        "of which: read+parse {:.3} s, fold {:.3} s ({} tasks)",
        read_s,
        t.elapsed().as_secs_f64(),
        state.tasks.len()
    );
    drop((state, data));
    for format in [
        ExportFormat::TrlPreference,
        ExportFormat::Reward,
        ExportFormat::TrlStepwise,
        ExportFormat::Prm800k,
        ExportFormat::Critiques,
    ] {
        run(&dir, tmp.path(), format);
    }
}
