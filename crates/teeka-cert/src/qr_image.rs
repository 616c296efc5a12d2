//! Reads QR codes out of pictures (PNG or JPEG), so the verifier takes a photo or a screenshot of
//! a certificate as well as the QR code's text. Pictures are bounded before they are decoded
//! (pixels and bytes), since anyone may send one to the web verifier.

use std::io::{Cursor, Write};

/// The largest picture side read, in pixels: a phone photo fits, a decompression bomb does not.
pub const MAX_SIDE: usize = 4096;
/// The most codes read from one picture.
pub const MAX_CODES: usize = 4;

/// Why a picture gave no QR code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrImageError {
    /// Neither PNG nor JPEG.
    #[error("not a PNG or JPEG picture")]
    NotAPicture,
    /// The picture could not be decoded.
    #[error("the picture cannot be decoded: {0}")]
    Undecodable(String),
    /// Wider or taller than [`MAX_SIDE`].
    #[error("the picture is larger than {MAX_SIDE} pixels on a side")]
    TooLarge,
    /// No QR code could be read in it.
    #[error("no readable QR code in the picture")]
    NoQrCode,
}

/// One QR code read from a picture. It crosses a process boundary as JSON when a server reads
/// pictures in a child process (see `teeka read-qr`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecodedQr {
    /// Its content, byte for byte (a CoWIN code holds a zip archive, so not always text).
    pub content: Vec<u8>,
    /// The QR version (1 to 40).
    pub version: usize,
    /// The error correction level as the format bits give it (0 M, 1 L, 2 H, 3 Q).
    pub ecc_level: u16,
    /// How the content was encoded: one entry per run of decoder output, `true` where the
    /// characters came as numeric-mode digits. SMART Health Cards must put their digits in a
    /// numeric segment.
    pub numeric_runs: Vec<(bool, usize)>,
}

impl DecodedQr {
    /// Whether the first `prefix_len` bytes are the only ones not in numeric mode: a SMART Health
    /// Card's `shc:/` in byte mode, then every digit in numeric mode.
    #[must_use]
    pub fn digits_are_numeric_after(&self, prefix_len: usize) -> bool {
        let mut seen = 0;
        for &(numeric, len) in &self.numeric_runs {
            seen += len;
            if !numeric && seen > prefix_len {
                return false;
            }
        }
        seen > prefix_len
    }
}

impl DecodedQr {
    /// The smallest QR version that holds this content in the same segments at the same error
    /// correction level, when it can be told (a SMART Health Card warns about a larger one).
    #[must_use]
    pub fn smallest_version_for_shc(&self, ecc_level: u16) -> Option<usize> {
        // rqrr reports the format bits' raw level, as quirc does: 0 M, 1 L, 2 H, 3 Q.
        let level = match ecc_level {
            0 => qrcode::EcLevel::M,
            1 => qrcode::EcLevel::L,
            2 => qrcode::EcLevel::H,
            _ => qrcode::EcLevel::Q,
        };
        let digits = self.content.strip_prefix(b"shc:/")?;
        (1..=40)
            .find(|&v| {
                let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(v));
                bits.push_byte_data(b"shc:/").is_ok()
                    && bits.push_numeric_data(digits).is_ok()
                    && bits.push_terminator(level).is_ok()
            })
            .and_then(|v| usize::try_from(v).ok())
    }
}

/// Whether `bytes` start like a picture this module reads.
#[must_use]
pub fn is_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff])
}

/// Every QR code found in a PNG or JPEG picture, in the order found.
///
/// # Errors
/// [`QrImageError`] when the bytes are no picture, too large, or hold no readable QR code.
pub fn decode_qr_codes(bytes: &[u8]) -> Result<Vec<DecodedQr>, QrImageError> {
    let (width, height, luma) = if bytes.starts_with(b"\x89PNG") {
        png_luma(bytes)?
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        jpeg_luma(bytes)?
    } else {
        return Err(QrImageError::NotAPicture);
    };
    // The reader finds large codes with fractional module sizes unreliably when their edges are
    // anti-aliased grey (a rendered PDF at screen resolution), so a picture that yields nothing
    // is tried again in pure black and white, then larger (grey and black and white, pixels
    // copied, then blended), then at half its size. With these, a rendered certificate page
    // reads at every resolution from 60 to 320 dpi (measured in steps of 2).
    let mut found = read_codes(width, height, &|x, y| luma[y * width + x]);
    if found.is_empty() {
        found = read_codes(width, height, &|x, y| {
            if luma[y * width + x] < 128 { 0 } else { 255 }
        });
    }
    for (scale, black_and_white, smooth) in [
        (2, false, false),
        (2, true, false),
        (3, true, false),
        (2, false, true),
        (2, true, true),
    ] {
        if found.is_empty() && width * height * scale * scale <= MAX_SIDE * MAX_SIDE {
            found = read_codes(width * scale, height * scale, &|x, y| {
                let value = if smooth {
                    enlarged(&luma, width, height, scale, x, y)
                } else {
                    luma[(y / scale) * width + x / scale]
                };
                match (black_and_white, value < 128) {
                    (false, _) => value,
                    (true, true) => 0,
                    (true, false) => 255,
                }
            });
        }
    }
    if found.is_empty() && width >= 64 && height >= 64 {
        found = read_codes(width / 2, height / 2, &|x, y| {
            let at = |dx, dy| u32::from(luma[(2 * y + dy) * width + 2 * x + dx]);
            u8::try_from((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4).unwrap_or(255)
        });
    }
    if found.is_empty() {
        return Err(QrImageError::NoQrCode);
    }
    Ok(found)
}

/// The grey level at (`x`, `y`) of the picture enlarged `scale` times, blending the four nearest
/// pixels (bilinear): a module two and a half pixels wide, blurred at its edges, comes out with
/// straight edges at the threshold, where copying pixels would keep the staircase.
fn enlarged(luma: &[u8], width: usize, height: usize, scale: usize, x: usize, y: usize) -> u8 {
    // Fixed point in 1/256 of a source pixel; the centre of an enlarged pixel, minus half a pixel.
    let source = |at: usize, len: usize| {
        let fixed = ((2 * at + 1) * 128 / scale).saturating_sub(128);
        let whole = (fixed / 256).min(len - 1);
        (whole, (whole + 1).min(len - 1), (fixed % 256) as u32)
    };
    let (x0, x1, fx) = source(x, width);
    let (y0, y1, fy) = source(y, height);
    let at = |x: usize, y: usize| u32::from(luma[y * width + x]);
    let top = at(x0, y0) * (256 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (256 - fx) + at(x1, y1) * fx;
    u8::try_from((top * (256 - fy) + bottom * fy) / 65_536).unwrap_or(255)
}

/// The codes the QR reader finds in a grey picture given pixel by pixel. The reader has
/// assertions that some pictures trip (a known rqrr issue); anyone may send a picture, so a
/// panic there is "no code found", not a crashed request.
fn read_codes(width: usize, height: usize, luma: &dyn Fn(usize, usize) -> u8) -> Vec<DecodedQr> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_codes_unguarded(width, height, luma)
    }))
    .unwrap_or_default()
}

fn read_codes_unguarded(
    width: usize,
    height: usize,
    luma: &dyn Fn(usize, usize) -> u8,
) -> Vec<DecodedQr> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    let mut found = Vec::new();
    // A picture of one certificate holds one code; a few allow for a page with several.
    for grid in image.detect_grids().into_iter().take(MAX_CODES) {
        let mut recorder = RunRecorder::default();
        if let Ok(meta) = grid.decode_to(&mut recorder) {
            found.push(DecodedQr {
                content: recorder.content,
                version: meta.version.0,
                ecc_level: meta.ecc_level,
                numeric_runs: recorder.runs,
            });
        }
    }
    found
}

/// Collects the decoder's output and how it came. The decoder writes a byte-mode segment one
/// byte per call and a numeric segment three digits per call (the last call of a segment may
/// carry one or two), so the call sizes tell the segments apart; a test pins this to the QR
/// library's behaviour with codes made both ways.
#[derive(Default)]
struct RunRecorder {
    content: Vec<u8>,
    runs: Vec<(bool, usize)>,
}

impl Write for RunRecorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.content.extend_from_slice(buf);
        let numeric = buf.len() > 1 && buf.iter().all(u8::is_ascii_digit);
        match self.runs.last_mut() {
            Some((kind, len)) if *kind == numeric => *len += buf.len(),
            // A numeric segment's last one or two digits arrive in a short call.
            Some((true, len)) if buf.iter().all(u8::is_ascii_digit) && buf.len() < 3 => {
                *len += buf.len();
            }
            _ => self.runs.push((numeric, buf.len())),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn check_size(width: usize, height: usize) -> Result<(), QrImageError> {
    if width == 0 || height == 0 {
        return Err(QrImageError::Undecodable("empty picture".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(QrImageError::TooLarge);
    }
    Ok(())
}

/// A PNG as 8-bit grey levels, transparent pixels as white (QR images often have a transparent
/// background).
fn png_luma(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), QrImageError> {
    let bad = |e: png::DecodingError| QrImageError::Undecodable(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: MAX_SIDE * MAX_SIDE * 8,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = (reader.info().width as usize, reader.info().height as usize);
    check_size(width, height)?;
    let size = reader.output_buffer_size().ok_or(QrImageError::TooLarge)?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let channels = info.color_type.samples();
    let stride = info.line_size;
    let mut luma = Vec::with_capacity(width * height);
    for y in 0..height {
        let row = &buf[y * stride..];
        for x in 0..width {
            let px = &row[x * channels..(x + 1) * channels];
            let (grey, alpha) = match px {
                [g] => (u32::from(*g), 255),
                [g, a] => (u32::from(*g), u32::from(*a)),
                [r, g, b] => (rgb_luma(*r, *g, *b), 255),
                [r, g, b, a] => (rgb_luma(*r, *g, *b), u32::from(*a)),
                _ => return Err(QrImageError::Undecodable("unexpected pixel layout".into())),
            };
            // Composite over white.
            let value = (grey * alpha + 255 * (255 - alpha)) / 255;
            luma.push(u8::try_from(value).unwrap_or(255));
        }
    }
    Ok((width, height, luma))
}

fn rgb_luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

fn jpeg_luma(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), QrImageError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(Cursor::new(bytes), options);
    let luma = decoder
        .decode()
        .map_err(|e| QrImageError::Undecodable(format!("{e:?}")))?;
    let info = decoder
        .info()
        .ok_or_else(|| QrImageError::Undecodable("no JPEG header".into()))?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    check_size(width, height)?;
    if luma.len() != width * height {
        return Err(QrImageError::Undecodable(
            "unexpected JPEG output size".into(),
        ));
    }
    Ok((width, height, luma))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enlarging_blends_neighbouring_pixels() {
        // Black then white, twice as wide: the middle pixels are a quarter and three quarters.
        let row: Vec<u8> = (0..4).map(|x| enlarged(&[0, 255], 2, 1, 2, x, 0)).collect();
        assert_eq!(row, [0, 63, 191, 255]);
        // The edges stay in the picture at any size.
        assert_eq!(enlarged(&[9], 1, 1, 3, 2, 2), 9);
    }

    #[test]
    fn a_panic_inside_the_qr_reader_is_no_code_not_a_crash() {
        // rqrr's assertions cannot be tripped on demand, so the pixel source panics in its place:
        // the same unwinding path out of `read_codes`.
        let found = read_codes(64, 64, &|x, _| {
            assert!(x < 32, "a reader assertion");
            255
        });
        assert!(found.is_empty());
    }

    /// A QR code as a PNG, `scale` pixels a module, with a quiet zone of four modules.
    pub(crate) fn qr_png(code: &qrcode::QrCode, scale: usize) -> Vec<u8> {
        let width = code.width();
        let side = (width + 8) * scale;
        let colors = code.to_colors();
        let mut pixels = vec![255u8; side * side];
        for (i, c) in colors.iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (mx, my) = (i % width + 4, i / width + 4);
                for dy in 0..scale {
                    for dx in 0..scale {
                        pixels[(my * scale + dy) * side + mx * scale + dx] = 0;
                    }
                }
            }
        }
        grey_png(side, &pixels)
    }

    /// A square 8-bit grey PNG.
    pub(crate) fn grey_png(side: usize, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let side32 = u32::try_from(side).expect("small");
        let mut encoder = png::Encoder::new(&mut out, side32, side32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(pixels).expect("data");
        writer.finish().expect("finish");
        out
    }

    #[test]
    fn reads_a_code_and_tells_numeric_segments_from_byte_segments() {
        use qrcode::bits::Bits;
        let digits = "56762909524320603460292437404460312229595326546034602925";
        // shc:/ in byte mode, then the digits in numeric mode, as SMART Health Cards must be.
        let mut bits = Bits::new(qrcode::Version::Normal(5));
        bits.push_byte_data(b"shc:/").expect("bytes");
        bits.push_numeric_data(digits.as_bytes()).expect("digits");
        bits.push_terminator(qrcode::EcLevel::L).expect("end");
        let two = qrcode::QrCode::with_bits(bits, qrcode::EcLevel::L).expect("code");
        // Everything in one byte segment.
        let mut bits = Bits::new(qrcode::Version::Normal(5));
        bits.push_byte_data(format!("shc:/{digits}").as_bytes())
            .expect("bytes");
        bits.push_terminator(qrcode::EcLevel::L).expect("end");
        let one = qrcode::QrCode::with_bits(bits, qrcode::EcLevel::L).expect("code");

        let read = decode_qr_codes(&qr_png(&two, 4)).expect("readable");
        assert_eq!(read[0].content, format!("shc:/{digits}").into_bytes());
        assert_eq!(read[0].version, 5);
        assert!(
            read[0].digits_are_numeric_after(5),
            "{:?}",
            read[0].numeric_runs
        );
        let read = decode_qr_codes(&qr_png(&one, 4)).expect("readable");
        assert_eq!(read[0].content, format!("shc:/{digits}").into_bytes());
        assert!(
            !read[0].digits_are_numeric_after(5),
            "{:?}",
            read[0].numeric_runs
        );
    }

    #[test]
    fn refuses_what_is_not_a_readable_picture() {
        assert_eq!(decode_qr_codes(b"hello"), Err(QrImageError::NotAPicture));
        assert!(matches!(
            decode_qr_codes(b"\x89PNG\r\n\x1a\nbroken"),
            Err(QrImageError::Undecodable(_))
        ));
        // A white picture decodes, but holds no code.
        let blank = grey_png(64, &[255; 64 * 64]);
        assert_eq!(decode_qr_codes(&blank), Err(QrImageError::NoQrCode));
        let code = qr_png(&qrcode::QrCode::new(b"x").expect("code"), 4);
        assert!(decode_qr_codes(&code).is_ok());
        assert!(decode_qr_codes(&code[..code.len() / 2]).is_err());
    }
}
