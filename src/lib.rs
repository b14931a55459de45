//! crit: AI-assisted evaluation with a local assistant model.
//!
//! The library holds everything but the terminal UI's drawing: tasks,
//! assistance (and the llama.cpp engine), sessions (the event log and its
//! fold), label exporters and audits. The CLI and the review UI call the same
//! functions.

pub mod assist;
pub mod audit;
pub mod cli;
pub mod config;
pub mod evalassist;
pub mod fsutil;
pub mod hash;
pub mod labels;
pub mod paths;
pub mod replay;
pub mod sanitize;
pub mod session;
pub mod task;
pub mod tui;

/// crit's version, recorded in sessions and provenance.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
