//! One-page PDFs with Latin and Devanagari text in bundled fonts (Noto Sans and Noto Sans
//! Devanagari, subset into each document), shaped with rustybuzz so Hindi's conjuncts and vowel
//! signs come out right, and written with krilla. A person's name may be in any Indian script,
//! so the other scripts' Noto fonts are bundled too. A line may mix scripts: it is split into
//! runs, each drawn in the font that has its letters, and the PDF keeps the text itself (copy,
//! search and screen readers see the words, not glyph numbers).

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

/// The other Indian scripts a person's name may be written in (and Sinhala, which the name rule
/// admits too), from the first code point of the script's block, with their fonts. Only the
/// regular weight is bundled: a name is printed in it, and the labels are English and Hindi.
static OTHER_SCRIPTS: [(char, char, &[u8]); 9] = [
    (
        '\u{0980}',
        '\u{09FF}',
        include_bytes!("../fonts/NotoSansBengali-Regular.ttf"),
    ),
    (
        '\u{0A00}',
        '\u{0A7F}',
        include_bytes!("../fonts/NotoSansGurmukhi-Regular.ttf"),
    ),
    (
        '\u{0A80}',
        '\u{0AFF}',
        include_bytes!("../fonts/NotoSansGujarati-Regular.ttf"),
    ),
    (
        '\u{0B00}',
        '\u{0B7F}',
        include_bytes!("../fonts/NotoSansOriya-Regular.ttf"),
    ),
    (
        '\u{0B80}',
        '\u{0BFF}',
        include_bytes!("../fonts/NotoSansTamil-Regular.ttf"),
    ),
    (
        '\u{0C00}',
        '\u{0C7F}',
        include_bytes!("../fonts/NotoSansTelugu-Regular.ttf"),
    ),
    (
        '\u{0C80}',
        '\u{0CFF}',
        include_bytes!("../fonts/NotoSansKannada-Regular.ttf"),
    ),
    (
        '\u{0D00}',
        '\u{0D7F}',
        include_bytes!("../fonts/NotoSansMalayalam-Regular.ttf"),
    ),
    (
        '\u{0D80}',
        '\u{0DFF}',
        include_bytes!("../fonts/NotoSansSinhala-Regular.ttf"),
    ),
];

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

    fn has(&self, c: char) -> bool {
        self.shaper.glyph_index(c).is_some()
    }
}

/// Latin regular and bold, Devanagari regular and bold, then each of [`OTHER_SCRIPTS`].
static FONTS: LazyLock<Vec<BundledFont>> = LazyLock::new(|| {
    [
        LATIN_REGULAR,
        LATIN_BOLD,
        DEVANAGARI_REGULAR,
        DEVANAGARI_BOLD,
    ]
    .into_iter()
    .chain(OTHER_SCRIPTS.iter().map(|(_, _, data)| *data))
    .map(BundledFont::load)
    .collect()
});

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Noto Sans (Devanagari) Regular.
    Regular,
    /// Noto Sans (Devanagari) Bold; the other Indian scripts stay regular.
    Bold,
}

/// Which script a character is written in, for choosing its font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Devanagari,
    /// One of [`OTHER_SCRIPTS`], by its index.
    Indic(usize),
    /// Spaces, digits, punctuation and joiners: they join the run they are in when its font
    /// has them.
    Common,
}

fn script_of(c: char) -> Script {
    match c {
        '\u{0900}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{1CD0}'..='\u{1CFF}' => {
            Script::Devanagari
        }
        '\u{0980}'..='\u{0DFF}' => OTHER_SCRIPTS
            .iter()
            .position(|(from, to, _)| (*from..=*to).contains(&c))
            .map_or(Script::Common, Script::Indic),
        // Joiners shape conjuncts, inside the run of the word they are in.
        '\u{200C}' | '\u{200D}' => Script::Common,
        c if c.is_ascii_alphabetic() || (c.is_alphabetic() && (c as u32) < 0x0900) => Script::Latin,
        _ => Script::Common,
    }
}

/// `text` cut into runs of one script each, in `weight`. Common characters join their
/// neighbours when that font has them (a leading run takes the script of the first letter after
/// it), and otherwise are drawn in the Latin font, which has them all.
fn script_runs(text: &str, weight: Weight) -> Vec<(Script, &str)> {
    let mut runs: Vec<(Script, usize, usize)> = Vec::new();
    for (at, c) in text.char_indices() {
        let script = script_of(c);
        let end = at + c.len_utf8();
        match runs.last_mut() {
            Some((current, _, run_end))
                if script == *current
                    || (script == Script::Common
                        && (*current == Script::Common || font_for(*current, weight).has(c))) =>
            {
                *run_end = end;
            }
            // A run of common characters takes the script of the first letter after it, when
            // that script's font has them all.
            Some((current, from, run_end))
                if *current == Script::Common
                    && text[*from..*run_end]
                        .chars()
                        .all(|common| font_for(script, weight).has(common)) =>
            {
                *current = script;
                *run_end = end;
            }
            _ if script == Script::Common => {
                // After a run whose font lacks it: Latin, unless a Latin run is open to join.
                match runs.last_mut() {
                    Some((Script::Latin, _, run_end)) => *run_end = end,
                    _ => runs.push((Script::Latin, at, end)),
                }
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
        (Script::Indic(i), _) => &fonts[4 + i],
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
    script_runs(text, weight)
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
                    for (script, run) in script_runs(text, *weight) {
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
            let (script, run) = script_runs(text, weight)[0];
            let (glyphs, width) = shape(font_for(script, weight), run);
            assert!(width > 1.0, "{text}");
            // Glyph 0 is .notdef: a missing letter.
            assert!(glyphs.iter().all(|g| g.glyph_id().to_u32() != 0), "{text}");
        }
    }

    #[test]
    fn lines_split_into_script_runs() {
        let runs: Vec<_> = script_runs("Beneficiary Name / लाभार्थी का नाम", Weight::Bold)
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
        assert_eq!(script_runs("12 / 2", Weight::Regular).len(), 1);
    }

    /// A name in each of the other scripts, as people write them.
    const NAMES: [(&str, usize); 9] = [
        ("সুমিত্রা দাস", 0),
        ("ਗੁਰਪ੍ਰੀਤ ਕੌਰ", 1),
        ("હર્ષ પટેલ", 2),
        ("ସୁଭଦ୍ରା ମହାପାତ୍ର", 3),
        ("முத்துலட்சுமி", 4),
        ("శ్రీనివాస్ రెడ్డి", 5),
        ("ಲಕ್ಷ್ಮೀ ನಾರಾಯಣ", 6),
        ("കൃഷ്ണൻ നായർ", 7),
        ("චන්ද්‍රිකා පෙරේරා", 8),
    ];

    #[test]
    fn names_in_every_indian_script_get_their_own_font_and_no_missing_letters() {
        for (name, index) in NAMES {
            for weight in [Weight::Regular, Weight::Bold] {
                let runs = script_runs(name, weight);
                // One run: spaces and joiners stay inside the word's font.
                assert_eq!(runs, vec![(Script::Indic(index), name)], "{name}");
                let (glyphs, width) = shape(font_for(Script::Indic(index), weight), name);
                assert!(width > 1.0, "{name}");
                assert!(
                    glyphs.iter().all(|g| g.glyph_id().to_u32() != 0),
                    "{name}: {glyphs:?}"
                );
            }
        }
        // Conjuncts are shaped: Kannada ಕ್ಷ is fewer glyphs than its three letters.
        let (glyphs, _) = shape(font_for(Script::Indic(6), Weight::Regular), "ಕ್ಷ");
        assert!(glyphs.len() < 3, "{glyphs:?}");
    }

    #[test]
    fn a_character_a_script_font_lacks_is_drawn_in_latin() {
        // Noto Sans Oriya has no hyphen-minus.
        let runs = script_runs("ସୁଭଦ୍ରା-ମହାପାତ୍ର", Weight::Regular);
        assert_eq!(
            runs,
            vec![
                (Script::Indic(3), "ସୁଭଦ୍ରା"),
                (Script::Latin, "-"),
                (Script::Indic(3), "ମହାପାତ୍ର"),
            ]
        );
        // Mixed Latin and Tamil, and a leading space that both fonts have.
        let runs = script_runs(" Name / பெயர்", Weight::Regular);
        assert_eq!(
            runs,
            vec![(Script::Latin, " Name / "), (Script::Indic(4), "பெயர்")]
        );
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
