//! Agreement: confusion matrices, Cohen's kappa (two raters) and
//! Krippendorff's alpha (any number of coders, missing values allowed).
//!
//! No maintained Rust crate computes either coefficient, so both are
//! written out here and tested against published worked examples.

use super::{Figure, MIN_N};
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of (row label, column label) pairs, e.g. the assistant's check
/// verdict (rows) against the evaluator's (columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Labels of rows and columns, in this order.
    pub labels: Vec<String>,
    /// `counts[r][c]`: pairs with row label `r` and column label `c`.
    pub counts: Vec<Vec<usize>>,
    pub n: usize,
}

impl Confusion {
    /// Pairs on the diagonal.
    pub fn agreeing(&self) -> usize {
        (0..self.labels.len()).map(|i| self.counts[i][i]).sum()
    }
}

/// Confusion matrix over `labels`; pairs with another label are ignored.
pub fn confusion(pairs: &[(&str, &str)], labels: &[&str]) -> Confusion {
    let k = labels.len();
    let mut counts = vec![vec![0; k]; k];
    let pos = |l: &str| labels.iter().position(|x| *x == l);
    let mut n = 0;
    for (r, c) in pairs {
        if let (Some(r), Some(c)) = (pos(r), pos(c)) {
            counts[r][c] += 1;
            n += 1;
        }
    }
    Confusion {
        labels: labels.iter().map(|l| l.to_string()).collect(),
        counts,
        n,
    }
}

/// Cohen's kappa of two raters' labels on the same units, `None` when chance
/// agreement is total (both raters used a single, same category).
pub fn kappa_value<T: Ord + Clone>(pairs: &[(T, T)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let mut rows: BTreeMap<T, f64> = BTreeMap::new();
    let mut cols: BTreeMap<T, f64> = BTreeMap::new();
    let mut agree = 0.0;
    for (a, b) in pairs {
        *rows.entry(a.clone()).or_default() += 1.0;
        *cols.entry(b.clone()).or_default() += 1.0;
        if a == b {
            agree += 1.0;
        }
    }
    let p_o = agree / n;
    let p_e: f64 = rows
        .iter()
        .map(|(c, r)| r / n * cols.get(c).copied().unwrap_or(0.0) / n)
        .sum();
    if (1.0 - p_e).abs() < 1e-12 {
        return None;
    }
    Some((p_o - p_e) / (1.0 - p_e))
}

/// Cohen's kappa as a figure (n = units rated by both).
pub fn cohen_kappa<T: Ord + Clone>(pairs: &[(T, T)]) -> Figure {
    let n = pairs.len();
    if n < MIN_N {
        return Figure::insufficient(n);
    }
    match kappa_value(pairs) {
        Some(k) => Figure::value(n, k),
        None => Figure::missing(
            n,
            format!("undefined: both raters used one category (n={n})"),
        ),
    }
}

/// Level of measurement: which differences count how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Any two different values differ equally (labels, accept/reject).
    Nominal,
    /// Ranks: a difference weighs by how many values lie between (1-7 scores).
    Ordinal,
    /// Numeric distance squared.
    Interval,
}

/// Krippendorff's alpha. `units[u]` holds the values the coders gave unit
/// `u` (missing values are simply absent). Units with fewer than two values
/// are not pairable and drop out. `None` when there is no pairable value or
/// no variation at all (expected disagreement 0).
pub fn krippendorff_alpha(units: &[Vec<f64>], level: Level) -> Option<f64> {
    let mut values: Vec<f64> = units
        .iter()
        .filter(|u| u.len() >= 2)
        .flatten()
        .copied()
        .collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let o = coincidences(units, &values);
    let marg: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = marg.iter().sum();
    if n <= 1.0 {
        return None;
    }
    let delta = |c: usize, k: usize| difference(level, &values, &marg, c, k);
    let (mut observed, mut expected) = (0.0, 0.0);
    for c in 0..values.len() {
        for k in 0..values.len() {
            let d = delta(c, k);
            observed += o[c][k] * d;
            expected += marg[c] * marg[k] * d;
        }
    }
    if expected == 0.0 {
        return None;
    }
    Some(1.0 - (n - 1.0) * observed / expected)
}

/// Krippendorff's alpha as a figure (n = pairable units).
pub fn alpha(units: &[Vec<f64>], level: Level) -> Figure {
    let n = units.iter().filter(|u| u.len() >= 2).count();
    if n < MIN_N {
        return Figure::insufficient(n);
    }
    match krippendorff_alpha(units, level) {
        Some(a) => Figure::value(n, a),
        None => Figure::missing(n, format!("undefined: every value is the same (n={n})")),
    }
}

/// The coincidence matrix: every ordered pair of values within a unit,
/// weighted 1/(m_u - 1) where m_u is the unit's number of values.
fn coincidences(units: &[Vec<f64>], values: &[f64]) -> Vec<Vec<f64>> {
    let v = values.len();
    let mut o = vec![vec![0.0; v]; v];
    let index = |x: f64| values.partition_point(|y| y.total_cmp(&x).is_lt());
    for unit in units.iter().filter(|u| u.len() >= 2) {
        let mut counts: BTreeMap<usize, f64> = BTreeMap::new();
        for x in unit {
            *counts.entry(index(*x)).or_default() += 1.0;
        }
        let w = 1.0 / (unit.len() as f64 - 1.0);
        for (&c, &nc) in &counts {
            for (&k, &nk) in &counts {
                let pairs = if c == k { nc * (nc - 1.0) } else { nc * nk };
                o[c][k] += pairs * w;
            }
        }
    }
    o
}

/// Squared difference δ²(c, k) between values `c` and `k` (indices into the
/// sorted distinct values) at the given level.
fn difference(level: Level, values: &[f64], marg: &[f64], c: usize, k: usize) -> f64 {
    if c == k {
        return 0.0;
    }
    match level {
        Level::Nominal => 1.0,
        Level::Interval => (values[c] - values[k]).powi(2),
        Level::Ordinal => {
            let (lo, hi) = (c.min(k), c.max(k));
            let between: f64 = marg[lo..=hi].iter().sum();
            (between - (marg[lo] + marg[hi]) / 2.0).powi(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
    /// section E: four observers, twelve units, missing values. Columns are
    /// units; `None` is a missing value.
    fn krippendorff_2011() -> Vec<Vec<f64>> {
        let rows: [[Option<f64>; 12]; 4] = [
            // Observer A
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(1.),
                Some(4.),
                Some(1.),
                Some(2.),
                None,
                None,
                None,
            ],
            // Observer B
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(2.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(5.),
                None,
                Some(3.),
            ],
            // Observer C
            [
                None,
                Some(3.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(3.),
                Some(4.),
                Some(2.),
                Some(2.),
                Some(5.),
                Some(1.),
                None,
            ],
            // Observer D
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(4.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(5.),
                Some(1.),
                None,
            ],
        ];
        columns(&rows)
    }

    fn columns<const U: usize>(rows: &[[Option<f64>; U]]) -> Vec<Vec<f64>> {
        (0..U)
            .map(|u| rows.iter().filter_map(|r| r[u]).collect())
            .collect()
    }

    fn round3(x: f64) -> f64 {
        (x * 1000.0).round() / 1000.0
    }

    #[test]
    fn alpha_matches_krippendorff_2011() {
        let data = krippendorff_2011();
        let a = |l| round3(krippendorff_alpha(&data, l).unwrap());
        assert_eq!(a(Level::Nominal), 0.743);
        assert_eq!(a(Level::Ordinal), 0.815);
        assert_eq!(a(Level::Interval), 0.849);
        // Unit 12 has one value and is not pairable.
        assert_eq!(alpha(&data, Level::Nominal).n, 11);
    }

    /// The computational example of the Wikipedia article on Krippendorff's
    /// alpha (three coders, fifteen units): nominal 0.691, interval 0.811.
    #[test]
    fn alpha_matches_the_wikipedia_example() {
        let n = None;
        let rows: [[Option<f64>; 15]; 3] = [
            [
                n,
                n,
                n,
                n,
                n,
                Some(3.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(1.),
                Some(1.),
                Some(3.),
                Some(3.),
                n,
                Some(3.),
            ],
            [
                Some(1.),
                n,
                Some(2.),
                Some(1.),
                Some(3.),
                Some(3.),
                Some(4.),
                Some(3.),
                n,
                n,
                n,
                n,
                n,
                n,
                n,
            ],
            [
                n,
                n,
                Some(2.),
                Some(1.),
                Some(3.),
                Some(4.),
                Some(4.),
                n,
                Some(2.),
                Some(1.),
                Some(1.),
                Some(3.),
                Some(3.),
                n,
                Some(4.),
            ],
        ];
        let data = columns(&rows);
        assert_eq!(
            round3(krippendorff_alpha(&data, Level::Nominal).unwrap()),
            0.691
        );
        assert_eq!(
            round3(krippendorff_alpha(&data, Level::Interval).unwrap()),
            0.811
        );
    }

    #[test]
    fn alpha_edge_cases() {
        let perfect = vec![vec![1.0, 1.0], vec![2.0, 2.0], vec![3.0, 3.0, 3.0]];
        assert_eq!(krippendorff_alpha(&perfect, Level::Nominal), Some(1.0));
        let constant = vec![vec![1.0, 1.0]; 6];
        assert_eq!(krippendorff_alpha(&constant, Level::Nominal), None);
        assert!(alpha(&constant, Level::Nominal)
            .note
            .unwrap()
            .starts_with("undefined"));
        assert_eq!(krippendorff_alpha(&[vec![1.0]], Level::Nominal), None);
        assert_eq!(alpha(&perfect, Level::Ordinal).value, None);
    }

    /// Wikipedia's kappa example: 50 grant proposals, reader A yes on 25,
    /// B yes on 30; both yes 20, both no 15: p_o = 0.7, p_e = 0.5, κ = 0.4.
    #[test]
    fn kappa_textbook_table() {
        let mut pairs = Vec::new();
        pairs.extend(std::iter::repeat_n(("yes", "yes"), 20));
        pairs.extend(std::iter::repeat_n(("yes", "no"), 5));
        pairs.extend(std::iter::repeat_n(("no", "yes"), 10));
        pairs.extend(std::iter::repeat_n(("no", "no"), 15));
        let k = kappa_value(&pairs).unwrap();
        assert!((k - 0.4).abs() < 1e-12, "{k}");
        let f = cohen_kappa(&pairs);
        assert_eq!(f.n, 50);
    }

    /// Three categories, computed by hand: diagonal 75 + 4 + 10 of 100, so
    /// p_o = 0.89; marginals rows (80, 10, 10), columns (80, 5, 15), so
    /// p_e = 0.64 + 0.005 + 0.015 = 0.66; κ = 0.23 / 0.34 = 0.67647.
    #[test]
    fn kappa_three_categories() {
        let table = [[75, 1, 4], [5, 4, 1], [0, 0, 10]];
        let mut pairs = Vec::new();
        for (r, row) in table.iter().enumerate() {
            for (c, count) in row.iter().enumerate() {
                pairs.extend(std::iter::repeat_n((r, c), *count));
            }
        }
        let k = kappa_value(&pairs).unwrap();
        assert!((k - 0.23 / 0.34).abs() < 1e-12, "{k}");
        // One category for both raters: chance agreement is total.
        assert_eq!(kappa_value(&[(1, 1), (1, 1)]), None);
    }

    #[test]
    fn confusion_counts_pairs() {
        let pairs = [
            ("pass", "pass"),
            ("pass", "fail"),
            ("fail", "fail"),
            ("unsure", "pass"),
            ("other", "pass"),
        ];
        let m = confusion(&pairs, &["pass", "fail", "unsure"]);
        assert_eq!(m.n, 4);
        assert_eq!(m.counts, vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 0]]);
        assert_eq!(m.agreeing(), 2);
    }
}
