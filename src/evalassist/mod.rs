//! `crit eval-assist`: how well today's assistance finds the errors humans
//! marked. Runs the model's critiques and checks (through the `Assistant`
//! trait) and crit's computed checks over labelled data, and reports hit
//! rates on the first marked error, false alarms on correct answers,
//! detection on wrong ones, exact baselines and cost (see [`report`]).

pub mod gold;
pub mod prepare;
pub mod report;
pub mod run;
mod table;

pub use gold::{gold, Gold};
pub use prepare::prepare;
pub use report::{report, Header, Report, SCHEMA};
pub use run::{run, EvalError, Options, Outcome, Run};
pub use table::render;
