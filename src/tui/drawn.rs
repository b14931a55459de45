//! The layout a frame drew: its areas, where each tab title and list item
//! landed, and which part of the answer each row shows. Drawing returns it,
//! the driver keeps the last one and hands it over with each mouse event,
//! and the update hit-tests against it: the update never renders, and a
//! click means what was on screen when it was made (television's
//! `draw(ctx) -> Layout`).

use super::layout::Areas;
use super::state::Tab;
use ratatui::layout::{Position, Rect};
use std::ops::Range;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drawn {
    /// All zero when the terminal was too small to draw the UI.
    pub areas: Areas,
    /// Columns of each tab title on the tab bar.
    pub tabs: Vec<(Tab, Range<u16>)>,
    /// The assistance panel's item list, when one was drawn.
    pub list: Option<DrawnList>,
    /// The answer text, when drawn.
    pub answer: Option<DrawnAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawnList {
    /// The tab whose items these are.
    pub tab: Tab,
    /// Item index and the screen rows it covers (only rows inside the panel).
    pub items: Vec<(usize, Range<u16>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawnAnswer {
    /// Which answer was shown: task index, and B of a pairwise task.
    pub task: usize,
    pub side_b: bool,
    /// Where the text was drawn (inside the border).
    pub area: Rect,
    /// Byte range of the answer shown on each row, top down.
    pub rows: Vec<Range<usize>>,
}

impl Drawn {
    /// The tab whose title is at `p`.
    pub fn tab_at(&self, p: Position) -> Option<Tab> {
        if !self.areas.tabs.contains(p) {
            return None;
        }
        let hit = self.tabs.iter().find(|(_, cols)| cols.contains(&p.x));
        hit.map(|(tab, _)| *tab)
    }

    /// The item of `tab`'s list drawn at `p`.
    pub fn item_at(&self, tab: Tab, p: Position) -> Option<usize> {
        let list = self.list.as_ref().filter(|l| l.tab == tab)?;
        if !self.areas.assist.contains(p) {
            return None;
        }
        let hit = list.items.iter().find(|(_, rows)| rows.contains(&p.y));
        hit.map(|(i, _)| *i)
    }
}

impl DrawnAnswer {
    /// The byte range of the answer row at `p`, and the column of `p` in it.
    pub fn at(&self, p: Position) -> Option<(Range<usize>, usize)> {
        if !self.area.contains(p) {
            return None;
        }
        let row = self.rows.get(usize::from(p.y - self.area.y))?;
        Some((row.clone(), usize::from(p.x - self.area.x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_follow_what_was_drawn() {
        let areas = Areas {
            tabs: Rect::new(60, 0, 60, 1),
            assist: Rect::new(60, 1, 60, 20),
            ..Areas::default()
        };
        let drawn = Drawn {
            areas,
            tabs: vec![(Tab::Critiques, 60..75), (Tab::Checks, 76..88)],
            list: Some(DrawnList {
                tab: Tab::Checks,
                items: vec![(0, 2..5), (1, 5..9)],
            }),
            answer: Some(DrawnAnswer {
                task: 0,
                side_b: false,
                area: Rect::new(1, 5, 58, 3),
                rows: vec![0..10, 10..20],
            }),
        };
        assert_eq!(drawn.tab_at(Position::new(80, 0)), Some(Tab::Checks));
        assert_eq!(drawn.tab_at(Position::new(75, 0)), None, "the separator");
        assert_eq!(drawn.item_at(Tab::Checks, Position::new(70, 6)), Some(1));
        assert_eq!(drawn.item_at(Tab::Critiques, Position::new(70, 6)), None);
        assert_eq!(drawn.item_at(Tab::Checks, Position::new(70, 12)), None);
        let answer = drawn.answer.as_ref().unwrap();
        assert_eq!(answer.at(Position::new(4, 6)), Some((10..20, 3)));
        assert_eq!(answer.at(Position::new(4, 7)), None, "below the text");
        assert_eq!(Drawn::default().tab_at(Position::new(0, 0)), None);
    }
}
