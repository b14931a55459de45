//! The document as Markdown: tables, and bars as text.

use super::doc::{Block, Section};

/// Characters that would break a table cell or start formatting.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!(
            "_{}: no data_\n",
            esc(head.first().map_or("", |h| h.as_str()))
        );
    }
    let row = |cells: &[String]| {
        let parts: Vec<String> = cells.iter().map(|c| esc(c)).collect();
        format!("| {} |\n", parts.join(" | "))
    };
    let mut out = row(head);
    let rule: Vec<&str> = (0..head.len())
        .map(|i| if i == 0 { "---" } else { "---:" })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for r in rows {
        out.push_str(&row(r));
    }
    out
}

pub fn render(doc: &[Section]) -> String {
    let mut out = String::from("# crit audit\n");
    for s in doc {
        out.push_str(&format!("\n## {}\n\n", esc(&s.title)));
        for b in &s.blocks {
            match b {
                Block::Text(t) => out.push_str(&format!("{}\n", esc(t))),
                Block::Table { head, rows } => out.push_str(&table(head, rows)),
                Block::Bars { title, bars } => {
                    out.push_str(&format!("**{}**\n\n", esc(title)));
                    if bars.is_empty() {
                        out.push_str("_no data_\n");
                    }
                    for b in bars {
                        let drawn = b.fraction.map_or("·".to_string(), |f| {
                            super::terminal::bar(f).trim_end().to_string()
                        });
                        out.push_str(&format!(
                            "- {}: `{drawn}` {}\n",
                            esc(&b.label),
                            esc(&b.text)
                        ));
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}
