//! SHA-256 helpers; model hashes are cached by path, size and mtime.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::SystemTime;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams the file through SHA-256 without loading it whole.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

type CacheKey = (PathBuf, u64, Option<SystemTime>);

/// Hash a (large) file once per process for a given path+size+mtime; a
/// small on-disk cache next to the file's cache dir avoids re-hashing models
/// across runs (see `paths::hash_cache_file`).
pub fn sha256_file_cached(path: &Path) -> std::io::Result<String> {
    static CACHE: LazyLock<Mutex<HashMap<CacheKey, String>>> = LazyLock::new(Mutex::default);
    let meta = std::fs::metadata(path)?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    // A poisoned lock only means another thread panicked mid-insert; the
    // map itself is still a valid cache.
    let cache = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = cache().get(&key) {
        return Ok(hit.clone());
    }
    let disk_key = disk_key(&key);
    let cache_file = crate::paths::hash_cache_file();
    let digest = match read_disk_cache(&cache_file, &disk_key) {
        Some(hit) => hit,
        None => {
            let digest = sha256_file(path)?;
            write_disk_cache(&cache_file, &disk_key, &digest);
            digest
        }
    };
    cache().insert(key, digest.clone());
    Ok(digest)
}

fn disk_key((path, size, mtime): &CacheKey) -> String {
    let nanos = mtime
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}\t{size}\t{nanos}", path.display())
}

fn read_disk_cache(file: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .rev()
        .find_map(|line| {
            line.strip_prefix(key)?
                .strip_prefix('\t')
                .map(str::to_string)
        })
        .filter(|d| d.len() == 64)
}

fn write_disk_cache(file: &Path, key: &str, digest: &str) {
    use std::io::Write;
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = writeln!(f, "{key}\t{digest}");
    }
}
