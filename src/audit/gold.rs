//! Gold answers for accuracy: a `--gold` file, imported human verdicts, and
//! planted items (known wrong, so gold is "reject").
//!
//! The file is JSON Lines, one task per line:
//! `{"task": "t1", "accept": false}`, `{"task": "t2", "score": 6}`,
//! `{"task": "t3", "preference": "b"}` (`a`, `b` or `tie`); `id` may stand
//! for `task`, and a line may carry several of the three.

use super::obs::{Id, Observations, VerdictValue};
use super::{AuditError, Result};
use crate::session::event::Preference;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Gold {
    #[serde(default)]
    pub accept: Option<bool>,
    #[serde(default)]
    pub score: Option<u8>,
    #[serde(default)]
    pub preference: Option<Preference>,
}

/// Where a task's gold came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoldSource {
    File,
    Imported,
    Planted,
}

/// Gold per task id.
#[derive(Debug, Clone, Default)]
pub struct GoldSet {
    pub tasks: BTreeMap<String, (Gold, GoldSource)>,
    /// Tasks whose imported verdicts disagree (no gold taken from them).
    pub conflicts: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(alias = "id")]
    task: String,
    #[serde(default)]
    accept: Option<bool>,
    #[serde(default)]
    score: Option<u8>,
    #[serde(default)]
    preference: Option<Preference>,
}

/// Read a gold file; a bad line is an error naming file and line.
pub fn read(path: &Path) -> Result<BTreeMap<String, Gold>> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |message: String| AuditError::Gold {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let line: Line = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        let g = Gold {
            accept: line.accept,
            score: line.score,
            preference: line.preference,
        };
        if g.accept.is_none() && g.score.is_none() && g.preference.is_none() {
            return Err(bad("needs accept, score or preference".into()));
        }
        if let Some(s) = g.score.filter(|s| !(1..=7).contains(s)) {
            return Err(bad(format!("score {s} is outside 1-7")));
        }
        if out.insert(line.task.clone(), g).is_some() {
            return Err(bad(format!("task {:?} appears twice", line.task)));
        }
    }
    Ok(out)
}

/// Combine the sources: the file first, then agreeing imported verdicts,
/// then planted items (reject).
pub fn combine(file: &BTreeMap<String, Gold>, obs: &Observations) -> GoldSet {
    let mut set = GoldSet::default();
    for (task, g) in file {
        set.tasks.insert(task.clone(), (*g, GoldSource::File));
    }
    let mut imported: BTreeMap<&Id, Vec<VerdictValue>> = BTreeMap::new();
    for (task, v) in &obs.imported_verdicts {
        imported.entry(task).or_default().push(*v);
    }
    for (task, values) in imported {
        if set.tasks.contains_key(&**task) {
            continue;
        }
        match agreed(&values) {
            Some(g) => {
                set.tasks
                    .insert(task.to_string(), (g, GoldSource::Imported));
            }
            None => set.conflicts += 1,
        }
    }
    for task in &obs.planted_tasks {
        set.tasks.entry(task.to_string()).or_insert((
            Gold {
                accept: Some(false),
                ..Gold::default()
            },
            GoldSource::Planted,
        ));
    }
    set
}

/// The gold several imported verdicts give, if they agree.
fn agreed(values: &[VerdictValue]) -> Option<Gold> {
    let first = values.first()?;
    let same = values.iter().all(|v| {
        v.accept == first.accept && v.preferred == first.preferred && v.score == first.score
    });
    same.then_some(Gold {
        accept: first.accept,
        score: first.score,
        preference: first.preferred,
    })
}
