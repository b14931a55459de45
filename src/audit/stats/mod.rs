//! Statistics for audits: pure functions over plain numbers.
//!
//! Every figure carries its `n`. A figure computed from fewer than
//! [`MIN_N`] observations (units, for agreement coefficients) is not given:
//! its `value` is `None` and its `note` says "insufficient data (n=…)".
//!
//! Confidence intervals are percentile bootstrap intervals (95%) over
//! [`Bootstrap::resamples`] resamples from a ChaCha8 generator seeded with
//! [`Bootstrap::seed`]; every figure reseeds, so a figure depends only on its
//! own data and the stated seed. Resampling `n` yes/no outcomes with
//! replacement and counting the yeses is drawing from Binomial(n, p̂), so the
//! bootstrap of a proportion draws that binomial directly (same
//! distribution, constant time per resample).

mod agreement;

pub use agreement::{alpha, cohen_kappa, confusion, kappa_value, krippendorff_alpha};
pub use agreement::{Confusion, Level};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::Serialize;

/// Fewer observations than this give "insufficient data" instead of a number.
pub const MIN_N: usize = 5;

/// Default number of bootstrap resamples.
pub const RESAMPLES: usize = 2000;

/// Default bootstrap seed.
pub const SEED: u64 = 1;

/// How confidence intervals are drawn (stated in every report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    pub seed: u64,
    pub resamples: usize,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            seed: SEED,
            resamples: RESAMPLES,
        }
    }
}

impl Bootstrap {
    fn rng(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed)
    }
}

/// One reported number with its sample size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// Observations (units, for agreement) behind the figure.
    pub n: usize,
    /// Successes, for proportions; `None` otherwise.
    pub count: Option<usize>,
    /// The estimate; `None` when there is too little data or it is undefined.
    pub value: Option<f64>,
    /// 95% bootstrap confidence interval `[low, high]`, where one is computed.
    pub ci95: Option<[f64; 2]>,
    /// Why `value` is missing, e.g. "insufficient data (n=3, need 5)".
    pub note: Option<String>,
}

impl Figure {
    pub fn value(n: usize, value: f64) -> Figure {
        Figure {
            n,
            count: None,
            value: Some(value),
            ci95: None,
            note: None,
        }
    }

    /// No number: too little data.
    pub fn insufficient(n: usize) -> Figure {
        Figure::missing(n, format!("insufficient data (n={n}, need {MIN_N})"))
    }

    /// No number, for the reason given.
    pub fn missing(n: usize, note: String) -> Figure {
        Figure {
            n,
            count: None,
            value: None,
            ci95: None,
            note: Some(note),
        }
    }
}

/// Share `count / n` with a bootstrap 95% CI.
pub fn proportion(count: usize, n: usize, boot: Bootstrap) -> Figure {
    if n < MIN_N {
        return Figure {
            count: Some(count),
            ..Figure::insufficient(n)
        };
    }
    let p = count as f64 / n as f64;
    let mut rng = boot.rng();
    let draw = Binomial::new(n as u64, p).expect("p is a share of n");
    let mut samples: Vec<f64> = (0..boot.resamples.max(1))
        .map(|_| draw.sample(&mut rng) as f64 / n as f64)
        .collect();
    Figure {
        n,
        count: Some(count),
        value: Some(p),
        ci95: Some(interval(&mut samples)),
        note: None,
    }
}

/// Share of `true` in `outcomes`.
pub fn share(outcomes: impl IntoIterator<Item = bool>, boot: Bootstrap) -> Figure {
    let (mut count, mut n) = (0, 0);
    for o in outcomes {
        n += 1;
        count += usize::from(o);
    }
    proportion(count, n, boot)
}

/// Difference `a - b` of two independent proportions given as
/// `(count, n)`, with a bootstrap 95% CI (each group resampled on its own).
/// `n` of the figure is `n_a + n_b`.
pub fn difference(a: (usize, usize), b: (usize, usize), boot: Bootstrap) -> Figure {
    let n = a.1 + b.1;
    if a.1 < MIN_N || b.1 < MIN_N {
        let note = format!(
            "insufficient data (n={} and n={}, need {MIN_N} each)",
            a.1, b.1
        );
        return Figure::missing(n, note);
    }
    let (pa, pb) = (a.0 as f64 / a.1 as f64, b.0 as f64 / b.1 as f64);
    let mut rng = boot.rng();
    let da = Binomial::new(a.1 as u64, pa).expect("share");
    let db = Binomial::new(b.1 as u64, pb).expect("share");
    let mut samples: Vec<f64> = (0..boot.resamples.max(1))
        .map(|_| da.sample(&mut rng) as f64 / a.1 as f64 - db.sample(&mut rng) as f64 / b.1 as f64)
        .collect();
    Figure {
        n,
        count: None,
        value: Some(pa - pb),
        ci95: Some(interval(&mut samples)),
        note: None,
    }
}

/// Arithmetic mean (no interval).
pub fn mean(values: &[f64]) -> Figure {
    if values.len() < MIN_N {
        return Figure::insufficient(values.len());
    }
    Figure::value(
        values.len(),
        values.iter().sum::<f64>() / values.len() as f64,
    )
}

/// Median (no interval).
pub fn median(values: &[f64]) -> Figure {
    if values.len() < MIN_N {
        return Figure::insufficient(values.len());
    }
    let mut v = values.to_vec();
    Figure::value(values.len(), quantile(&mut v, 0.5))
}

/// The 2.5% and 97.5% percentiles of `samples` (sorted in place).
pub fn interval(samples: &mut [f64]) -> [f64; 2] {
    [quantile(samples, 0.025), quantile(samples, 0.975)]
}

/// Quantile `q` with linear interpolation between order statistics
/// (Hyndman & Fan type 7, R's default). Sorts `values` in place.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let h = (values.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    values[lo] + (h - lo as f64) * (values[hi] - values[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: Bootstrap = Bootstrap {
        seed: 7,
        resamples: 2000,
    };

    #[test]
    fn proportion_value_and_interval() {
        let f = proportion(30, 100, BOOT);
        assert_eq!(f.n, 100);
        assert_eq!(f.count, Some(30));
        assert_eq!(f.value, Some(0.3));
        let [lo, hi] = f.ci95.unwrap();
        // Normal approximation: 0.3 ± 1.96 * sqrt(0.21 / 100) = [0.210, 0.390].
        assert!((lo - 0.21).abs() < 0.02, "low {lo}");
        assert!((hi - 0.39).abs() < 0.02, "high {hi}");
        // Same seed, same interval; another seed, (almost surely) another.
        assert_eq!(proportion(30, 100, BOOT), f);
    }

    #[test]
    fn too_little_data_is_said_not_computed() {
        let f = proportion(2, 4, BOOT);
        assert_eq!(f.value, None);
        assert_eq!(f.note.as_deref(), Some("insufficient data (n=4, need 5)"));
        assert_eq!(mean(&[1.0, 2.0]).value, None);
        let d = difference((1, 3), (5, 10), BOOT);
        assert_eq!(d.value, None);
        assert!(d.note.unwrap().contains("n=3 and n=10"));
    }

    #[test]
    fn extreme_proportions_have_degenerate_intervals() {
        let f = proportion(5, 5, BOOT);
        assert_eq!(f.value, Some(1.0));
        assert_eq!(f.ci95, Some([1.0, 1.0]));
    }

    #[test]
    fn difference_of_proportions() {
        let d = difference((60, 100), (40, 100), BOOT);
        let v = d.value.unwrap();
        assert!((v - 0.2).abs() < 1e-12);
        let [lo, hi] = d.ci95.unwrap();
        // sqrt(0.24/100 + 0.24/100) = 0.0693; ± 1.96 se = [0.064, 0.336].
        assert!((lo - 0.064).abs() < 0.03, "low {lo}");
        assert!((hi - 0.336).abs() < 0.03, "high {hi}");
    }

    #[test]
    fn quantiles_interpolate() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v, 0.5), 2.5);
        assert_eq!(quantile(&mut v, 0.0), 1.0);
        assert_eq!(quantile(&mut v, 1.0), 4.0);
        assert_eq!(median(&[5.0, 1.0, 3.0, 2.0, 4.0]).value, Some(3.0));
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0, 5.0]).value, Some(3.0));
    }

    #[test]
    fn share_counts_outcomes() {
        let f = share([true, false, true, true, false, false], BOOT);
        assert_eq!((f.count, f.n), (Some(3), 6));
        assert_eq!(f.value, Some(0.5));
    }
}
