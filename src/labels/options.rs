//! What an export is asked for: format, filters, `--resolve`, where `meta`
//! goes. Every enum takes its names from one place (strum, with the same
//! `rename_all` as clap and serde; a test holds them equal).

use serde::Serialize;

/// Training formats `crit export` writes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[value(rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ExportFormat {
    /// TRL preference: {"prompt","chosen","rejected"}
    TrlPreference,
    /// TRL KTO: {"prompt","completion","label"}
    TrlKto,
    /// Reward model: {"prompt","response","score","confidence"}
    Reward,
    /// TRL stepwise supervision: {"prompt","completions","labels"}
    TrlStepwise,
    /// PRM800K's own layout
    Prm800k,
    /// OpenAI chat fine-tuning: {"messages"}
    OpenaiSft,
    /// OpenAI preference fine-tuning: {"input","preferred_output","non_preferred_output"}
    OpenaiDpo,
    /// Critic training data: one record per critique
    Critiques,
    /// Anthropic HH-RLHF: {"chosen","rejected"} transcripts
    HhRlhf,
}

impl ExportFormat {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Every format, in declaration order.
    pub fn all() -> impl Iterator<Item = ExportFormat> {
        <ExportFormat as strum::IntoEnumIterator>::iter()
    }

    /// Formats whose prompt and reply can be plain strings or messages.
    pub fn has_plain_text(self) -> bool {
        matches!(
            self,
            ExportFormat::TrlPreference | ExportFormat::TrlKto | ExportFormat::Reward
        )
    }

    /// Formats built from a conversation (a prompt and reply turns).
    pub fn is_dialogue(self) -> bool {
        self.has_plain_text()
            || matches!(
                self,
                ExportFormat::OpenaiSft | ExportFormat::OpenaiDpo | ExportFormat::HhRlhf
            )
    }
}

/// The kinds of human judgement a session holds (`--kinds`, manifest counts).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[value(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LabelKind {
    /// Overall verdicts (accept/score/pairwise preference).
    Verdict,
    /// Corrected answers.
    Correction,
    /// Step ratings (-1/0/+1), including rated alternatives.
    Step,
    /// Labels on assistant critiques (valid/hallucinated/nitpick).
    Critique,
    /// Critiques the evaluator wrote.
    UserCritique,
    /// Labels on checks (pass/fail/unsure).
    Check,
}

impl LabelKind {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What happens when several evaluators labelled the same unit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[value(rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Resolve {
    /// One record per evaluator (nothing is dropped).
    #[default]
    All,
    /// The most recently recorded label wins.
    Latest,
    /// The value most evaluators gave; a tie emits nothing and is counted.
    Majority,
}

/// Where each record's `meta` (provenance) goes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[value(rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum MetaMode {
    /// A `meta` key in every record.
    Inline,
    /// FILE.meta.jsonl next to the output, one line per record, same order.
    Sidecar,
    /// No meta at all.
    None,
}

impl MetaMode {
    /// Inline, except for formats whose loaders reject unknown keys (the
    /// OpenAI fine-tuning validator: "Found extra column").
    pub fn default_for(format: ExportFormat) -> MetaMode {
        match format {
            ExportFormat::OpenaiSft | ExportFormat::OpenaiDpo => MetaMode::Sidecar,
            _ => MetaMode::Inline,
        }
    }
}

/// Which events count (applied before the fold).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Filters {
    /// Only these evaluators (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evaluators: Vec<String>,
    /// Verdicts below this confidence (or without one) are left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<u8>,
    /// Only tasks the evaluator saw under this protocol arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<crate::session::event::Protocol>,
    /// RFC 3339; labels recorded before this are left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// RFC 3339; labels recorded after this are left out (replay at `until`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only these label kinds (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<LabelKind>,
}

/// Everything an export needs besides the sessions and the output.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub filters: Filters,
    pub resolve: Resolve,
    /// Where each record's `meta` goes (`MetaMode::default_for` the format).
    pub meta: MetaMode,
    /// Prompt and reply as chat messages instead of plain strings
    /// (trl-preference, trl-kto, reward).
    pub conversational: bool,
    /// reward: map the 1-7 score to 0-1.
    pub normalize: bool,
    /// Join adjacent turns of one role (chat templates that require
    /// alternating roles reject them otherwise).
    pub merge_consecutive: bool,
}

impl ExportOptions {
    pub fn new(format: ExportFormat) -> ExportOptions {
        ExportOptions {
            format,
            filters: Filters::default(),
            resolve: Resolve::default(),
            meta: MetaMode::default_for(format),
            conversational: false,
            normalize: false,
            merge_consecutive: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;
    use strum::IntoEnumIterator;

    /// strum's name = clap's name = serde's name, for every variant.
    fn same_names<E>()
    where
        E: IntoEnumIterator + ValueEnum + Serialize + Into<&'static str> + Copy,
    {
        for v in E::iter() {
            let name: &'static str = v.into();
            let clap = v.to_possible_value().unwrap();
            assert_eq!(clap.get_name(), name);
            assert_eq!(serde_json::to_value(v).unwrap(), name);
        }
    }

    #[test]
    fn one_name_per_variant() {
        same_names::<ExportFormat>();
        same_names::<LabelKind>();
        same_names::<Resolve>();
        same_names::<MetaMode>();
        same_names::<crate::labels::import::ImportFormat>();
        assert_eq!(ExportFormat::OpenaiDpo.name(), "openai-dpo");
        assert_eq!(LabelKind::UserCritique.name(), "user_critique");
    }
}
