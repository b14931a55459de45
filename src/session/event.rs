//! The session event schema: the only on-disk format. Every view, replay,
//! audit and export is a fold over these events.
//!
//! Version 2 types what version 1 kept as strings: the protocol of an
//! `opened` event is `"assisted"` or `{"arms": [...], "seed": 7}` (v1 wrote
//! `"arms:a,b;seed=7"`), a failed generation says why in `reason` (v1 wrote
//! `error: "cancelled"`), and an assistance event names its kind once, in its
//! output (v1 also repeated it at the top). Version-1 lines are upgraded on
//! read (see `migrate`).

use super::time::Timestamp;
pub use super::vocab::*;
use crate::assist::{Assistance, CheckVerdict, Kind, Severity};
pub use crate::task::Side;
use crate::task::Span;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Bumped when an event changes incompatibly; readers reject newer versions
/// and upgrade older ones.
pub const SCHEMA_VERSION: u32 = 2;

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version.
    pub v: u32,
    /// 1-based, strictly increasing within a session.
    pub seq: u64,
    pub ts: Timestamp,
    #[serde(flatten)]
    pub body: Body,
}

/// What happened. Serialized with a `type` tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// First event of every session.
    SessionCreated {
        crit_version: String,
        /// Where the tasks were read from, and their format.
        source_path: String,
        source_format: SourceFormat,
        /// SHA-256 of the task snapshot (`tasks.jsonl`) in the session dir.
        tasks_sha256: String,
        task_count: usize,
    },
    /// The study design, written by `crit assign` right after
    /// `session_created`, so audits know who was meant to see what.
    Assigned {
        /// Name shared by the sessions of one `crit assign` run.
        study: String,
        /// Whose session this is.
        evaluator: String,
        /// Every evaluator of the study, in the order given.
        evaluators: Vec<String>,
        /// How many evaluators see each task (planted QC items excluded).
        overlap: usize,
        /// Seed of the whole plan; also the `--arm-seed` review draws arms with.
        seed: u64,
        /// Share of this session's items that are planted QC items.
        qc_rate: f64,
        /// Task ids in the order this evaluator reviews them.
        order: Vec<String>,
        /// Protocol arm per task id; empty when arms are not randomized.
        /// The review follows it.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        arms: std::collections::BTreeMap<String, Protocol>,
        /// Ids of the planted QC items (their tasks carry `meta.planted`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        qc: Vec<String>,
    },
    /// A process opened the session for writing (generate, review, import).
    Opened {
        command: String,
        pid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evaluator: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol: Option<ProtocolSpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guidelines_sha256: Option<String>,
    },
    /// A log line was found torn on open and cut off.
    Recovered { dropped_bytes: u64 },
    /// An import starts: the events after this one, up to the
    /// `import_committed` that names it, are the import's, and no reader
    /// folds them before that commit (all or nothing).
    ImportBegun {
        format: SourceFormat,
        /// The imported file's name.
        file: String,
        /// SHA-256 of the imported file.
        sha256: String,
        /// How many events the import writes.
        events: usize,
    },
    /// Every event of the import begun at seq `begun` is written.
    ImportCommitted { begun: u64 },
    /// The import begun at seq `begun` never committed (the process was
    /// killed, the disk was full): its events are discarded. Written by the
    /// next writer to open the session, before anything else.
    ImportAborted { begun: u64 },
    /// Model-written assistance for one task (its kind is its output's).
    /// Labels point at it by `seq`.
    Assistance {
        task: String,
        #[serde(flatten)]
        assistance: Arc<Assistance>,
    },
    /// Generation that did not finish; nothing to label.
    AssistanceFailed {
        task: String,
        kind: Kind,
        reason: FailReason,
        /// What went wrong, in words (empty for a cancellation).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        error: String,
        /// The seed of the attempt, so a retry can choose another.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u32>,
    },
    /// The evaluator's label on one piece of assistance or on a step.
    Label {
        task: String,
        evaluator: String,
        target: Target,
        value: LabelValue,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
    },
    /// A flaw the evaluator found that the assistant missed.
    UserCritique {
        task: String,
        evaluator: String,
        span: Option<Span>,
        quote: String,
        comment: String,
        severity: Severity,
        category: String,
        /// Which answer of a pairwise task; absent means `a`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<Side>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
    },
    /// The evaluator's corrected answer (a whole new text).
    Correction {
        task: String,
        evaluator: String,
        text: String,
    },
    /// The overall judgement.
    Verdict {
        task: String,
        evaluator: String,
        verdict: Verdict,
        /// `unaided` before assistance was revealed (blind-first), else `assisted`.
        phase: Phase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
    },
    /// Undo: the event `target_seq` no longer counts. Nothing is rewritten.
    Retract {
        target_seq: u64,
        evaluator: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// What was on screen (debounced), for replay and over-reliance audits.
    View {
        task: String,
        evaluator: String,
        action: ViewAction,
    },
    /// Active (non-idle) time spent on a task since the last such event.
    ActiveTime {
        task: String,
        evaluator: String,
        ms: u64,
    },
}

/// What a label is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Target {
    /// Item `index` of the assistance event `assistance` (its seq).
    Critique {
        assistance: u64,
        index: usize,
    },
    Check {
        assistance: u64,
        index: usize,
    },
    /// A decomposition step (`assistance` = seq of the decompose event), or
    /// one of the task's own steps when `assistance` is absent (PRM800K).
    Step {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assistance: Option<u64>,
        index: usize,
    },
    /// A candidate for the task's own step `step` other than the one in the
    /// answer: PRM800K phase 1 rated several candidates per position, and
    /// their ratings (most of the -1s) must survive import. `index` is the
    /// candidate's position in the source's list (kept in the task's meta).
    Alternative {
        step: usize,
        index: usize,
    },
}

impl Target {
    pub fn assistance(&self) -> Option<u64> {
        match self {
            Target::Critique { assistance, .. } | Target::Check { assistance, .. } => {
                Some(*assistance)
            }
            Target::Step { assistance, .. } => *assistance,
            Target::Alternative { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "label", rename_all = "snake_case")]
pub enum LabelValue {
    Critique {
        verdict: CritiqueLabel,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
    },
    Check {
        verdict: CheckVerdict,
    },
    /// PRM800K rating: -1, 0 or +1.
    Step {
        rating: i8,
    },
}

/// The judgement on a task: a single answer or a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Verdict {
    Single {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accept: Option<bool>,
        /// 1-7.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score: Option<u8>,
        /// 50-100 (percent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<u8>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        rationale: String,
    },
    Pairwise {
        preferred: Preference,
        /// 1 (slight) - 3 (clear).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strength: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<u8>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        rationale: String,
    },
}

impl Verdict {
    pub fn confidence(&self) -> Option<u8> {
        match self {
            Verdict::Single { confidence, .. } | Verdict::Pairwise { confidence, .. } => {
                *confidence
            }
        }
    }

    /// Range checks for values typed in or imported.
    pub fn validate(&self) -> Result<(), String> {
        let conf = self.confidence();
        if let Some(c) = conf {
            if !(50..=100).contains(&c) {
                return Err(format!("confidence {c} is outside 50-100"));
            }
        }
        match self {
            Verdict::Single { score: Some(s), .. } if !(1..=7).contains(s) => {
                Err(format!("score {s} is outside 1-7"))
            }
            Verdict::Pairwise {
                strength: Some(s), ..
            } if !(1..=3).contains(s) => Err(format!("strength {s} is outside 1-3")),
            _ => Ok(()),
        }
    }
}

/// Where an imported label came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub format: SourceFormat,
    /// The file's name (older logs: the path it was imported from).
    pub file: String,
    pub line: usize,
    /// SHA-256 of the imported file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The path it was imported from, only when asked (`--keep-path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The original label text when it carries more than the value (e.g. a
    /// rater id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Screen-level actions recorded for replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum ViewAction {
    TaskOpened {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arm: Option<Protocol>,
    },
    TabSwitched {
        tab: Tab,
    },
    /// Item `index` of assistance `assistance` got focus.
    Focused {
        assistance: u64,
        index: usize,
    },
    AssistanceRevealed,
    Scrolled {
        panel: Panel,
        offset: u32,
    },
    TaskClosed,
}

impl Body {
    /// The task this event concerns, if any.
    pub fn task(&self) -> Option<&str> {
        match self {
            Body::Assistance { task, .. }
            | Body::AssistanceFailed { task, .. }
            | Body::Label { task, .. }
            | Body::UserCritique { task, .. }
            | Body::Correction { task, .. }
            | Body::Verdict { task, .. }
            | Body::View { task, .. }
            | Body::ActiveTime { task, .. } => Some(task),
            _ => None,
        }
    }

    /// Who did it, for events made by an evaluator.
    pub fn evaluator(&self) -> Option<&str> {
        match self {
            Body::Label { evaluator, .. }
            | Body::UserCritique { evaluator, .. }
            | Body::Correction { evaluator, .. }
            | Body::Verdict { evaluator, .. }
            | Body::Retract { evaluator, .. }
            | Body::View { evaluator, .. }
            | Body::ActiveTime { evaluator, .. } => Some(evaluator),
            _ => None,
        }
    }

    /// A judgement an evaluator can undo (label, own critique, correction,
    /// verdict).
    pub fn is_record(&self) -> bool {
        matches!(
            self,
            Body::Label { .. }
                | Body::UserCritique { .. }
                | Body::Correction { .. }
                | Body::Verdict { .. }
        )
    }

    /// The `type` tag this body is written with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Body::SessionCreated { .. } => "session_created",
            Body::Assigned { .. } => "assigned",
            Body::Opened { .. } => "opened",
            Body::Recovered { .. } => "recovered",
            Body::ImportBegun { .. } => "import_begun",
            Body::ImportCommitted { .. } => "import_committed",
            Body::ImportAborted { .. } => "import_aborted",
            Body::Assistance { .. } => "assistance",
            Body::AssistanceFailed { .. } => "assistance_failed",
            Body::Label { .. } => "label",
            Body::UserCritique { .. } => "user_critique",
            Body::Correction { .. } => "correction",
            Body::Verdict { .. } => "verdict",
            Body::Retract { .. } => "retract",
            Body::View { .. } => "view",
            Body::ActiveTime { .. } => "active_time",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_name<T: Serialize>(v: T) -> String {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn strum_names_are_serde_names() {
        for p in [
            Protocol::Assisted,
            Protocol::BlindFirst,
            Protocol::Unassisted,
        ] {
            assert_eq!(serde_name(p), p.to_string());
        }
        for t in Tab::ALL {
            assert_eq!(serde_name(t), t.name());
        }
        for k in Kind::ALL {
            assert_eq!(serde_name(k), k.name());
        }
        for s in [Severity::Minor, Severity::Major, Severity::Critical] {
            assert_eq!(serde_name(s), s.to_string());
        }
        for f in [SourceFormat::MtBenchHuman, SourceFormat::HhRlhf] {
            assert_eq!(serde_name(f), f.to_string());
        }
        assert_eq!(serde_name(FailReason::Cancelled), "cancelled");
        assert_eq!(serde_name(Phase::Unaided), Phase::Unaided.to_string());
        assert_eq!(serde_name(CritiqueLabel::Nitpick), "nitpick");
        assert_eq!(serde_name(Preference::Tie), Preference::Tie.to_string());
    }

    #[test]
    fn protocol_spec_is_a_name_or_arms() {
        let fixed = ProtocolSpec::Fixed(Protocol::BlindFirst);
        assert_eq!(serde_json::to_string(&fixed).unwrap(), "\"blind-first\"");
        let arms = ProtocolSpec::Arms {
            arms: vec![Protocol::Assisted, Protocol::Unassisted],
            seed: 7,
        };
        let json = serde_json::to_string(&arms).unwrap();
        assert_eq!(json, r#"{"arms":["assisted","unassisted"],"seed":7}"#);
        assert_eq!(serde_json::from_str::<ProtocolSpec>(&json).unwrap(), arms);
    }

    #[test]
    fn tab_index_follows_all() {
        for (i, t) in Tab::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }
}
