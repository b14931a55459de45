//! Which protocol arm a task is reviewed under.

use super::event::{Protocol, ProtocolSpec};
use super::fold::EvaluatorWork;
use super::replay::Replay;

/// The arm `evaluator` reviews task `task_id` under: the arm they saw
/// (recorded when the task opened), else the study design's (`crit
/// assign`), else the one `spec` draws. The review and its replay ask here.
pub fn arm_of(replay: &Replay, evaluator: &str, task_id: &str, spec: &ProtocolSpec) -> Protocol {
    replay
        .task_state(task_id)
        .and_then(|s| s.by_evaluator.get(evaluator))
        .and_then(|w| w.arm)
        .or_else(|| replay.assigned_arm(task_id))
        .unwrap_or_else(|| arm_for(spec, task_id))
}

/// Is assistance hidden under `arm` from an evaluator whose work on the
/// task is `work`? Blind-first shows it once revealed (after the unaided
/// verdict).
pub fn is_hidden(arm: Protocol, work: Option<&EvaluatorWork>) -> bool {
    match arm {
        Protocol::Assisted => false,
        Protocol::Unassisted => true,
        Protocol::BlindFirst => !work.is_some_and(|w| w.revealed),
    }
}

/// The protocol of task `task_id` under `spec`: the fixed one, or an arm
/// drawn by a stable hash of the seed and the task id (so every evaluator
/// and every reopening draws the same arm).
pub fn arm_for(spec: &ProtocolSpec, task_id: &str) -> Protocol {
    match spec {
        ProtocolSpec::Fixed(p) => *p,
        ProtocolSpec::Arms { arms, .. } if arms.is_empty() => Protocol::Assisted,
        ProtocolSpec::Arms { arms, seed } => {
            let key = format!("{seed}:{task_id}");
            let digest = crate::hash::sha256_hex(key.as_bytes());
            let n = u64::from_str_radix(&digest[..15], 16).unwrap_or(0);
            arms[(n % arms.len() as u64) as usize]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_are_stable_and_all_used() {
        let spec = ProtocolSpec::Arms {
            arms: vec![Protocol::Assisted, Protocol::BlindFirst],
            seed: 7,
        };
        let drawn: Vec<Protocol> = (0..40).map(|i| arm_for(&spec, &format!("t{i}"))).collect();
        assert!(drawn.contains(&Protocol::Assisted) && drawn.contains(&Protocol::BlindFirst));
        assert_eq!(arm_for(&spec, "t3"), drawn[3]);
        let fixed = ProtocolSpec::Fixed(Protocol::Unassisted);
        assert_eq!(arm_for(&fixed, "t3"), Protocol::Unassisted);
    }
}
