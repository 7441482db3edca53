//! Physical lines of an import file, read incrementally and bounded: a file without line
//! breaks (or with a 1 GB line) costs at most [`MAX_LINE`] bytes of memory, never the whole
//! input.

use std::io::{self, BufRead};

/// Longest line kept; the rest of a longer line is skipped and the line marked `too_long`.
pub(super) const MAX_LINE: usize = 1024 * 1024;

/// One physical line, without its `\n` or `\r\n`.
#[derive(Debug)]
pub(super) struct Line {
    /// 1-based, as an editor shows it.
    pub number: u64,
    pub text: Vec<u8>,
    /// The line was longer than [`MAX_LINE`]; `text` holds its beginning.
    pub too_long: bool,
}

pub(super) struct Lines<R> {
    input: R,
    number: u64,
    bytes_read: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Lines<R> {
        Lines {
            input,
            number: 0,
            bytes_read: 0,
        }
    }

    /// Bytes consumed from the input so far, for progress against the file's size.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next line, or `None` at the end of the input. A UTF-8 byte-order mark at the start
    /// of the file (Excel writes one) is dropped.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut text = Vec::new();
        let mut too_long = false;
        let mut any = false;
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buffer.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, ended) = match memchr::memchr(b'\n', buffer) {
                Some(end) => (&buffer[..end], end + 1, true),
                None => (buffer, buffer.len(), false),
            };
            let room = MAX_LINE.saturating_sub(text.len());
            if chunk.len() > room {
                too_long = true;
            }
            text.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.input.consume(used);
            self.bytes_read += used as u64;
            if ended {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.number += 1;
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        if self.number == 1 && text.starts_with(b"\xEF\xBB\xBF") {
            text.drain(..3);
        }
        Ok(Some(Line {
            number: self.number,
            text,
            too_long,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<(u64, Vec<u8>, bool)> {
        let mut lines = Lines::new(io::BufReader::with_capacity(7, input));
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            out.push((line.number, line.text, line.too_long));
        }
        assert_eq!(lines.bytes_read(), input.len() as u64);
        out
    }

    #[test]
    fn lines_end_at_lf_or_crlf_and_the_last_needs_no_break() {
        assert_eq!(
            all(b"\xEF\xBB\xBFa,b\r\n\nsecond line\nlast"),
            vec![
                (1, b"a,b".to_vec(), false),
                (2, Vec::new(), false),
                (3, b"second line".to_vec(), false),
                (4, b"last".to_vec(), false),
            ]
        );
        assert!(all(b"").is_empty());
    }

    #[test]
    fn a_giant_line_is_cut_not_buffered() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nnext\n");
        let lines = all(&input);
        assert_eq!(lines[0].1.len(), MAX_LINE);
        assert!(lines[0].2);
        assert_eq!(lines[1], (2, b"next".to_vec(), false));
    }
}
