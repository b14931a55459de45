//! Checks that need no model: every calculation in the answer recomputed
//! exactly, and the final answer compared with the task's reference. They
//! are instant and deterministic; their provenance is [`TOOL_NAME`] and
//! [`TOOL_VERSION`] instead of a model.

pub mod arith;
mod context;
mod expr;
pub mod final_answer;
pub mod lex;
pub mod number;

use crate::assist::Check;
use crate::task::Task;

/// Names the checker in provenance.
pub const TOOL_NAME: &str = "crit-tools";
/// Bumped whenever a rule changes what a check says, so recorded checks
/// can be told apart from recomputed ones.
pub const TOOL_VERSION: &str = "1";

/// Arithmetic checks in answer order, then the reference check (if the
/// task has a reference). Every check carries the byte span of what it
/// checked in `task.answer` (answer A of a pairwise task).
pub fn checks(task: &Task) -> Vec<Check> {
    let mut out = arith::checks(&task.answer);
    out.extend(final_answer::check(task));
    out
}
