//! Mutated inputs (truncated, bit-flipped, lines duplicated, swapped or
//! replaced by garbage, invalid UTF-8) through every task reader, the
//! event-log reader and every importer: no panic, every error names the
//! file (and `file:line` when it is about a line), and an import that fails
//! writes nothing.

mod export_support;

use crit::labels::import::{import, ImportFormat, ImportOptions};
use crit::labels::{ExportFormat, LabelError};
use crit::session::{Replay, SessionError};
use crit::task::{Format, LineError, TaskError};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the file at this fraction (per mille) of its length.
    Truncate(u16),
    /// Flip one bit of the byte at this fraction of the length.
    FlipBit(u16, u8),
    /// Repeat a line (picked by index modulo the line count).
    Duplicate(usize),
    Swap(usize, usize),
    /// Replace a line by these bytes.
    Garbage(usize, Vec<u8>),
    /// Put a byte that is never valid UTF-8 into a line.
    InvalidUtf8(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0u16..1000).prop_map(Mutation::Truncate),
        (0u16..1000, 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..40),
                "[ -~]{0,40}".prop_map(String::into_bytes),
                Just(b"{}".to_vec()),
                Just(b"[1,2]".to_vec()),
                Just(b"{\"id\":".to_vec()),
            ]
        )
            .prop_map(|(i, g)| Mutation::Garbage(i, g)),
        any::<usize>().prop_map(Mutation::InvalidUtf8),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..4)
}

fn at(len: usize, per_mille: u16) -> usize {
    len * per_mille as usize / 1000
}

fn mutate(bytes: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in muts {
        let mut lines: Vec<Vec<u8>> = out.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let n = lines.len();
        match m {
            Mutation::Truncate(p) => {
                out.truncate(at(out.len(), *p));
                continue;
            }
            Mutation::FlipBit(p, bit) => {
                if !out.is_empty() {
                    let i = at(out.len(), *p).min(out.len() - 1);
                    out[i] ^= 1 << bit;
                }
                continue;
            }
            Mutation::Duplicate(i) => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::Swap(a, b) => lines.swap(a % n, b % n),
            Mutation::Garbage(i, g) => lines[i % n] = g.clone(),
            Mutation::InvalidUtf8(i) => {
                let line = &mut lines[i % n];
                let pos = line.len() / 2;
                line.insert(pos, 0xff);
            }
        }
        out = lines.join(&b'\n');
    }
    out
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every line error is `file:line` with this file and a real line.
fn check_lines(errors: &[LineError], file: &Path) {
    for e in errors {
        assert_eq!(e.file, file, "{e}");
        assert!(e.line >= 1, "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}:{}:", file.display(), e.line)),
            "{e}"
        );
    }
}

fn check_task_error(err: &TaskError, file: &Path) {
    if let TaskError::Invalid { errors, .. } = err {
        assert!(!errors.is_empty());
        check_lines(errors, file);
    }
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}

const NATIVE: &str = r#"{"id":"a","prompt":"What is 2+2?","answer":"2+2 is 5.","reference":"4"}
{"id":"b","prompt":"Which is better?","answer_a":"This one.","answer_b":"That one.","meta":{"k":1}}
{"id":"c","prompt":"Name a prime.","answer":"Nine.\nIt is odd."}
"#;

const MT_BENCH_HUMAN: &str = r#"{"pair_index":0,"question_id":81,"turn":1,"input":"Write a poem.","output_1":"Roses.","output_2":"Violets.","label":1}
{"pair_index":1,"question_id":82,"turn":1,"input":"Add 2 and 3.","output_1":"5","output_2":"6","label":2}
"#;

fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(path).unwrap()
}

/// A second record of a one-line fixture: the same line with its text
/// changed where the format keeps it, so ids differ.
fn two_lines(one: &str, from: &str, to: &str) -> String {
    let first = one.trim_end();
    format!("{first}\n{}\n", first.replacen(from, to, 1))
}

fn task_seed(format: Format) -> String {
    match format {
        Format::Native => NATIVE.into(),
        Format::Gsm8k => two_lines(&fixture("model/gsm8k.jsonl"), "695", "696"),
        Format::Prm800k => two_lines(
            &fixture("prm800k_openai_layout.jsonl"),
            "Three pencils",
            "Four pencils",
        ),
        Format::MtBench => MT_BENCH_HUMAN.into(),
        Format::HhRlhf => two_lines(&fixture("model/hh-rlhf.jsonl"), "648", "649"),
        Format::Halueval => two_lines(&fixture("model/halueval.jsonl"), "209", "219"),
    }
}

fn read_tasks_survives(format: Format) {
    let seed = task_seed(format);
    let loaded = crit::task::load(&write_tmp(seed.as_bytes()).1, Some(format), false);
    assert!(loaded.is_ok(), "{format} seed: {:?}", loaded.err());
    proptest!(config(), |(muts in mutations())| {
        let (_tmp, file) = write_tmp(&mutate(seed.as_bytes(), &muts));
        if let Err(e) = crit::task::load(&file, Some(format), false) {
            check_task_error(&e, &file);
        }
    });
}

fn write_tmp(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("in.jsonl");
    std::fs::write(&file, bytes).unwrap();
    (tmp, file)
}

#[test]
fn task_readers_survive_mutated_files() {
    for format in [
        Format::Native,
        Format::Gsm8k,
        Format::Prm800k,
        Format::MtBench,
        Format::HhRlhf,
        Format::Halueval,
    ] {
        read_tasks_survives(format);
    }
}

/// The files of a directory, byte for byte.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect()
}

fn copy_session(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (name, bytes) in snapshot(from) {
        std::fs::write(to.join(name), bytes).unwrap();
    }
}

#[test]
fn the_event_log_reader_survives_mutated_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let golden = export_support::build(tmp.path());
    let log = std::fs::read(golden.join("events.jsonl")).unwrap();
    proptest!(config(), |(muts in mutations())| {
        let case = tempfile::tempdir().unwrap();
        let dir = case.path().join("s");
        copy_session(&golden, &dir);
        let events = dir.join("events.jsonl");
        std::fs::write(&events, mutate(&log, &muts)).unwrap();
        match Replay::read(&dir) {
            Ok(r) => prop_assert!(!r.events().is_empty()),
            Err(SessionError::Corrupt { path, line, .. }) => {
                prop_assert_eq!(path, events.clone());
                prop_assert!(line >= 1);
            }
            Err(e) => prop_assert!(
                e.to_string().contains(&dir.display().to_string()),
                "{}", e
            ),
        }
    });
}

/// A file each importer reads, from the golden session's own exports
/// where the format is crit's.
fn import_seed(format: ImportFormat, golden: &Path) -> String {
    let export = |f| {
        export_support::export_lines(golden, &export_support::no_meta(f))
            .iter()
            .map(|v| format!("{v}\n"))
            .collect()
    };
    match format {
        ImportFormat::Prm800k => task_seed(Format::Prm800k),
        ImportFormat::HhRlhf => task_seed(Format::HhRlhf),
        ImportFormat::MtBenchHuman => MT_BENCH_HUMAN.into(),
        ImportFormat::Critiques => export(ExportFormat::Critiques),
        ImportFormat::TrlPreference => export(ExportFormat::TrlPreference),
    }
}

fn check_import_error(err: &LabelError, file: &Path, dir: &Path) {
    match err {
        LabelError::BadLines(errors) => check_lines(errors, file),
        LabelError::Task(TaskError::Invalid { errors, .. }) => check_lines(errors, file),
        _ => {
            let msg = err.to_string();
            let names = msg.contains(&file.display().to_string())
                || msg.contains(&dir.display().to_string());
            assert!(names, "{msg}");
        }
    }
}

/// Import a mutated copy of `seed` into a new session and into a copy of
/// the golden one: on error neither changed.
fn import_survives(format: ImportFormat, golden: &Path) {
    let seed = import_seed(format, golden);
    let (tmp, file) = write_tmp(seed.as_bytes());
    let made = import(
        &file,
        format,
        &tmp.path().join("s"),
        ImportOptions::default(),
    );
    assert!(made.is_ok(), "{format:?} seed: {:?}", made.err());
    proptest!(config(), |(muts in mutations())| {
        let case = tempfile::tempdir().unwrap();
        let file = case.path().join("labels.jsonl");
        std::fs::write(&file, mutate(seed.as_bytes(), &muts)).unwrap();
        let fresh = case.path().join("fresh");
        if let Err(e) = import(&file, format, &fresh, ImportOptions::default()) {
            check_import_error(&e, &file, &fresh);
            prop_assert!(!fresh.exists(), "{}: a failed import created the session", e);
            let left: Vec<_> = snapshot(case.path()).into_keys().collect();
            prop_assert_eq!(left, vec!["labels.jsonl".to_string()]);
        }
        let existing = case.path().join("existing");
        copy_session(golden, &existing);
        let before = snapshot(&existing);
        if let Err(e) = import(&file, format, &existing, ImportOptions::default()) {
            check_import_error(&e, &file, &existing);
            prop_assert!(snapshot(&existing) == before, "{}: the session changed", e);
        }
    });
}

#[test]
fn importers_survive_mutated_files_and_write_nothing_on_error() {
    let tmp = tempfile::tempdir().unwrap();
    let golden = export_support::build(tmp.path());
    // The golden session's lock file names this process, as it will after
    // every import here: a byte-for-byte comparison holds.
    drop(crit::session::Session::open(&golden).unwrap());
    for format in [
        ImportFormat::Prm800k,
        ImportFormat::HhRlhf,
        ImportFormat::MtBenchHuman,
        ImportFormat::Critiques,
        ImportFormat::TrlPreference,
    ] {
        import_survives(format, &golden);
    }
}
