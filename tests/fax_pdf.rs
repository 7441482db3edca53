//! Received faxes to PDF, checked against libtiff: the two TIFFs mod_spandsp wrote in the fax
//! captures, and variants of them made with `tiffcp`/`tiffset` (G3 1-D and 2-D, fill bits, G4,
//! uncompressed, several strips, bit-reversed bytes, several pages, BlackIsZero, resolutions)
//! must give the same pages as `tiff2pdf` (count and MediaBox), and render under `pdftoppm`, at
//! the fax's own resolution, to exactly the pixels libtiff decodes. Then hostile files: errors,
//! never panics.
//!
//! The tools come from `libtiff-tools` and `poppler-utils`. Without them the comparisons are
//! skipped with a message, unless `CI` is set, where they fail.

mod captures;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use switchdesk::fax::{
    tiff_pages, tiff_to_pdf, Compression, FaxError, FillOrder, PageSize, Photometric,
};

fn fixtures() -> PathBuf {
    captures::freeswitch().join("fax")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} is needed: {e}", path.display()))
}

/// Whether every tool is installed. Under CI a missing one fails the test.
fn have_tools(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            Command::new(tool)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message =
        format!("{missing:?} not installed (apt-get install libtiff-tools poppler-utils)");
    assert!(std::env::var_os("CI").is_none(), "CI needs {message}");
    eprintln!("skipping the comparison with libtiff: {message}");
    false
}

/// Runs a tool, failing the test with its stderr if it fails.
fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `/MediaBox [x0 y0 x1 y1]` in a PDF, as (width, height), in file order.
fn media_boxes(pdf: &[u8]) -> Vec<(f64, f64)> {
    let text = String::from_utf8_lossy(pdf);
    text.split("/MediaBox")
        .skip(1)
        .map(|rest| {
            let inside = rest.split('[').nth(1).unwrap().split(']').next().unwrap();
            let n: Vec<f64> = inside
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            (n[2] - n[0], n[3] - n[1])
        })
        .collect()
}

/// A 1-bit PBM (P4) image: width, height and packed rows.
struct Bitmap {
    width: usize,
    height: usize,
    bits: Vec<u8>,
}

impl Bitmap {
    fn read(path: &Path) -> Bitmap {
        let bytes = std::fs::read(path).unwrap();
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 3 {
            while bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        assert_eq!(fields[0], "P4", "{}", path.display());
        Bitmap {
            width: fields[1].parse().unwrap(),
            height: fields[2].parse().unwrap(),
            bits: bytes[at + 1..].to_vec(),
        }
    }

    fn pixel(&self, x: usize, y: usize) -> bool {
        let stride = self.width.div_ceil(8);
        self.bits[y * stride + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Over the top-left `width` x `height`: black pixels, pixels that differ from `other`,
    /// and the rows where they do.
    fn compare(&self, other: &Bitmap, width: usize, height: usize) -> (usize, usize, Vec<usize>) {
        let (mut black, mut differing) = (0, 0);
        let mut rows = Vec::new();
        for y in 0..height {
            let before = differing;
            for x in 0..width {
                black += usize::from(self.pixel(x, y));
                differing += usize::from(self.pixel(x, y) != other.pixel(x, y));
            }
            if differing > before {
                rows.push(y);
            }
        }
        (black, differing, rows)
    }
}

/// Renders every page of a PDF at the given resolution; one bitmap per page.
fn render(pdf: &Path, dpi: (f64, f64), dir: &Path, prefix: &str) -> Vec<Bitmap> {
    let out = dir.join(prefix);
    let (x, y) = (dpi.0.to_string(), dpi.1.to_string());
    let args = ["-mono", "-rx", &x, "-ry", &y];
    let mut args: Vec<&str> = args.to_vec();
    args.push(pdf.to_str().unwrap());
    args.push(out.to_str().unwrap());
    run("pdftoppm", &args);
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{prefix}-")) && name.ends_with(".pbm")
        })
        .collect();
    // pdftoppm pads the page number to the width of the page count.
    pages.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    pages.iter().map(|p| Bitmap::read(p)).collect()
}

/// libtiff's decoding of every page of `tiff`: `tiffcp` writes the pixels uncompressed, most
/// significant bit first, one strip a page; rows are then PBM rows (1 is black).
fn decoded_by_libtiff(tiff: &Path, dir: &Path, name: &str) -> Vec<Bitmap> {
    let raw = dir.join(format!("{name}.raw.tif"));
    let args = ["-c", "none", "-f", "msb2lsb", "-r", "1000000"];
    let mut args: Vec<&str> = args.to_vec();
    args.extend([tiff.to_str().unwrap(), raw.to_str().unwrap()]);
    run("tiffcp", &args);
    let raw = std::fs::read(raw).unwrap();
    let pages = tiff_pages(&raw).unwrap();
    pages
        .iter()
        .map(|page| {
            assert_eq!(page.compression, Compression::None);
            assert_eq!(page.strips.len(), 1);
            let mut bits = page.strips[0].bytes(&raw).unwrap().to_vec();
            if page.photometric == Photometric::BlackIsZero {
                bits.iter_mut().for_each(|b| *b = !*b);
            }
            Bitmap {
                width: page.width as usize,
                height: page.height as usize,
                bits,
            }
        })
        .collect()
}

/// Converts `tiff` with `tiff_to_pdf` and with `tiff2pdf`, and asserts the same pages and
/// sizes as tiff2pdf's, exactly the pixels libtiff decodes, and nearly tiff2pdf's pixels.
fn assert_converts_like_libtiff(name: &str, tiff: &Path) {
    let bytes = std::fs::read(tiff).unwrap();
    let ours = tiff_to_pdf(&bytes, Some(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let dir = tiff.parent().unwrap();
    let ours_path = dir.join(format!("{name}.ours.pdf"));
    let theirs_path = dir.join(format!("{name}.tiff2pdf.pdf"));
    std::fs::write(&ours_path, &ours.bytes).unwrap();
    run(
        "tiff2pdf",
        &["-o", theirs_path.to_str().unwrap(), tiff.to_str().unwrap()],
    );
    let theirs = media_boxes(&std::fs::read(&theirs_path).unwrap());
    let written = media_boxes(&ours.bytes);
    assert_eq!(ours.pages.len(), theirs.len(), "{name}: page count");
    assert_eq!(written.len(), theirs.len(), "{name}: MediaBoxes written");
    for (i, ((size, box_), (w, h))) in ours.pages.iter().zip(&written).zip(&theirs).enumerate() {
        let PageSize {
            width_pt,
            height_pt,
        } = *size;
        for (what, a, b) in [
            ("width", width_pt, *w),
            ("height", height_pt, *h),
            ("written width", box_.0, *w),
            ("written height", box_.1, *h),
        ] {
            assert!((a - b).abs() < 0.01, "{name} page {i}: {what} {a} vs {b}");
        }
    }

    // Rendered at the fax's own resolution, each pixel is one device pixel, so any wrong CCITT
    // parameter (K, byte alignment, BlackIs1, bit order, strip placement) shows.
    let pages = tiff_pages(&bytes).unwrap();
    let dpi = pages[0].dpi();
    let ours_px = render(&ours_path, dpi, dir, &format!("{name}.ours"));
    let theirs_px = render(&theirs_path, dpi, dir, &format!("{name}.tiff2pdf"));
    let truth = decoded_by_libtiff(tiff, dir, name);
    assert_eq!(ours_px.len(), pages.len(), "{name}: rendered pages");
    assert_eq!(
        theirs_px.len(),
        pages.len(),
        "{name}: tiff2pdf's rendered pages"
    );
    assert_eq!(truth.len(), pages.len(), "{name}: pages libtiff decoded");
    for (i, ((ours, theirs), truth)) in ours_px.iter().zip(&theirs_px).zip(&truth).enumerate() {
        let size = (truth.width, truth.height);
        assert_eq!(
            (ours.width, ours.height),
            size,
            "{name} page {i}: rendered size"
        );
        let (black, differing, rows) = ours.compare(truth, size.0, size.1);
        assert!(black > 0, "{name} page {i} rendered blank");
        assert_eq!(
            differing,
            0,
            "{name} page {i}: {} rows differ from libtiff's, from row {:?}",
            rows.len(),
            rows.first()
        );
        // tiff2pdf's page may round up to one device row more than the fax has, which
        // stretches its image by a row: nearly the same, not exactly.
        let (width, height) = (size.0.min(theirs.width), size.1.min(theirs.height));
        let (_, differing, _) = ours.compare(theirs, width, height);
        assert!(
            differing * 100 <= width * height,
            "{name} page {i}: {differing} of {} pixels differ from tiff2pdf's",
            width * height
        );
    }
}

/// A TIFF made from the fixtures: `tiffcp` with these arguments (`rx` and `tx` stand for the
/// fixtures, `tx,0` for its first page), then each `tiffset` edit; and what it must hold.
struct Variant {
    name: &'static str,
    tiffcp: &'static [&'static str],
    tiffset: &'static [&'static [&'static str]],
    compression: Compression,
    fill_order: FillOrder,
    several_strips: bool,
}

const fn g3(two_d: bool, fill_bits: bool) -> Compression {
    Compression::Group3 {
        two_d,
        fill_bits,
        uncompressed: false,
    }
}

const G3_1D: Compression = g3(false, false);
const G3_1D_FILL: Compression = g3(false, true);
const G3_2D: Compression = g3(true, false);
const G3_2D_FILL: Compression = g3(true, true);
const G4: Compression = Compression::Group4 {
    uncompressed: false,
};

const fn variant(
    name: &'static str,
    tiffcp: &'static [&'static str],
    compression: Compression,
    fill_order: FillOrder,
) -> Variant {
    Variant {
        name,
        tiffcp,
        tiffset: &[],
        compression,
        fill_order,
        several_strips: false,
    }
}

const MSB: FillOrder = FillOrder::MsbFirst;
const LSB: FillOrder = FillOrder::LsbFirst;

const VARIANTS: &[Variant] = &[
    variant("g3_1d", &["-c", "g3", "tx"], G3_1D, MSB),
    variant("g3_1d_lsb_first", &["-c", "g3:1d", "rx"], G3_1D, LSB),
    variant("g3_1d_fill", &["-c", "g3:1d:fill", "tx"], G3_1D_FILL, MSB),
    variant("g3_2d", &["-c", "g3:2d", "tx"], G3_2D, MSB),
    variant("g3_2d_fill", &["-c", "g3:2d:fill", "tx"], G3_2D_FILL, MSB),
    variant(
        "g3_2d_lsb_first",
        &["-f", "lsb2msb", "-c", "g3:2d", "tx"],
        G3_2D,
        LSB,
    ),
    variant(
        "g4_lsb_first",
        &["-f", "lsb2msb", "-c", "g4", "tx"],
        G4,
        LSB,
    ),
    variant("g4_from_rx", &["-f", "msb2lsb", "-c", "g4", "rx"], G4, MSB),
    variant(
        "uncompressed",
        &["-c", "none", "tx"],
        Compression::None,
        MSB,
    ),
    variant("four_pages", &["rx", "tx"], G3_2D_FILL, LSB),
    Variant {
        several_strips: true,
        ..variant("strips_g4", &["-r", "16", "-c", "g4", "tx"], G4, MSB)
    },
    Variant {
        several_strips: true,
        ..variant(
            "strips_g3_2d_fill",
            &["-r", "16", "-c", "g3:2d:fill", "rx"],
            G3_2D_FILL,
            LSB,
        )
    },
    Variant {
        several_strips: true,
        ..variant(
            "strips_g3_1d",
            &["-r", "7", "-c", "g3:1d", "rx"],
            G3_1D,
            LSB,
        )
    },
    Variant {
        several_strips: true,
        ..variant(
            "strips_none",
            &["-r", "100", "-c", "none", "-f", "msb2lsb", "rx"],
            Compression::None,
            MSB,
        )
    },
    Variant {
        tiffset: &[&["-s", "262", "1"]],
        ..variant("black_is_zero_g4", &["tx,0"], G4, MSB)
    },
    Variant {
        tiffset: &[&["-s", "262", "1"]],
        ..variant(
            "black_is_zero_g3",
            &["-c", "g3:2d:fill", "tx,0"],
            G3_2D_FILL,
            MSB,
        )
    },
    Variant {
        tiffset: &[&["-s", "283", "98"]],
        ..variant("standard_resolution", &["-c", "g3:2d", "tx,0"], G3_2D, MSB)
    },
    Variant {
        tiffset: &[&["-s", "296", "3"]],
        ..variant("pixels_per_centimetre", &["tx,0"], G4, MSB)
    },
    Variant {
        tiffset: &[&["-u", "282"], &["-u", "283"]],
        ..variant("no_resolution", &["tx,0"], G4, MSB)
    },
];

impl Variant {
    /// Makes the TIFF in `dir`, checks it is what the variant says, and returns its path.
    fn make(&self, dir: &Path) -> PathBuf {
        let out = dir.join(format!("{}.tif", self.name));
        let fixture = |name: &str| fixtures().join(name).display().to_string();
        let mut args: Vec<String> = self
            .tiffcp
            .iter()
            .map(|a| match *a {
                "rx" => fixture("rx.tif"),
                "tx" => fixture("tx.tif"),
                "tx,0" => format!("{},0", fixture("tx.tif")),
                other => other.to_owned(),
            })
            .collect();
        args.push(out.display().to_string());
        run(
            "tiffcp",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        for edit in self.tiffset {
            let mut args = edit.to_vec();
            args.push(out.to_str().unwrap());
            run("tiffset", &args);
        }
        let pages = tiff_pages(&std::fs::read(&out).unwrap()).unwrap();
        let first = &pages[0];
        assert_eq!(first.compression, self.compression, "{}", self.name);
        assert_eq!(first.fill_order, self.fill_order, "{}", self.name);
        assert_eq!(first.strips.len() > 1, self.several_strips, "{}", self.name);
        out
    }
}

#[test]
fn the_captured_faxes_convert_like_libtiff() {
    let rx = tiff_pages(&fixture("rx.tif")).unwrap();
    assert_eq!(rx.len(), 2);
    assert_eq!(
        rx[0].compression,
        Compression::Group3 {
            two_d: true,
            fill_bits: true,
            uncompressed: false
        }
    );
    assert_eq!(rx[0].description.as_deref(), Some("FIXTURE-TX"));
    assert_eq!(rx[1].page_number, Some((1, 2)));
    let tx = tiff_pages(&fixture("tx.tif")).unwrap();
    assert_eq!(tx.len(), 2);
    assert_eq!(
        tx[0].compression,
        Compression::Group4 {
            uncompressed: false
        }
    );
    assert_eq!(
        (tx[0].width, tx[0].height, tx[0].dpi()),
        (1728, 600, (204.0, 196.0))
    );
    let pdf = tiff_to_pdf(&fixture("tx.tif"), None).unwrap();
    for page in &pdf.pages {
        assert!((page.width_pt - 609.882).abs() < 0.001, "{page:?}");
        assert!((page.height_pt - 220.408).abs() < 0.001, "{page:?}");
    }

    if !have_tools(&["tiff2pdf", "pdftoppm"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in ["rx", "tx"] {
        let path = dir.path().join(format!("{name}.tif"));
        std::fs::write(&path, fixture(&format!("{name}.tif"))).unwrap();
        assert_converts_like_libtiff(name, &path);
    }
}

#[test]
fn every_fax_encoding_tiffcp_writes_converts_like_libtiff() {
    if !have_tools(&["tiffcp", "tiffset", "tiff2pdf", "pdftoppm"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for variant in VARIANTS {
        assert_converts_like_libtiff(variant.name, &variant.make(dir.path()));
    }
}

/// Bits, most significant first, padded with zeros to a whole byte.
fn pack(bits: &str) -> Vec<u8> {
    let bits: Vec<u8> = bits
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b - b'0')
        .collect();
    bits.chunks(8)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0, |acc, (i, b)| acc | b << (7 - i))
        })
        .collect()
}

/// A little-endian one-strip TIFF at 204 x 196 dpi, `data` at byte 8.
fn one_strip_tiff(width: u32, height: u32, compression: u16, data: &[u8]) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    let ifd = 8 + data.len() as u32 + (data.len() as u32 & 1);
    out.extend(ifd.to_le_bytes());
    out.extend(data);
    out.resize(ifd as usize, 0);
    let rationals = ifd + 2 + 12 * 12 + 4;
    let entries: [(u16, u16, u32); 12] = [
        (256, 4, width),
        (257, 4, height),
        (258, 3, 1),
        (259, 3, compression.into()),
        (262, 3, 0),
        (273, 4, 8),
        (277, 3, 1),
        (278, 4, height),
        (279, 4, data.len() as u32),
        (282, 5, rationals),
        (283, 5, rationals + 8),
        (296, 3, 2),
    ];
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    out.extend(0u32.to_le_bytes());
    for (num, den) in [(204u32, 1u32), (196, 1)] {
        out.extend(num.to_le_bytes());
        out.extend(den.to_le_bytes());
    }
    out
}

/// libtiff cannot write compression 2 (Modified Huffman, rows byte-aligned, no EOLs), so this
/// one is coded by hand: 64 pixels wide, rows alternately half black (white 32, black 32) and
/// all white (white make-up 64, white 0).
#[test]
fn ccitt_rle_converts_like_libtiff() {
    let half_black = pack("00011011 000001101010");
    let white = pack("11011 00110101");
    let data: Vec<u8> = (0..32)
        .flat_map(|row| {
            if row % 2 == 0 {
                half_black.clone()
            } else {
                white.clone()
            }
        })
        .collect();
    let tiff = one_strip_tiff(64, 32, 2, &data);
    assert_eq!(
        tiff_pages(&tiff).unwrap()[0].compression,
        Compression::CcittRle
    );
    if !have_tools(&["tiff2pdf", "pdftoppm"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rle.tif");
    std::fs::write(&path, tiff).unwrap();
    assert_converts_like_libtiff("rle", &path);
}

/// Offset of directory `n` of a little-endian TIFF.
fn directory(tiff: &[u8], n: usize) -> usize {
    let u32_at = |at: usize| u32::from_le_bytes(tiff[at..at + 4].try_into().unwrap()) as usize;
    let mut at = u32_at(4);
    for _ in 0..n {
        let count = u16::from_le_bytes([tiff[at], tiff[at + 1]]) as usize;
        at = u32_at(at + 2 + count * 12);
    }
    at
}

/// Replaces the (inline) value of `tag` in directory `n` of a little-endian TIFF.
fn set_tag(tiff: &mut [u8], n: usize, tag: u16, value: u32) {
    let at = directory(tiff, n);
    let count = u16::from_le_bytes([tiff[at], tiff[at + 1]]) as usize;
    let entry = (0..count)
        .map(|i| at + 2 + i * 12)
        .find(|&e| tiff[e..e + 2] == tag.to_le_bytes())
        .unwrap_or_else(|| panic!("no tag {tag}"));
    let size = match u16::from_le_bytes([tiff[entry + 2], tiff[entry + 3]]) {
        3 => 2,
        _ => 4,
    };
    tiff[entry + 8..entry + 8 + size].copy_from_slice(&value.to_le_bytes()[..size]);
}

#[test]
fn every_truncation_of_a_captured_fax_is_an_error_until_only_unread_tags_are_lost() {
    let rx = fixture("rx.tif");
    // Each page's data lies before its directory; behind the last directory come only values
    // (and of tags such as Software, not all) that are stored out of line.
    let last = directory(&rx, 1);
    let entries = u16::from_le_bytes([rx[last], rx[last + 1]]) as usize;
    let end_of_directories = last + 2 + entries * 12 + 4;
    for len in 0..rx.len() {
        let converted = tiff_to_pdf(&rx[..len], None);
        if len < end_of_directories {
            assert!(converted.is_err(), "cut at {len}");
        }
    }
}

#[test]
fn a_directory_chain_that_loops_is_an_error() {
    let mut rx = fixture("rx.tif");
    let first = directory(&rx, 0);
    let second = directory(&rx, 1);
    let count = u16::from_le_bytes([rx[second], rx[second + 1]]) as usize;
    let link = second + 2 + count * 12;
    rx[link..link + 4].copy_from_slice(&(first as u32).to_le_bytes());
    assert_eq!(
        tiff_to_pdf(&rx, None),
        Err(FaxError::DirectoryLoop {
            offset: first as u32
        })
    );
}

#[test]
fn offsets_past_the_end_are_errors() {
    for (tag, value) in [
        (273, 1 << 31),
        (273, 6_700),
        (279, u32::MAX),
        (282, 1 << 20),
    ] {
        let mut rx = fixture("rx.tif");
        set_tag(&mut rx, 1, tag, value);
        let err = tiff_to_pdf(&rx, None).unwrap_err();
        assert!(
            matches!(err, FaxError::OutOfBounds { .. }),
            "tag {tag} = {value}: {err}"
        );
    }
}

#[test]
fn images_that_are_not_fax_encoded_are_refused() {
    for code in [5, 7, 32773] {
        let mut rx = fixture("rx.tif");
        set_tag(&mut rx, 0, 259, code);
        assert_eq!(
            tiff_to_pdf(&rx, None),
            Err(FaxError::UnsupportedCompression { ifd: 0, code })
        );
    }
    let mut zero_height = fixture("rx.tif");
    set_tag(&mut zero_height, 1, 257, 0);
    assert!(matches!(
        tiff_to_pdf(&zero_height, None),
        Err(FaxError::BadTag { ifd: 1, .. })
    ));
}

#[test]
fn an_lzw_tiff_from_tiffcp_is_refused() {
    if !have_tools(&["tiffcp"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lzw.tif");
    let tx = fixtures().join("tx.tif");
    run(
        "tiffcp",
        &["-c", "lzw", tx.to_str().unwrap(), out.to_str().unwrap()],
    );
    let err = tiff_to_pdf(&std::fs::read(out).unwrap(), None).unwrap_err();
    assert_eq!(err, FaxError::UnsupportedCompression { ifd: 0, code: 5 });
    assert!(err.to_string().contains("not a fax encoding"), "{err}");
}

/// Positions worth mutating: anywhere, but mostly the two directories (rx.tif's are at 3274
/// and 6368) where every byte is an offset, a count or a type.
fn position() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..6752, 3274usize..3554, 6368usize..6752]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_capture_is_a_pdf_or_an_error_never_a_panic(
        edits in proptest::collection::vec((position(), any::<u8>()), 1..12),
        cut in proptest::option::of(0usize..6752),
    ) {
        let mut rx = fixture("rx.tif");
        for (at, byte) in edits {
            if let Some(b) = rx.get_mut(at) {
                *b = byte;
            }
        }
        if let Some(cut) = cut {
            rx.truncate(cut);
        }
        if let Ok(pdf) = tiff_to_pdf(&rx, None) {
            prop_assert!(!pdf.pages.is_empty());
            prop_assert!(pdf.bytes.ends_with(b"%%EOF\n"));
        }
    }
}
