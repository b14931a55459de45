//! Audits over sessions: statistics, study assignment, the fold of a
//! study's sessions into plain observations, the metrics over them and the
//! report in four renderings (terminal, JSON, Markdown, HTML).
//!
//! The pipeline: [`extract::observe`] reads and folds each session (one at
//! a time) into [`obs::Observations`]; [`gold::combine`] settles gold;
//! [`metrics::report`] computes every figure (pure); [`render`] draws it.

pub mod assign;
pub mod extract;
pub mod gold;
pub mod metrics;
pub mod obs;
pub mod plant;
pub mod render;
pub mod stats;
pub mod views;

pub use metrics::{Report, Settings};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Gold {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, AuditError>;

/// Audit the sessions in `dirs` (a study: one session per evaluator, or
/// any sessions) against optional gold.
pub fn audit(dirs: &[PathBuf], gold_file: Option<&Path>, settings: Settings) -> Result<Report> {
    let file = match gold_file {
        Some(p) => gold::read(p)?,
        None => Default::default(),
    };
    let obs = extract::observe(dirs)?;
    let gold = gold::combine(&file, &obs);
    Ok(metrics::report(&obs, &gold, settings))
}
