//! Ranking critiques across several sampled critique sets: a flaw that
//! many samples point at is more likely real than one a single sample
//! invented. Critiques on the same segment (same side and span) are merged;
//! the merged list is ordered by agreement, then severity, then position.

use super::{Critique, Severity};

/// Merge critique sets sampled with different seeds into one ranked list.
/// Each merged critique is the first sample's wording for its segment, its
/// `agreement` the number of sets that flag the segment, its severity the
/// highest any of them gave. Unanchored critiques (imports only) are kept
/// apart, each with agreement 1.
pub fn merge(sets: &[Vec<Critique>]) -> Vec<Critique> {
    let mut merged: Vec<(Critique, Vec<usize>)> = Vec::new();
    for (sample, set) in sets.iter().enumerate() {
        for c in set {
            let same = merged
                .iter_mut()
                .find(|(m, _)| c.span.is_some() && m.span == c.span && m.side == c.side);
            match same {
                Some((m, samples)) => {
                    if !samples.contains(&sample) {
                        samples.push(sample);
                    }
                    m.severity = max_severity(m.severity, c.severity);
                }
                None => merged.push((c.clone(), vec![sample])),
            }
        }
    }
    let mut out: Vec<Critique> = merged
        .into_iter()
        .map(|(mut c, samples)| {
            c.agreement = Some(samples.len() as u32);
            c
        })
        .collect();
    // Stable: ties keep first-seen order.
    out.sort_by(|a, b| {
        b.agreement
            .cmp(&a.agreement)
            .then(rank(b.severity).cmp(&rank(a.severity)))
            .then(start(a).cmp(&start(b)))
    });
    out
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Minor => 0,
        Severity::Major => 1,
        Severity::Critical => 2,
    }
}

fn max_severity(a: Severity, b: Severity) -> Severity {
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn start(c: &Critique) -> usize {
    c.span.map_or(usize::MAX, |s| s.start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Span;

    fn c(start: usize, severity: Severity) -> Critique {
        Critique {
            quote: format!("q{start}"),
            comment: "c".into(),
            severity,
            category: "k".into(),
            span: Some(Span {
                start,
                end: start + 2,
            }),
            side: None,
            agreement: None,
        }
    }

    #[test]
    fn agreement_then_severity_then_position() {
        let sets = vec![
            vec![c(0, Severity::Critical), c(10, Severity::Minor)],
            vec![c(10, Severity::Major), c(20, Severity::Minor)],
            vec![
                c(10, Severity::Minor),
                c(30, Severity::Major),
                c(10, Severity::Minor),
            ],
        ];
        let out = merge(&sets);
        let got: Vec<(usize, u32, Severity)> = out
            .iter()
            .map(|c| (c.span.unwrap().start, c.agreement.unwrap(), c.severity))
            .collect();
        assert_eq!(
            got,
            [
                (10, 3, Severity::Major),
                (0, 1, Severity::Critical),
                (30, 1, Severity::Major),
                (20, 1, Severity::Minor),
            ]
        );
        assert_eq!(out[0].quote, "q10", "the first sample's wording");
        assert!(merge(&[vec![], vec![]]).is_empty(), "no flaw in any sample");
    }
}
