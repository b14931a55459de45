//! Which protocol arm a task is reviewed under.

use super::event::{Protocol, ProtocolSpec};

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
