//! Study design (`crit assign`): one session per evaluator, every task seen
//! by exactly `overlap` evaluators with balanced loads, a random order per
//! evaluator, optional protocol arms per task and planted QC items mixed in.
//! Deterministic per seed. The plan is written into each session as an
//! `assigned` event right after `session_created`.

use crate::session::event::{Protocol, ProtocolSpec, SourceFormat};
use crate::session::protocol::arm_for;
use crate::session::{Body, Session, SessionError};
use crate::task::Task;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// The request cannot be met (bad option values).
    #[error("{0}")]
    Invalid(String),
    #[error("session {0} already exists; choose another --prefix or remove it")]
    Exists(PathBuf),
    #[error(transparent)]
    Session(#[from] SessionError),
}

pub type Result<T> = std::result::Result<T, AssignError>;

/// What the researcher asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySpec {
    pub study: String,
    pub evaluators: Vec<String>,
    /// Evaluators per task.
    pub overlap: usize,
    pub seed: u64,
    /// Share of each evaluator's items that are planted, in [0, 1).
    pub qc_rate: f64,
    /// Protocol arms drawn per task; empty: none.
    pub arms: Vec<Protocol>,
}

/// One evaluator's session.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorPlan {
    pub evaluator: String,
    /// Tasks in review order (regular and planted mixed).
    pub tasks: Vec<Task>,
    /// Ids of the planted items among them.
    pub qc: Vec<String>,
    /// Arm per task id (empty without arms).
    pub arms: BTreeMap<String, Protocol>,
}

impl EvaluatorPlan {
    pub fn regular(&self) -> usize {
        self.tasks.len() - self.qc.len()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub spec: StudySpec,
    pub sessions: Vec<EvaluatorPlan>,
    /// `overlap[a][b]`: regular tasks evaluators a and b both see
    /// (the diagonal is a's own count).
    pub overlap: Vec<Vec<usize>>,
}

fn validate(tasks: &[Task], planted: &[Task], spec: &StudySpec) -> Result<()> {
    let bad = |m: String| Err(AssignError::Invalid(m));
    let e = spec.evaluators.len();
    if e == 0 {
        return bad("--evaluators: name at least one evaluator".into());
    }
    let mut seen = HashSet::new();
    for name in &spec.evaluators {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.starts_with('.');
        if !ok {
            return bad(format!(
                "--evaluators: {name:?} is not a usable name (letters, digits, - _ . only)"
            ));
        }
        if !seen.insert(name) {
            return bad(format!("--evaluators: {name:?} is listed twice"));
        }
    }
    if spec.overlap == 0 || spec.overlap > e {
        return bad(format!(
            "--overlap {} must be between 1 and the number of evaluators ({e})",
            spec.overlap
        ));
    }
    if !(0.0..1.0).contains(&spec.qc_rate) {
        return bad(format!("--qc-rate {} must be in [0, 1)", spec.qc_rate));
    }
    if tasks.is_empty() {
        return bad("the task file has no tasks".into());
    }
    if spec.qc_rate > 0.0 && planted.is_empty() {
        return bad("--qc-rate needs planted tasks, and there are none".into());
    }
    let ids: HashSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    if ids.len() != tasks.len() {
        return bad("task ids are not unique".into());
    }
    if let Some(p) = planted.iter().find(|p| ids.contains(p.id.as_str())) {
        return bad(format!(
            "planted task id {:?} is also a task id; planted copies need their own ids",
            p.id
        ));
    }
    Ok(())
}

/// Make the plan. `planted` are tampered copies (with `meta.planted`).
pub fn plan(tasks: &[Task], planted: &[Task], spec: &StudySpec) -> Result<Plan> {
    validate(tasks, planted, spec)?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let assigned = spread(tasks.len(), spec.evaluators.len(), spec.overlap, &mut rng);
    let overlap = overlap_matrix(&assigned);
    let sessions = spec
        .evaluators
        .iter()
        .zip(&assigned)
        .map(|(name, mine)| evaluator_plan(name, mine, tasks, planted, spec, &mut rng))
        .collect();
    Ok(Plan {
        spec: spec.clone(),
        sessions,
        overlap,
    })
}

/// Give each of `n` tasks to `k` of `e` evaluators: greedily the least
/// loaded, then the one sharing fewest tasks with those already chosen
/// (spreads the pairs for agreement), then at random. Tasks are visited in
/// random order. Returns each evaluator's task indices.
fn spread(n: usize, e: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut load = vec![0usize; e];
    let mut pairs = vec![vec![0usize; e]; e];
    let mut out = vec![Vec::new(); e];
    for t in order {
        let mut chosen: Vec<usize> = Vec::with_capacity(k);
        for _ in 0..k {
            let ties: Vec<u64> = (0..e).map(|_| rng.random()).collect();
            let best = (0..e)
                .filter(|c| !chosen.contains(c))
                .min_by_key(|&c| {
                    let shared: usize = chosen.iter().map(|&x| pairs[c][x]).sum();
                    (load[c], shared, ties[c])
                })
                .expect("k <= e");
            for &x in &chosen {
                pairs[best][x] += 1;
                pairs[x][best] += 1;
            }
            load[best] += 1;
            chosen.push(best);
            out[best].push(t);
        }
    }
    for list in &mut out {
        list.sort_unstable();
    }
    out
}

fn overlap_matrix(assigned: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let sets: Vec<HashSet<usize>> = assigned
        .iter()
        .map(|a| a.iter().copied().collect())
        .collect();
    sets.iter()
        .map(|a| sets.iter().map(|b| a.intersection(b).count()).collect())
        .collect()
}

/// Planted items for `mine` = round(n * r / (1 - r)), so they make up share
/// r of what the evaluator sees; copies of tasks the evaluator also sees go
/// last (seeing both would give the plant away).
fn evaluator_plan(
    name: &str,
    mine: &[usize],
    tasks: &[Task],
    planted: &[Task],
    spec: &StudySpec,
    rng: &mut ChaCha8Rng,
) -> EvaluatorPlan {
    let own: HashSet<&str> = mine.iter().map(|&i| tasks[i].id.as_str()).collect();
    let want = (mine.len() as f64 * spec.qc_rate / (1.0 - spec.qc_rate)).round() as usize;
    let mut pool: Vec<&Task> = planted.iter().collect();
    pool.shuffle(rng);
    pool.sort_by_key(|p| {
        p.meta
            .get("planted_from")
            .and_then(|v| v.as_str())
            .is_some_and(|src| own.contains(src))
    });
    let qc: Vec<&Task> = pool.into_iter().take(want).collect();
    let mut items: Vec<Task> = mine.iter().map(|&i| tasks[i].clone()).collect();
    items.extend(qc.iter().map(|t| (*t).clone()));
    items.shuffle(rng);
    let arms = if spec.arms.is_empty() {
        BTreeMap::new()
    } else {
        items
            .iter()
            .map(|t| (t.id.clone(), arm_for(&review_spec(spec), &t.id)))
            .collect()
    };
    EvaluatorPlan {
        evaluator: name.to_string(),
        qc: qc.iter().map(|t| t.id.clone()).collect(),
        tasks: items,
        arms,
    }
}

/// The protocol `crit review` follows in these sessions: the same arms and
/// seed, so the review draws exactly the arms recorded here.
pub fn review_spec(spec: &StudySpec) -> ProtocolSpec {
    ProtocolSpec::Arms {
        arms: spec.arms.clone(),
        seed: spec.seed,
    }
}

/// Session directory name of an evaluator.
pub fn session_name(prefix: &str, evaluator: &str) -> String {
    format!("{prefix}-{evaluator}")
}

/// Create every evaluator's session under `root` (none may exist yet) and
/// record the design in it. Returns the session directories.
pub fn write(plan: &Plan, root: &Path, prefix: &str, source: &str) -> Result<Vec<PathBuf>> {
    let dirs: Vec<PathBuf> = plan
        .sessions
        .iter()
        .map(|s| root.join(session_name(prefix, &s.evaluator)))
        .collect();
    if let Some(d) = dirs.iter().find(|d| d.join("events.jsonl").exists()) {
        return Err(AssignError::Exists(d.clone()));
    }
    for (s, dir) in plan.sessions.iter().zip(&dirs) {
        write_one(&plan.spec, s, dir, source)?;
    }
    Ok(dirs)
}

/// A one-evaluator session at `dir` with planted items from `pool` mixed in
/// at `spec.qc_rate`: what `crit review --qc-rate` starts.
pub fn qc_session(
    tasks: &[Task],
    pool: &[Task],
    spec: &StudySpec,
    dir: &Path,
    source: &str,
) -> Result<Session> {
    let plan = plan(tasks, pool, spec)?;
    write_one(spec, &plan.sessions[0], dir, source)
}

/// Create one evaluator's session at `dir` and record its part of the plan
/// (also how `crit review --qc-rate` starts a session with QC items).
pub fn write_one(spec: &StudySpec, s: &EvaluatorPlan, dir: &Path, source: &str) -> Result<Session> {
    let mut session = Session::create_or_open(dir, &s.tasks, source, SourceFormat::Native)?;
    session.append_durable(Body::Assigned {
        study: spec.study.clone(),
        evaluator: s.evaluator.clone(),
        evaluators: spec.evaluators.clone(),
        overlap: spec.overlap,
        seed: spec.seed,
        qc_rate: spec.qc_rate,
        order: s.tasks.iter().map(|t| t.id.clone()).collect(),
        arms: s.arms.clone(),
        qc: s.qc.clone(),
    })?;
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(n: usize) -> Vec<Task> {
        (0..n)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("t{i}"), "prompt": "p", "answer": "a"
                }))
                .unwrap()
            })
            .collect()
    }

    fn planted(n: usize) -> Vec<Task> {
        (0..n)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("q{i}"), "prompt": "p", "answer": "b",
                    "meta": {"planted_from": format!("t{i}"),
                             "planted": {"span": {"start": 0, "end": 1}}}
                }))
                .unwrap()
            })
            .collect()
    }

    fn spec(e: usize, k: usize) -> StudySpec {
        StudySpec {
            study: "s".into(),
            evaluators: (0..e).map(|i| format!("e{i}")).collect(),
            overlap: k,
            seed: 7,
            qc_rate: 0.0,
            arms: vec![],
        }
    }

    #[test]
    fn every_task_seen_by_k_with_balanced_load() {
        for (n, e, k) in [(10, 3, 2), (11, 4, 2), (7, 5, 3), (3, 3, 3), (20, 4, 1)] {
            let p = plan(&tasks(n), &[], &spec(e, k)).unwrap();
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for s in &p.sessions {
                for t in &s.tasks {
                    *seen.entry(t.id.clone()).or_default() += 1;
                }
            }
            assert_eq!(seen.len(), n);
            assert!(seen.values().all(|&c| c == k), "{n} {e} {k}: {seen:?}");
            let loads: Vec<usize> = p.sessions.iter().map(|s| s.tasks.len()).collect();
            let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            assert!(hi - lo <= 1, "loads {loads:?}");
            // Four evaluators, overlap 2: every pair shares some task.
            if (e, k) == (4, 2) {
                assert!(
                    p.overlap.iter().flatten().all(|&c| c > 0),
                    "{:?}",
                    p.overlap
                );
            }
        }
    }

    #[test]
    fn deterministic_per_seed() {
        let a = plan(&tasks(12), &[], &spec(3, 2)).unwrap();
        assert_eq!(a, plan(&tasks(12), &[], &spec(3, 2)).unwrap());
        let mut other = spec(3, 2);
        other.seed = 8;
        assert_ne!(a, plan(&tasks(12), &[], &other).unwrap());
    }

    #[test]
    fn qc_items_at_rate_avoid_own_sources() {
        let mut s = spec(3, 1);
        s.qc_rate = 0.2;
        let p = plan(&tasks(12), &planted(12), &s).unwrap();
        for e in &p.sessions {
            // 4 regular items at rate 0.2: round(4 * 0.2 / 0.8) = 1 planted.
            assert_eq!((e.regular(), e.qc.len()), (4, 1));
            let own: Vec<&str> = e.tasks.iter().map(|t| t.id.as_str()).collect();
            let src = format!("t{}", &e.qc[0][1..]);
            assert!(!own.contains(&src.as_str()), "{own:?} has {src}");
        }
    }

    #[test]
    fn arms_follow_the_review_rule() {
        let mut s = spec(2, 2);
        s.arms = vec![Protocol::Assisted, Protocol::BlindFirst];
        let p = plan(&tasks(8), &[], &s).unwrap();
        let arms = &p.sessions[0].arms;
        assert_eq!(arms.len(), 8);
        assert_eq!(arms, &p.sessions[1].arms);
        assert!(arms.values().any(|a| *a == Protocol::Assisted));
        assert!(arms.values().any(|a| *a == Protocol::BlindFirst));
    }

    #[test]
    fn bad_requests_are_refused() {
        let t = tasks(3);
        let bad = |s: StudySpec| plan(&t, &[], &s).unwrap_err().to_string();
        assert!(bad(spec(3, 4)).contains("--overlap 4"));
        assert!(bad(spec(3, 0)).contains("--overlap 0"));
        let mut s = spec(2, 1);
        s.evaluators = vec!["ana".into(), "ana".into()];
        assert!(bad(s).contains("twice"));
        let mut s = spec(2, 1);
        s.evaluators = vec!["../x".into()];
        assert!(bad(s).contains("not a usable name"));
        let mut s = spec(2, 1);
        s.qc_rate = 0.5;
        assert!(bad(s).contains("planted"));
    }
}
