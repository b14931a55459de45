//! Agreement between evaluators on shared items (Cohen's kappa per pair,
//! Krippendorff's alpha over everyone) and with gold.

use super::effect::correct;
use super::Keyed;
use crate::audit::gold::GoldSet;
use crate::audit::obs::{Id, Observations, WorkObs};
use crate::audit::stats::{alpha, cohen_kappa, share, Bootstrap, Figure, Level};
use crate::session::event::{CritiqueLabel, Preference};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairKappa {
    pub a: String,
    pub b: String,
    /// Cohen's kappa on accept/reject; n = tasks both decided.
    pub kappa_accept: Figure,
}

/// Krippendorff's alpha per kind of judgement; n = pairable units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlphaSet {
    pub accept_nominal: Figure,
    pub preference_nominal: Figure,
    pub score_ordinal: Figure,
    pub score_interval: Figure,
    pub critique_label_nominal: Figure,
    pub check_label_nominal: Figure,
    pub step_rating_ordinal: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldAgreement {
    /// Share of final verdicts matching gold.
    pub accuracy: Figure,
    /// Cohen's kappa of accept/reject against gold's.
    pub kappa_accept: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub pairs: Vec<PairKappa>,
    pub alpha: AlphaSet,
    pub with_gold: Vec<Keyed<GoldAgreement>>,
}

/// Values per unit, for alpha.
fn units<K: Ord>(items: impl IntoIterator<Item = (K, f64)>) -> Vec<Vec<f64>> {
    let mut by: BTreeMap<K, Vec<f64>> = BTreeMap::new();
    for (k, v) in items {
        by.entry(k).or_default().push(v);
    }
    by.into_values().collect()
}

fn verdicts(
    work: &[WorkObs],
) -> impl Iterator<Item = (&WorkObs, &crate::audit::obs::VerdictValue)> {
    work.iter().filter_map(|w| Some((w, w.verdict()?)))
}

fn preference_code(p: Preference) -> f64 {
    match p {
        Preference::A => 0.0,
        Preference::B => 1.0,
        Preference::Tie => 2.0,
    }
}

fn label_code(l: CritiqueLabel) -> f64 {
    match l {
        CritiqueLabel::Valid => 0.0,
        CritiqueLabel::Hallucinated => 1.0,
        CritiqueLabel::Nitpick => 2.0,
    }
}

fn alphas(obs: &Observations) -> AlphaSet {
    let v = || verdicts(&obs.work);
    let accept = units(v().filter_map(|(w, v)| Some((&w.task, f64::from(u8::from(v.accept?))))));
    let pref = units(v().filter_map(|(w, v)| Some((&w.task, preference_code(v.preferred?)))));
    let score = units(v().filter_map(|(w, v)| Some((&w.task, f64::from(v.score?)))));
    let labels = units(
        obs.critique_labels
            .iter()
            .map(|c| (c.unit, label_code(c.label))),
    );
    let checks = units(obs.checks.iter().map(|c| (c.unit, c.human as u8 as f64)));
    let steps = units(
        obs.step_paths
            .iter()
            .flat_map(|p| p.ratings.iter().map(|&(u, r)| (u, f64::from(r)))),
    );
    AlphaSet {
        accept_nominal: alpha(&accept, Level::Nominal),
        preference_nominal: alpha(&pref, Level::Nominal),
        score_ordinal: alpha(&score, Level::Ordinal),
        score_interval: alpha(&score, Level::Interval),
        critique_label_nominal: alpha(&labels, Level::Nominal),
        check_label_nominal: alpha(&checks, Level::Nominal),
        step_rating_ordinal: alpha(&steps, Level::Ordinal),
    }
}

/// Cohen's kappa on accept/reject for every pair of evaluators.
fn pairs(work: &[WorkObs]) -> Vec<PairKappa> {
    let mut by: BTreeMap<&Id, BTreeMap<&Id, bool>> = BTreeMap::new();
    for (w, v) in verdicts(work) {
        if let Some(a) = v.accept {
            by.entry(&w.evaluator).or_default().insert(&w.task, a);
        }
    }
    let names: Vec<&&Id> = by.keys().collect();
    let mut out = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (ma, mb) = (&by[*a], &by[*b]);
            let shared: Vec<(bool, bool)> = ma
                .iter()
                .filter_map(|(t, x)| Some((*x, *mb.get(t)?)))
                .collect();
            if shared.is_empty() {
                continue;
            }
            out.push(PairKappa {
                a: a.to_string(),
                b: b.to_string(),
                kappa_accept: cohen_kappa(&shared),
            });
        }
    }
    out
}

/// Per evaluator: correct? for each verdict, and (evaluator, gold) accepts.
#[derive(Default)]
struct VsGold {
    correct: Vec<bool>,
    accepts: Vec<(bool, bool)>,
}

fn with_gold(work: &[WorkObs], gold: &GoldSet, boot: Bootstrap) -> Vec<Keyed<GoldAgreement>> {
    let mut by: BTreeMap<&Id, VsGold> = BTreeMap::new();
    for (w, v) in verdicts(work) {
        let Some((g, _)) = gold.tasks.get(&*w.task) else {
            continue;
        };
        let entry = by.entry(&w.evaluator).or_default();
        if let Some(c) = correct(v, g) {
            entry.correct.push(c);
        }
        if let (Some(a), Some(b)) = (v.accept, g.accept) {
            entry.accepts.push((a, b));
        }
    }
    by.into_iter()
        .map(|(ev, vs)| Keyed {
            key: ev.to_string(),
            value: GoldAgreement {
                accuracy: share(vs.correct, boot),
                kappa_accept: cohen_kappa(&vs.accepts),
            },
        })
        .collect()
}

pub fn agreement(obs: &Observations, gold: &GoldSet, boot: Bootstrap) -> Agreement {
    Agreement {
        pairs: pairs(&obs.work),
        alpha: alphas(obs),
        with_gold: with_gold(&obs.work, gold, boot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::obs::VerdictValue;

    fn w(ev: &str, task: &str, accept: bool, score: u8) -> WorkObs {
        WorkObs {
            session: 0,
            task: task.into(),
            evaluator: ev.into(),
            arm: None,
            planted: false,
            critique_on_plant: false,
            wrote_critique: false,
            unaided: None,
            assisted: Some(VerdictValue {
                accept: Some(accept),
                score: Some(score),
                ..Default::default()
            }),
            active_ms: 0,
        }
    }

    #[test]
    fn pairwise_kappa_and_alpha() {
        let mut work = Vec::new();
        // ana and ben share six tasks and agree on five.
        for (t, a, b) in [
            ("t1", true, true),
            ("t2", true, true),
            ("t3", false, false),
            ("t4", false, false),
            ("t5", true, false),
            ("t6", false, false),
        ] {
            work.push(w("ana", t, a, if a { 6 } else { 2 }));
            work.push(w("ben", t, b, if b { 6 } else { 2 }));
        }
        work.push(w("cho", "t1", true, 6));
        let obs = Observations {
            work,
            ..Default::default()
        };
        let a = agreement(&obs, &GoldSet::default(), Bootstrap::default());
        // ana·ben, ana·cho and ben·cho (cho shares t1 with both).
        assert_eq!(a.pairs.len(), 3);
        // p_o = 5/6; ana yes 3/6, ben yes 2/6: p_e = 1/6 + 2/6 = 1/2;
        // κ = (5/6 - 1/2) / (1/2) = 2/3.
        assert!((a.pairs[0].kappa_accept.value.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            (a.pairs[1].a.as_str(), a.pairs[1].b.as_str()),
            ("ana", "cho")
        );
        assert_eq!(a.pairs[1].kappa_accept.n, 1);
        assert_eq!(a.alpha.accept_nominal.n, 6);
        assert!(a.alpha.accept_nominal.value.unwrap() > 0.6);
        assert_eq!(a.alpha.preference_nominal.n, 0);
    }
}
