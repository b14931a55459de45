//! Where records go: stdout, or a file written atomically (a hidden temp file
//! in the same directory, fsync'd, then renamed over the target), so an
//! interrupted export never leaves half a file at the target path.

use super::{io_err, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set by SIGINT/SIGTERM once `stop_on_signals` ran: the export stops at the
/// next record, the temp file is removed and the target left as it was.
static STOP: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// Turn Ctrl-C / SIGTERM into a clean stop of the export (for the CLI).
pub fn stop_on_signals() -> std::io::Result<()> {
    let flag = STOP.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(flag))?;
    }
    Ok(())
}

fn stopped() -> bool {
    STOP.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

pub struct Sink {
    out: BufWriter<Box<dyn Write>>,
    target: Option<Target>,
    finished: bool,
}

struct Target {
    path: PathBuf,
    tmp: PathBuf,
}

impl Sink {
    /// Records go to stdout as they are produced.
    pub fn stdout() -> Sink {
        Sink {
            out: BufWriter::with_capacity(1 << 16, Box::new(std::io::stdout())),
            target: None,
            finished: false,
        }
    }

    /// Records go to a temp file next to `path`; `finish` renames it.
    pub fn file(path: &Path) -> Result<Sink> {
        let tmp = temp_path(path);
        let file = File::create(&tmp).map_err(io_err(path))?;
        Ok(Sink {
            out: BufWriter::with_capacity(1 << 16, Box::new(file)),
            target: Some(Target {
                path: path.to_path_buf(),
                tmp,
            }),
            finished: false,
        })
    }

    /// Any writer (tests, benchmarks).
    pub fn writer(w: Box<dyn Write>) -> Sink {
        Sink {
            out: BufWriter::new(w),
            target: None,
            finished: false,
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.target.as_ref().map(|t| t.path.as_path())
    }

    /// Write one record as one JSON line.
    pub fn record(&mut self, value: &serde_json::Value) -> Result<()> {
        if stopped() {
            return Err(super::LabelError::Interrupted);
        }
        let path = self.display_path();
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| io_err(&path)(std::io::Error::from(e)))?;
        self.out.write_all(b"\n").map_err(io_err(&path))
    }

    fn display_path(&self) -> PathBuf {
        self.target
            .as_ref()
            .map_or_else(|| PathBuf::from("<stdout>"), |t| t.tmp.clone())
    }

    /// Flush; for a file: fsync, rename over the target, fsync the directory.
    pub fn finish(mut self) -> Result<()> {
        if stopped() {
            return Err(super::LabelError::Interrupted);
        }
        let path = self.display_path();
        self.out.flush().map_err(io_err(&path))?;
        self.finished = true;
        let Some(t) = self.target.take() else {
            return Ok(());
        };
        // Reopen to fsync: the BufWriter owns the handle as a `dyn Write`.
        let f = File::open(&t.tmp).map_err(io_err(&t.tmp))?;
        f.sync_all().map_err(io_err(&t.tmp))?;
        drop(f);
        std::fs::rename(&t.tmp, &t.path).map_err(|e| {
            let _ = std::fs::remove_file(&t.tmp);
            io_err(&t.path)(e)
        })?;
        sync_parent(&t.path);
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // An export that failed part-way: remove the temp file, leave the
        // target as it was.
        if let (false, Some(t)) = (self.finished, &self.target) {
            let _ = std::fs::remove_file(&t.tmp);
        }
    }
}

/// `.NAME.PID.tmp` in the target's directory (same filesystem for rename).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(parent) {
        let _ = d.sync_all();
    }
}

/// Write `bytes` to `path` atomically (the manifest).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut sink = Sink::file(path)?;
    sink.out.write_all(bytes).map_err(io_err(path))?;
    sink.finish()
}
