//! Atomic file writes: a hidden temp file in the target's directory
//! (`.NAME.PID.tmp`, same filesystem so the rename is atomic), fsync'd, then
//! renamed over the target and the directory fsync'd. Readers see the old
//! file or the new one, never half of one. Temp files left by a killed
//! writer are removed by the next writer of the same target once their pid
//! is no longer running.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written; `commit` puts it in place, dropping it without a
/// commit removes the temp file and leaves the target as it was.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    path: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Start writing `path` (removing stale temp files of earlier writers).
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        remove_stale_temps(path);
        let tmp = temp_path(path);
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            file,
            path: path.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn temp(&self) -> &Path {
        &self.tmp
    }

    /// fsync, rename over the target, fsync the directory.
    pub fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        sync_dir(parent_dir(&self.path));
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// `.NAME.PID.tmp` next to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    temp_path_for(path, std::process::id())
}

fn temp_path_for(path: &Path, pid: u32) -> PathBuf {
    path.with_file_name(format!(".{}.{pid}.tmp", file_name(path)))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

/// Remove `.NAME.PID.tmp` files of `path` whose writer is gone (a killed
/// export, say). Temp files of running processes are left alone. Returns
/// how many were removed.
pub fn remove_stale_temps(path: &Path) -> usize {
    let prefix = format!(".{}.", file_name(path));
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid != std::process::id()
            && !pid_alive(pid)
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Is a process with this pid running (or unknowable: then assume yes, so
/// nothing of a live writer is ever removed)?
#[cfg(unix)]
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
pub fn pid_alive(_pid: u32) -> bool {
    true
}

/// The directory a path's file lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// fsync a directory so a rename or a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_the_target_and_drop_leaves_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.jsonl");
        std::fs::write(&path, "old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        drop(f);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert!(!temp_path(&path).exists());
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_of_dead_pids_are_removed_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.jsonl");
        // A child that has exited: its pid is not running any more.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = temp_path_for(&path, dead);
        std::fs::write(&stale, "half").unwrap();
        let live = temp_path_for(&path, 1); // init always runs
        std::fs::write(&live, "busy").unwrap();
        let other = temp_path_for(&tmp.path().join("other.jsonl"), dead);
        std::fs::write(&other, "not ours").unwrap();
        assert_eq!(remove_stale_temps(&path), 1);
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
    }
}
