//! Screen layout as a pure function of the terminal size, shared by drawing
//! and by the update (cursor motion, scrolling, mouse hit-testing).

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// Below this the UI asks for a larger window.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this width on, answer and assistance sit side by side.
pub const WIDE: u16 = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    /// Prompt (and reference) block, bordered.
    pub prompt: Rect,
    /// Answer pane, bordered.
    pub answer: Rect,
    /// Tab bar of the assistance panel (one line).
    pub tabs: Rect,
    /// Assistance body, bordered.
    pub assist: Rect,
    pub verdict: Rect,
    pub status: Rect,
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// Prompt height: its wrapped lines plus borders, at most a quarter screen.
pub fn areas(area: Rect, prompt_lines: u16) -> Areas {
    let [main, verdict, status] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let max_prompt = (main.height / 4).max(3);
    let prompt_h = (prompt_lines + 2).clamp(3, max_prompt);
    let (left, right) = if area.width >= WIDE {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(main);
        (l, r)
    } else {
        let [l, r] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(main);
        (l, r)
    };
    let [prompt, answer] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(prompt_h), Constraint::Min(3)])
        .areas(left);
    let [tabs, assist] = Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(right);
    Areas {
        prompt,
        answer,
        tabs,
        assist,
        verdict,
        status,
    }
}

/// Inside of a bordered block.
pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

/// A centred popup of at most `w` x `h`.
pub fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Where the correction editor's text goes: inside its bordered popup.
/// Drawing and the update (moving by screen line) share it.
pub fn correction_text(area: Rect) -> Rect {
    inner(popup(area, area.width * 9 / 10, area.height * 8 / 10))
}
