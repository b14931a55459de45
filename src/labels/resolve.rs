//! Candidates and `--resolve`: several evaluators may have labelled the same
//! unit (a task's verdict, one critique, one step path).

use super::meta::Meta;
use super::records::Record;
use super::{Counts, Resolve};
use std::collections::BTreeMap;

/// One evaluator's record for one unit, before resolution.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub evaluator: String,
    /// The value compared across evaluators (e.g. "a", "true", "1,1,-1").
    pub key: String,
    /// The record, without `meta`.
    pub record: Record,
    pub meta: Meta,
    /// Its dialogue has adjacent turns of one role (counted when written).
    pub consecutive: bool,
}

/// Units of one task, in output order; each holds its candidates.
pub type Slots = BTreeMap<SlotId, Vec<Candidate>>;

/// Orders the units of a task in the output (kind of unit, then position).
pub type SlotId = (u8, u64, u64);

/// A chosen record and the evaluators whose value it carries.
pub struct Chosen {
    pub candidate: Candidate,
    pub evaluators: Vec<String>,
}

/// Pick the records to write for one unit; counts conflicts and ties.
pub fn resolve(mut cands: Vec<Candidate>, mode: Resolve, counts: &mut Counts) -> Vec<Chosen> {
    let mut keys: Vec<&str> = cands.iter().map(|c| c.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() > 1 {
        counts.conflicts += 1;
    }
    match mode {
        Resolve::All => cands
            .into_iter()
            .map(|c| Chosen {
                evaluators: vec![c.evaluator.clone()],
                candidate: c,
            })
            .collect(),
        Resolve::Latest => {
            counts.resolved_away += cands.len().saturating_sub(1) as u64;
            let i = latest(&cands);
            let c = cands.swap_remove(i);
            vec![Chosen {
                evaluators: vec![c.evaluator.clone()],
                candidate: c,
            }]
        }
        Resolve::Majority => majority(cands, counts),
    }
}

fn latest(cands: &[Candidate]) -> usize {
    (0..cands.len())
        .max_by_key(|&i| cands[i].meta.last_seq())
        .unwrap_or(0)
}

fn majority(cands: Vec<Candidate>, counts: &mut Counts) -> Vec<Chosen> {
    let mut groups: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    let n = cands.len();
    for c in cands {
        groups.entry(c.key.clone()).or_default().push(c);
    }
    let top = groups.values().map(Vec::len).max().unwrap_or(0);
    let winners: Vec<&String> = groups
        .iter()
        .filter(|(_, g)| g.len() == top)
        .map(|(k, _)| k)
        .collect();
    if winners.len() != 1 {
        // A tie is never broken silently: nothing written, counted.
        counts.ties += 1;
        counts.resolved_away += n as u64;
        return Vec::new();
    }
    let key = winners[0].clone();
    let mut group = groups.remove(&key).unwrap_or_default();
    counts.resolved_away += (n - 1) as u64;
    let evaluators = group.iter().map(|c| c.evaluator.clone()).collect();
    let i = latest(&group);
    vec![Chosen {
        candidate: group.swap_remove(i),
        evaluators,
    }]
}

impl Candidate {
    pub fn new(evaluator: &str, key: impl Into<String>, record: Record, meta: Meta) -> Candidate {
        Candidate {
            evaluator: evaluator.to_string(),
            key: key.into(),
            record,
            meta,
            consecutive: false,
        }
    }
}
