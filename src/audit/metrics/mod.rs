//! The audit's figures: pure functions from [`Observations`] (and gold) to
//! the [`Report`]. Field names are the JSON report's (see `docs/audit.md`).

mod agreement;
mod checks;
mod effect;
mod flaws;
mod precision;
mod time;

pub use agreement::{Agreement, AlphaSet, PairKappa};
pub use checks::{Checks, Steps};
pub use effect::{ArmDifference, BlindFirst, Effect, GoldSummary};
pub use flaws::{MissedFlaws, Planted, TaskMissed};
pub use precision::{LabelShares, Precision};
pub use time::{RubberStamp, Time, TimeStats};

use super::gold::GoldSet;
use super::obs::{Observations, SessionInfo};
use super::stats::{Bootstrap, MIN_N};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the JSON report's layout; bumped on incompatible changes.
pub const REPORT_FORMAT: u32 = 1;

/// A label taken within this long of the item first being shown counts as
/// a possible rubber stamp.
pub const RUBBER_STAMP_MS: i64 = 2000;

/// How the figures were computed (stated in every rendering).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub bootstrap_seed: u64,
    pub bootstrap_resamples: usize,
    pub ci_level: f64,
    /// Figures from fewer observations are "insufficient data".
    pub min_n: usize,
    pub rubber_stamp_ms: i64,
}

impl Settings {
    pub fn new(boot: Bootstrap) -> Settings {
        Settings {
            bootstrap_seed: boot.seed,
            bootstrap_resamples: boot.resamples,
            ci_level: 0.95,
            min_n: MIN_N,
            rubber_stamp_ms: RUBBER_STAMP_MS,
        }
    }

    pub fn boot(&self) -> Bootstrap {
        Bootstrap {
            seed: self.bootstrap_seed,
            resamples: self.bootstrap_resamples,
        }
    }
}

/// A figure (or group of figures) for one key: a model hash, an arm, an
/// evaluator, a severity...
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keyed<T> {
    pub key: String,
    #[serde(flatten)]
    pub value: T,
}

/// A study from the `assigned` events of its sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    pub study: String,
    pub evaluators: Vec<String>,
    pub overlap: usize,
    pub seed: u64,
    pub qc_rate: f64,
    /// Sessions of this study among those audited.
    pub sessions: usize,
    /// Items assigned across those sessions (planted included).
    pub items: usize,
    pub qc_items: usize,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub format: u32,
    pub settings: Settings,
    pub sessions: Vec<SessionInfo>,
    pub studies: Vec<Study>,
    pub precision: Precision,
    pub missed_flaws: MissedFlaws,
    /// The model's checks.
    pub checks: Checks,
    /// Checks computed by crit's tools; absent when none was labelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computed_checks: Option<Checks>,
    pub steps: Steps,
    pub effect: Effect,
    pub planted: Planted,
    pub agreement: Agreement,
    pub time: Time,
}

/// Compute every figure.
pub fn report(obs: &Observations, gold: &GoldSet, settings: Settings) -> Report {
    let boot = settings.boot();
    Report {
        format: REPORT_FORMAT,
        sessions: obs.sessions.clone(),
        studies: studies(&obs.sessions),
        precision: precision::precision(&obs.critique_labels, boot),
        missed_flaws: flaws::missed(&obs.user_critiques, &obs.planted_quotes, boot),
        checks: checks::checks(&obs.checks, boot),
        computed_checks: checks::computed_checks(&obs.checks, boot),
        steps: checks::steps(&obs.step_paths, boot),
        effect: effect::effect(&obs.work, gold, boot),
        planted: flaws::planted(&obs.work, &obs.planted_tasks, boot),
        agreement: agreement::agreement(obs, gold, boot),
        time: time::time(obs, settings.rubber_stamp_ms, boot),
        settings,
    }
}

fn studies(sessions: &[SessionInfo]) -> Vec<Study> {
    let mut by: BTreeMap<&str, Study> = BTreeMap::new();
    for d in sessions.iter().filter_map(|s| s.design.as_ref()) {
        let s = by.entry(&d.study).or_insert_with(|| Study {
            study: d.study.clone(),
            evaluators: d.evaluators.clone(),
            overlap: d.overlap,
            seed: d.seed,
            qc_rate: d.qc_rate,
            sessions: 0,
            items: 0,
            qc_items: 0,
        });
        s.sessions += 1;
        s.items += d.items;
        s.qc_items += d.qc;
    }
    by.into_values().collect()
}

/// Group `items` by `key` (sorted) and compute a value per group.
fn grouped<'a, T: 'a, V>(
    items: impl IntoIterator<Item = &'a T>,
    key: impl Fn(&T) -> Option<String>,
    value: impl Fn(&[&T]) -> V,
) -> Vec<Keyed<V>> {
    let mut groups: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for item in items {
        if let Some(k) = key(item) {
            groups.entry(k).or_default().push(item);
        }
    }
    groups
        .into_iter()
        .map(|(key, g)| Keyed {
            key,
            value: value(&g),
        })
        .collect()
}

/// Name of an arm for grouping; work without a recorded arm is "unrecorded".
fn arm_name(arm: &Option<super::obs::Id>) -> String {
    arm.as_deref().unwrap_or("unrecorded").to_string()
}
