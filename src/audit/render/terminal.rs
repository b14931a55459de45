//! The document as terminal text: box-drawn tables and unicode bars.

use super::doc::{Bar, Block, Section};
use unicode_width::UnicodeWidthStr;

const BAR_WIDTH: usize = 30;

pub fn render(doc: &[Section]) -> String {
    let mut out = String::from("crit audit\n");
    for s in doc {
        out.push('\n');
        out.push_str(&s.title);
        out.push('\n');
        out.push_str(&"═".repeat(s.title.width()));
        out.push('\n');
        for b in &s.blocks {
            match b {
                Block::Text(t) => out.push_str(&wrap(t, 100)),
                Block::Table { head, rows } => out.push_str(&table(head, rows)),
                Block::Bars { title, bars } => out.push_str(&bar_chart(title, bars)),
            }
            out.push('\n');
        }
    }
    out
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!("({}: no data)\n", head.first().map_or("", |h| h.as_str()));
    }
    let cols = head.len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            std::iter::once(&head[c])
                .chain(rows.iter().filter_map(|r| r.get(c)))
                .map(|s| s.width())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let parts: Vec<String> = (0..cols)
            .map(|c| pad(cells.get(c).map_or("", |s| s.as_str()), widths[c], c > 0))
            .collect();
        format!("│ {} │\n", parts.join(" │ "))
    };
    let rule = |l: &str, m: &str, r: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let mut out = rule("┌", "┬", "┐");
    out.push_str(&line(head));
    out.push_str(&rule("├", "┼", "┤"));
    for r in rows {
        out.push_str(&line(r));
    }
    out.push_str(&rule("└", "┴", "┘"));
    out
}

/// A bar of `fraction` of `BAR_WIDTH` cells, in eighths.
pub fn bar(fraction: f64) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = (fraction.clamp(0.0, 1.0) * (BAR_WIDTH * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    s.push_str(PARTS[eighths % 8]);
    pad(&s, BAR_WIDTH, false)
}

fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let mut out = format!("{title}\n");
    if bars.is_empty() {
        out.push_str("  (no data)\n");
        return out;
    }
    let lw = bars.iter().map(|b| b.label.width()).max().unwrap_or(0);
    for b in bars {
        let drawn = b.fraction.map_or_else(|| pad("·", BAR_WIDTH, false), bar);
        out.push_str(&format!(
            "  {} │{drawn}│ {}\n",
            pad(&b.label, lw, false),
            b.text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_in_eighths() {
        assert_eq!(bar(1.0).trim_end(), "█".repeat(BAR_WIDTH));
        assert_eq!(bar(0.5).trim_end(), "█".repeat(15));
        assert_eq!(bar(1.0 / 240.0).trim_end(), "▏");
        assert_eq!(bar(0.0).width(), BAR_WIDTH);
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["a".into(), "bb".into()],
            &[vec!["xyz".into(), "1".into()]],
        );
        assert!(t.contains("│ xyz │  1 │"), "{t}");
    }
}
