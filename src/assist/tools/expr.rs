//! Parse and evaluate one side of a written calculation exactly.

use super::lex::{Kind, Op, Token};
use super::number::Q;
use num_traits::{One, Signed, ToPrimitive, Zero};

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(Q),
    Neg(Box<Expr>),
    Percent(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

/// How to read `%`: as hundredths (`20% of 50`), or as the bare number
/// (`100 - 20 = 80%` written as `100% - 20% = 80%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentMode {
    Fraction,
    Bare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    DivByZero,
    /// A percent added to a plain number (`50 + 20%`): calculator notation
    /// that can mean `50 * 1.2`, so no verdict.
    Ambiguous,
    TooBig,
}

impl Expr {
    /// Whether an operator is applied (a bare `5` or `-5` computes nothing).
    pub fn computes(&self) -> bool {
        match self {
            Expr::Num(_) => false,
            Expr::Neg(e) | Expr::Percent(e) => e.computes(),
            Expr::Bin(..) => true,
        }
    }

    pub fn has_percent(&self) -> bool {
        match self {
            Expr::Num(_) => false,
            Expr::Percent(_) => true,
            Expr::Neg(e) => e.has_percent(),
            Expr::Bin(_, a, b) => a.has_percent() || b.has_percent(),
        }
    }

    pub fn eval(&self, mode: PercentMode) -> Result<Q, EvalError> {
        let v = match self {
            Expr::Num(q) => q.clone(),
            Expr::Neg(e) => -e.eval(mode)?,
            Expr::Percent(e) => match mode {
                PercentMode::Fraction => e.eval(mode)? / Q::from_integer(100.into()),
                PercentMode::Bare => e.eval(mode)?,
            },
            Expr::Bin(op, a, b) => {
                if matches!(op, Op::Add | Op::Sub) && a.has_percent() != b.has_percent() {
                    return Err(EvalError::Ambiguous);
                }
                apply(*op, a.eval(mode)?, b.eval(mode)?)?
            }
        };
        if v.numer().bits() > 4096 || v.denom().bits() > 4096 {
            return Err(EvalError::TooBig);
        }
        Ok(v)
    }
}

fn apply(op: Op, a: Q, b: Q) -> Result<Q, EvalError> {
    Ok(match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div if b.is_zero() => return Err(EvalError::DivByZero),
        Op::Div => a / b,
        Op::Pow => {
            let e = b
                .is_integer()
                .then(|| b.to_integer().to_i32())
                .flatten()
                .filter(|e| e.abs() <= 64)
                .ok_or(EvalError::TooBig)?;
            if a.is_zero() && e < 0 {
                return Err(EvalError::DivByZero);
            }
            let bits = a.numer().bits().max(a.denom().bits());
            if bits * u64::from(e.unsigned_abs()) > 8192 {
                return Err(EvalError::TooBig);
            }
            let p = num_traits::pow(a.clone(), e.unsigned_abs() as usize);
            if e < 0 {
                Q::one() / p
            } else {
                p
            }
        }
    })
}

/// Parse a whole token slice as one expression; `None` unless every token
/// is used (so `3 + 4 apples` or `2 3` are not expressions).
pub fn parse(tokens: &[Token]) -> Option<Expr> {
    let mut p = Parser { t: tokens, i: 0 };
    let e = p.sum()?;
    (p.i == tokens.len()).then_some(e)
}

struct Parser<'a> {
    t: &'a [Token],
    i: usize,
}

impl Parser<'_> {
    fn kind(&self) -> Option<&Kind> {
        self.t.get(self.i).map(|t| &t.kind)
    }

    fn sum(&mut self) -> Option<Expr> {
        let mut e = self.product()?;
        while let Some(Kind::Op(op @ (Op::Add | Op::Sub))) = self.kind() {
            let op = *op;
            self.i += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
        Some(e)
    }

    fn product(&mut self) -> Option<Expr> {
        let mut e = self.unary()?;
        loop {
            let op = match self.kind() {
                Some(Kind::Op(op @ (Op::Mul | Op::Div))) => *op,
                Some(Kind::Of) => Op::Mul,
                // `2(3 + 4)`: implicit multiplication, only when glued
                // (`70 (70%)` is a remark in parentheses, not a product).
                Some(Kind::Open) if self.t[self.i].glued => {
                    e = Expr::Bin(Op::Mul, Box::new(e), Box::new(self.unary()?));
                    continue;
                }
                _ => return Some(e),
            };
            self.i += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Option<Expr> {
        match self.kind()? {
            Kind::Op(Op::Sub) => {
                self.i += 1;
                Some(Expr::Neg(Box::new(self.unary()?)))
            }
            Kind::Op(Op::Add) => {
                self.i += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Option<Expr> {
        let base = self.postfix()?;
        if let Some(Kind::Op(Op::Pow)) = self.kind() {
            self.i += 1;
            let exp = self.unary()?;
            return Some(Expr::Bin(Op::Pow, Box::new(base), Box::new(exp)));
        }
        Some(base)
    }

    fn postfix(&mut self) -> Option<Expr> {
        let mut e = self.primary()?;
        while let Some(Kind::Percent) = self.kind() {
            self.i += 1;
            e = Expr::Percent(Box::new(e));
        }
        Some(e)
    }

    fn primary(&mut self) -> Option<Expr> {
        match self.kind()? {
            Kind::Num(n) => {
                let v = n.value.clone();
                self.i += 1;
                Some(Expr::Num(v))
            }
            Kind::Open => {
                self.i += 1;
                let e = self.sum()?;
                (self.kind()? == &Kind::Close).then(|| self.i += 1)?;
                Some(e)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lex::lex;
    use super::*;
    use crate::task::Span;

    fn eval(s: &str, mode: PercentMode) -> Option<Result<Q, EvalError>> {
        let toks = lex(
            s,
            Span {
                start: 0,
                end: s.len(),
            },
            &[],
        );
        parse(&toks).map(|e| e.eval(mode))
    }

    fn q(n: i64, d: i64) -> Q {
        Q::new(n.into(), d.into())
    }

    #[test]
    fn precedence_parentheses_and_powers() {
        let f = PercentMode::Fraction;
        assert_eq!(eval("2 + 3 * 4", f), Some(Ok(q(14, 1))));
        assert_eq!(eval("(2 + 3) * 4", f), Some(Ok(q(20, 1))));
        assert_eq!(eval("2(3 + 4)", f), Some(Ok(q(14, 1))));
        assert_eq!(eval("70 (70%)", f), None);
        assert_eq!(eval("-2^2", f), Some(Ok(q(-4, 1))));
        assert_eq!(eval("2^-1", f), Some(Ok(q(1, 2))));
        assert_eq!(eval("10 / 4", f), Some(Ok(q(5, 2))));
        assert_eq!(eval("1/0", f), Some(Err(EvalError::DivByZero)));
        assert_eq!(eval("2 3", f), None);
        assert_eq!(eval("3 +", f), None);
    }

    #[test]
    fn percents() {
        assert_eq!(eval("20% of 50", PercentMode::Fraction), Some(Ok(q(10, 1))));
        assert_eq!(eval("100% - 20%", PercentMode::Bare), Some(Ok(q(80, 1))));
        assert_eq!(
            eval("50 + 20%", PercentMode::Fraction),
            Some(Err(EvalError::Ambiguous))
        );
    }
}
