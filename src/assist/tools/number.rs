//! Numbers as written in answers: exact values (rationals, never floats),
//! how they were written (decimals, thousands separators, currency), and
//! formatting a value back in the same style.

use crate::task::Span;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Exact rational value.
pub type Q = BigRational;

/// A number token: `1,200.50`, `$3`, `.5`, `½`.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub value: Q,
    /// Digits written after the decimal point.
    pub decimals: u32,
    /// Written with a currency sign (`$`, `\$`, `€`, `£`).
    pub currency: bool,
    /// Written with thousands separators (`1,200`).
    pub grouped: bool,
    /// The digits alone (no currency sign): what a rewrite replaces.
    pub digits: Span,
    /// A unit word written with it inside a calculation (`160 sheep +`),
    /// singular, lowercase.
    pub unit: Option<String>,
}

/// Currency signs that may prefix a number.
pub const CURRENCY: [char; 3] = ['$', '€', '£'];

/// Parse the digits of a number starting at byte `at` of `text` (a digit,
/// or `.` followed by a digit). Returns the number and the end byte.
/// Thousands separators are accepted only as `d{1,3}(,ddd)+` not followed
/// by another digit, so lists like `3,4` stay separate numbers.
pub fn scan(text: &str, at: usize) -> Option<(Q, u32, bool, usize)> {
    let b = text.as_bytes();
    let digits_from = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_len = digits_from(at);
    let mut int = text[at..at + int_len].to_string();
    let mut end = at + int_len;
    let mut grouped = false;
    if (1..=3).contains(&int_len) {
        let mut groups = 0;
        let mut probe = end;
        while b.get(probe) == Some(&b',') && digits_from(probe + 1) == 3 {
            probe += 4;
            groups += 1;
        }
        if groups > 0 && !b.get(probe).is_some_and(u8::is_ascii_digit) {
            int = text[at..probe].replace(',', "");
            end = probe;
            grouped = true;
        }
    }
    let mut frac = "";
    if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        let n = digits_from(end + 1);
        frac = &text[end + 1..end + 1 + n];
        end += 1 + n;
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    Some((decimal(&int, frac), frac.len() as u32, grouped, end))
}

/// The exact value of `int.frac`.
pub fn decimal(int: &str, frac: &str) -> Q {
    let digits = format!("{int}{frac}");
    let n: BigInt = if digits.is_empty() {
        BigInt::zero()
    } else {
        digits.parse().unwrap_or_default()
    };
    Q::new(n, pow10(frac.len() as u32))
}

pub fn pow10(n: u32) -> BigInt {
    num_traits::pow(BigInt::from(10), n as usize)
}

/// Value of a vulgar fraction character.
pub fn vulgar(c: char) -> Option<Q> {
    let (n, d) = match c {
        '½' => (1, 2),
        '⅓' => (1, 3),
        '⅔' => (2, 3),
        '¼' => (1, 4),
        '¾' => (3, 4),
        '⅕' => (1, 5),
        '⅖' => (2, 5),
        '⅗' => (3, 5),
        '⅘' => (4, 5),
        '⅙' => (1, 6),
        '⅚' => (5, 6),
        '⅛' => (1, 8),
        '⅜' => (3, 8),
        '⅝' => (5, 8),
        '⅞' => (7, 8),
        _ => return None,
    };
    Some(Q::new(n.into(), d.into()))
}

/// Whether `value` written with `decimals` decimals matches `exact`: equal,
/// or within one unit in the last written place (so both rounding and
/// truncation of a longer value count as right). `scale` converts the
/// written number first (1/100 for a percent read as a fraction).
pub fn matches(exact: &Q, written: &Q, decimals: u32, scale: &Q) -> bool {
    let w = written * scale;
    if *exact == w {
        return true;
    }
    let ulp = Q::new(BigInt::one(), pow10(decimals)) * scale;
    let diff = (exact - &w).abs();
    if diff < ulp {
        return true;
    }
    // Nine or more decimals is a printed machine float (GSM8K's calculator
    // writes 1.87*9 = 16.830000000000002): right within 1e-9 relative.
    decimals >= FLOAT_DECIMALS && diff <= exact.abs().max(Q::one()) * Q::new(1.into(), pow10(9))
}

/// Decimals from which a written result is read as a printed float.
pub const FLOAT_DECIMALS: u32 = 9;

/// Decimal digits of `q` if it terminates within `max` decimals.
pub fn decimals_needed(q: &Q, max: u32) -> Option<u32> {
    (0..=max).find(|&d| (q * Q::from_integer(pow10(d))).is_integer())
}

/// `q` as a decimal with exactly `decimals` decimals (rounded half away
/// from zero), with thousands separators when `grouped`.
pub fn format(q: &Q, decimals: u32, grouped: bool) -> String {
    let scaled = (q * Q::from_integer(pow10(decimals))).round().to_integer();
    let neg = scaled.is_negative();
    let digits = scaled.abs().to_string();
    let d = decimals as usize;
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    let int = if grouped { group(int) } else { int.to_string() };
    let sign = if neg { "-" } else { "" };
    if d == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

fn group(int: &str) -> String {
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Readable exact value: a terminating decimal, else `a/b (≈ x)`.
pub fn show(q: &Q) -> String {
    match decimals_needed(q, 12) {
        Some(d) => format(q, d, false),
        None => {
            let approx = q.to_f64().unwrap_or(f64::NAN);
            format!("{}/{} (≈ {approx:.6})", q.numer(), q.denom())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> Q {
        Q::new(n.into(), d.into())
    }

    #[test]
    fn scans_grouping_decimals_and_lists() {
        let (v, d, g, end) = scan("1,200.50 x", 0).unwrap();
        assert_eq!((v, d, g, end), (q(120050, 100), 2, true, 8));
        assert_eq!(scan("3,4", 0).unwrap().3, 1);
        assert_eq!(scan("1,2345", 0).unwrap().3, 1);
        assert_eq!(scan(".5", 0).unwrap().0, q(1, 2));
        assert_eq!(scan("7.", 0).unwrap().3, 1);
    }

    fn number_of(s: &str) -> Q {
        scan(s, 0).unwrap().0
    }

    #[test]
    fn matches_within_last_written_place() {
        let third = q(1, 3);
        assert!(matches(&third, &q(33, 100), 2, &Q::one()));
        assert!(matches(&third, &q(34, 100), 2, &Q::one()));
        assert!(!matches(&third, &q(35, 100), 2, &Q::one()));
        assert!(!matches(&q(5, 1), &q(4, 1), 0, &Q::one()));
        assert!(matches(&q(1, 5), &q(20, 1), 0, &q(1, 100)));
        let float = number_of("16.830000000000002");
        assert!(matches(&q(1683, 100), &float, 15, &Q::one()));
        assert!(!matches(&q(1684, 100), &float, 15, &Q::one()));
    }

    #[test]
    fn formats_like_the_original() {
        assert_eq!(format(&q(12345, 10), 2, true), "1,234.50");
        assert_eq!(format(&q(-7, 2), 0, false), "-4");
        assert_eq!(format(&q(5, 100), 2, false), "0.05");
        assert_eq!(show(&q(1, 3)), "1/3 (≈ 0.333333)");
        assert_eq!(show(&q(13, 4)), "3.25");
    }
}
