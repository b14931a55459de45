//! Effect of assistance: verdict changes after the reveal on blind-first
//! tasks, and accuracy against gold per protocol arm.

use super::{arm_name, grouped, Keyed};
use crate::audit::gold::{Gold, GoldSet, GoldSource};
use crate::audit::obs::{VerdictValue, WorkObs};
use crate::audit::stats::{difference, mean, proportion, Bootstrap, Figure};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlindFirst {
    /// Blind-first tasks with both an unaided and an assisted verdict.
    pub pairs: usize,
    /// Share whose verdict changed (accept, score or preference).
    pub changed: Figure,
    pub accept_to_reject: usize,
    pub reject_to_accept: usize,
    pub score_up: usize,
    pub score_down: usize,
    pub preference_changed: usize,
    /// Mean of assisted minus unaided confidence (percentage points), over
    /// pairs where both state one.
    pub confidence_change: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldSummary {
    pub tasks: usize,
    pub from_file: usize,
    pub from_imports: usize,
    pub from_planted: usize,
    /// Tasks whose imported verdicts disagree (no gold taken).
    pub import_conflicts: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmDifference {
    pub a: String,
    pub b: String,
    /// Accuracy of arm `a` minus accuracy of arm `b`.
    pub difference: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    pub blind_first: BlindFirst,
    pub gold: GoldSummary,
    /// Share of final verdicts matching gold (accept/reject, or the
    /// preferred answer), per arm; n = verdicts comparable with gold.
    pub accuracy_by_arm: Vec<Keyed<Figure>>,
    pub arm_differences: Vec<ArmDifference>,
}

/// Does verdict `v` match `gold`? `None` when they are not comparable.
pub fn correct(v: &VerdictValue, gold: &Gold) -> Option<bool> {
    match (gold.accept, v.accept, gold.preference, v.preferred) {
        (Some(g), Some(a), _, _) => Some(g == a),
        (_, _, Some(g), Some(p)) => Some(g == p),
        _ => None,
    }
}

fn changed(u: &VerdictValue, a: &VerdictValue) -> bool {
    u.accept != a.accept || u.score != a.score || u.preferred != a.preferred
}

pub fn blind_first(work: &[WorkObs], boot: Bootstrap) -> BlindFirst {
    let pairs: Vec<(&VerdictValue, &VerdictValue)> = work
        .iter()
        .filter(|w| w.arm.as_deref() == Some("blind-first"))
        .filter_map(|w| Some((w.unaided.as_ref()?, w.assisted.as_ref()?)))
        .collect();
    let count = |f: &dyn Fn(&VerdictValue, &VerdictValue) -> bool| {
        pairs.iter().filter(|(u, a)| f(u, a)).count()
    };
    let conf: Vec<f64> = pairs
        .iter()
        .filter_map(|(u, a)| Some(f64::from(a.confidence?) - f64::from(u.confidence?)))
        .collect();
    BlindFirst {
        pairs: pairs.len(),
        changed: proportion(count(&|u, a| changed(u, a)), pairs.len(), boot),
        accept_to_reject: count(&|u, a| u.accept == Some(true) && a.accept == Some(false)),
        reject_to_accept: count(&|u, a| u.accept == Some(false) && a.accept == Some(true)),
        score_up: count(&|u, a| matches!((u.score, a.score), (Some(x), Some(y)) if y > x)),
        score_down: count(&|u, a| matches!((u.score, a.score), (Some(x), Some(y)) if y < x)),
        preference_changed: count(&|u, a| {
            u.preferred.is_some() && a.preferred.is_some() && u.preferred != a.preferred
        }),
        confidence_change: mean(&conf),
    }
}

fn gold_summary(gold: &GoldSet) -> GoldSummary {
    let from = |s: GoldSource| gold.tasks.values().filter(|(_, src)| *src == s).count();
    GoldSummary {
        tasks: gold.tasks.len(),
        from_file: from(GoldSource::File),
        from_imports: from(GoldSource::Imported),
        from_planted: from(GoldSource::Planted),
        import_conflicts: gold.conflicts,
    }
}

/// (arm, correct?) for every final verdict comparable with gold.
pub fn scored(work: &[WorkObs], gold: &GoldSet) -> Vec<(String, bool)> {
    work.iter()
        .filter_map(|w| {
            let (g, _) = gold.tasks.get(&*w.task)?;
            Some((arm_name(&w.arm), correct(w.verdict()?, g)?))
        })
        .collect()
}

pub fn effect(work: &[WorkObs], gold: &GoldSet, boot: Bootstrap) -> Effect {
    let scored = scored(work, gold);
    let tally = |g: &[&(String, bool)]| (g.iter().filter(|s| s.1).count(), g.len());
    let by_arm: Vec<Keyed<(usize, usize)>> = grouped(&scored, |s| Some(s.0.clone()), tally);
    let mut diffs = Vec::new();
    for (i, a) in by_arm.iter().enumerate() {
        for b in &by_arm[i + 1..] {
            diffs.push(ArmDifference {
                a: a.key.clone(),
                b: b.key.clone(),
                difference: difference(a.value, b.value, boot),
            });
        }
    }
    Effect {
        blind_first: blind_first(work, boot),
        gold: gold_summary(gold),
        accuracy_by_arm: by_arm
            .into_iter()
            .map(|k| Keyed {
                key: k.key,
                value: proportion(k.value.0, k.value.1, boot),
            })
            .collect(),
        arm_differences: diffs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(accept: bool, score: u8, conf: u8) -> VerdictValue {
        VerdictValue {
            accept: Some(accept),
            score: Some(score),
            confidence: Some(conf),
            preferred: None,
        }
    }

    fn bf(u: VerdictValue, a: VerdictValue) -> WorkObs {
        WorkObs {
            session: 0,
            task: "t".into(),
            evaluator: "e".into(),
            arm: Some("blind-first".into()),
            planted: false,
            critique_on_plant: false,
            wrote_critique: false,
            unaided: Some(u),
            assisted: Some(a),
            active_ms: 0,
        }
    }

    #[test]
    fn blind_first_changes() {
        let w = vec![
            bf(v(true, 6, 70), v(false, 3, 90)),
            bf(v(true, 5, 60), v(true, 5, 60)),
            bf(v(false, 2, 80), v(true, 5, 70)),
            bf(v(true, 5, 50), v(true, 6, 80)),
            bf(v(true, 5, 50), v(true, 5, 50)),
        ];
        let b = blind_first(&w, Bootstrap::default());
        assert_eq!(b.pairs, 5);
        assert_eq!(b.changed.count, Some(3));
        assert_eq!((b.accept_to_reject, b.reject_to_accept), (1, 1));
        assert_eq!((b.score_up, b.score_down), (2, 1));
        // (20 + 0 - 10 + 30 + 0) / 5 = 8.
        assert_eq!(b.confidence_change.value, Some(8.0));
    }

    #[test]
    fn correctness_against_gold() {
        let g = Gold {
            accept: Some(false),
            ..Gold::default()
        };
        assert_eq!(correct(&v(false, 1, 50), &g), Some(true));
        assert_eq!(correct(&v(true, 1, 50), &g), Some(false));
        let pref = Gold {
            preference: Some(crate::session::event::Preference::B),
            ..Gold::default()
        };
        assert_eq!(correct(&v(true, 1, 50), &pref), None);
    }
}
