//! Cutting a task's answer(s) to fit the context, visibly.

use crate::task::Task;

/// The task with its answer(s) cut to `kept` of `total` bytes (shared
/// proportionally between the answers of a pairwise task), each cut marked.
pub(super) fn truncated_task(task: &Task, kept: usize, total: usize) -> Task {
    let mut t = task.clone();
    t.answer = cut_marked(&task.answer, share(task.answer.len(), kept, total));
    if let Some(b) = &task.answer_b {
        t.answer_b = Some(cut_marked(b, share(b.len(), kept, total)));
    }
    t
}

pub(super) fn kept_bytes(task: &Task, kept: usize, total: usize) -> usize {
    let a = floor_char(&task.answer, share(task.answer.len(), kept, total));
    let b = task
        .answer_b
        .as_ref()
        .map_or(0, |b| floor_char(b, share(b.len(), kept, total)));
    a + b
}

fn share(len: usize, kept: usize, total: usize) -> usize {
    if total == 0 {
        0
    } else {
        ((len as u128 * kept as u128) / total as u128) as usize
    }
}

fn floor_char(s: &str, mut n: usize) -> usize {
    n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

fn cut_marked(s: &str, n: usize) -> String {
    let end = floor_char(s, n);
    if end == s.len() {
        return s.to_string();
    }
    format!(
        "{}\n[... answer truncated by crit to fit the context: first {end} of {} bytes shown]",
        &s[..end],
        s.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_cuts_on_char_boundaries_and_marks_the_cut() {
        let t = Task {
            id: "t".into(),
            prompt: "p".into(),
            answer: "ééé".into(),
            answer_b: Some("bbbbbb".into()),
            reference: None,
            steps: None,
            meta: Default::default(),
        };
        let cut = truncated_task(&t, 6, 12);
        assert!(
            cut.answer.starts_with("é\n[... answer truncated by crit"),
            "{}",
            cut.answer
        );
        assert!(cut.answer_b.unwrap().starts_with("bbb\n"));
        assert_eq!(kept_bytes(&t, 6, 12), 2 + 3);
        assert_eq!(truncated_task(&t, 12, 12).answer, "ééé");
    }
}
