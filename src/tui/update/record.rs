//! What reaches the log besides judgements: appends (none when read-only,
//! and actions that would record say so), view actions (debounced) and
//! active time.

use super::msg::Effect;
use crate::session::event::{Body, ViewAction};
use crate::tui::state::App;

/// View actions wait this long for a newer one before being recorded.
pub const DEBOUNCE_MS: u64 = 1_000;
/// Active time is recorded at least this often while working on a task.
pub const ACTIVE_FLUSH_MS: u64 = 60_000;

pub(super) fn append(app: &App, fx: &mut Vec<Effect>, body: Body, durable: bool) {
    if !app.opts.read_only {
        fx.push(Effect::Append { body, durable });
    }
}

pub(super) fn view(app: &App, fx: &mut Vec<Effect>, action: ViewAction) {
    let body = Body::View {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        action,
    };
    append(app, fx, body, false);
}

/// Queue a view action; a newer one of the same sort replaces it.
pub(super) fn queue_view(app: &mut App, action: ViewAction) {
    let same = |a: &ViewAction| match (a, &action) {
        (ViewAction::Scrolled { panel: p, .. }, ViewAction::Scrolled { panel: q, .. }) => p == q,
        // Focus on another piece of assistance is a different fact.
        (ViewAction::Focused { assistance: x, .. }, ViewAction::Focused { assistance: y, .. }) => {
            x == y
        }
        (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
    };
    app.pending_views.retain(|(a, _)| !same(a));
    app.pending_views.push((action, app.now_ms));
}

pub(super) fn flush_views(app: &mut App, fx: &mut Vec<Effect>, all: bool) {
    let now = app.now_ms;
    let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut app.pending_views)
        .into_iter()
        .partition(|(_, t)| all || now.saturating_sub(*t) >= DEBOUNCE_MS);
    app.pending_views = keep;
    for (a, _) in due {
        view(app, fx, a);
    }
}

pub(super) fn flush_active(app: &mut App, fx: &mut Vec<Effect>) {
    if app.pending_active_ms == 0 {
        return;
    }
    let body = Body::ActiveTime {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        ms: app.pending_active_ms,
    };
    app.pending_active_ms = 0;
    append(app, fx, body, false);
}

/// Count time since the last input as active unless it exceeds the idle
/// limit (then the evaluator was away: the clock was paused).
pub(super) fn note_input(app: &mut App) {
    if let Some(last) = app.last_input_ms {
        let gap = app.now_ms.saturating_sub(last);
        if gap <= app.opts.idle_ms {
            app.pending_active_ms += gap;
        }
    }
    app.last_input_ms = Some(app.now_ms);
}

pub(super) fn tick(app: &mut App, fx: &mut Vec<Effect>) {
    flush_views(app, fx, false);
    if app.pending_active_ms >= ACTIVE_FLUSH_MS {
        flush_active(app, fx);
    }
}

/// In read-only mode nothing is recorded: say so. True when refused.
pub(super) fn refuse_read_only(app: &mut App) -> bool {
    if app.opts.read_only {
        app.message = Some("read-only: nothing can be recorded".into());
    }
    app.opts.read_only
}
