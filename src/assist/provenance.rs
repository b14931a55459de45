//! How provenance is written, and the provenance of checks crit computes
//! itself. A model generation records its model, template, prompt, sampler,
//! seed and engine figures; computed checks record the tool and its version
//! instead, and none of the model's fields (absent, never faked).

use super::tools::{self, TOOL_NAME, TOOL_VERSION};
use super::{Assistance, ModelInfo, Output, Provenance, SamplerSettings, Served};
use crate::task::Task;
use serde::{Deserialize, Serialize, Serializer};

/// The program that computed a piece of assistance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    /// crit's own checker (`assist::tools`).
    pub fn crit_tools() -> ToolInfo {
        ToolInfo {
            name: TOOL_NAME.into(),
            version: TOOL_VERSION.into(),
        }
    }

    /// "crit-tools 1", for display and export metadata.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

impl Provenance {
    /// Nothing known yet but crit's version: the base that computed and
    /// imported assistance fill in (`..Provenance::empty()`), so a field
    /// added later is empty there without touching them.
    pub fn empty() -> Provenance {
        Provenance {
            model: None,
            served: None,
            tool: None,
            template_name: String::new(),
            template_sha256: String::new(),
            prompt_sha256: String::new(),
            sampler: None,
            seed: 0,
            sample_seeds: Vec::new(),
            n_ctx: 0,
            n_threads: 0,
            max_tokens: 0,
            crit_version: crate::VERSION.into(),
            prompt_tokens: 0,
            gen_tokens: 0,
            prompt_ms: 0,
            gen_ms: 0,
        }
    }

    /// Provenance of something `tool` computed: no model, template, prompt,
    /// sampler or seed.
    pub fn computed(tool: ToolInfo) -> Provenance {
        Provenance {
            tool: Some(tool),
            ..Provenance::empty()
        }
    }

    /// Computed by a tool rather than written by a model.
    pub fn is_computed(&self) -> bool {
        self.tool.is_some()
    }
}

/// The tool checks of `task` as a piece of assistance (instant, no model).
pub fn computed_checks(task: &Task) -> Assistance {
    Assistance {
        output: Output::ToolChecks {
            checks: tools::checks(task),
        },
        raw: String::new(),
        provenance: Provenance::computed(ToolInfo::crit_tools()),
        truncated: None,
    }
}

/// Provenance as written. For model assistance every field is written as
/// before tools existed (old readers and exports see the same lines); for
/// computed assistance the model's fields are left out.
#[derive(Serialize)]
struct Written<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a ModelInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    served: Option<&'a Served>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a ToolInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sampler: Option<&'a SamplerSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_seeds: Option<&'a [u32]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_ctx: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_threads: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    crit_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gen_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gen_ms: Option<u64>,
}

impl Serialize for Provenance {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Destructured in full: a new field does not compile until it is
        // written here too.
        let Provenance {
            model,
            served,
            tool,
            template_name,
            template_sha256,
            prompt_sha256,
            sampler,
            seed,
            sample_seeds,
            n_ctx,
            n_threads,
            max_tokens,
            crit_version,
            prompt_tokens,
            gen_tokens,
            prompt_ms,
            gen_ms,
        } = self;
        let generated = tool.is_none();
        let keep = |v| generated.then_some(v);
        Written {
            model: model.as_ref(),
            served: served.as_ref(),
            tool: tool.as_ref(),
            template_name: keep(template_name.as_str()),
            template_sha256: keep(template_sha256.as_str()),
            prompt_sha256: keep(prompt_sha256.as_str()),
            sampler: sampler.as_ref(),
            seed: generated.then_some(*seed),
            sample_seeds: (!sample_seeds.is_empty()).then_some(sample_seeds.as_slice()),
            n_ctx: generated.then_some(*n_ctx),
            n_threads: generated.then_some(*n_threads),
            max_tokens: generated.then_some(*max_tokens),
            crit_version,
            prompt_tokens: generated.then_some(*prompt_tokens),
            gen_tokens: generated.then_some(*gen_tokens),
            prompt_ms: generated.then_some(*prompt_ms),
            gen_ms: generated.then_some(*gen_ms),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(answer: &str, reference: Option<&str>) -> Task {
        serde_json::from_value(serde_json::json!({
            "id": "t", "prompt": "p", "answer": answer, "reference": reference
        }))
        .unwrap()
    }

    #[test]
    fn computed_checks_name_the_tool_and_nothing_of_a_model() {
        let a = computed_checks(&task("3 + 4 = 8\nSo 8.", Some("7")));
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["output"]["kind"], "tool_checks");
        let p = v["provenance"].as_object().unwrap();
        let keys: Vec<&str> = p.keys().map(String::as_str).collect();
        assert_eq!(keys, ["crit_version", "tool"], "no model fields: {p:?}");
        assert_eq!(v["provenance"]["tool"]["name"], TOOL_NAME);
        assert_eq!(v["provenance"]["tool"]["version"], TOOL_VERSION);
        assert!(v.get("raw").is_none());
        let checks = a.output.checks().unwrap();
        assert!(checks.iter().all(|c| c.span.is_some()));
        assert!(checks
            .iter()
            .any(|c| c.assistant_verdict == super::super::CheckVerdict::Fail));
        let back: Assistance = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
        assert!(back.provenance.is_computed() && back.provenance.sampler.is_none());
        assert_eq!(back.provenance.model_id(), "");
    }

    #[test]
    fn model_provenance_is_written_as_before() {
        let mut p = Provenance::computed(ToolInfo::crit_tools());
        p.tool = None;
        p.sampler = Some(SamplerSettings::default());
        p.template_name = "critique".into();
        let v = serde_json::to_value(&p).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = [
            "template_name",
            "template_sha256",
            "prompt_sha256",
            "sampler",
            "seed",
            "n_ctx",
            "n_threads",
            "max_tokens",
            "crit_version",
            "prompt_tokens",
            "gen_tokens",
            "prompt_ms",
            "gen_ms",
        ];
        want.sort();
        assert_eq!(keys, want, "zeros and empty strings stay written");
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.starts_with(r#"{"template_name":"critique","template_sha256":"""#));
        assert_eq!(serde_json::from_value::<Provenance>(v).unwrap(), p);
    }
}
