//! The session event schema: the only on-disk format. Every view, replay,
//! audit and export is a fold over these events.

use crate::assist::{Assistance, CheckVerdict, Kind, Severity};
use crate::task::Span;
use serde::{Deserialize, Serialize};

/// Bumped when an event changes incompatibly; readers reject newer versions.
pub const SCHEMA_VERSION: u32 = 1;

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version.
    pub v: u32,
    /// 1-based, strictly increasing within a session.
    pub seq: u64,
    /// UTC, RFC 3339 with milliseconds.
    pub ts: String,
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
        source_format: String,
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
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        arms: std::collections::BTreeMap<String, String>,
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
        protocol: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guidelines_sha256: Option<String>,
    },
    /// A log line was found torn on open and cut off.
    Recovered { dropped_bytes: u64 },
    /// Model-written assistance for one task. Labels point at it by `seq`.
    Assistance {
        task: String,
        kind: Kind,
        #[serde(flatten)]
        assistance: Box<Assistance>,
    },
    /// Generation that did not finish (failed or cancelled); nothing to label.
    AssistanceFailed {
        task: String,
        kind: Kind,
        error: String,
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
        /// Which answer of a pairwise task (`a` or `b`); absent means `a`.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CritiqueLabel {
    /// A real flaw.
    Valid,
    /// Not a real flaw.
    Hallucinated,
    /// True but too minor to matter.
    Nitpick,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    A,
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    A,
    B,
    Tie,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Unaided,
    Assisted,
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
    /// e.g. `prm800k`, `hh-rlhf`, `mt-bench-human`, `critiques`.
    pub format: String,
    pub file: String,
    pub line: usize,
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
        arm: Option<String>,
    },
    TabSwitched {
        tab: String,
    },
    /// Item `index` of assistance `assistance` got focus.
    Focused {
        assistance: u64,
        index: usize,
    },
    AssistanceRevealed,
    Scrolled {
        panel: String,
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

    pub fn type_name(&self) -> &'static str {
        match self {
            Body::SessionCreated { .. } => "session_created",
            Body::Assigned { .. } => "assigned",
            Body::Opened { .. } => "opened",
            Body::Recovered { .. } => "recovered",
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

/// Current UTC time as RFC 3339 with milliseconds.
pub fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).expect("formatting a UTC time cannot fail")
}
