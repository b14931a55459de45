//! Logs go to a file in the data dir, never to the terminal; llama.cpp's
//! own logging is routed into the same file.

use std::sync::OnceLock;

static GUARD: OnceLock<()> = OnceLock::new();

/// Install the tracing subscriber (file `crit.log` in the log dir).
/// `CRIT_LOG` sets the filter (default `info`).
pub fn init() {
    GUARD.get_or_init(|| {
        let dir = crate::paths::log_dir();
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("crit.log"))
        else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("CRIT_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
}
