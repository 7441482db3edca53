//! A minimal TIFF reader for received faxes: it finds each page's fax-coded strips and the few
//! tags needed to place them on a PDF page, and never decodes a pixel.
//!
//! The file comes from outside (a fax machine at the far end, through FreeSWITCH), so every
//! offset and count is checked against the file before use, allocations are bounded by the
//! file's size, the directory chain is walked at most [`MAX_DIRECTORIES`] times and never twice
//! through the same directory, and the pixel counts that a viewer would later have to decode are
//! capped ([`MAX_PAGE_PIXELS`], [`MAX_TOTAL_PIXELS`]). Pages may not share strips or offset
//! arrays to multiply the output: all strips together may hold no more bytes than the file,
//! and number at most [`MAX_TOTAL_STRIPS`]. Bad input is a [`FaxError`], never a panic.
//!
//! Only classic TIFF (not BigTIFF), bilevel, strip-organised images are read: what fax software
//! (mod_spandsp, HylaFAX, libtiff's tools) writes.

use std::collections::HashSet;

/// Directories walked at most: a fax of a thousand pages is already absurd.
pub const MAX_DIRECTORIES: usize = 1_000;
/// Pixels in one page: 2^28 is 16384 x 16384, a 1.3 m long A4 page at 1200 dpi is smaller.
pub const MAX_PAGE_PIXELS: u64 = 1 << 28;
/// Pixels in all pages together (1 GiB of bitmap once a viewer decodes them).
pub const MAX_TOTAL_PIXELS: u64 = 1 << 33;
/// Strips in all pages together; each costs an image object in the PDF. A thousand pages of
/// 16-row strips stay below it.
pub const MAX_TOTAL_STRIPS: usize = 1 << 18;

/// Whether `bytes` start like a classic TIFF (`II*\0` or `MM\0*`): the check made before a
/// file FreeSWITCH named is stored or mailed as a fax's original.
pub fn is_tiff(bytes: &[u8]) -> bool {
    matches!(bytes.get(..4), Some(b"II*\0") | Some(b"MM\0*"))
}

/// Why a TIFF could not be read or converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaxError {
    #[error("not a TIFF file (it does not start with II*\\0 or MM\\0*)")]
    NotTiff,
    #[error("BigTIFF files are not supported, only classic TIFF")]
    BigTiff,
    #[error("TIFF is truncated or corrupt: {what} needs bytes {offset}..{end} but the file has {file_len}")]
    OutOfBounds {
        what: &'static str,
        offset: u64,
        end: u64,
        file_len: usize,
    },
    #[error("TIFF directory chain loops back to the directory at byte {offset}")]
    DirectoryLoop { offset: u32 },
    #[error("TIFF has more than {max} directories")]
    TooManyDirectories { max: usize },
    #[error("TIFF contains no pages")]
    NoPages,
    #[error("TIFF directory {ifd}: required tag {tag} is missing")]
    MissingTag { ifd: usize, tag: &'static str },
    #[error("TIFF directory {ifd}: tag {tag} is malformed: {reason}")]
    BadTag {
        ifd: usize,
        tag: &'static str,
        reason: &'static str,
    },
    #[error("TIFF directory {ifd}: compression {code} is not a fax encoding (supported: 1 none, 2 CCITT RLE, 3 G3, 4 G4)")]
    UnsupportedCompression { ifd: usize, code: u32 },
    #[error("TIFF directory {ifd}: {what} is not supported (only bilevel fax images are)")]
    Unsupported { ifd: usize, what: String },
    #[error("TIFF directory {ifd}: a page of {width} x {height} pixels exceeds the limit of {max} pixels")]
    PageTooLarge {
        ifd: usize,
        width: u32,
        height: u32,
        max: u64,
    },
    #[error("TIFF pages hold more than {max} pixels in total")]
    TooManyPixels { max: u64 },
    #[error("TIFF pages hold more than {max} strips in total")]
    TooManyStrips { max: usize },
    #[error("TIFF strips add up to more bytes than the file holds (strips overlap)")]
    StripsExceedFile,
    #[error("TIFF directory {ifd}: strip {strip} is empty or shorter than its rows need")]
    ShortStrip { ifd: usize, strip: usize },
}

/// How a page's strips are coded (tag 259, with tag 292 or 293 for the CCITT options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// 1: raw bits, each row padded to a whole byte.
    None,
    /// 2: CCITT Modified Huffman (T.4 1-D) without EOLs, each row starting on a byte boundary.
    CcittRle,
    /// 3: CCITT T.4 ("Group 3"), every row introduced by an EOL.
    Group3 {
        /// T4Options bit 0: rows may be 2-D coded (each EOL is followed by a 1-D/2-D tag bit).
        two_d: bool,
        /// T4Options bit 2: zero bits pad each EOL so that it ends on a byte boundary.
        fill_bits: bool,
        /// T4Options bit 1: the data may use T.4 uncompressed mode. Passed through as is;
        /// many decoders (libtiff among them) cannot decode such runs.
        uncompressed: bool,
    },
    /// 4: CCITT T.6 ("Group 4").
    Group4 {
        /// T6Options bit 1: the data may use uncompressed mode (see [`Compression::Group3`]).
        uncompressed: bool,
    },
}

/// What a 0 bit means (tag 262). Fax TIFFs are WhiteIsZero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photometric {
    WhiteIsZero,
    BlackIsZero,
}

/// The bit order within each data byte (tag 266).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillOrder {
    /// 1: the first pixel (or code bit) is the byte's most significant bit.
    MsbFirst,
    /// 2: the first is the least significant bit, as mod_spandsp writes; such bytes are
    /// bit-reversed before use.
    LsbFirst,
}

/// What the resolution numbers count pixels per (tag 296).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolutionUnit {
    /// 1: no absolute unit. Read as inches, since for a fax they always are (tiff2pdf instead
    /// takes pixels over the bare number as points).
    None,
    Inch,
    Centimeter,
}

/// One strip of coded data: where it lies in the file and how many rows it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strip {
    pub offset: usize,
    pub len: usize,
    pub rows: u32,
}

impl Strip {
    /// The strip's bytes in `tiff`, the file it was read from.
    pub fn bytes<'a>(&self, tiff: &'a [u8]) -> Result<&'a [u8], FaxError> {
        let end = self.offset.saturating_add(self.len);
        tiff.get(self.offset..end)
            .ok_or_else(|| out_of_bounds("strip", self.offset as u64, end as u64, tiff.len()))
    }
}

/// One page of a fax TIFF, as read from its directory.
#[derive(Debug, Clone, PartialEq)]
pub struct PageInfo {
    /// The directory's index in the file (0-based, as `tiffinfo` counts).
    pub ifd: usize,
    pub width: u32,
    pub height: u32,
    pub compression: Compression,
    pub photometric: Photometric,
    pub fill_order: FillOrder,
    /// Pixels per `resolution_unit`, when the file says (tags 282 and 283).
    pub x_resolution: Option<f64>,
    pub y_resolution: Option<f64>,
    pub resolution_unit: ResolutionUnit,
    pub rows_per_strip: u32,
    /// In order from the top; each lies within the file, and holds `rows` rows.
    pub strips: Vec<Strip>,
    pub description: Option<String>,
    /// (page number from 0, page count; 0 when unknown) (tag 297).
    pub page_number: Option<(u16, u16)>,
}

impl PageInfo {
    /// Horizontal and vertical pixels per inch. A missing resolution is 300 dpi, as tiff2pdf
    /// assumes, so both converters agree on the page size.
    pub fn dpi(&self) -> (f64, f64) {
        const DEFAULT_DPI: f64 = 300.0;
        let per_inch = match self.resolution_unit {
            ResolutionUnit::Centimeter => 2.54,
            ResolutionUnit::Inch | ResolutionUnit::None => 1.0,
        };
        let dpi = |r: Option<f64>| r.map_or(DEFAULT_DPI, |r| r * per_inch);
        (dpi(self.x_resolution), dpi(self.y_resolution))
    }
}

/// Every page of a fax TIFF, in reading order.
///
/// Directories that are not pages (reduced-resolution previews, masks) are skipped. Pages are
/// ordered by their PageNumber tag where they have one, then by position in the file, as
/// tiff2pdf orders them.
pub fn tiff_pages(tiff: &[u8]) -> Result<Vec<PageInfo>, FaxError> {
    let reader = Reader::new(tiff)?;
    let mut pages = Vec::new();
    let mut totals = Totals::default();
    for (ifd, entries) in reader.directories()?.into_iter().enumerate() {
        let dir = Directory {
            reader: &reader,
            ifd,
            entries,
        };
        if !dir.is_page()? {
            continue;
        }
        let page = dir.page()?;
        totals.add(&page, tiff.len())?;
        let order = dir.page_order(pages.len())?;
        pages.push((order, page));
    }
    if pages.is_empty() {
        return Err(FaxError::NoPages);
    }
    // Stable: equal page numbers keep file order.
    pages.sort_by_key(|(order, _)| *order);
    Ok(pages.into_iter().map(|(_, page)| page).collect())
}

/// What the pages read so far add up to, held against the limits.
#[derive(Default)]
struct Totals {
    pixels: u64,
    strips: usize,
    bytes: u64,
}

impl Totals {
    fn add(&mut self, page: &PageInfo, file_len: usize) -> Result<(), FaxError> {
        self.pixels += u64::from(page.width) * u64::from(page.height);
        self.strips += page.strips.len();
        self.bytes += page.strips.iter().map(|s| s.len as u64).sum::<u64>();
        if self.pixels > MAX_TOTAL_PIXELS {
            return Err(FaxError::TooManyPixels {
                max: MAX_TOTAL_PIXELS,
            });
        }
        if self.strips > MAX_TOTAL_STRIPS {
            return Err(FaxError::TooManyStrips {
                max: MAX_TOTAL_STRIPS,
            });
        }
        if self.bytes > file_len as u64 {
            return Err(FaxError::StripsExceedFile);
        }
        Ok(())
    }
}

// Tags read here.
const NEW_SUBFILE_TYPE: u16 = 254;
const SUBFILE_TYPE: u16 = 255;
const IMAGE_WIDTH: u16 = 256;
const IMAGE_LENGTH: u16 = 257;
const BITS_PER_SAMPLE: u16 = 258;
const COMPRESSION: u16 = 259;
const PHOTOMETRIC: u16 = 262;
const FILL_ORDER: u16 = 266;
const IMAGE_DESCRIPTION: u16 = 270;
const STRIP_OFFSETS: u16 = 273;
const SAMPLES_PER_PIXEL: u16 = 277;
const ROWS_PER_STRIP: u16 = 278;
const STRIP_BYTE_COUNTS: u16 = 279;
const X_RESOLUTION: u16 = 282;
const Y_RESOLUTION: u16 = 283;
const T4_OPTIONS: u16 = 292;
const T6_OPTIONS: u16 = 293;
const RESOLUTION_UNIT: u16 = 296;
const PAGE_NUMBER: u16 = 297;
const TILE_WIDTH: u16 = 322;

const KNOWN_TAGS: [u16; 20] = [
    NEW_SUBFILE_TYPE,
    SUBFILE_TYPE,
    IMAGE_WIDTH,
    IMAGE_LENGTH,
    BITS_PER_SAMPLE,
    COMPRESSION,
    PHOTOMETRIC,
    FILL_ORDER,
    IMAGE_DESCRIPTION,
    STRIP_OFFSETS,
    SAMPLES_PER_PIXEL,
    ROWS_PER_STRIP,
    STRIP_BYTE_COUNTS,
    X_RESOLUTION,
    Y_RESOLUTION,
    T4_OPTIONS,
    T6_OPTIONS,
    RESOLUTION_UNIT,
    PAGE_NUMBER,
    TILE_WIDTH,
];

fn tag_name(tag: u16) -> &'static str {
    match tag {
        NEW_SUBFILE_TYPE => "NewSubfileType",
        SUBFILE_TYPE => "SubfileType",
        IMAGE_WIDTH => "ImageWidth",
        IMAGE_LENGTH => "ImageLength",
        BITS_PER_SAMPLE => "BitsPerSample",
        COMPRESSION => "Compression",
        PHOTOMETRIC => "PhotometricInterpretation",
        FILL_ORDER => "FillOrder",
        IMAGE_DESCRIPTION => "ImageDescription",
        STRIP_OFFSETS => "StripOffsets",
        SAMPLES_PER_PIXEL => "SamplesPerPixel",
        ROWS_PER_STRIP => "RowsPerStrip",
        STRIP_BYTE_COUNTS => "StripByteCounts",
        X_RESOLUTION => "XResolution",
        Y_RESOLUTION => "YResolution",
        T4_OPTIONS => "T4Options",
        T6_OPTIONS => "T6Options",
        RESOLUTION_UNIT => "ResolutionUnit",
        PAGE_NUMBER => "PageNumber",
        TILE_WIDTH => "TileWidth",
        _ => "unknown",
    }
}

// Field types used by the tags above.
const BYTE: u16 = 1;
const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

/// Bytes per value of a field type, for the types the TIFF 6.0 spec defines.
fn type_size(kind: u16) -> Option<u64> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

fn out_of_bounds(what: &'static str, offset: u64, end: u64, file_len: usize) -> FaxError {
    FaxError::OutOfBounds {
        what,
        offset,
        end,
        file_len,
    }
}

/// One 12-byte directory entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// Where the entry's 4-byte value-or-offset field lies in the file.
    field: u64,
}

#[derive(Debug, Clone, Copy)]
enum ByteOrder {
    Little,
    Big,
}

/// Bounds-checked reads from the file in its byte order.
struct Reader<'a> {
    data: &'a [u8],
    order: ByteOrder,
    first_ifd: u32,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Result<Self, FaxError> {
        let order = match data.get(..2) {
            Some(b"II") => ByteOrder::Little,
            Some(b"MM") => ByteOrder::Big,
            _ => return Err(FaxError::NotTiff),
        };
        let mut reader = Reader {
            data,
            order,
            first_ifd: 0,
        };
        match reader.u16_at(2, "header")? {
            42 => {}
            43 => return Err(FaxError::BigTiff),
            _ => return Err(FaxError::NotTiff),
        }
        reader.first_ifd = reader.u32_at(4, "header")?;
        Ok(reader)
    }

    fn bytes(&self, offset: u64, len: u64, what: &'static str) -> Result<&'a [u8], FaxError> {
        let end = offset.saturating_add(len);
        usize::try_from(offset)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(start, end)| self.data.get(start..end))
            .ok_or_else(|| out_of_bounds(what, offset, end, self.data.len()))
    }

    fn u16_at(&self, offset: u64, what: &'static str) -> Result<u16, FaxError> {
        let b = self.bytes(offset, 2, what)?;
        Ok(self.u16(b))
    }

    fn u32_at(&self, offset: u64, what: &'static str) -> Result<u32, FaxError> {
        let b = self.bytes(offset, 4, what)?;
        Ok(self.u32(b))
    }

    /// The first two bytes of `b` (which has at least two).
    fn u16(&self, b: &[u8]) -> u16 {
        let pair = [b[0], b[1]];
        match self.order {
            ByteOrder::Little => u16::from_le_bytes(pair),
            ByteOrder::Big => u16::from_be_bytes(pair),
        }
    }

    /// The first four bytes of `b` (which has at least four).
    fn u32(&self, b: &[u8]) -> u32 {
        let quad = [b[0], b[1], b[2], b[3]];
        match self.order {
            ByteOrder::Little => u32::from_le_bytes(quad),
            ByteOrder::Big => u32::from_be_bytes(quad),
        }
    }

    /// The entries (of the tags read here) of every directory in the chain.
    fn directories(&self) -> Result<Vec<Vec<Entry>>, FaxError> {
        let mut seen = HashSet::new();
        let mut dirs = Vec::new();
        let mut offset = self.first_ifd;
        while offset != 0 {
            if !seen.insert(offset) {
                return Err(FaxError::DirectoryLoop { offset });
            }
            if dirs.len() == MAX_DIRECTORIES {
                return Err(FaxError::TooManyDirectories {
                    max: MAX_DIRECTORIES,
                });
            }
            let (entries, next) = self.directory(offset)?;
            dirs.push(entries);
            offset = next;
        }
        Ok(dirs)
    }

    /// One directory's known entries (the first of any repeated tag), and the next offset.
    fn directory(&self, offset: u32) -> Result<(Vec<Entry>, u32), FaxError> {
        let start = u64::from(offset);
        let count = self.u16_at(start, "directory entry count")?;
        let table = self.bytes(start + 2, u64::from(count) * 12, "directory entries")?;
        let mut entries: Vec<Entry> = Vec::new();
        for (i, raw) in table.chunks_exact(12).enumerate() {
            let tag = self.u16(raw);
            if KNOWN_TAGS.contains(&tag) && !entries.iter().any(|e| e.tag == tag) {
                entries.push(Entry {
                    tag,
                    kind: self.u16(&raw[2..]),
                    count: self.u32(&raw[4..]),
                    field: start + 2 + i as u64 * 12 + 8,
                });
            }
        }
        let next = self.u32_at(start + 2 + u64::from(count) * 12, "next directory offset")?;
        Ok((entries, next))
    }

    /// The bytes of an entry's values: inline when they fit in four bytes, else at the offset.
    fn values(&self, ifd: usize, e: &Entry) -> Result<&'a [u8], FaxError> {
        let size = type_size(e.kind).ok_or(FaxError::BadTag {
            ifd,
            tag: tag_name(e.tag),
            reason: "unknown field type",
        })? * u64::from(e.count);
        if size <= 4 {
            self.bytes(e.field, size, tag_name(e.tag))
        } else {
            let at = self.u32_at(e.field, tag_name(e.tag))?;
            self.bytes(u64::from(at), size, tag_name(e.tag))
        }
    }
}

/// One directory, with the reads that turn its entries into a page.
struct Directory<'r, 'a> {
    reader: &'r Reader<'a>,
    ifd: usize,
    entries: Vec<Entry>,
}

impl Directory<'_, '_> {
    fn entry(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    fn bad(&self, tag: u16, reason: &'static str) -> FaxError {
        FaxError::BadTag {
            ifd: self.ifd,
            tag: tag_name(tag),
            reason,
        }
    }

    /// The first `take` values of an integer tag (BYTE, SHORT or LONG), or None if absent.
    /// Allocates only for values that exist in the file.
    fn uints(&self, tag: u16, take: usize) -> Result<Option<Vec<u32>>, FaxError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        let bytes = self.reader.values(self.ifd, e)?;
        let width = match e.kind {
            BYTE => 1,
            SHORT => 2,
            LONG => 4,
            _ => return Err(self.bad(tag, "not an integer type")),
        };
        if (e.count as usize) < take {
            return Err(self.bad(tag, "too few values"));
        }
        let values = bytes.chunks_exact(width).take(take).map(|b| match width {
            1 => u32::from(b[0]),
            2 => u32::from(self.reader.u16(b)),
            _ => self.reader.u32(b),
        });
        Ok(Some(values.collect()))
    }

    fn uint(&self, tag: u16) -> Result<Option<u32>, FaxError> {
        Ok(self.uints(tag, 1)?.and_then(|v| v.first().copied()))
    }

    fn uint_or(&self, tag: u16, default: u32) -> Result<u32, FaxError> {
        Ok(self.uint(tag)?.unwrap_or(default))
    }

    fn required(&self, tag: u16) -> Result<u32, FaxError> {
        self.uint(tag)?.ok_or(FaxError::MissingTag {
            ifd: self.ifd,
            tag: tag_name(tag),
        })
    }

    /// A RATIONAL; a zero denominator reads as absent, as libtiff reads it as 0.
    fn rational(&self, tag: u16) -> Result<Option<f64>, FaxError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.kind != RATIONAL || e.count == 0 {
            return Err(self.bad(tag, "not a RATIONAL"));
        }
        let b = self.reader.values(self.ifd, e)?;
        let (num, den) = (self.reader.u32(b), self.reader.u32(&b[4..]));
        Ok((num != 0 && den != 0).then(|| f64::from(num) / f64::from(den)))
    }

    fn ascii(&self, tag: u16) -> Result<Option<String>, FaxError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.kind != ASCII {
            return Err(self.bad(tag, "not ASCII"));
        }
        let b = self.reader.values(self.ifd, e)?;
        let text = b.split(|&c| c == 0).next().unwrap_or_default();
        Ok(Some(String::from_utf8_lossy(text).into_owned()))
    }

    /// Whether tiff2pdf would make a page of this directory: one with a PageNumber, a
    /// NewSubfileType of 0 or with the page bit, or an old SubfileType of image or page.
    fn is_page(&self) -> Result<bool, FaxError> {
        if self.entry(PAGE_NUMBER).is_some() {
            return Ok(true);
        }
        if let Some(kind) = self.uint(NEW_SUBFILE_TYPE)? {
            return Ok(kind == 0 || kind & 2 != 0);
        }
        if let Some(kind) = self.uint(SUBFILE_TYPE)? {
            return Ok(matches!(kind, 0 | 1 | 3));
        }
        Ok(true)
    }

    /// The sort key that puts pages in reading order: the page number, where there is one
    /// (the count instead when the number exceeds it, as tiff2pdf does), else the position.
    fn page_order(&self, position: usize) -> Result<u64, FaxError> {
        Ok(match self.page_number()? {
            Some((n, count)) if n > count && count != 0 => u64::from(count),
            Some((n, _)) => u64::from(n),
            None => position as u64,
        })
    }

    fn page_number(&self) -> Result<Option<(u16, u16)>, FaxError> {
        let Some(values) = self.uints(PAGE_NUMBER, 2)? else {
            return Ok(None);
        };
        let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        Ok(Some((clamp(values[0]), clamp(values[1]))))
    }

    fn page(&self) -> Result<PageInfo, FaxError> {
        let (width, height) = self.dimensions()?;
        self.check_bilevel()?;
        let compression = self.compression()?;
        let rows_per_strip = self.uint_or(ROWS_PER_STRIP, u32::MAX)?;
        if rows_per_strip == 0 {
            return Err(self.bad(ROWS_PER_STRIP, "zero"));
        }
        let rows_per_strip = rows_per_strip.min(height);
        Ok(PageInfo {
            ifd: self.ifd,
            width,
            height,
            compression,
            photometric: self.photometric()?,
            fill_order: self.fill_order()?,
            x_resolution: self.rational(X_RESOLUTION)?,
            y_resolution: self.rational(Y_RESOLUTION)?,
            resolution_unit: self.resolution_unit()?,
            rows_per_strip,
            strips: self.strips(width, height, rows_per_strip, compression)?,
            description: self.ascii(IMAGE_DESCRIPTION)?,
            page_number: self.page_number()?,
        })
    }

    fn dimensions(&self) -> Result<(u32, u32), FaxError> {
        let width = self.required(IMAGE_WIDTH)?;
        let height = self.required(IMAGE_LENGTH)?;
        if width == 0 {
            return Err(self.bad(IMAGE_WIDTH, "zero"));
        }
        if height == 0 {
            return Err(self.bad(IMAGE_LENGTH, "zero"));
        }
        if u64::from(width) * u64::from(height) > MAX_PAGE_PIXELS {
            return Err(FaxError::PageTooLarge {
                ifd: self.ifd,
                width,
                height,
                max: MAX_PAGE_PIXELS,
            });
        }
        Ok((width, height))
    }

    /// One sample of one bit per pixel, in strips: anything else is not a fax.
    fn check_bilevel(&self) -> Result<(), FaxError> {
        let unsupported = |what: String| FaxError::Unsupported {
            ifd: self.ifd,
            what,
        };
        let samples = self.uint_or(SAMPLES_PER_PIXEL, 1)?;
        if samples != 1 {
            return Err(unsupported(format!("{samples} samples per pixel")));
        }
        let bits = self.uint_or(BITS_PER_SAMPLE, 1)?;
        if bits != 1 {
            return Err(unsupported(format!("{bits} bits per sample")));
        }
        if self.entry(TILE_WIDTH).is_some() {
            return Err(unsupported("a tiled image".to_owned()));
        }
        Ok(())
    }

    fn compression(&self) -> Result<Compression, FaxError> {
        Ok(match self.uint_or(COMPRESSION, 1)? {
            1 => Compression::None,
            2 => Compression::CcittRle,
            3 => {
                let options = self.uint_or(T4_OPTIONS, 0)?;
                Compression::Group3 {
                    two_d: options & 1 != 0,
                    uncompressed: options & 2 != 0,
                    fill_bits: options & 4 != 0,
                }
            }
            4 => Compression::Group4 {
                uncompressed: self.uint_or(T6_OPTIONS, 0)? & 2 != 0,
            },
            code => {
                return Err(FaxError::UnsupportedCompression {
                    ifd: self.ifd,
                    code,
                })
            }
        })
    }

    /// A missing tag reads as WhiteIsZero, the fax convention (and libtiff's guess for CCITT).
    fn photometric(&self) -> Result<Photometric, FaxError> {
        match self.uint_or(PHOTOMETRIC, 0)? {
            0 => Ok(Photometric::WhiteIsZero),
            1 => Ok(Photometric::BlackIsZero),
            other => Err(FaxError::Unsupported {
                ifd: self.ifd,
                what: format!("photometric interpretation {other}"),
            }),
        }
    }

    fn fill_order(&self) -> Result<FillOrder, FaxError> {
        match self.uint_or(FILL_ORDER, 1)? {
            1 => Ok(FillOrder::MsbFirst),
            2 => Ok(FillOrder::LsbFirst),
            _ => Err(self.bad(FILL_ORDER, "neither 1 nor 2")),
        }
    }

    fn resolution_unit(&self) -> Result<ResolutionUnit, FaxError> {
        match self.uint_or(RESOLUTION_UNIT, 2)? {
            1 => Ok(ResolutionUnit::None),
            2 => Ok(ResolutionUnit::Inch),
            3 => Ok(ResolutionUnit::Centimeter),
            _ => Err(self.bad(RESOLUTION_UNIT, "neither 1, 2 nor 3")),
        }
    }

    /// The strips, top to bottom. There must be one per `rows_per_strip` rows (extra entries
    /// are ignored, as libtiff does), each non-empty and within the file; uncompressed strips
    /// must hold their rows' bytes and are cut to exactly that.
    fn strips(
        &self,
        width: u32,
        height: u32,
        rows_per_strip: u32,
        compression: Compression,
    ) -> Result<Vec<Strip>, FaxError> {
        // At most `height` strips, so at most MAX_PAGE_PIXELS; and `uints` reads only values
        // present in the file.
        let count = height.div_ceil(rows_per_strip) as usize;
        let missing = |tag| FaxError::MissingTag {
            ifd: self.ifd,
            tag: tag_name(tag),
        };
        let offsets = self
            .uints(STRIP_OFFSETS, count)?
            .ok_or(missing(STRIP_OFFSETS))?;
        let lens = self
            .uints(STRIP_BYTE_COUNTS, count)?
            .ok_or(missing(STRIP_BYTE_COUNTS))?;
        let row_bytes = u64::from(width).div_ceil(8);
        let mut strips = Vec::with_capacity(count);
        for (i, (&offset, &len)) in offsets.iter().zip(&lens).enumerate() {
            let rows = rows_per_strip.min(height - rows_per_strip * i as u32);
            let mut len = u64::from(len);
            if compression == Compression::None {
                let needed = row_bytes * u64::from(rows);
                if len < needed {
                    return Err(FaxError::ShortStrip {
                        ifd: self.ifd,
                        strip: i,
                    });
                }
                len = needed;
            }
            if len == 0 {
                return Err(FaxError::ShortStrip {
                    ifd: self.ifd,
                    strip: i,
                });
            }
            self.reader.bytes(u64::from(offset), len, "strip")?;
            strips.push(Strip {
                offset: offset as usize,
                len: len as usize,
                rows,
            });
        }
        Ok(strips)
    }
}

/// Hand-built TIFFs for the unit tests of this module and of `pdf`.
#[cfg(test)]
pub(crate) mod build {
    /// A value of one entry: (type, values as u32; a RATIONAL takes two u32s per value).
    pub(crate) type Value = (u16, Vec<u32>);

    /// Writes a classic TIFF: `data` at byte 8, then one directory per element of `dirs`,
    /// each followed by its out-of-line values. Big-endian when `big` is set.
    pub(crate) fn tiff(big: bool, data: &[u8], dirs: &[Vec<(u16, Value)>]) -> Vec<u8> {
        let put16 = |out: &mut Vec<u8>, v: u16| {
            out.extend(if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        let put32 = |out: &mut Vec<u8>, v: u32| {
            out.extend(if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        let mut out = Vec::new();
        out.extend(if big { b"MM" } else { b"II" });
        put16(&mut out, 42);
        put32(&mut out, 0); // patched below
        out.extend_from_slice(data);
        let mut link = 4; // where the offset of the next directory goes
        for dir in dirs {
            if out.len() % 2 == 1 {
                out.push(0);
            }
            let start = out.len() as u32;
            out[link..link + 4].copy_from_slice(&if big {
                start.to_be_bytes()
            } else {
                start.to_le_bytes()
            });
            let extra_at = start as usize + 2 + dir.len() * 12 + 4;
            let mut extra = Vec::new();
            put16(&mut out, dir.len() as u16);
            for (tag, (kind, values)) in dir {
                put16(&mut out, *tag);
                put16(&mut out, *kind);
                let per = if *kind == 5 { 2 } else { 1 };
                put32(&mut out, (values.len() / per) as u32);
                let mut bytes = Vec::new();
                for &v in values {
                    match kind {
                        1 | 2 => bytes.push(v as u8),
                        3 => put16(&mut bytes, v as u16),
                        _ => put32(&mut bytes, v),
                    }
                }
                if bytes.len() <= 4 {
                    bytes.resize(4, 0);
                    out.extend(bytes);
                } else {
                    put32(&mut out, (extra_at + extra.len()) as u32);
                    extra.extend(bytes);
                }
            }
            link = out.len();
            put32(&mut out, 0);
            out.extend(extra);
        }
        out
    }

    /// The tags of a one-strip bilevel page of `width` x `height` at 204 x 196 dpi whose
    /// `len` data bytes are at byte 8.
    pub(crate) fn page(width: u32, height: u32, compression: u32, len: u32) -> Vec<(u16, Value)> {
        vec![
            (256, (4, vec![width])),
            (257, (4, vec![height])),
            (259, (3, vec![compression])),
            (262, (3, vec![0])),
            (273, (4, vec![8])),
            (278, (4, vec![height])),
            (279, (4, vec![len])),
            (282, (5, vec![204, 1])),
            (283, (5, vec![196, 1])),
            (296, (3, vec![2])),
        ]
    }

    /// `page` with `tag` set to `value` (replaced, or added at the end).
    pub(crate) fn with(mut dir: Vec<(u16, Value)>, tag: u16, value: Value) -> Vec<(u16, Value)> {
        dir.retain(|(t, _)| *t != tag);
        dir.push((tag, value));
        dir.sort_by_key(|(t, _)| *t);
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::build::{page, tiff, with};
    use super::*;

    fn g4_page() -> Vec<u8> {
        tiff(false, &[0xAA; 16], &[page(1728, 100, 4, 16)])
    }

    #[test]
    fn reads_one_g4_page_in_either_byte_order() {
        for big in [false, true] {
            let file = tiff(big, &[0xAA; 16], &[page(1728, 100, 4, 16)]);
            let pages = tiff_pages(&file).unwrap();
            assert_eq!(pages.len(), 1);
            let p = &pages[0];
            assert_eq!((p.width, p.height), (1728, 100));
            assert_eq!(
                p.compression,
                Compression::Group4 {
                    uncompressed: false
                }
            );
            assert_eq!(p.photometric, Photometric::WhiteIsZero);
            assert_eq!(p.fill_order, FillOrder::MsbFirst);
            assert_eq!(p.dpi(), (204.0, 196.0));
            assert_eq!(
                p.strips,
                vec![Strip {
                    offset: 8,
                    len: 16,
                    rows: 100
                }]
            );
            assert_eq!(p.strips[0].bytes(&file).unwrap(), &[0xAA; 16]);
        }
    }

    #[test]
    fn group3_options_and_the_other_tags_are_read() {
        let dir = with(page(1728, 10, 3, 16), 292, (4, vec![5]));
        let dir = with(dir, 266, (3, vec![2]));
        let dir = with(
            dir,
            270,
            (2, b"FIXTURE\0".iter().map(|&b| b.into()).collect()),
        );
        let dir = with(dir, 297, (3, vec![1, 3]));
        let dir = with(dir, 296, (3, vec![3]));
        let p = &tiff_pages(&tiff(true, &[0; 16], &[dir])).unwrap()[0];
        assert_eq!(
            p.compression,
            Compression::Group3 {
                two_d: true,
                fill_bits: true,
                uncompressed: false
            }
        );
        assert_eq!(p.fill_order, FillOrder::LsbFirst);
        assert_eq!(p.description.as_deref(), Some("FIXTURE"));
        assert_eq!(p.page_number, Some((1, 3)));
        assert_eq!(p.resolution_unit, ResolutionUnit::Centimeter);
        assert!((p.dpi().0 - 204.0 * 2.54).abs() < 1e-9);
    }

    #[test]
    fn several_strips_split_the_rows_and_the_last_holds_the_rest() {
        let dir = with(page(8, 40, 1, 0), 278, (3, vec![16]));
        let dir = with(dir, 273, (4, vec![8, 24, 40]));
        let dir = with(dir, 279, (3, vec![16, 16, 8]));
        let p = &tiff_pages(&tiff(false, &[0; 48], &[dir])).unwrap()[0];
        let rows: Vec<u32> = p.strips.iter().map(|s| s.rows).collect();
        assert_eq!(rows, [16, 16, 8]);
    }

    #[test]
    fn pages_follow_their_page_numbers_and_previews_are_skipped() {
        let numbered = |n| with(page(1728, 10, 4, 16), 297, (3, vec![n, 3]));
        let preview = with(page(64, 10, 7, 16), 254, (4, vec![1]));
        let file = tiff(
            false,
            &[0; 16],
            &[numbered(2), preview, numbered(0), numbered(1)],
        );
        let order: Vec<usize> = tiff_pages(&file).unwrap().iter().map(|p| p.ifd).collect();
        assert_eq!(order, [2, 3, 0]);
    }

    #[test]
    fn hostile_files_are_errors() {
        let good = g4_page();
        assert_eq!(tiff_pages(b"GIF89a"), Err(FaxError::NotTiff));
        assert_eq!(tiff_pages(b"II+\0\x08\0\0\0"), Err(FaxError::BigTiff));
        for len in 0..good.len() {
            assert!(tiff_pages(&good[..len]).is_err(), "truncated to {len}");
        }
        // The one directory starts at 24 (after the header and 16 data bytes): point its
        // next-directory link back at itself.
        let mut looped = good.clone();
        let link = 24 + 2 + 10 * 12;
        looped[link..link + 4].copy_from_slice(&24u32.to_le_bytes());
        assert_eq!(
            tiff_pages(&looped),
            Err(FaxError::DirectoryLoop { offset: 24 })
        );
        let past_end = tiff(
            false,
            &[0; 16],
            &[with(page(1728, 100, 4, 16), 273, (4, vec![1 << 30]))],
        );
        assert!(matches!(
            tiff_pages(&past_end),
            Err(FaxError::OutOfBounds { .. })
        ));
        let lzw = tiff(false, &[0; 16], &[page(1728, 100, 5, 16)]);
        assert_eq!(
            tiff_pages(&lzw),
            Err(FaxError::UnsupportedCompression { ifd: 0, code: 5 })
        );
        let empty = tiff(false, &[0; 16], &[page(0, 100, 4, 16)]);
        assert!(matches!(
            tiff_pages(&empty),
            Err(FaxError::BadTag {
                tag: "ImageWidth",
                ..
            })
        ));
        let huge = tiff(false, &[0; 16], &[page(1 << 20, 1 << 20, 4, 16)]);
        assert!(matches!(
            tiff_pages(&huge),
            Err(FaxError::PageTooLarge { .. })
        ));
        let gray = tiff(
            false,
            &[0; 16],
            &[with(page(8, 2, 1, 16), 258, (3, vec![8]))],
        );
        assert!(matches!(
            tiff_pages(&gray),
            Err(FaxError::Unsupported { .. })
        ));
        let short = tiff(false, &[0; 16], &[page(1728, 100, 1, 16)]);
        assert!(matches!(
            tiff_pages(&short),
            Err(FaxError::ShortStrip { .. })
        ));
    }

    #[test]
    fn a_strip_count_far_beyond_the_file_allocates_nothing_and_fails() {
        let dir = with(page(1728, 100, 4, 16), 273, (4, vec![8]));
        let mut file = tiff(false, &[0; 16], &[with(dir, 278, (3, vec![1]))]);
        // Claim 4 billion strip offsets.
        let at = file.windows(4).position(|w| w == [17, 1, 4, 0]).unwrap();
        file[at + 4..at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(tiff_pages(&file).is_err());
    }

    #[test]
    fn pages_sharing_their_strips_cannot_multiply_the_output() {
        // Three pages each claiming the same 1000 bytes, in a file of about 1500.
        let dirs: Vec<_> = (0..3).map(|_| page(1728, 100, 4, 1000)).collect();
        let file = tiff(false, &[0; 1000], &dirs);
        assert_eq!(tiff_pages(&file), Err(FaxError::StripsExceedFile));
    }

    #[test]
    fn the_directory_chain_is_capped() {
        let dirs: Vec<_> = (0..=MAX_DIRECTORIES).map(|_| page(8, 1, 1, 1)).collect();
        let file = tiff(false, &[0; 2], &dirs);
        assert_eq!(
            tiff_pages(&file),
            Err(FaxError::TooManyDirectories {
                max: MAX_DIRECTORIES
            })
        );
    }
}
