//! Synthetic sessions for export tests and the export benchmark: fixed
//! provenance and content, built through `Session` like a real one.

use crit::assist::{
    Assistance, Critique, ModelInfo, Output, Provenance, SamplerSettings, Severity, Step, StepKind,
};
use crit::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Preference, SourceFormat, Target, Verdict,
};
use crit::session::{Result, Session};
use crit::task::{Span, Task};
use std::path::Path;

/// Provenance with fixed, recognisable hashes.
pub fn provenance(template: &str) -> Provenance {
    Provenance {
        model: Some(ModelInfo {
            file_name: "model.gguf".into(),
            size: 1,
            sha256: "m".repeat(64),
        }),
        served: None,
        tool: None,
        template_name: template.into(),
        template_sha256: format!("{:0<64}", template.len()),
        prompt_sha256: "p".repeat(64),
        sampler: Some(SamplerSettings::default()),
        seed: 7,
        sample_seeds: Vec::new(),
        n_ctx: 4096,
        n_threads: 1,
        max_tokens: 512,
        crit_version: crit::VERSION.into(),
        prompt_tokens: 10,
        gen_tokens: 20,
        prompt_ms: 1,
        gen_ms: 2,
    }
}

pub fn assistance(output: Output) -> std::sync::Arc<Assistance> {
    let template = output.kind().name();
    std::sync::Arc::new(Assistance {
        raw: serde_json::to_string(&output).unwrap_or_default(),
        provenance: provenance(template),
        output,
        truncated: None,
    })
}

pub fn critique(answer: &str, quote: &str, comment: &str, severity: Severity) -> Critique {
    Critique {
        quote: quote.into(),
        comment: comment.into(),
        severity,
        category: "correctness".into(),
        span: crit::assist::anchor::find(answer, quote),
        side: None,
        agreement: None,
    }
}

pub fn step(id: usize, text: &str) -> Step {
    Step {
        id: format!("s{id}"),
        text: text.into(),
        parent: None,
        kind: StepKind::Step,
        span: None,
        restatement: None,
        verify: None,
    }
}

/// Tasks for the benchmark: single answers with three known steps, every
/// fourth one pairwise.
pub fn bench_tasks(n: usize) -> Vec<Task> {
    (0..n)
        .map(|i| {
            let answer = format!(
                "First, {i} + 1 = {}. Then double it. So the answer is {}.",
                i + 1,
                2 * (i + 1)
            );
            let cut1 = answer.find(" Then").unwrap_or(0);
            let cut2 = answer.find(" So").unwrap_or(cut1);
            Task {
                id: format!("task-{i}"),
                prompt: format!("What is 2 * ({i} + 1)?"),
                steps: Some(vec![
                    Span {
                        start: 0,
                        end: cut1,
                    },
                    Span {
                        start: cut1,
                        end: cut2,
                    },
                    Span {
                        start: cut2,
                        end: answer.len(),
                    },
                ]),
                answer_b: (i.is_multiple_of(4)).then(|| format!("It is {}.", 2 * i + 1)),
                answer,
                reference: Some(format!("{}", 2 * (i + 1))),
                meta: Default::default(),
            }
        })
        .collect()
}

/// A session of about `events` events: per task one critique assistance,
/// two critique labels, three step ratings, a verdict, a correction on
/// every tenth task, plus view and active-time events. Returns the number of
/// events written.
pub fn bench_session(dir: &Path, events: usize) -> Result<usize> {
    const PER_TASK: usize = 9;
    let n = events.div_ceil(PER_TASK).max(1);
    let tasks = bench_tasks(n);
    let mut s = Session::create_or_open(dir, &tasks, "synthetic", SourceFormat::Native)?;
    for (i, t) in tasks.iter().enumerate() {
        append_bench_task(&mut s, i, t)?;
    }
    s.sync()?;
    Ok(s.events().len())
}

fn append_bench_task(s: &mut Session, i: usize, t: &Task) -> Result<()> {
    let ev = if i.is_multiple_of(3) { "bob" } else { "alice" };
    let task = t.id.clone();
    s.append(Body::View {
        task: task.clone(),
        evaluator: ev.into(),
        action: crit::session::event::ViewAction::TaskOpened {
            arm: Some(crit::session::event::Protocol::Assisted),
        },
    })?;
    let out = Output::Critique {
        critiques: vec![
            critique(&t.answer, "Then double it.", "Fine.", Severity::Minor),
            critique(
                &t.answer,
                "So the answer",
                "Check the sum.",
                Severity::Major,
            ),
        ],
    };
    let a = s
        .append(Body::Assistance {
            task: task.clone(),
            assistance: assistance(out),
        })?
        .seq;
    for (index, verdict) in [(0, CritiqueLabel::Nitpick), (1, CritiqueLabel::Valid)] {
        label(
            s,
            &task,
            ev,
            Target::Critique {
                assistance: a,
                index,
            },
            LabelValue::Critique {
                verdict,
                severity: None,
            },
        )?;
    }
    for (index, rating) in [1i8, 1, if i.is_multiple_of(2) { -1 } else { 1 }]
        .into_iter()
        .enumerate()
    {
        label(
            s,
            &task,
            ev,
            Target::Step {
                assistance: None,
                index,
            },
            LabelValue::Step { rating },
        )?;
    }
    let verdict = if t.is_pairwise() {
        Verdict::Pairwise {
            preferred: if i.is_multiple_of(8) {
                Preference::A
            } else {
                Preference::B
            },
            strength: Some(2),
            confidence: Some(80),
            rationale: String::new(),
        }
    } else {
        Verdict::Single {
            accept: Some(i % 2 == 1),
            score: Some((i % 7 + 1) as u8),
            confidence: Some(50 + (i % 51) as u8),
            rationale: "synthetic".into(),
        }
    };
    s.append(Body::Verdict {
        task: task.clone(),
        evaluator: ev.into(),
        verdict,
        phase: Phase::Assisted,
        source: None,
    })?;
    if i.is_multiple_of(10) {
        s.append(Body::Correction {
            task: task.clone(),
            evaluator: ev.into(),
            text: format!("{} (corrected)", t.answer),
        })?;
    } else {
        s.append(Body::ActiveTime {
            task: task.clone(),
            evaluator: ev.into(),
            ms: 1000,
        })?;
    }
    Ok(())
}

fn label(s: &mut Session, task: &str, ev: &str, target: Target, value: LabelValue) -> Result<()> {
    s.append(Body::Label {
        task: task.into(),
        evaluator: ev.into(),
        target,
        value,
        source: None,
    })?;
    Ok(())
}
