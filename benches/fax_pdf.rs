//! Received faxes to PDF: the two TIFFs mod_spandsp wrote (G3 2-D with bit-reversed bytes, and
//! G4), and a ten-page document made of their pages. Reports pages/s on one core (criterion's
//! "elem/s": one element is one page).

#[path = "../tests/captures/mod.rs"]
mod captures;

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchdesk::fax::tiff_to_pdf;

fn fixtures() -> PathBuf {
    captures::freeswitch().join("fax")
}

/// A little-endian TIFF of `pages`, each a copy of one page of `sources` in turn: the strip
/// bytes, then a directory of the tags a fax page needs.
fn document(sources: &[Vec<u8>], pages: usize) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend(0u32.to_le_bytes());
    let mut link = 4;
    for i in 0..pages {
        let source = &sources[i % sources.len()];
        let info = &switchdesk::fax::tiff_pages(source).unwrap()[0];
        let strip = info.strips[0].bytes(source).unwrap();
        let data_at = out.len() as u32;
        out.extend_from_slice(strip);
        out.resize(out.len() + (out.len() & 1), 0);
        let ifd = out.len() as u32;
        out[link..link + 4].copy_from_slice(&ifd.to_le_bytes());
        let (compression, t4, fill) = match info.compression {
            switchdesk::fax::Compression::Group4 { .. } => (4, 0, 1),
            _ => (3, 5, 2),
        };
        let rationals = ifd + 2 + 12 * 12 + 4;
        let entries: [(u16, u16, u32); 12] = [
            (256, 4, info.width),
            (257, 4, info.height),
            (259, 3, compression),
            (262, 3, 0),
            (266, 3, fill),
            (273, 4, data_at),
            (278, 4, info.height),
            (279, 4, strip.len() as u32),
            (282, 5, rationals),
            (283, 5, rationals + 8),
            (292, 4, t4),
            (296, 3, 2),
        ];
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        link = out.len();
        out.extend(0u32.to_le_bytes());
        for res in [204u32, 196] {
            out.extend(res.to_le_bytes());
            out.extend(1u32.to_le_bytes());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let rx = std::fs::read(fixtures().join("rx.tif")).unwrap();
    let tx = std::fs::read(fixtures().join("tx.tif")).unwrap();
    let ten = document(&[rx.clone(), tx.clone()], 10);
    let mut group = c.benchmark_group("fax_pdf_pages");
    for (label, tiff) in [("rx_g3_2d", &rx), ("tx_g4", &tx), ("ten_pages", &ten)] {
        let pages = tiff_to_pdf(tiff, Some("Fax")).unwrap().pages.len();
        group.throughput(Throughput::Elements(pages as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), tiff, |b, t| {
            b.iter(|| tiff_to_pdf(t, Some("Fax")).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
