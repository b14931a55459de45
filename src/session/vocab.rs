//! The named values of the event schema: every enum's names come from one
//! place (serde for the log, strum for the rest, kept equal by a test).

use crate::assist::Kind;
use serde::{Deserialize, Serialize};

/// Where a session's tasks came from: a task file format, or a label
/// format brought in by `crit import`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum SourceFormat {
    Native,
    Gsm8k,
    Prm800k,
    MtBench,
    HhRlhf,
    Halueval,
    MtBenchHuman,
    Critiques,
    TrlPreference,
}

impl From<crate::task::Format> for SourceFormat {
    fn from(f: crate::task::Format) -> Self {
        use crate::task::Format as F;
        match f {
            F::Native => SourceFormat::Native,
            F::Gsm8k => SourceFormat::Gsm8k,
            F::Prm800k => SourceFormat::Prm800k,
            F::MtBench => SourceFormat::MtBench,
            F::HhRlhf => SourceFormat::HhRlhf,
            F::Halueval => SourceFormat::Halueval,
        }
    }
}

/// How assistance is shown on a task (measuring the help itself).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Protocol {
    Assisted,
    /// Hidden until an unaided verdict is recorded, then revealed.
    BlindFirst,
    /// Control arm: no assistance.
    Unassisted,
}

/// The protocol a review was opened with: one for every task, or arms
/// drawn per task (see [`super::protocol::arm_for`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProtocolSpec {
    Fixed(Protocol),
    Arms { arms: Vec<Protocol>, seed: u64 },
}

/// Why a generation did not finish.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FailReason {
    /// Stopped on request (Esc, Ctrl-C); not a property of the task.
    Cancelled,
    /// The backend failed or its output did not parse.
    Error,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CritiqueLabel {
    /// A real flaw.
    Valid,
    /// Not a real flaw.
    Hallucinated,
    /// True but too minor to matter.
    Nitpick,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Preference {
    A,
    B,
    Tie,
}

/// Ordered: an unaided verdict comes before the assisted one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Phase {
    Unaided,
    Assisted,
}

/// The review's assistance tabs, as recorded in view events.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Tab {
    Critiques,
    Checks,
    Steps,
    Diff,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Critiques, Tab::Checks, Tab::Steps, Tab::Diff];

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The kind of assistance the tab shows.
    pub fn kind(self) -> Option<Kind> {
        match self {
            Tab::Critiques => Some(Kind::Critique),
            Tab::Checks => Some(Kind::Checks),
            Tab::Steps => Some(Kind::Decompose),
            Tab::Diff => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn of_kind(kind: Kind) -> Tab {
        match kind {
            Kind::Critique => Tab::Critiques,
            Kind::Checks | Kind::ToolChecks => Tab::Checks,
            Kind::Decompose => Tab::Steps,
        }
    }
}

/// A scrollable part of the review screen.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Panel {
    Answer,
}
