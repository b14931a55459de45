//! From sessions to [`Observations`]: read and fold each session (one
//! function, [`load`]), then draw the plain facts the metrics need. Sessions
//! are handled one after another and dropped, so memory holds one session's
//! events at a time plus the (much smaller) observations.

use super::obs::*;
use super::views::{self, LabelView};
use super::Result;
use crate::assist::{Kind, Output, Severity};
use crate::session::event::Phase;
use crate::session::event::{Body, Event, LabelValue, Target};
use crate::session::fold::{EvaluatorWork, TaskState, VerdictRecord};
use crate::session::Replay;
use crate::task::{Side, Span, Task};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The one place the audit reads a session: its events and their fold.
pub fn load(dir: &Path) -> Result<Replay> {
    Ok(Replay::read(dir)?)
}

/// Observations of all `dirs`, read one at a time.
pub fn observe(dirs: &[PathBuf]) -> Result<Observations> {
    let mut x = Extractor::default();
    for (i, dir) in dirs.iter().enumerate() {
        let replay = load(dir)?;
        x.session(i, &replay);
    }
    Ok(x.obs)
}

/// Do two byte spans share at least one byte?
pub fn overlaps(a: Span, b: Span) -> bool {
    a.start < b.end && b.start < a.end
}

/// A stable 64-bit key for agreement units.
fn unit_key(parts: &[&str]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

pub fn severity_name(s: Severity) -> &'static str {
    s.into()
}

/// The planted span of a task, if it is planted: `Some(None)` when planted
/// but the span cannot be read.
fn planted(task: &Task) -> Option<Option<Span>> {
    let p = task.meta.get("planted")?;
    Some(
        p.get("span")
            .and_then(|s| serde_json::from_value::<Span>(s.clone()).ok()),
    )
}

fn design(events: &[Event]) -> Option<Design> {
    events.iter().take(4).find_map(|e| match &e.body {
        Body::Assigned {
            study,
            evaluator,
            evaluators,
            overlap,
            seed,
            qc_rate,
            order,
            arms,
            qc,
        } => Some(Design {
            study: study.clone(),
            evaluator: evaluator.clone(),
            evaluators: evaluators.clone(),
            overlap: *overlap,
            seed: *seed,
            qc_rate: *qc_rate,
            items: order.len(),
            qc: qc.len(),
            arms: arms.clone(),
        }),
        _ => None,
    })
}

fn verdict_value(r: &VerdictRecord) -> VerdictValue {
    use crate::session::event::Verdict;
    match &r.verdict {
        Verdict::Single {
            accept,
            score,
            confidence,
            ..
        } => VerdictValue {
            accept: *accept,
            score: *score,
            confidence: *confidence,
            preferred: None,
        },
        Verdict::Pairwise {
            preferred,
            confidence,
            ..
        } => VerdictValue {
            confidence: *confidence,
            preferred: Some(*preferred),
            ..VerdictValue::default()
        },
    }
}

/// Per-task context shared by the extraction steps.
struct TaskCx<'a> {
    task: &'a Task,
    state: &'a TaskState,
    id: Id,
    plant: Option<Option<Span>>,
    /// Spans of every assistant critique on the task (all generations).
    critique_spans: Vec<Span>,
    has_critiques: bool,
    arm: Option<Id>,
}

#[derive(Default)]
struct Extractor {
    obs: Observations,
    ids: HashMap<String, Id>,
    views: HashMap<u64, LabelView>,
}

impl Extractor {
    fn id(&mut self, s: &str) -> Id {
        if let Some(id) = self.ids.get(s) {
            return id.clone();
        }
        let id: Id = s.into();
        self.ids.insert(s.to_string(), id.clone());
        id
    }

    fn session(&mut self, index: usize, replay: &Replay) {
        let design = design(replay.events());
        self.views = views::walk(replay);
        for (task, ts) in replay.tasks().iter().zip(replay.states()) {
            let records = ts.assistance.get(&Kind::Critique);
            let critiques =
                records
                    .into_iter()
                    .flatten()
                    .filter_map(|r| match &r.assistance.output {
                        Output::Critique { critiques } => Some(critiques),
                        _ => None,
                    });
            let cx = TaskCx {
                task,
                state: ts,
                id: self.id(&task.id),
                plant: planted(task),
                critique_spans: critiques.clone().flatten().filter_map(|c| c.span).collect(),
                has_critiques: records.is_some_and(|r| !r.is_empty()),
                arm: design
                    .as_ref()
                    .and_then(|d| d.arms.get(&task.id))
                    .map(|a| self.id(a.into())),
            };
            if let Some(plant) = cx.plant {
                self.obs.planted_tasks.push(cx.id.clone());
                for c in critiques.flatten() {
                    let quoted = matches!((c.span, plant), (Some(a), Some(b)) if overlaps(a, b));
                    self.obs.planted_quotes.push(quoted);
                }
            }
            self.user_critiques(&cx);
            for (evaluator, work) in &ts.by_evaluator {
                self.evaluator_work(index, &cx, evaluator, work);
            }
        }
        self.obs.sessions.push(SessionInfo {
            name: replay.name(),
            events: replay.events().len(),
            tasks: replay.tasks().len(),
            evaluators: replay.evaluators(),
            design,
        });
        self.views.clear();
    }

    fn user_critiques(&mut self, cx: &TaskCx) {
        for u in &cx.state.user_critiques {
            let found = match (u.span, u.side, cx.has_critiques) {
                (Some(span), Side::A, true) => {
                    Some(cx.critique_spans.iter().any(|c| overlaps(*c, span)))
                }
                _ => None,
            };
            let evaluator = self.id(&u.evaluator);
            self.obs.user_critiques.push(UserCritiqueObs {
                task: cx.id.clone(),
                evaluator,
                found_by_assistant: found,
            });
        }
    }

    fn evaluator_work(&mut self, session: usize, cx: &TaskCx, evaluator: &str, w: &EvaluatorWork) {
        let ev = self.id(evaluator);
        let mut step_lists: HashMap<Option<u64>, Vec<(usize, i8)>> = HashMap::new();
        for (target, label) in &w.labels {
            match (target, &label.value) {
                (Target::Critique { assistance, index }, LabelValue::Critique { verdict, .. }) => {
                    self.critique_label(cx, &ev, *assistance, *index, *verdict, label.stamp.seq)
                }
                (Target::Check { assistance, index }, LabelValue::Check { verdict }) => {
                    self.check_label(cx, &ev, *assistance, *index, *verdict)
                }
                (Target::Step { assistance, index }, LabelValue::Step { rating }) => step_lists
                    .entry(*assistance)
                    .or_default()
                    .push((*index, *rating)),
                _ => {}
            }
            if let Some(ms) = self.views.get(&label.stamp.seq).and_then(|v| v.latency_ms) {
                self.obs.label_latencies.push(LatencyObs {
                    evaluator: ev.clone(),
                    ms,
                });
            }
        }
        for (assistance, ratings) in step_lists {
            self.step_path(cx, &ev, assistance, ratings);
        }
        self.work(session, cx, ev, evaluator, w);
    }

    fn critique_label(
        &mut self,
        cx: &TaskCx,
        ev: &Id,
        assistance: u64,
        index: usize,
        label: crate::session::event::CritiqueLabel,
        seq: u64,
    ) {
        let Some(rec) = cx.state.find_assistance(assistance) else {
            return;
        };
        let Output::Critique { critiques } = &rec.assistance.output else {
            return;
        };
        let Some(c) = critiques.get(index) else {
            return;
        };
        let prov = &rec.assistance.provenance;
        let obs = CritiqueLabelObs {
            task: cx.id.clone(),
            evaluator: ev.clone(),
            model: self.id(prov.model_id()),
            template: self.id(&prov.template_sha256),
            severity: c.severity,
            category: self.id(&c.category),
            label,
            unit: unit_key(&[&cx.task.id, &c.quote, &c.comment]),
            focused: self.views.get(&seq).is_some_and(|v| v.focused),
        };
        self.obs.critique_labels.push(obs);
    }

    fn check_label(
        &mut self,
        cx: &TaskCx,
        ev: &Id,
        assistance: u64,
        index: usize,
        human: crate::assist::CheckVerdict,
    ) {
        let Some(rec) = cx.state.find_assistance(assistance) else {
            return;
        };
        let (checks, computed) = match &rec.assistance.output {
            Output::Checks { checks } => (checks, false),
            Output::ToolChecks { checks } => (checks, true),
            _ => return,
        };
        if let Some(c) = checks.get(index) {
            self.obs.checks.push(CheckObs {
                evaluator: ev.clone(),
                assistant: c.assistant_verdict,
                human,
                unit: unit_key(&[&cx.task.id, &c.question]),
                computed,
            });
        }
    }

    /// Ratings on one step list: the decomposition `assistance`, or the
    /// task's own steps when `None`.
    fn step_path(
        &mut self,
        cx: &TaskCx,
        ev: &Id,
        assistance: Option<u64>,
        ratings: Vec<(usize, i8)>,
    ) {
        let decomposed =
            assistance.and_then(|a| match &cx.state.find_assistance(a)?.assistance.output {
                Output::Decompose { steps } => Some(steps.clone()),
                _ => None,
            });
        let max_rated = ratings.iter().map(|r| r.0 + 1).max().unwrap_or(0);
        let (steps, span_of): (usize, Box<dyn Fn(usize) -> Option<Span>>) = match &decomposed {
            Some(list) => (
                list.len(),
                Box::new(move |i| list.get(i).and_then(|s| s.span)),
            ),
            None => {
                let own = cx.task.steps.clone().unwrap_or_default();
                (
                    own.len().max(max_rated),
                    Box::new(move |i| own.get(i).copied()),
                )
            }
        };
        let first_error = ratings.iter().filter(|r| r.1 < 0).map(|r| r.0).min();
        let flagged = first_error
            .and_then(&span_of)
            .map(|s| cx.critique_spans.iter().any(|c| overlaps(*c, s)));
        let key = |i: usize| match &decomposed {
            Some(list) => unit_key(&[
                &cx.task.id,
                "decompose",
                list.get(i).map_or("", |s| &s.text),
            ]),
            None => unit_key(&[&cx.task.id, "own", &i.to_string()]),
        };
        let rated = ratings.iter().map(|&(i, r)| (key(i), r)).collect();
        self.obs.step_paths.push(StepPathObs {
            task: cx.id.clone(),
            evaluator: ev.clone(),
            steps: steps.max(max_rated),
            decomposition: decomposed.is_some(),
            first_error,
            flagged_by_critique: flagged,
            ratings: rated,
        });
    }

    fn work(&mut self, session: usize, cx: &TaskCx, ev: Id, evaluator: &str, w: &EvaluatorWork) {
        let mut own = |phase: Phase| -> Option<VerdictValue> {
            let r = w.verdicts.get(&phase)?;
            if r.source.is_some() {
                self.obs
                    .imported_verdicts
                    .push((cx.id.clone(), verdict_value(r)));
                return None;
            }
            Some(verdict_value(r))
        };
        let unaided = own(Phase::Unaided);
        let assisted = own(Phase::Assisted);
        let mine: Vec<Span> = cx
            .state
            .user_critiques
            .iter()
            .filter(|u| u.evaluator == evaluator && u.side == Side::A && u.source.is_none())
            .filter_map(|u| u.span)
            .collect();
        let wrote_critique = cx
            .state
            .user_critiques
            .iter()
            .any(|u| u.evaluator == evaluator && u.source.is_none());
        if unaided.is_none() && assisted.is_none() && !wrote_critique && w.active_ms == 0 {
            return;
        }
        let plant_span = cx.plant.flatten();
        let arm = match &w.arm {
            Some(a) => Some(self.id(a.into())),
            None => cx.arm.clone(),
        };
        self.obs.work.push(WorkObs {
            session,
            task: cx.id.clone(),
            evaluator: ev,
            arm,
            planted: cx.plant.is_some(),
            critique_on_plant: plant_span.is_some_and(|p| mine.iter().any(|s| overlaps(*s, p))),
            wrote_critique,
            unaided,
            assisted,
            active_ms: w.active_ms,
        });
    }
}

/// Tasks seen in more than one place are the same task when their ids match.
pub fn distinct(ids: &[Id]) -> usize {
    ids.iter().collect::<HashSet<_>>().len()
}
