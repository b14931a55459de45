//! Audits over sessions: statistics, study assignment, the fold of a
//! study's sessions into plain observations, the metrics over them and the
//! report in four renderings (terminal, JSON, Markdown, HTML).

pub mod stats;
