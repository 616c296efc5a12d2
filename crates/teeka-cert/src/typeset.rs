//! One-page PDFs with Latin and Devanagari text in bundled fonts (Noto Sans and Noto Sans
//! Devanagari, subset into each document), shaped with rustybuzz so Hindi's conjuncts and vowel
//! signs come out right, and written with krilla. A line may mix the two scripts: it is split
//! into runs, each drawn in the font that has its letters, and the PDF keeps the text itself
//! (copy, search and screen readers see the words, not glyph numbers).

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use std::sync::LazyLock;

/// A4 portrait, in points.
pub const PAGE_WIDTH: f32 = 595.0;
/// A4 portrait, in points.
pub const PAGE_HEIGHT: f32 = 842.0;

static LATIN_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static LATIN_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");
static DEVANAGARI_REGULAR: &[u8] = include_bytes!("../fonts/NotoSansDevanagari-Regular.ttf");
static DEVANAGARI_BOLD: &[u8] = include_bytes!("../fonts/NotoSansDevanagari-Bold.ttf");

/// A bundled font: the shaper's view and the PDF writer's, parsed once.
struct BundledFont {
    shaper: rustybuzz::Face<'static>,
    pdf: Font,
}

impl BundledFont {
    fn load(data: &'static [u8]) -> Self {
        // The fonts are compiled in and parse: a test loads every one.
        #[allow(clippy::expect_used)]
        Self {
            shaper: rustybuzz::Face::from_slice(data, 0).expect("bundled font parses"),
            pdf: Font::new(data.into(), 0).expect("bundled font parses"),
        }
    }
}

static FONTS: LazyLock<[BundledFont; 4]> = LazyLock::new(|| {
    [
        BundledFont::load(LATIN_REGULAR),
        BundledFont::load(LATIN_BOLD),
        BundledFont::load(DEVANAGARI_REGULAR),
        BundledFont::load(DEVANAGARI_BOLD),
    ]
});

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Noto Sans (Devanagari) Regular.
    Regular,
    /// Noto Sans (Devanagari) Bold.
    Bold,
}

/// Which script a character is written in, for choosing its font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Devanagari,
    /// Spaces, digits and punctuation: both fonts have them, so they join the run they are in.
    Common,
}

fn script_of(c: char) -> Script {
    match c {
        '\u{0900}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{1CD0}'..='\u{1CFF}' => {
            Script::Devanagari
        }
        // Joiners shape Devanagari conjuncts.
        '\u{200C}' | '\u{200D}' => Script::Devanagari,
        c if c.is_ascii_alphabetic() || (c.is_alphabetic() && (c as u32) < 0x0900) => Script::Latin,
        _ => Script::Common,
    }
}

/// `text` cut into runs of one script each (common characters join their neighbours).
fn script_runs(text: &str) -> Vec<(Script, &str)> {
    let mut runs: Vec<(Script, usize, usize)> = Vec::new();
    for (at, c) in text.char_indices() {
        let script = script_of(c);
        let end = at + c.len_utf8();
        match runs.last_mut() {
            Some((current, _, run_end)) if script == Script::Common || script == *current => {
                *run_end = end;
            }
            // A run of common characters takes the script of the first letter after it.
            Some((current, _, run_end)) if *current == Script::Common => {
                *current = script;
                *run_end = end;
            }
            _ => runs.push((script, at, end)),
        }
    }
    runs.into_iter()
        .map(|(s, from, to)| (s, &text[from..to]))
        .collect()
}

fn font_for(script: Script, weight: Weight) -> &'static BundledFont {
    let fonts = &*FONTS;
    match (script, weight) {
        (Script::Devanagari, Weight::Regular) => &fonts[2],
        (Script::Devanagari, Weight::Bold) => &fonts[3],
        (_, Weight::Regular) => &fonts[0],
        (_, Weight::Bold) => &fonts[1],
    }
}

/// One shaped run: its glyphs (advances in em) and its width in em.
fn shape(font: &BundledFont, text: &str) -> (Vec<KrillaGlyph>, f32) {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    let output = rustybuzz::shape(&font.shaper, &[], buffer);
    let em = font.shaper.units_per_em() as f32;
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    let mut glyphs = Vec::with_capacity(infos.len());
    let mut width = 0.0;
    for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
        let start = info.cluster as usize;
        // The glyph stands for the text up to the next cluster (a conjunct's glyphs share one).
        let end = infos[i + 1..]
            .iter()
            .find(|next| next.cluster != info.cluster)
            .map_or(text.len(), |next| next.cluster as usize);
        let advance = pos.x_advance as f32 / em;
        width += advance;
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(info.glyph_id),
            advance,
            pos.x_offset as f32 / em,
            pos.y_offset as f32 / em,
            pos.y_advance as f32 / em,
            start..end.max(start),
            None,
        ));
    }
    (glyphs, width)
}

/// The width of `text` at `size` points.
#[must_use]
pub fn text_width(text: &str, weight: Weight, size: f32) -> f32 {
    script_runs(text)
        .into_iter()
        .map(|(script, run)| shape(font_for(script, weight), run).1 * size)
        .sum()
}

/// What a page holds, drawn in order. Coordinates are points from the top-left corner, y down;
/// text is placed by its baseline.
#[derive(Debug, Default)]
pub struct Sheet {
    items: Vec<Item>,
}

#[derive(Debug)]
enum Item {
    Text {
        x: f32,
        y: f32,
        weight: Weight,
        size: f32,
        text: String,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
    Rectangles(Vec<(f32, f32, f32, f32)>),
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
#[error("the PDF could not be written: {0}")]
pub struct TypesetError(String);

impl Sheet {
    /// Text with its baseline starting at (`x`, `y`).
    pub fn text(&mut self, x: f32, y: f32, weight: Weight, size: f32, text: &str) {
        self.items.push(Item::Text {
            x,
            y,
            weight,
            size,
            text: text.to_owned(),
        });
    }

    /// A thin horizontal rule.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.items.push(Item::Rule { x1, x2, y });
    }

    /// Filled black rectangles (`x`, `y` of the top-left corner, width, height): a QR code's
    /// dark modules, drawn as vectors so they stay sharp at any zoom and print size.
    pub fn rectangles(&mut self, rectangles: Vec<(f32, f32, f32, f32)>) {
        self.items.push(Item::Rectangles(rectangles));
    }

    /// The one-page A4 document, with `title` in its metadata.
    ///
    /// # Errors
    /// [`TypesetError`] when krilla refuses the document (it never does for these items).
    pub fn finish(self, title: &str) -> Result<Vec<u8>, TypesetError> {
        let mut document = Document::new();
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| TypesetError("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for item in &self.items {
            match item {
                Item::Text {
                    x,
                    y,
                    weight,
                    size,
                    text,
                } => {
                    let mut at = *x;
                    for (script, run) in script_runs(text) {
                        let font = font_for(script, *weight);
                        let (glyphs, width) = shape(font, run);
                        surface.draw_glyphs(
                            Point::from_xy(at, *y),
                            &glyphs,
                            font.pdf.clone(),
                            run,
                            *size,
                            false,
                        );
                        at += width * size;
                    }
                }
                Item::Rule { x1, x2, y } => {
                    if let Some(rect) = Rect::from_xywh(*x1, *y, x2 - x1, 0.5) {
                        let mut path = PathBuilder::new();
                        path.push_rect(rect);
                        if let Some(path) = path.finish() {
                            surface.draw_path(&path);
                        }
                    }
                }
                Item::Rectangles(rectangles) => {
                    let mut path = PathBuilder::new();
                    for (x, y, width, height) in rectangles {
                        if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                            path.push_rect(rect);
                        }
                    }
                    if let Some(path) = path.finish() {
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
        document.set_metadata(
            krilla::metadata::Metadata::new()
                .title(title.to_owned())
                .producer("Teeka".to_owned()),
        );
        document
            .finish()
            .map_err(|e| TypesetError(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krilla::text::Glyph as _;

    #[test]
    fn every_bundled_font_loads_and_has_its_letters() {
        for (text, weight) in [
            ("Certificate", Weight::Regular),
            ("Certificate", Weight::Bold),
            ("टीकाकरण प्रमाणपत्र", Weight::Regular),
            ("टीकाकरण प्रमाणपत्र", Weight::Bold),
        ] {
            let (script, run) = script_runs(text)[0];
            let (glyphs, width) = shape(font_for(script, weight), run);
            assert!(width > 1.0, "{text}");
            // Glyph 0 is .notdef: a missing letter.
            assert!(glyphs.iter().all(|g| g.glyph_id().to_u32() != 0), "{text}");
        }
    }

    #[test]
    fn lines_split_into_script_runs() {
        let runs: Vec<_> = script_runs("Beneficiary Name / लाभार्थी का नाम")
            .into_iter()
            .map(|(s, t)| (s, t.to_owned()))
            .collect();
        assert_eq!(
            runs,
            vec![
                (Script::Latin, "Beneficiary Name / ".to_owned()),
                (Script::Devanagari, "लाभार्थी का नाम".to_owned())
            ]
        );
        assert_eq!(script_runs("12 / 2").len(), 1);
    }

    #[test]
    fn devanagari_is_shaped_not_spelled_out() {
        // क्ष is one conjunct glyph, not क, virama, ष side by side.
        let font = font_for(Script::Devanagari, Weight::Regular);
        let (glyphs, _) = shape(font, "क्ष");
        assert_eq!(glyphs.len(), 1, "{glyphs:?}");
        // The vowel sign ि is drawn before the consonant it follows in the text.
        let (glyphs, _) = shape(font, "कि");
        assert_eq!(glyphs.len(), 2);
        assert!(glyphs.iter().all(|g| g.text_range() == (0..6)));
    }
}
