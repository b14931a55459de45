//! Flaws the assistant missed (evaluator-written critiques no assistant
//! critique overlaps) and planted flaws the evaluators caught.

use super::{arm_name, grouped, Keyed};
use crate::audit::extract::distinct;
use crate::audit::obs::{Id, UserCritiqueObs, WorkObs};
use crate::audit::stats::{proportion, share, Bootstrap, Figure};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskMissed {
    pub task: String,
    /// Critiques evaluators wrote on the task.
    pub written: usize,
    /// Of those, comparable with the assistant's (anchored, on answer A, and
    /// the task has assistant critiques).
    pub comparable: usize,
    /// Comparable ones no assistant critique overlaps.
    pub missed: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissedFlaws {
    /// Critiques the evaluators wrote themselves.
    pub written: usize,
    /// Share of comparable evaluator critiques that no assistant critique
    /// overlaps by byte span (n = comparable ones).
    pub missed: Figure,
    /// Tasks with evaluator-written critiques.
    pub per_task: Vec<TaskMissed>,
    /// Share of assistant critiques on planted tasks whose quote overlaps
    /// the planted span (n = assistant critiques on planted tasks).
    pub assistant_quotes_plant: Figure,
}

pub fn missed(user: &[UserCritiqueObs], planted_quotes: &[bool], boot: Bootstrap) -> MissedFlaws {
    let comparable: Vec<bool> = user.iter().filter_map(|u| u.found_by_assistant).collect();
    let mut per: BTreeMap<&Id, TaskMissed> = BTreeMap::new();
    for u in user {
        let t = per.entry(&u.task).or_insert_with(|| TaskMissed {
            task: u.task.to_string(),
            written: 0,
            comparable: 0,
            missed: 0,
        });
        t.written += 1;
        if let Some(found) = u.found_by_assistant {
            t.comparable += 1;
            t.missed += usize::from(!found);
        }
    }
    MissedFlaws {
        written: user.len(),
        missed: share(comparable.iter().map(|f| !f), boot),
        per_task: per.into_values().collect(),
        assistant_quotes_plant: share(planted_quotes.iter().copied(), boot),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planted {
    /// Distinct planted tasks in the sessions.
    pub items: usize,
    /// Share of reviews of planted items that caught the flaw: the verdict
    /// rejects, or an evaluator critique overlaps the planted span. A review
    /// is an evaluator's verdict or own critique on a planted item.
    pub caught: Figure,
    pub by_arm: Vec<Keyed<Figure>>,
    pub by_evaluator: Vec<Keyed<Figure>>,
}

fn reviewed(w: &WorkObs) -> bool {
    w.planted && (w.verdict().is_some() || w.wrote_critique)
}

pub fn caught(w: &WorkObs) -> bool {
    w.verdict().is_some_and(|v| v.accept == Some(false)) || w.critique_on_plant
}

fn catch_rate(reviews: &[&WorkObs], boot: Bootstrap) -> Figure {
    let n = reviews.len();
    proportion(reviews.iter().filter(|w| caught(w)).count(), n, boot)
}

pub fn planted(work: &[WorkObs], planted_tasks: &[Id], boot: Bootstrap) -> Planted {
    let reviews: Vec<&WorkObs> = work.iter().filter(|w| reviewed(w)).collect();
    Planted {
        items: distinct(planted_tasks),
        caught: catch_rate(&reviews, boot),
        by_arm: grouped(
            reviews.iter().copied(),
            |w| Some(arm_name(&w.arm)),
            |g| catch_rate(g, boot),
        ),
        by_evaluator: grouped(
            reviews.iter().copied(),
            |w| Some(w.evaluator.to_string()),
            |g| catch_rate(g, boot),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::obs::VerdictValue;

    fn user(task: &str, found: Option<bool>) -> UserCritiqueObs {
        UserCritiqueObs {
            task: task.into(),
            evaluator: "e".into(),
            found_by_assistant: found,
        }
    }

    #[test]
    fn missed_counts_comparable_only() {
        let u = vec![
            user("a", Some(false)),
            user("a", Some(true)),
            user("b", None),
            user("b", Some(false)),
            user("c", Some(false)),
            user("c", Some(true)),
        ];
        let m = missed(
            &u,
            &[true, false, false, false, false],
            Bootstrap::default(),
        );
        assert_eq!(m.written, 6);
        assert_eq!((m.missed.n, m.missed.count), (5, Some(3)));
        assert_eq!(m.per_task[1].written, 2);
        assert_eq!((m.per_task[1].comparable, m.per_task[1].missed), (1, 1));
        assert_eq!(m.assistant_quotes_plant.value, Some(0.2));
    }

    fn work(ev: &str, arm: &str, accept: Option<bool>, critique: bool) -> WorkObs {
        WorkObs {
            session: 0,
            task: "p".into(),
            evaluator: ev.into(),
            arm: Some(arm.into()),
            planted: true,
            critique_on_plant: critique,
            wrote_critique: critique,
            unaided: None,
            assisted: accept.map(|a| VerdictValue {
                accept: Some(a),
                ..Default::default()
            }),
            active_ms: 0,
        }
    }

    #[test]
    fn catch_rate_by_arm_and_evaluator() {
        let w = vec![
            work("ana", "assisted", Some(false), false), // caught: rejected
            work("ana", "assisted", Some(true), true),   // caught: critique
            work("ben", "assisted", Some(true), false),  // missed
            work("ben", "blind-first", Some(false), false),
            work("cho", "blind-first", None, false), // not reviewed
            work("cho", "blind-first", Some(true), false),
        ];
        let p = planted(&w, &["p".into(), "p".into()], Bootstrap::default());
        assert_eq!(p.items, 1);
        assert_eq!((p.caught.n, p.caught.count), (5, Some(3)));
        assert_eq!(p.by_arm[0].key, "assisted");
        assert_eq!((p.by_arm[0].value.n, p.by_arm[0].value.count), (3, Some(2)));
        assert_eq!(p.by_evaluator[2].key, "cho");
        assert_eq!(p.by_evaluator[2].value.n, 1);
    }
}
