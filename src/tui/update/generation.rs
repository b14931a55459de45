//! Assistance: what to request (the current task and the prefetch window),
//! the streamed results, failures and cancellation, and `R`.

use super::msg::Effect;
use super::record::refuse_read_only;
use crate::assist::{self, Kind};
use crate::session::event::Body;
use crate::session::work;
use crate::tui::keymap::Action;
use crate::tui::state::{App, Gen, Protocol};

/// Bytes of streamed text kept for display.
const STREAM_TAIL: usize = 4_000;

fn in_window(app: &App, task: usize) -> bool {
    (app.current..=app.current + app.opts.prefetch).contains(&task)
}

/// After a jump, queued requests for tasks outside the new window would
/// make the evaluator wait: cancel them without recording a failure, so
/// they are submitted again when needed. Running ones finish.
pub(super) fn drop_stale_prefetch(app: &mut App, fx: &mut Vec<Effect>) {
    let current = app.current;
    let window = current..=current + app.opts.prefetch;
    for (id, g) in app.gens.iter_mut() {
        if !g.started && !g.dropped && !window.contains(&g.task) {
            g.dropped = true;
            fx.push(Effect::Cancel(*id));
        }
    }
}

/// Record the current task's computed checks when it has none: pure and
/// instant, so they never wait for the engine (nor need one).
pub(super) fn ensure_tool_checks(app: &mut App, fx: &mut Vec<Effect>) {
    let i = app.current;
    if app.opts.read_only
        || i >= app.task_count()
        || app.arm(i) == Protocol::Unassisted
        || !work::needs_tool_checks(app.replay.state(i))
    {
        return;
    }
    fx.push(Effect::Append {
        body: work::tool_checks(app.replay.task(i)),
        durable: false,
    });
}

/// Submit the missing assistance for the current task and the next
/// `prefetch` tasks: what `session::work` says a task still needs (the rule
/// `crit generate` follows too), unless it is in flight; `R` forces more.
pub(super) fn ensure_assistance(app: &mut App, fx: &mut Vec<Effect>) {
    if app.opts.no_assist.is_some() || app.opts.read_only {
        return;
    }
    let end = (app.current + app.opts.prefetch + 1).min(app.task_count());
    for i in app.current..end {
        if app.arm(i) == Protocol::Unassisted {
            continue;
        }
        let (task, state) = (app.replay.task(i), app.replay.state(i));
        for need in work::missing(task, state, &Kind::ALL) {
            if !app
                .gens
                .values()
                .any(|g| g.task == i && g.kind == need.kind)
            {
                let seed = need.seed(app.opts.seed, i);
                submit(app, i, need.kind, seed, fx);
            }
        }
    }
}

fn submit(app: &mut App, task: usize, kind: Kind, seed: u32, fx: &mut Vec<Effect>) {
    let id = app.next_id;
    app.next_id += 1;
    app.gens.insert(
        id,
        Gen {
            task,
            kind,
            seed,
            text: String::new(),
            tokens: 0,
            started: false,
            prompt_tokens: 0,
            truncated: None,
            dropped: false,
            first_token_ms: None,
            last_token_ms: 0,
        },
    );
    fx.push(Effect::Submit {
        id,
        task,
        kind,
        seed,
        input: app.replay.task(task).clone(),
    });
}

pub(super) fn assist_event(app: &mut App, ev: assist::Event, fx: &mut Vec<Effect>) {
    let id = ev.id();
    let now = app.now_ms;
    let Some(gen) = app.gens.get_mut(&id) else {
        return; // a request from before a restart of the map; ignore
    };
    match ev {
        assist::Event::Started {
            prompt_tokens,
            truncated,
            ..
        } => {
            gen.started = true;
            gen.prompt_tokens = prompt_tokens;
            gen.truncated = truncated;
        }
        assist::Event::Token { text, .. } => {
            gen.tokens += 1;
            gen.first_token_ms.get_or_insert(now);
            gen.last_token_ms = now;
            gen.text.push_str(&text);
            trim_tail(&mut gen.text);
        }
        ev @ assist::Event::Done { .. } => {
            let gen = app.gens.remove(&id).expect("present");
            let task = &app.replay.task(gen.task).id;
            if let Some(body) = work::outcome(task, gen.kind, gen.seed, &ev) {
                fx.push(Effect::Append {
                    body,
                    durable: true,
                });
            }
        }
        ev => failed(app, id, &ev, fx),
    }
}

fn trim_tail(s: &mut String) {
    if s.len() > STREAM_TAIL {
        let mut cut = s.len() - STREAM_TAIL / 2;
        while !s.is_char_boundary(cut) {
            cut += 1;
        }
        s.drain(..cut);
    }
}

/// A generation ended without output: failed, or cancelled.
fn failed(app: &mut App, id: u64, ev: &assist::Event, fx: &mut Vec<Effect>) {
    let gen = app.gens.remove(&id).expect("present");
    if app.quit {
        return; // cancelled on the way out: it will be generated next time
    }
    if gen.dropped {
        // Dropped from the queue, not failed; back in view meanwhile?
        if in_window(app, gen.task) {
            ensure_assistance(app, fx);
        }
        return;
    }
    let task = &app.replay.task(gen.task).id;
    let Some(body) = work::outcome(task, gen.kind, gen.seed, ev) else {
        return;
    };
    if gen.task == app.current {
        let what = match &body {
            Body::AssistanceFailed { error, .. } if !error.is_empty() => error.as_str(),
            _ => "cancelled",
        };
        app.message = Some(format!("{} generation: {what}", gen.kind));
    }
    fx.push(Effect::Append {
        body,
        durable: false,
    });
}

pub(super) fn regenerate(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    if let Some(why) = &app.opts.no_assist {
        app.message = Some(format!("no assistance: {why}"));
        return;
    }
    if app.hidden() {
        app.message = Some(app.hidden_reason());
        return;
    }
    let Some(kind) = app.tab.kind() else {
        app.message = Some(format!(
            "{} regenerates on the critiques, checks and steps tabs",
            app.key(Action::Regenerate)
        ));
        return;
    };
    if let Some((id, _)) = app.gen_for(kind) {
        fx.push(Effect::Cancel(id));
    }
    let versions = app.task_state().assistance.get(&kind).map_or(0, Vec::len);
    let tries = app
        .task_state()
        .failures
        .iter()
        .filter(|f| f.kind == kind)
        .count();
    // A fresh seed per attempt, reproducible from the base seed.
    let attempt = (versions + tries + 1) as u32;
    let seed = assist::derive_seed(app.opts.seed, app.current, kind, attempt);
    let i = app.current;
    submit(app, i, kind, seed, fx);
    app.message = Some(format!("regenerating {} (seed {seed})", kind.name()));
}

pub(super) fn cancel(app: &mut App, fx: &mut Vec<Effect>) {
    if app.anchor.take().is_some() {
        return;
    }
    let ids: Vec<u64> = app
        .gens
        .iter()
        .filter(|(_, g)| g.task == app.current)
        .map(|(id, _)| *id)
        .collect();
    if ids.is_empty() {
        return;
    }
    app.message = Some("cancelling generation".into());
    fx.extend(ids.into_iter().map(Effect::Cancel));
}
