//! Critique precision: shares of assistant critiques the evaluators
//! labelled valid / hallucinated / nitpick. Each (evaluator, critique) label
//! is one observation.

use super::{grouped, Keyed};
use crate::audit::extract::severity_name;
use crate::audit::obs::CritiqueLabelObs;
use crate::audit::stats::{proportion, Bootstrap, Figure};
use crate::session::event::CritiqueLabel;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelShares {
    /// Labels counted.
    pub n: usize,
    pub valid: Figure,
    pub hallucinated: Figure,
    pub nitpick: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Precision {
    pub overall: LabelShares,
    /// By SHA-256 of the model file.
    pub by_model: Vec<Keyed<LabelShares>>,
    /// By SHA-256 of the prompt template.
    pub by_template: Vec<Keyed<LabelShares>>,
    /// By the severity the assistant gave.
    pub by_severity: Vec<Keyed<LabelShares>>,
    pub by_category: Vec<Keyed<LabelShares>>,
}

pub fn shares(labels: &[&CritiqueLabelObs], boot: Bootstrap) -> LabelShares {
    let n = labels.len();
    let count = |l: CritiqueLabel| labels.iter().filter(|o| o.label == l).count();
    LabelShares {
        n,
        valid: proportion(count(CritiqueLabel::Valid), n, boot),
        hallucinated: proportion(count(CritiqueLabel::Hallucinated), n, boot),
        nitpick: proportion(count(CritiqueLabel::Nitpick), n, boot),
    }
}

pub fn precision(labels: &[CritiqueLabelObs], boot: Bootstrap) -> Precision {
    let all: Vec<&CritiqueLabelObs> = labels.iter().collect();
    let by = |key: &dyn Fn(&CritiqueLabelObs) -> String| {
        grouped(labels, |o| Some(key(o)), |g| shares(g, boot))
    };
    Precision {
        overall: shares(&all, boot),
        by_model: by(&|o| o.model.to_string()),
        by_template: by(&|o| o.template.to_string()),
        by_severity: by(&|o| severity_name(o.severity).to_string()),
        by_category: by(&|o| o.category.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assist::Severity;

    fn obs(label: CritiqueLabel, model: &str, severity: Severity) -> CritiqueLabelObs {
        CritiqueLabelObs {
            task: "t".into(),
            evaluator: "e".into(),
            model: model.into(),
            template: "tpl".into(),
            severity,
            category: "math".into(),
            label,
            unit: 0,
            focused: true,
        }
    }

    #[test]
    fn shares_overall_and_by_group() {
        use CritiqueLabel::*;
        let mut labels = vec![];
        for l in [Valid, Valid, Valid, Hallucinated, Nitpick, Valid] {
            labels.push(obs(l, "m1", Severity::Major));
        }
        for l in [Hallucinated, Hallucinated] {
            labels.push(obs(l, "m2", Severity::Minor));
        }
        let p = precision(&labels, Bootstrap::default());
        assert_eq!(p.overall.n, 8);
        assert_eq!(p.overall.valid.count, Some(4));
        assert_eq!(p.overall.valid.value, Some(0.5));
        assert_eq!(p.overall.hallucinated.value, Some(3.0 / 8.0));
        assert_eq!(p.by_model.len(), 2);
        assert_eq!(p.by_model[0].key, "m1");
        assert_eq!(p.by_model[0].value.valid.value, Some(4.0 / 6.0));
        // Two labels: too few for a share.
        assert_eq!(p.by_model[1].value.n, 2);
        assert_eq!(p.by_model[1].value.hallucinated.value, None);
        let keys: Vec<&str> = p.by_severity.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["major", "minor"]);
    }
}
