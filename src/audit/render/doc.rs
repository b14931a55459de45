//! The report laid out as a document: sections of text, tables and bars.
//! Every string that came from data (task ids, names, categories) passes
//! through [`clean`] here, once.

use super::{share_text, value_text};
use crate::audit::metrics::{Keyed, LabelShares, Report, TimeStats};
use crate::audit::stats::Figure;

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    /// The first column is a label; the rest are figures.
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Bars {
        title: String,
        bars: Vec<Bar>,
    },
}

/// One bar: `fraction` of the full width (0-1), an optional CI as
/// fractions too, and the text written beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub fraction: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub text: String,
}

/// Sanitized, single-line text from data.
pub fn clean(s: &str) -> String {
    crate::sanitize::sanitize_line(s)
}

/// Long hashes are shown by their first 12 hex digits.
fn short(key: &str) -> String {
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("{}…", &key[..12])
    } else {
        clean(key)
    }
}

fn share_bar(label: &str, f: &Figure) -> Bar {
    Bar {
        label: clean(label),
        fraction: f.value,
        ci: f.ci95,
        text: share_text(f),
    }
}

fn points_text(f: &Figure) -> String {
    match f.value {
        Some(v) => {
            let ci = f.ci95.map_or(String::new(), |[lo, hi]| {
                format!(" [{:+.1}, {:+.1}]", lo * 100.0, hi * 100.0)
            });
            format!("{:+.1} pp{ci} n={}", v * 100.0, f.n)
        }
        None => value_text(f, 3),
    }
}

fn text(s: impl Into<String>) -> Block {
    Block::Text(s.into())
}

fn table(head: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table {
        head: head.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

pub fn layout(r: &Report) -> Vec<Section> {
    vec![
        overview(r),
        precision(r),
        missed(r),
        checks(r),
        steps(r),
        effect(r),
        planted(r),
        agreement(r),
        time(r),
    ]
}

fn overview(r: &Report) -> Section {
    let s = &r.settings;
    let mut blocks = vec![text(format!(
        "95% confidence intervals: percentile bootstrap, {} resamples, seed {}. Figures from fewer than {} observations are reported as insufficient data. Every figure states its n.",
        s.bootstrap_resamples, s.bootstrap_seed, s.min_n
    ))];
    let rows = r
        .sessions
        .iter()
        .map(|x| {
            vec![
                clean(&x.name),
                x.events.to_string(),
                x.tasks.to_string(),
                clean(&x.evaluators.join(", ")),
                x.design.as_ref().map_or("-".into(), |d| clean(&d.study)),
            ]
        })
        .collect();
    blocks.push(table(
        &["session", "events", "tasks", "evaluators", "study"],
        rows,
    ));
    if !r.studies.is_empty() {
        let rows = r
            .studies
            .iter()
            .map(|d| {
                vec![
                    clean(&d.study),
                    clean(&d.evaluators.join(", ")),
                    d.overlap.to_string(),
                    d.seed.to_string(),
                    format!("{}/{}", d.sessions, d.evaluators.len()),
                    d.items.to_string(),
                    d.qc_items.to_string(),
                ]
            })
            .collect();
        blocks.push(table(
            &[
                "study",
                "evaluators",
                "overlap",
                "seed",
                "sessions",
                "items",
                "qc items",
            ],
            rows,
        ));
    }
    Section {
        title: "Overview".into(),
        blocks,
    }
}

fn shares_row(key: &str, s: &LabelShares) -> Vec<String> {
    vec![
        short(key),
        s.n.to_string(),
        share_text(&s.valid),
        share_text(&s.hallucinated),
        share_text(&s.nitpick),
    ]
}

fn shares_table(first: &str, groups: &[Keyed<LabelShares>]) -> Block {
    let rows = groups
        .iter()
        .map(|g| shares_row(&g.key, &g.value))
        .collect();
    table(&[first, "labels", "valid", "hallucinated", "nitpick"], rows)
}

/// The `MAX_ROWS` largest groups, largest first.
fn top(groups: &[Keyed<LabelShares>]) -> Vec<Keyed<LabelShares>> {
    let mut g = groups.to_vec();
    g.sort_by(|a, b| b.value.n.cmp(&a.value.n).then(a.key.cmp(&b.key)));
    g.truncate(MAX_ROWS);
    g
}

fn precision(r: &Report) -> Section {
    let p = &r.precision;
    let o = &p.overall;
    Section {
        title: "Critique precision".into(),
        blocks: vec![
            Block::Bars {
                title: format!("Assistant critiques by evaluator label (n={} labels)", o.n),
                bars: vec![
                    share_bar("valid", &o.valid),
                    share_bar("hallucinated", &o.hallucinated),
                    share_bar("nitpick", &o.nitpick),
                ],
            },
            shares_table("model SHA-256", &p.by_model),
            shares_table("prompt template SHA-256", &p.by_template),
            shares_table("severity", &p.by_severity),
            shares_table("category", &top(&p.by_category)),
        ]
        .into_iter()
        .chain(more(
            p.by_category.len(),
            MAX_ROWS.min(p.by_category.len()),
            "categories",
        ))
        .collect(),
    }
}

/// Longer lists are cut to this many rows in the renderings (JSON has all).
const MAX_ROWS: usize = 20;

/// A note on rows left out, if any.
fn more(total: usize, shown: usize, what: &str) -> Option<Block> {
    (total > shown).then(|| {
        text(format!(
            "…and {} more {what} (all of them are in --json).",
            total - shown
        ))
    })
}

fn missed(r: &Report) -> Section {
    let m = &r.missed_flaws;
    // The tasks with most missed flaws first.
    let mut tasks: Vec<_> = m.per_task.iter().filter(|t| t.missed > 0).collect();
    tasks.sort_by(|a, b| b.missed.cmp(&a.missed).then(a.task.cmp(&b.task)));
    let rows = tasks
        .iter()
        .take(MAX_ROWS)
        .map(|t| {
            vec![
                clean(&t.task),
                t.written.to_string(),
                t.comparable.to_string(),
                t.missed.to_string(),
            ]
        })
        .collect();
    Section {
        title: "Missed flaws".into(),
        blocks: [
            Some(text(format!(
                "Evaluators wrote {} critiques of their own. Not overlapped by any assistant critique: {}. Assistant critiques quoting a planted span: {}. Tasks with missed flaws:",
                m.written,
                share_text(&m.missed),
                share_text(&m.assistant_quotes_plant)
            ))),
            Some(table(&["task", "written", "comparable", "missed"], rows)),
            more(tasks.len(), MAX_ROWS.min(tasks.len()), "tasks"),
        ]
        .into_iter()
        .flatten()
        .collect(),
    }
}

fn checks(r: &Report) -> Section {
    let mut section = check_section("Checks", &r.checks);
    if let Some(c) = &r.computed_checks {
        let computed = check_section("Computed checks (crit-tools)", c);
        section.blocks.push(text(format!("{}:", computed.title)));
        section.blocks.extend(computed.blocks);
    }
    section
}

fn check_section(title: &str, c: &crate::audit::metrics::Checks) -> Section {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (label, counts) in c.matrix.labels.iter().zip(&c.matrix.counts) {
        let mut row = vec![format!("assistant {label}")];
        row.extend(counts.iter().map(|n| n.to_string()));
        rows.push(row);
    }
    let head: Vec<String> = std::iter::once("".to_string())
        .chain(c.matrix.labels.iter().map(|l| format!("evaluator {l}")))
        .collect();
    Section {
        title: title.into(),
        blocks: vec![
            text(format!(
                "Evaluator agrees with the assistant's verdict: {}. Cohen's kappa: {}.",
                share_text(&c.agreement),
                value_text(&c.kappa, 3)
            )),
            Block::Table { head, rows },
        ],
    }
}

fn steps(r: &Report) -> Section {
    let s = &r.steps;
    let max = s
        .first_error_step
        .iter()
        .map(|p| p.count)
        .max()
        .unwrap_or(1);
    let bars = s
        .first_error_step
        .iter()
        .map(|p| Bar {
            label: format!("step {}", p.step),
            fraction: Some(p.count as f64 / max as f64),
            ci: None,
            text: p.count.to_string(),
        })
        .collect();
    Section {
        title: "Steps".into(),
        blocks: vec![
            text(format!(
                "{} rated step lists ({} on the assistant's decomposition). With a step rated -1: {}. First error at relative position (1 = last step): {}. First errors an assistant critique points at: {}.",
                s.rated_paths,
                s.on_decomposition,
                share_text(&s.with_error),
                value_text(&s.first_error_relative, 2),
                share_text(&s.first_error_flagged_by_critique)
            )),
            Block::Bars {
                title: "First step rated -1".into(),
                bars,
            },
        ],
    }
}

fn effect(r: &Report) -> Section {
    let e = &r.effect;
    let b = &e.blind_first;
    let g = &e.gold;
    let diffs = e
        .arm_differences
        .iter()
        .map(|d| {
            vec![
                format!("{} − {}", clean(&d.a), clean(&d.b)),
                points_text(&d.difference),
            ]
        })
        .collect();
    Section {
        title: "Effect of assistance".into(),
        blocks: vec![
            text(format!(
                "Blind-first: {} tasks with verdicts before and after the reveal; changed: {}; accept→reject {}, reject→accept {}, score up {}, down {}, preference changed {}; confidence change (points): {}.",
                b.pairs, share_text(&b.changed), b.accept_to_reject, b.reject_to_accept,
                b.score_up, b.score_down, b.preference_changed, value_text(&b.confidence_change, 1)
            )),
            text(format!(
                "Gold for {} tasks: {} from --gold, {} from imported labels, {} planted (gold: reject); {} tasks with conflicting imported labels.",
                g.tasks, g.from_file, g.from_imports, g.from_planted, g.import_conflicts
            )),
            Block::Bars {
                title: "Accuracy against gold by arm".into(),
                bars: e.accuracy_by_arm.iter().map(|k| share_bar(&k.key, &k.value)).collect(),
            },
            table(&["arms", "accuracy difference"], diffs),
        ],
    }
}

fn planted(r: &Report) -> Section {
    let p = &r.planted;
    Section {
        title: "Planted flaws".into(),
        blocks: vec![
            text(format!(
                "{} planted items. Caught (rejected, or an evaluator critique on the planted span): {}.",
                p.items,
                share_text(&p.caught)
            )),
            Block::Bars {
                title: "Catch rate by arm".into(),
                bars: p.by_arm.iter().map(|k| share_bar(&k.key, &k.value)).collect(),
            },
            Block::Bars {
                title: "Catch rate by evaluator".into(),
                bars: p.by_evaluator.iter().map(|k| share_bar(&k.key, &k.value)).collect(),
            },
        ],
    }
}

fn agreement(r: &Report) -> Section {
    let a = &r.agreement;
    let pairs = a
        .pairs
        .iter()
        .map(|p| {
            vec![
                format!("{} · {}", clean(&p.a), clean(&p.b)),
                value_text(&p.kappa_accept, 3),
            ]
        })
        .collect();
    let al = &a.alpha;
    let alpha_rows = [
        ("accept/reject", "nominal", &al.accept_nominal),
        ("preference", "nominal", &al.preference_nominal),
        ("score 1-7", "ordinal", &al.score_ordinal),
        ("score 1-7", "interval", &al.score_interval),
        ("critique labels", "nominal", &al.critique_label_nominal),
        ("check labels", "nominal", &al.check_label_nominal),
        ("step ratings", "ordinal", &al.step_rating_ordinal),
    ]
    .into_iter()
    .map(|(what, level, f)| vec![what.to_string(), level.to_string(), value_text(f, 3)])
    .collect();
    let gold = a
        .with_gold
        .iter()
        .map(|k| {
            vec![
                clean(&k.key),
                share_text(&k.value.accuracy),
                value_text(&k.value.kappa_accept, 3),
            ]
        })
        .collect();
    Section {
        title: "Agreement".into(),
        blocks: vec![
            table(&["evaluators", "Cohen's kappa (accept/reject)"], pairs),
            table(&["judgement", "level", "Krippendorff's alpha"], alpha_rows),
            table(&["evaluator", "accuracy vs gold", "kappa vs gold"], gold),
        ],
    }
}

fn time_table(first: &str, groups: &[Keyed<TimeStats>]) -> Block {
    let rows = groups
        .iter()
        .map(|k| {
            vec![
                clean(&k.key),
                k.value.n.to_string(),
                value_text(&k.value.mean_seconds, 1),
                value_text(&k.value.median_seconds, 1),
            ]
        })
        .collect();
    table(&[first, "tasks", "mean active s", "median active s"], rows)
}

fn time(r: &Report) -> Section {
    let t = &r.time;
    let rs = &t.rubber_stamp;
    Section {
        title: "Time and reliance".into(),
        blocks: vec![
            time_table("arm", &t.by_arm),
            time_table("evaluator", &t.by_evaluator),
            time_table("evaluator/arm", &t.by_evaluator_arm),
            Block::Bars {
                title: format!(
                    "Labels given under {:.1} s after the item was first shown (rubber-stamping signal)",
                    rs.threshold_ms as f64 / 1000.0
                ),
                bars: std::iter::once(share_bar("all", &rs.fast))
                    .chain(rs.by_evaluator.iter().map(|k| share_bar(&k.key, &k.value)))
                    .collect(),
            },
            text(format!(
                "Critiques labelled valid without the evaluator focusing them (quoted span not highlighted): {}.",
                share_text(&t.valid_without_focus)
            )),
        ],
    }
}
