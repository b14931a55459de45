//! Planted flaws: tampered copies of tasks whose answers are known good, for
//! measuring whether evaluators (and critiques) catch a real error.
//!
//! As in CriticGPT's tampering, one thing is changed so that the answer
//! becomes wrong: a number (an operand misread, or a result miscalculated),
//! an operator, a unit conversion factor, or a whole step left out. The
//! change is carried through the rest of the work (later calculations are
//! recomputed from it, later mentions of a changed value follow), so the
//! final answer changes too and the flaw sits where it was planted. Only a
//! miscalculated result leaves a wrong calculation behind; the other kinds
//! stay arithmetically consistent, which makes them harder to catch.
//!
//! Deterministic: each task's choices come from a ChaCha8 stream seeded with
//! SHA-256 of the seed and the task id, so a task plants the same way
//! whatever else is in the file.

mod candidates;
mod draft;

use crate::assist::tools::arith;
use crate::assist::tools::final_answer;
use crate::assist::tools::number::Q;
use crate::assist::CheckVerdict;
use crate::task::{Span, Task};
use candidates::Source;
use draft::Draft;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Meta key of the planted flaw ([`Planting`]).
pub const META_PLANTED: &str = "planted";
/// Meta key of the source task's id.
pub const META_FROM: &str = "planted_from";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlantKind {
    Number,
    Operator,
    Unit,
    Step,
}

/// What was planted: `span` is where `replacement` sits in the planted
/// answer; it replaced `original` of the source answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planting {
    pub span: Span,
    pub original: String,
    pub replacement: String,
    pub kind: PlantKind,
    pub description: String,
}

/// The result of planting a task set.
#[derive(Debug, Default)]
pub struct Report {
    pub planted: Vec<Task>,
    /// Tasks whose answer matches their reference.
    pub known_good: usize,
    /// Known-good tasks where no change made the answer wrong.
    pub unplantable: Vec<String>,
}

/// Plant one flaw in each known-good task.
pub fn plant_all(tasks: &[Task], seed: u64) -> Report {
    let mut report = Report::default();
    for task in tasks.iter().filter(|t| known_good(t)) {
        report.known_good += 1;
        match plant(task, seed) {
            Some(t) => report.planted.push(t),
            None => report.unplantable.push(task.id.clone()),
        }
    }
    report
}

/// Single answer with a reference that its final answer matches.
pub fn known_good(task: &Task) -> bool {
    !task.is_pairwise()
        && final_answer::check(task).is_some_and(|c| c.assistant_verdict == CheckVerdict::Pass)
}

/// The planted flaw recorded in a task's meta.
pub fn planting(task: &Task) -> Option<Planting> {
    serde_json::from_value(task.meta.get(META_PLANTED)?.clone()).ok()
}

/// A tampered copy of `task`, or `None` when no change makes it wrong.
pub fn plant(task: &Task, seed: u64) -> Option<Task> {
    let mut rng = rng_for(seed, &task.id);
    let source = Source::new(task);
    let mut kinds = [
        PlantKind::Number,
        PlantKind::Operator,
        PlantKind::Unit,
        PlantKind::Step,
    ];
    kinds.shuffle(&mut rng);
    for kind in kinds {
        let mut cands = source.candidates(kind, &mut rng);
        cands.shuffle(&mut rng);
        if let Some(t) = cands.iter().find_map(|c| source.apply(c, seed)) {
            return Some(t);
        }
    }
    let last = source.final_candidate(&mut rng)?;
    source.apply(&last, seed)
}

fn rng_for(seed: u64, id: &str) -> ChaCha8Rng {
    use sha2::Digest;
    let key = sha2::Sha256::digest(format!("crit-plant\0{seed}\0{id}").as_bytes());
    ChaCha8Rng::from_seed(key.into())
}

/// One replacement in the answer.
#[derive(Debug, Clone)]
struct Edit {
    span: Span,
    text: String,
}

/// A change to try: edits in source coordinates (the first is the planted
/// one), values that later text must follow, and results left wrong.
#[derive(Debug, Clone)]
struct Candidate {
    kind: PlantKind,
    edits: Vec<Edit>,
    follow: Vec<(Q, Q)>,
    wrong: Vec<Span>,
    description: String,
}

impl Source<'_> {
    /// Apply `c`, carry it through, and keep it if the answer became wrong
    /// where it should.
    fn apply(&self, c: &Candidate, seed: u64) -> Option<Task> {
        let first = &c.edits[0];
        let mut d = Draft::new(self.task);
        d.wrong = c.wrong.clone();
        d.primary = first.span;
        d.from = c.edits.iter().map(|e| e.span.end).max()?;
        // Right to left, so each edit's source span is still where it was.
        let mut edits = c.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
        for e in &edits {
            d.replace(e.span, &e.text)?;
        }
        d.follow = c.follow.clone();
        d.propagate()?;
        let planted_span = d.primary;
        if planted_span.start >= planted_span.end {
            return None;
        }
        let planting = Planting {
            span: planted_span,
            original: self.text(first.span).to_string(),
            replacement: d.text[planted_span.start..planted_span.end].to_string(),
            kind: c.kind,
            description: c.description.clone(),
        };
        self.check(&d, c)?;
        Some(self.finish(d, planting, seed))
    }

    /// The planted answer is wrong in the intended way only.
    fn check(&self, d: &Draft, c: &Candidate) -> Option<()> {
        if d.text == self.task.answer {
            return None;
        }
        if let Some(steps) = &d.steps {
            crate::task::native::check_spans(&d.text, steps).ok()?;
        }
        let failing = |text: &str| arith::all_calcs(text).iter().filter(|c| !c.ok).count();
        if failing(&d.text) > failing(&self.task.answer) + c.wrong.len() {
            return None;
        }
        if let Some(before) = &self.final_value {
            let after = final_answer::extract(&d.text).and_then(|f| f.value)?;
            if final_answer::same_value(&after, before) {
                return None;
            }
        }
        Some(())
    }

    fn finish(&self, d: Draft, planting: Planting, seed: u64) -> Task {
        let mut task = self.task.clone();
        task.id = planted_id(seed, &self.task.id);
        task.answer = d.text;
        task.steps = d.steps;
        // Labels of the source describe the source's answer, not this one.
        task.meta.remove(crate::task::prm800k::META);
        if let Some(Value::Object(g)) = task.meta.get_mut(crate::task::gsm8k::META) {
            g.insert("is_correct".into(), Value::Bool(false));
        }
        let planted = serde_json::to_value(&planting).unwrap_or(Value::Null);
        task.meta.insert(META_PLANTED.into(), planted);
        task.meta
            .insert(META_FROM.into(), self.task.id.clone().into());
        task
    }
}

/// An id that does not say the task is planted (evaluators see ids).
pub fn planted_id(seed: u64, source_id: &str) -> String {
    let digest = crate::hash::sha256_hex(format!("crit-plant-id\0{seed}\0{source_id}").as_bytes());
    format!("t{}", &digest[..12])
}
