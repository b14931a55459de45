//! Drawing, from an immutable view of the state (`impl Widget for &App`;
//! nothing is cloned per frame). Everything from tasks or the model goes
//! through `text::display` (sanitized) before it reaches a cell; a last
//! pass (`scrub`) replaces any cell that still holds a control or invisible
//! character, so a path missed here can garble a cell but never drive the
//! terminal (the hostile-corpus test fails when it finds one).
//!
//! One file per part of the screen: `answer` (prompt and answer panes),
//! `bars` (tab bar, verdict bar, status line), `assist` (the assistance
//! panel) with `lists` (its critique/check/step items), `diff`, `overlay`
//! (help, guidelines, forms), `theme`, and `parts` (blocks, wrapping) they
//! share. Submodules import only siblings, never this one. Drawing returns
//! the layout it drew (`Drawn`) for mouse hit-testing.

mod answer;
mod assist;
mod bars;
mod diff;
mod editor;
mod lists;
mod overlay;
mod parts;
mod theme;

use super::drawn::Drawn;
use super::layout;
use super::state::App;
use super::text;
use crate::sanitize::is_unsafe;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, StatefulWidget, Widget};
use theme::Theme;

/// Draw the whole screen into `buf`; returns what was drawn where.
pub fn draw(app: &App, area: Rect, buf: &mut Buffer) -> Drawn {
    let drawn = draw_parts(app, area, buf);
    scrub(area, buf);
    drawn
}

fn draw_parts(app: &App, area: Rect, buf: &mut Buffer) -> Drawn {
    if layout::too_small(area) {
        too_small(area, buf);
        return Drawn::default();
    }
    let th = Theme::of(app);
    let a = app.areas_in(area);
    answer::prompt(app, &th, a.prompt, buf);
    let answer = answer::answer(app, &th, a.answer, buf);
    let tabs = bars::tabs(app, &th, a.tabs, buf);
    let list = assist::assist(app, &th, a.assist, buf);
    bars::verdict_bar(app, &th, a.verdict, buf);
    bars::status(app, &th, a.status, buf);
    overlay::overlay(app, &th, area, buf);
    Drawn {
        areas: a,
        tabs,
        list,
        answer: Some(answer),
    }
}

/// What a cell shows in place of a control or invisible character that
/// reached it unsanitized.
pub const SCRUBBED: &str = "\u{FFFD}";

/// Replace every cell whose symbol holds a control or invisible character.
fn scrub(area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            if cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || is_unsafe(c))
            {
                cell.set_symbol(SCRUBBED);
            }
        }
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        draw(self, area, buf);
    }
}

/// Renders like the `Widget` and keeps the layout in the state.
impl StatefulWidget for &App {
    type State = Drawn;

    fn render(self, area: Rect, buf: &mut Buffer, drawn: &mut Drawn) {
        *drawn = draw(self, area, buf);
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    let msg = format!(
        "Terminal too small: {}x{}. crit review needs at least {}x{}; please enlarge the window.",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    let y = area.y + area.height / 2;
    let lines: Vec<Line> = text::wrap(&msg, area.width as usize)
        .into_iter()
        .map(|r| Line::from(msg[r].to_string()).centered())
        .collect();
    let h = (lines.len() as u16).min(area.height);
    let r = Rect::new(area.x, y.saturating_sub(h / 2), area.width, h);
    Paragraph::new(lines).render(r, buf);
}
