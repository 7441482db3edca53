//! A fax TIFF as a PDF 1.4, for mailing: each page's coded strips go into the PDF unchanged,
//! as image XObjects that the viewer decodes with `/CCITTFaxDecode`, so nothing is decoded or
//! re-encoded here and the conversion costs little more than a copy.
//!
//! Each strip becomes its own image drawn at its place on the page, because CCITT strips are
//! coded independently (each G4 strip starts from a white reference line) and so cannot, in
//! general, be joined into one stream. Uncompressed pages embed their raw bits. The page has
//! the paper's size: pixels over resolution, in points (1/72 inch), as tiff2pdf computes it.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::tiff::{tiff_pages, Compression, FaxError, FillOrder, PageInfo, Photometric, Strip};

/// A finished PDF and the size of each of its pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: Vec<PageSize>,
}

/// A page's size in points. The MediaBox written is this, rounded down to 0.0001 pt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSize {
    pub width_pt: f64,
    pub height_pt: f64,
}

impl PageSize {
    /// Pixels over dots per inch, in points.
    pub fn of(page: &PageInfo) -> Self {
        let (x_dpi, y_dpi) = page.dpi();
        PageSize {
            width_pt: points(page.width, x_dpi),
            height_pt: points(page.height, y_dpi),
        }
    }
}

/// Converts a fax TIFF (every page) to a PDF whose Info dictionary carries `title`.
pub fn tiff_to_pdf(tiff: &[u8], title: Option<&str>) -> Result<Pdf, FaxError> {
    let pages = tiff_pages(tiff)?;
    let mut pdf = Writer::new();
    let catalog = pdf.reserve();
    let page_tree = pdf.reserve();
    let info = pdf.reserve();
    let mut kids = String::new();
    let mut sizes = Vec::with_capacity(pages.len());
    for page in &pages {
        let size = PageSize::of(page);
        let id = write_page(&mut pdf, tiff, page, size, page_tree)?;
        let _ = write!(kids, "{id} 0 R ");
        sizes.push(size);
    }
    pdf.object(
        page_tree,
        &format!("<< /Type /Pages /Kids [ {kids}] /Count {} >>", pages.len()),
    );
    pdf.object(
        catalog,
        &format!("<< /Type /Catalog /Pages {page_tree} 0 R >>"),
    );
    pdf.object(info, &info_dict(title));
    Ok(Pdf {
        bytes: pdf.finish(catalog, info),
        pages: sizes,
    })
}

fn points(pixels: u32, dpi: f64) -> f64 {
    f64::from(pixels) * 72.0 / dpi
}

/// Writes a page, its content stream and one image per strip; returns the page's object id.
fn write_page(
    pdf: &mut Writer,
    tiff: &[u8],
    page: &PageInfo,
    size: PageSize,
    parent: u32,
) -> Result<u32, FaxError> {
    let (_, y_dpi) = page.dpi();
    let page_width = Fixed::floor(size.width_pt);
    let page_height = Fixed::floor(size.height_pt);
    let image_width = Fixed::inside(size.width_pt);
    let mut images = String::new();
    let mut content = String::new();
    let mut rows_above = 0;
    for (i, strip) in page.strips.iter().enumerate() {
        let image = pdf.reserve();
        pdf.stream(
            image,
            &image_dict(page, strip),
            &strip_data(tiff, page, strip)?,
        );
        let _ = write!(images, "/S{i} {image} 0 R ");
        // Strips run down from the top of the page; PDF's origin is the bottom left.
        let top = Fixed::below(points(rows_above, y_dpi));
        rows_above += strip.rows;
        let bottom = Fixed::inside(points(rows_above, y_dpi));
        let _ = writeln!(
            content,
            "q {image_width} 0 0 {} 0 {} cm /S{i} Do Q",
            bottom.minus(top),
            page_height.minus(bottom)
        );
    }
    let contents = pdf.reserve();
    pdf.stream(contents, "", content.as_bytes());
    let id = pdf.reserve();
    pdf.object(
        id,
        &format!(
            "<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 {page_width} {page_height}] \
             /Resources << /ProcSet [/PDF /ImageB] /XObject << {images}>> >> \
             /Contents {contents} 0 R >>"
        ),
    );
    Ok(id)
}

/// A length in ten-thousandths of a point, written with four decimals.
///
/// Lengths are rounded down, and an image's edges are moved into the image by a hair (0.00005
/// to 0.00015 pt, under a thousandth of a pixel at fax resolutions), never out of it:
/// renderers such as poppler widen an image to whole device pixels, and an edge a rounding
/// error beyond a pixel boundary would stretch the image (or a strip) by a row or column.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fixed(u64);

/// How far (at least) an image's edges are moved into it.
const INSET: f64 = 0.000_05;

impl Fixed {
    fn floor(points: f64) -> Fixed {
        // The nudge keeps 24.0 computed as 23.99999999 at 24.0000.
        Fixed((points * 10_000.0 + 1e-6).floor().max(0.0) as u64)
    }

    fn ceil(points: f64) -> Fixed {
        Fixed((points * 10_000.0 - 1e-6).ceil().max(0.0) as u64)
    }

    /// An image's far edge at `points` from its origin, moved inwards.
    fn inside(points: f64) -> Fixed {
        Fixed::floor(points - INSET)
    }

    /// An image's near edge at `points` from the origin, moved inwards (away from it).
    fn below(points: f64) -> Fixed {
        Fixed::ceil(points + INSET)
    }

    fn minus(self, other: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(other.0))
    }
}

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

/// The strip's bytes, bit-reversed when the file stores them least significant bit first
/// (PDF filters read the most significant bit first).
fn strip_data<'a>(
    tiff: &'a [u8],
    page: &PageInfo,
    strip: &Strip,
) -> Result<Cow<'a, [u8]>, FaxError> {
    let bytes = strip.bytes(tiff)?;
    Ok(match page.fill_order {
        FillOrder::MsbFirst => Cow::Borrowed(bytes),
        FillOrder::LsbFirst => Cow::Owned(bytes.iter().map(|b| b.reverse_bits()).collect()),
    })
}

/// The image dictionary of one strip (without /Length, which the writer adds).
fn image_dict(page: &PageInfo, strip: &Strip) -> String {
    let mut dict = format!(
        "/Type /XObject /Subtype /Image /Width {} /Height {} \
         /BitsPerComponent 1 /ColorSpace /DeviceGray",
        page.width, strip.rows
    );
    match ccitt_k(page.compression) {
        None => {
            // Raw bits: DeviceGray reads 0 as black, so WhiteIsZero needs inverting.
            if page.photometric == Photometric::WhiteIsZero {
                dict.push_str(" /Decode [1 0]");
            }
        }
        Some((k, byte_align)) => {
            let _ = write!(
                dict,
                " /Filter /CCITTFaxDecode /DecodeParms << /K {k} /Columns {} /Rows {}",
                page.width, strip.rows
            );
            if byte_align {
                dict.push_str(" /EncodedByteAlign true");
            }
            // The coder's "black" runs are the 1 bits; in a BlackIsZero file, 1 is white.
            if page.photometric == Photometric::BlackIsZero {
                dict.push_str(" /BlackIs1 true");
            }
            // Whether a strip ends with RTC (G3) or EOFB (G4) depends on the writer (libtiff
            // omits RTC): decode /Rows rows rather than look for one.
            dict.push_str(" /EndOfBlock false >>");
        }
    }
    dict
}

/// `/K` (negative for T.6, 0 for T.4 1-D, positive for T.4 2-D) and whether coded rows (or
/// EOLs) are byte-aligned; None for uncompressed data.
fn ccitt_k(compression: Compression) -> Option<(i8, bool)> {
    match compression {
        Compression::None => None,
        Compression::CcittRle => Some((0, true)),
        Compression::Group3 {
            two_d, fill_bits, ..
        } => Some((i8::from(two_d), fill_bits)),
        Compression::Group4 { .. } => Some((-1, false)),
    }
}

fn info_dict(title: Option<&str>) -> String {
    match title {
        Some(title) => format!("<< /Producer (switchdesk) /Title {} >>", text_string(title)),
        None => "<< /Producer (switchdesk) >>".to_owned(),
    }
}

/// A PDF text string: a literal when printable ASCII, else UTF-16BE with a byte-order mark.
fn text_string(text: &str) -> String {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let mut out = String::from("(");
        for c in text.chars() {
            if matches!(c, '(' | ')' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push(')');
        out
    } else {
        let mut out = String::from("<FEFF");
        for unit in text.encode_utf16() {
            let _ = write!(out, "{unit:04X}");
        }
        out.push('>');
        out
    }
}

/// Numbered objects written in any order, and the cross-reference table that finds them.
struct Writer {
    out: Vec<u8>,
    /// Byte offset of object `i + 1`, once written.
    offsets: Vec<Option<usize>>,
}

impl Writer {
    fn new() -> Self {
        // The binary comment tells transfer programs that the file is not text.
        Writer {
            out: b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            offsets: Vec::new(),
        }
    }

    /// A new object number, so that objects can refer to one not yet written.
    fn reserve(&mut self) -> u32 {
        self.offsets.push(None);
        self.offsets.len() as u32
    }

    fn begin(&mut self, id: u32) {
        if let Some(slot) = id
            .checked_sub(1)
            .and_then(|i| self.offsets.get_mut(i as usize))
        {
            *slot = Some(self.out.len());
        }
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn object(&mut self, id: u32, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, id: u32, dict: &str, data: &[u8]) {
        self.begin(id);
        let head = format!("<< {dict} /Length {} >>\nstream\n", data.len());
        self.out.extend_from_slice(head.as_bytes());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// The cross-reference table and trailer. Every reserved object has been written by now;
    /// one that was not would be listed as free rather than point nowhere.
    fn finish(mut self, root: u32, info: u32) -> Vec<u8> {
        let xref = self.out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len() + 1);
        for offset in &self.offsets {
            match offset {
                // Each entry is exactly 20 bytes: the space before the newline counts.
                Some(at) => {
                    let _ = writeln!(table, "{at:010} 00000 n ");
                }
                None => table.push_str("0000000000 65535 f \n"),
            }
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1
        );
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::super::tiff::build::{page, tiff, with};
    use super::*;

    /// The PDF as text, one char per byte so that offsets stay byte offsets.
    fn text(pdf: &Pdf) -> String {
        let ascii = |&b: &u8| if b.is_ascii() { b as char } else { '?' };
        pdf.bytes.iter().map(ascii).collect()
    }

    #[test]
    fn every_xref_entry_points_at_its_object() {
        let file = tiff(
            false,
            &[0x55; 16],
            &[page(1728, 100, 4, 16), page(1728, 100, 4, 16)],
        );
        let pdf = tiff_to_pdf(&file, Some("Fax")).unwrap();
        let body = text(&pdf);
        let startxref: usize = body
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(body[startxref..].starts_with("xref\n0 "));
        let entries = body[startxref..].lines().skip(3);
        let mut id = 1;
        for entry in entries.take_while(|l| l.ends_with(" n ")) {
            let at: usize = entry[..10].parse().unwrap();
            assert!(
                body[at..].starts_with(&format!("{id} 0 obj\n")),
                "object {id}"
            );
            id += 1;
        }
        // Catalog, pages, info, and per page: image, contents, page.
        assert_eq!(id - 1, 3 + 2 * 3);
        assert!(body.ends_with("%%EOF\n"));
    }

    #[test]
    fn media_box_is_the_paper_size() {
        let file = tiff(false, &[0; 16], &[page(1728, 2200, 4, 16)]);
        let pdf = tiff_to_pdf(&file, None).unwrap();
        assert!((pdf.pages[0].width_pt - 609.8824).abs() < 1e-4);
        assert!((pdf.pages[0].height_pt - 808.1633).abs() < 1e-4);
        assert!(text(&pdf).contains("/MediaBox [0 0 609.8823 808.1632]"));
    }

    #[test]
    fn decode_parameters_follow_the_compression_and_photometric() {
        let cases = [
            (
                page(1728, 10, 4, 16),
                "/K -1 /Columns 1728 /Rows 10 /EndOfBlock",
            ),
            (
                page(1728, 10, 3, 16),
                "/K 0 /Columns 1728 /Rows 10 /EndOfBlock",
            ),
            (
                with(page(1728, 10, 3, 16), 292, (4, vec![5])),
                "/K 1 /Columns 1728 /Rows 10 /EncodedByteAlign true /EndOfBlock",
            ),
            (
                page(1728, 10, 2, 16),
                "/K 0 /Columns 1728 /Rows 10 /EncodedByteAlign true /EndOfBlock",
            ),
            (
                with(page(1728, 10, 4, 16), 262, (3, vec![1])),
                "/K -1 /Columns 1728 /Rows 10 /BlackIs1 true /EndOfBlock",
            ),
        ];
        for (dir, expected) in cases {
            let pdf = tiff_to_pdf(&tiff(false, &[0; 16], &[dir]), None).unwrap();
            assert!(text(&pdf).contains(expected), "{expected}");
        }
    }

    #[test]
    fn raw_bits_are_inverted_for_white_is_zero_and_left_for_black_is_zero() {
        let white = tiff(false, &[0; 16], &[page(16, 8, 1, 16)]);
        let body = text(&tiff_to_pdf(&white, None).unwrap());
        assert!(body.contains("/Decode [1 0]") && !body.contains("/Filter"));
        let black = tiff(
            false,
            &[0; 16],
            &[with(page(16, 8, 1, 16), 262, (3, vec![1]))],
        );
        assert!(!text(&tiff_to_pdf(&black, None).unwrap()).contains("/Decode"));
    }

    #[test]
    fn lsb_first_data_is_bit_reversed() {
        let dir = with(page(1728, 10, 4, 4), 266, (3, vec![2]));
        let pdf = tiff_to_pdf(&tiff(false, &[0x01, 0x80, 0x0F, 0xAA], &[dir]), None).unwrap();
        let needle = b"stream\n\x80\x01\xF0\x55\nendstream";
        assert!(pdf.bytes.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn each_strip_is_an_image_drawn_at_its_rows() {
        // 40 rows at 72 dpi vertically (1 row = 1 pt): strips of 16, 16 and 8 rows, each
        // inset by 0.0001 pt at top and bottom.
        let dir = with(page(8, 40, 4, 0), 278, (3, vec![16]));
        let dir = with(dir, 273, (4, vec![8, 12, 16]));
        let dir = with(dir, 279, (4, vec![4, 4, 4]));
        let dir = with(dir, 283, (5, vec![72, 1]));
        let body = text(&tiff_to_pdf(&tiff(false, &[0; 12], &[dir]), None).unwrap());
        let content = "q 2.8234 0 0 15.9998 0 24.0001 cm /S0 Do Q\n\
                       q 2.8234 0 0 15.9998 0 8.0001 cm /S1 Do Q\n\
                       q 2.8234 0 0 7.9998 0 0.0001 cm /S2 Do Q\n";
        assert!(body.contains(content), "{body}");
        assert!(body.contains("/MediaBox [0 0 2.8235 40.0000]"));
        assert!(body.contains("/Rows 16") && body.contains("/Rows 8"));
    }

    #[test]
    fn strip_edges_are_rounded_into_their_strip() {
        // At 196 dpi, 16 rows are 5.877551 pt and the page is 11.7551 pt high: the first
        // strip runs from 0.0001 to 5.8775 pt from the top, the second from 5.8777 to 11.7550.
        let dir = with(page(8, 32, 4, 0), 278, (3, vec![16]));
        let dir = with(dir, 273, (4, vec![8, 12]));
        let dir = with(dir, 279, (4, vec![4, 4]));
        let body = text(&tiff_to_pdf(&tiff(false, &[0; 8], &[dir]), None).unwrap());
        let content = "q 2.8234 0 0 5.8774 0 5.8776 cm /S0 Do Q\n\
                       q 2.8234 0 0 5.8773 0 0.0001 cm /S1 Do Q\n";
        assert!(body.contains(content), "{body}");
    }

    #[test]
    fn lengths_round_down_to_four_decimals() {
        assert_eq!(Fixed::floor(609.88235294).to_string(), "609.8823");
        assert_eq!(Fixed::floor(24.0 - 1e-12).to_string(), "24.0000");
        assert_eq!(Fixed::floor(0.5).to_string(), "0.5000");
    }

    #[test]
    fn titles_are_escaped_or_utf16() {
        assert_eq!(text_string("Fax (1) a\\b"), "(Fax \\(1\\) a\\\\b)");
        assert_eq!(text_string("Müller"), "<FEFF004D00FC006C006C00650072>");
        assert_eq!(text_string("a\nb"), "<FEFF0061000A0062>");
    }
}
