//! A minimal one-page PDF writer: text in Helvetica or Helvetica-Bold (WinAnsi encoding), lines
//! and boxes. Enough for a slip; no fonts embedded, no compression, so the output is small,
//! deterministic and easy to check.

use std::fmt::Write as _;

/// A4 portrait, in points.
pub const PAGE_WIDTH: f32 = 595.0;
/// A4 portrait, in points.
pub const PAGE_HEIGHT: f32 = 842.0;

/// Which of the two standard fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

/// One page being drawn; coordinates are points from the bottom-left corner.
#[derive(Debug, Default)]
pub struct Page {
    content: String,
}

/// Escapes text for a PDF string literal in WinAnsi: Latin-1 characters map to themselves,
/// anything WinAnsi cannot show becomes `?` (the standard fonts have no Devanagari).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{ff}' => {
                let _ = write!(out, "\\{:03o}", u32::from(c));
            }
            _ => out.push('?'),
        }
    }
    out
}

impl Page {
    /// Text at (`x`, `y`) in `font` at `size` points.
    pub fn text(&mut self, x: f32, y: f32, font: Font, size: f32, text: &str) {
        let name = match font {
            Font::Regular => "F1",
            Font::Bold => "F2",
        };
        let _ = writeln!(
            self.content,
            "BT /{name} {size} Tf {x} {y} Td ({}) Tj ET",
            escape_text(text)
        );
    }

    /// A horizontal rule from `x1` to `x2` at `y`.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        let _ = writeln!(self.content, "0.5 w {x1} {y} m {x2} {y} l S");
    }

    /// A rectangle's outline.
    pub fn rect(&mut self, x: f32, y: f32, width: f32, height: f32) {
        let _ = writeln!(self.content, "1.5 w {x} {y} {width} {height} re S");
    }

    /// Filled black squares, each (`x`, `y`, side) from its bottom-left corner: a QR code's
    /// dark modules, drawn as vectors so they stay sharp at any zoom and print size.
    pub fn squares(&mut self, squares: impl IntoIterator<Item = (f32, f32, f32)>) {
        self.content.push_str("0 g\n");
        for (x, y, side) in squares {
            let _ = writeln!(self.content, "{x:.2} {y:.2} {side:.3} {side:.3} re");
        }
        self.content.push_str("f\n");
    }

    /// The finished document, with `title` in its metadata.
    pub fn finish(self, title: &str) -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .to_owned(),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
                .to_owned(),
            format!(
                "<< /Length {} >>\nstream\n{}endstream",
                self.content.len(),
                self.content
            ),
            format!("<< /Title ({}) /Producer (Teeka) >>", escape_text(title)),
        ];
        // The binary comment line tells transfer tools the file is not plain text.
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref_at = out.len();
        let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for offset in offsets {
            let _ = writeln!(xref, "{offset:010} 00000 n ");
        }
        let _ = write!(
            xref,
            "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            objects.len() + 1
        );
        out.extend_from_slice(xref.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_winansi() {
        assert_eq!(escape_text("a(b)c\\"), "a\\(b\\)c\\\\");
        assert_eq!(escape_text("café"), "caf\\351");
        assert_eq!(escape_text("टीका"), "????");
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let mut page = Page::default();
        page.text(50.0, 800.0, Font::Bold, 14.0, "Hello (world)");
        let pdf = page.finish("t");
        // Offsets count bytes; everything after the binary comment line is ASCII.
        let header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".len();
        let text = std::str::from_utf8(&pdf[header..]).expect("ascii after the header");
        let tail = text.rsplit("startxref\n").next().expect("startxref");
        let startxref: usize = tail
            .lines()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("offset");
        let xref = std::str::from_utf8(&pdf[startxref..]).expect("ascii");
        assert!(xref.starts_with("xref\n0 8\n"));
        for (i, line) in xref.lines().skip(3).take(7).enumerate() {
            let offset: usize = line[..10].parse().expect("offset");
            assert_eq!(line.len(), 19, "entries are 20 bytes with the EOL");
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {} at {offset}",
                i + 1
            );
        }
    }
}
