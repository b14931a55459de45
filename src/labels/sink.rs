//! Where records go: stdout, or a file written atomically (`fsutil`), so an
//! interrupted export never leaves half a file at the target path. A file
//! can have a meta sidecar, `FILE.meta.jsonl`, written the same way with
//! one line per record. No output may land inside a session directory.

use super::meta::RecordMeta;
use super::records::{Record, WithMeta};
use super::{io_err, LabelError, MetaMode, Result};
use crate::fsutil::AtomicFile;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use crate::fsutil::temp_path;

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

/// One output stream.
enum Out {
    Stream(BufWriter<Box<dyn Write>>),
    File(BufWriter<AtomicFile>),
}

impl Out {
    fn file(path: &Path) -> Result<Out> {
        refuse_session_path(path)?;
        let f = AtomicFile::create(path).map_err(io_err(path))?;
        Ok(Out::File(BufWriter::with_capacity(1 << 16, f)))
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Out::Stream(w) => w,
            Out::File(w) => w,
        }
    }

    /// Where errors are reported: the temp file being written.
    fn name(&self) -> PathBuf {
        match self {
            Out::Stream(_) => PathBuf::from("<stdout>"),
            Out::File(w) => w.get_ref().temp().to_path_buf(),
        }
    }

    fn line(&mut self, value: &impl serde::Serialize) -> Result<()> {
        let name = self.name();
        let w = self.writer();
        serde_json::to_writer(&mut *w, value)
            .map_err(|e| io_err(&name)(std::io::Error::from(e)))?;
        w.write_all(b"\n").map_err(io_err(&name))
    }

    fn finish(self) -> Result<()> {
        match self {
            Out::Stream(mut w) => w.flush().map_err(io_err("<stdout>")),
            Out::File(w) => {
                let path = w.get_ref().path().to_path_buf();
                let f = w.into_inner().map_err(|e| io_err(&path)(e.into_error()))?;
                f.commit().map_err(io_err(&path))
            }
        }
    }
}

pub struct Sink {
    out: Out,
    target: Option<PathBuf>,
    meta: Option<Out>,
    meta_path: Option<PathBuf>,
    mode: MetaMode,
}

impl Sink {
    fn new(out: Out, target: Option<PathBuf>) -> Sink {
        Sink {
            out,
            target,
            meta: None,
            meta_path: None,
            mode: MetaMode::Inline,
        }
    }

    /// Records go to stdout as they are produced.
    pub fn stdout() -> Sink {
        let out = BufWriter::with_capacity(1 << 16, Box::new(std::io::stdout()) as Box<dyn Write>);
        Sink::new(Out::Stream(out), None)
    }

    /// Records go to a temp file next to `path`; `finish` renames it. A
    /// path inside a session directory is refused.
    pub fn file(path: &Path) -> Result<Sink> {
        Ok(Sink::new(Out::file(path)?, Some(path.to_path_buf())))
    }

    /// Any writer (tests, benchmarks).
    pub fn writer(w: Box<dyn Write>) -> Sink {
        Sink::new(Out::Stream(BufWriter::new(w)), None)
    }

    pub fn path(&self) -> Option<&Path> {
        self.target.as_deref()
    }

    pub fn meta_path(&self) -> Option<&Path> {
        self.meta_path.as_deref()
    }

    /// Choose where meta goes; a sidecar needs an output file.
    pub fn set_meta_mode(&mut self, mode: MetaMode) -> Result<()> {
        self.mode = mode;
        if mode != MetaMode::Sidecar || self.meta.is_some() {
            return Ok(());
        }
        let Some(target) = &self.target else {
            return Err(LabelError::BadOption(
                "a meta sidecar needs an output file (-o FILE); use --meta inline or none for stdout"
                    .into(),
            ));
        };
        let path = meta_path(target);
        self.meta = Some(Out::file(&path)?);
        self.meta_path = Some(path);
        Ok(())
    }

    /// Write one record (and its meta, as the mode says) as one JSON line.
    pub fn record(&mut self, record: &Record, meta: Option<&RecordMeta>) -> Result<()> {
        if stopped() {
            return Err(LabelError::Interrupted);
        }
        match (self.mode, meta) {
            (MetaMode::Inline, Some(meta)) => self.out.line(&WithMeta { record, meta }),
            (MetaMode::Sidecar, Some(meta)) => {
                self.out.line(record)?;
                match &mut self.meta {
                    Some(m) => m.line(meta),
                    None => Ok(()),
                }
            }
            _ => self.out.line(record),
        }
    }

    /// Raw bytes (the manifest).
    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let name = self.out.name();
        self.out.writer().write_all(bytes).map_err(io_err(&name))
    }

    /// Flush; for files: fsync, rename over the target, fsync the
    /// directory (the sidecar first, so a record file never lacks its meta).
    pub fn finish(self) -> Result<()> {
        if stopped() {
            return Err(LabelError::Interrupted);
        }
        if let Some(m) = self.meta {
            m.finish()?;
        }
        self.out.finish()
    }
}

/// `FILE.meta.jsonl` next to `FILE`.
pub fn meta_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".meta.jsonl");
    output.with_file_name(name)
}

/// Write `bytes` to `path` atomically (the manifest).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut sink = Sink::file(path)?;
    sink.write_all(bytes)?;
    sink.finish()
}

/// `crit export -o SESSION/events.jsonl` once replaced a session's log:
/// no export file may be written inside a session directory (one holding
/// `events.jsonl`), wherever symlinks point.
fn refuse_session_path(path: &Path) -> Result<()> {
    let parent = crate::fsutil::parent_dir(path);
    let Ok(dir) = parent.canonicalize() else {
        return Ok(()); // creating the file reports the missing directory
    };
    let mut dirs: Vec<PathBuf> = dir.ancestors().map(Path::to_path_buf).collect();
    // The target itself may be a symlink into a session.
    if let Some(real) = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.extend(real.ancestors().map(Path::to_path_buf));
    }
    match dirs.iter().find(|d| d.join("events.jsonl").is_file()) {
        Some(session) => Err(LabelError::BadOption(format!(
            "{}: refusing to write inside session directory {} (its files are the session's own); choose a path outside it",
            path.display(),
            session.display()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_a_session_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join("s");
        std::fs::create_dir_all(session.join("sub")).unwrap();
        std::fs::write(session.join("events.jsonl"), "").unwrap();
        for p in ["events.jsonl", "out.jsonl", "sub/out.jsonl"] {
            let err = Sink::file(&session.join(p)).err().unwrap();
            assert!(matches!(err, LabelError::BadOption(_)), "{p}");
            assert!(err.to_string().contains("session directory"), "{err}");
        }
        assert_eq!(
            std::fs::read_to_string(session.join("events.jsonl")).unwrap(),
            ""
        );
        #[cfg(unix)]
        {
            let link = tmp.path().join("link.jsonl");
            std::os::unix::fs::symlink(session.join("events.jsonl"), &link).unwrap();
            assert!(Sink::file(&link).is_err(), "a symlink into a session");
        }
        assert!(Sink::file(&tmp.path().join("ok.jsonl")).is_ok());
    }
}
