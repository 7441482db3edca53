//! FreeSWITCH's URL encoding of event header values (`switch_url_encode` with
//! `SWITCH_URL_UNSAFE`), and its inverse.
//!
//! Encoding escapes control bytes, bytes above `~`, and `\r\n #%&+:;<=>?@[\]^`{|}"`; a `%`
//! already followed by two hex digits is left alone (FreeSWITCH does not double-encode), which is
//! why `/`, `,`, `(` and `'` travel as they are. Decoding turns `%XX` back into a byte and never
//! treats `+` as a space.

use std::borrow::Cow;

const UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The value of one hex digit.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes; borrows when there is nothing to decode. Invalid UTF-8 in the decoded
/// bytes is replaced, so a hostile value can never fail a lookup.
pub fn decode(value: &str) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    let Some(first) = memchr::memchr(b'%', bytes) else {
        return Cow::Borrowed(value);
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn must_escape(bytes: &[u8], i: usize) -> bool {
    let b = bytes[i];
    if b == b'%' {
        let escaped = i + 2 < bytes.len()
            && hex_value(bytes[i + 1]).is_some()
            && hex_value(bytes[i + 2]).is_some();
        return !escaped;
    }
    !(b' '..=b'~').contains(&b) || UNSAFE.contains(&b)
}

/// Appends `value` encoded as FreeSWITCH encodes plain and xml event header values.
pub fn encode_into(value: &str, out: &mut Vec<u8>) {
    let bytes = value.as_bytes();
    for i in 0..bytes.len() {
        if must_escape(bytes, i) {
            let b = bytes[i];
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(bytes[i]);
        }
    }
}

pub fn encode(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + 8);
    encode_into(value, &mut out);
    // Only ASCII and escapes were written.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_the_switch_encodes() {
        assert_eq!(
            decode("sofia/external/%2B15550001%40127.0.0.1%3A5070"),
            "sofia/external/+15550001@127.0.0.1:5070"
        );
        assert_eq!(decode("a+b"), "a+b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(
            decode("%D0%90%D0%BB%D0%B5%D0%BA%D1%81%D0%B5%D0%B9"),
            "Алексей"
        );
        assert!(matches!(decode("plain"), Cow::Borrowed(_)));
        assert_eq!(decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn encodes_like_switch_url_encode() {
        assert_eq!(
            encode("02bbee13 tone_stream://%(200,0,500);loops=2 aleg"),
            "02bbee13%20tone_stream%3A//%25(200,0,500)%3Bloops%3D2%20aleg"
        );
        assert_eq!(encode("{a=b}x@y &park()"), "%7Ba%3Db%7Dx%40y%20%26park()");
        // An existing escape is not encoded twice.
        assert_eq!(encode("%2B1"), "%2B1");
        assert_eq!(
            encode("Алексей"),
            "%D0%90%D0%BB%D0%B5%D0%BA%D1%81%D0%B5%D0%B9"
        );
    }
}
