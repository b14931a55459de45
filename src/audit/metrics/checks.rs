//! Checks (the assistant's pass/fail/unsure against the evaluator's) and
//! steps (where the evaluator put the first error).

use crate::assist::CheckVerdict;
use crate::audit::obs::{CheckObs, StepPathObs};
use crate::audit::stats::{
    cohen_kappa, confusion, mean, proportion, share, Bootstrap, Confusion, Figure,
};
use serde::Serialize;
use std::collections::BTreeMap;

pub fn check_name(v: CheckVerdict) -> &'static str {
    match v {
        CheckVerdict::Pass => "pass",
        CheckVerdict::Fail => "fail",
        CheckVerdict::Unsure => "unsure",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checks {
    /// Rows: the assistant's verdict; columns: the evaluator's.
    pub matrix: Confusion,
    /// Share of labels equal to the assistant's verdict.
    pub agreement: Figure,
    /// Cohen's kappa, assistant against evaluator.
    pub kappa: Figure,
}

/// Agreement on the model's checks (computed checks are counted apart:
/// see [`computed_checks`]).
pub fn checks(obs: &[CheckObs], boot: Bootstrap) -> Checks {
    agreement(obs.iter().filter(|c| !c.computed), boot)
}

/// Agreement on the checks crit computed, when any was labelled.
pub fn computed_checks(obs: &[CheckObs], boot: Bootstrap) -> Option<Checks> {
    let computed = obs.iter().filter(|c| c.computed);
    (computed.clone().next().is_some()).then(|| agreement(computed, boot))
}

fn agreement<'a>(obs: impl Iterator<Item = &'a CheckObs>, boot: Bootstrap) -> Checks {
    let pairs: Vec<(&str, &str)> = obs
        .map(|c| (check_name(c.assistant), check_name(c.human)))
        .collect();
    let matrix = confusion(&pairs, &["pass", "fail", "unsure"]);
    Checks {
        agreement: proportion(matrix.agreeing(), matrix.n, boot),
        kappa: cohen_kappa(&pairs),
        matrix,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Position {
    /// 1-based step number.
    pub step: usize,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Steps {
    /// (task, evaluator, step list) combinations with step ratings.
    pub rated_paths: usize,
    /// Of those, on the assistant's decomposition (the rest: the task's own steps).
    pub on_decomposition: usize,
    /// Share of rated paths with a step rated -1.
    pub with_error: Figure,
    /// Where the first -1 is.
    pub first_error_step: Vec<Position>,
    /// Mean of (first error step / steps in the list), 1.0 = the last step.
    pub first_error_relative: Figure,
    /// Share of first errors (on a located step) that an assistant critique
    /// overlaps.
    pub first_error_flagged_by_critique: Figure,
}

pub fn steps(paths: &[StepPathObs], boot: Bootstrap) -> Steps {
    let mut hist: BTreeMap<usize, usize> = BTreeMap::new();
    let mut rel = Vec::new();
    for p in paths {
        if let Some(i) = p.first_error {
            *hist.entry(i + 1).or_default() += 1;
            rel.push((i + 1) as f64 / p.steps.max(i + 1) as f64);
        }
    }
    Steps {
        rated_paths: paths.len(),
        on_decomposition: paths.iter().filter(|p| p.decomposition).count(),
        with_error: share(paths.iter().map(|p| p.first_error.is_some()), boot),
        first_error_step: hist
            .into_iter()
            .map(|(step, count)| Position { step, count })
            .collect(),
        first_error_relative: mean(&rel),
        first_error_flagged_by_critique: share(
            paths.iter().filter_map(|p| p.flagged_by_critique),
            boot,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckVerdict::*;

    #[test]
    fn check_matrix_and_agreement() {
        let obs: Vec<CheckObs> = [
            (Pass, Pass),
            (Pass, Fail),
            (Fail, Fail),
            (Unsure, Pass),
            (Pass, Pass),
            (Fail, Fail),
        ]
        .into_iter()
        .map(|(a, h)| CheckObs {
            evaluator: "e".into(),
            assistant: a,
            human: h,
            computed: false,
            unit: 0,
        })
        .collect();
        let c = checks(&obs, Bootstrap::default());
        assert_eq!(
            c.matrix.counts,
            vec![vec![2, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert_eq!((c.agreement.n, c.agreement.count), (6, Some(4)));
        // p_o = 4/6; rows pass 3 fail 2 unsure 1, cols pass 3 fail 3:
        // p_e = (3*3 + 2*3) / 36 = 15/36; κ = (24/36 - 15/36) / (21/36) = 3/7.
        assert!((c.kappa.value.unwrap() - 3.0 / 7.0).abs() < 1e-12);
    }

    fn path(steps: usize, first: Option<usize>, flagged: Option<bool>) -> StepPathObs {
        StepPathObs {
            task: "t".into(),
            evaluator: "e".into(),
            steps,
            decomposition: true,
            first_error: first,
            flagged_by_critique: flagged,
            ratings: vec![],
        }
    }

    #[test]
    fn first_errors() {
        let p = vec![
            path(4, Some(1), Some(true)),
            path(4, Some(3), Some(false)),
            path(2, Some(1), None),
            path(5, None, None),
            path(5, Some(1), Some(true)),
        ];
        let s = steps(&p, Bootstrap::default());
        assert_eq!(s.rated_paths, 5);
        assert_eq!(s.with_error.count, Some(4));
        assert_eq!(
            s.first_error_step,
            vec![
                Position { step: 2, count: 3 },
                Position { step: 4, count: 1 }
            ]
        );
        // Four first errors: too few for a mean (need 5).
        assert_eq!(s.first_error_relative.n, 4);
        assert_eq!(s.first_error_relative.value, None);
        assert_eq!(s.first_error_flagged_by_critique.n, 3);
    }
}
