//! The document as one self-contained HTML page: inline CSS, bar charts as
//! inline SVG, no scripts and nothing fetched.

use super::doc::{Bar, Block, Section};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}\
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}svg text{font-size:12px;fill:#222}";

const LABEL_W: f64 = 160.0;
const BAR_W: f64 = 320.0;
const ROW_H: f64 = 22.0;

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!(
            "<p><em>{}: no data</em></p>\n",
            esc(head.first().map_or("", |h| h.as_str()))
        );
    }
    let mut out = String::from("<table>\n<tr>");
    for h in head {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", esc(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn svg_bar(i: usize, b: &Bar) -> String {
    let y = i as f64 * ROW_H;
    let mut out = format!(
        "<text x=\"0\" y=\"{:.1}\">{}</text>",
        y + 15.0,
        esc(&b.label)
    );
    out.push_str(&format!(
        "<rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{BAR_W}\" height=\"14\" fill=\"#eee\"/>",
        y + 4.0
    ));
    if let Some(f) = b.fraction {
        out.push_str(&format!(
            "<rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"#4a7ab5\"/>",
            y + 4.0,
            f.clamp(0.0, 1.0) * BAR_W
        ));
    }
    if let Some([lo, hi]) = b.ci {
        let (x1, x2) = (
            LABEL_W + lo.clamp(0.0, 1.0) * BAR_W,
            LABEL_W + hi.clamp(0.0, 1.0) * BAR_W,
        );
        let ym = y + 11.0;
        out.push_str(&format!(
            "<path d=\"M{x1:.1} {ym:.1}H{x2:.1}M{x1:.1} {:.1}V{:.1}M{x2:.1} {:.1}V{:.1}\" stroke=\"#222\" stroke-width=\"1.5\" fill=\"none\"/>",
            ym - 4.0, ym + 4.0, ym - 4.0, ym + 4.0
        ));
    }
    out.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
        LABEL_W + BAR_W + 8.0,
        y + 15.0,
        esc(&b.text)
    ));
    out
}

fn bars(title: &str, bars: &[Bar]) -> String {
    let mut out = format!("<figure><figcaption>{}</figcaption>\n", esc(title));
    if bars.is_empty() {
        out.push_str("<p><em>no data</em></p></figure>\n");
        return out;
    }
    let h = bars.len() as f64 * ROW_H + 4.0;
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{h:.0}\" viewBox=\"0 0 900 {h:.0}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    ));
    for (i, b) in bars.iter().enumerate() {
        out.push_str(&svg_bar(i, b));
    }
    out.push_str("</svg></figure>\n");
    out
}

pub fn render(doc: &[Section]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>crit audit</title><style>{STYLE}</style></head><body>\n<h1>crit audit</h1>\n"
    );
    for s in doc {
        out.push_str(&format!("<section>\n<h2>{}</h2>\n", esc(&s.title)));
        for b in &s.blocks {
            match b {
                Block::Text(t) => out.push_str(&format!("<p>{}</p>\n", esc(t))),
                Block::Table { head, rows } => out.push_str(&table(head, rows)),
                Block::Bars { title, bars: b } => out.push_str(&bars(title, b)),
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn page_is_self_contained() {
        let doc = vec![Section {
            title: "T".into(),
            blocks: vec![Block::Bars {
                title: "b".into(),
                bars: vec![Bar {
                    label: "<x>".into(),
                    fraction: Some(0.5),
                    ci: Some([0.4, 0.6]),
                    text: "50%".into(),
                }],
            }],
        }];
        let page = render(&doc);
        assert!(page.contains("<svg"));
        assert!(page.contains("&lt;x&gt;"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("src="));
        assert!(!page.contains("href="));
    }
}
