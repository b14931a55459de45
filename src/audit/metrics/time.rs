//! Time and reliance: active time per task, labels given too fast to have
//! been read (a rubber-stamping signal), and critiques accepted as valid
//! without their quoted span being looked at.

use super::{arm_name, grouped, Keyed};
use crate::audit::obs::{LatencyObs, Observations, WorkObs};
use crate::audit::stats::{mean, median, share, Bootstrap, Figure};
use crate::session::event::CritiqueLabel;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeStats {
    /// Tasks with active time.
    pub n: usize,
    pub mean_seconds: Figure,
    pub median_seconds: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RubberStamp {
    pub threshold_ms: i64,
    /// Share of labels on assistance given less than `threshold_ms` after
    /// the item was first shown (n = labels whose showing the view events
    /// record).
    pub fast: Figure,
    pub by_evaluator: Vec<Keyed<Figure>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Time {
    /// Active time per task (evaluator, task), by arm.
    pub by_arm: Vec<Keyed<TimeStats>>,
    pub by_evaluator: Vec<Keyed<TimeStats>>,
    /// Keys are `evaluator/arm`.
    pub by_evaluator_arm: Vec<Keyed<TimeStats>>,
    pub rubber_stamp: RubberStamp,
    /// Share of "valid" labels on assistant critiques given without the
    /// evaluator having focused the critique (which highlights its quote).
    pub valid_without_focus: Figure,
}

fn stats(work: &[&WorkObs]) -> TimeStats {
    let secs: Vec<f64> = work.iter().map(|w| w.active_ms as f64 / 1000.0).collect();
    TimeStats {
        n: secs.len(),
        mean_seconds: mean(&secs),
        median_seconds: median(&secs),
    }
}

fn fast(latencies: &[&LatencyObs], threshold_ms: i64, boot: Bootstrap) -> Figure {
    share(latencies.iter().map(|l| l.ms < threshold_ms), boot)
}

pub fn time(obs: &Observations, threshold_ms: i64, boot: Bootstrap) -> Time {
    let timed: Vec<&WorkObs> = obs.work.iter().filter(|w| w.active_ms > 0).collect();
    let lat: Vec<&LatencyObs> = obs.label_latencies.iter().collect();
    let valid = obs
        .critique_labels
        .iter()
        .filter(|c| c.label == CritiqueLabel::Valid);
    Time {
        by_arm: grouped(timed.iter().copied(), |w| Some(arm_name(&w.arm)), stats),
        by_evaluator: grouped(
            timed.iter().copied(),
            |w| Some(w.evaluator.to_string()),
            stats,
        ),
        by_evaluator_arm: grouped(
            timed.iter().copied(),
            |w| Some(format!("{}/{}", w.evaluator, arm_name(&w.arm))),
            stats,
        ),
        rubber_stamp: RubberStamp {
            threshold_ms,
            fast: fast(&lat, threshold_ms, boot),
            by_evaluator: grouped(
                lat.iter().copied(),
                |l| Some(l.evaluator.to_string()),
                |g| fast(g, threshold_ms, boot),
            ),
        },
        valid_without_focus: share(valid.map(|c| !c.focused), boot),
    }
}
