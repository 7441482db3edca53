//! Text from outside holds no NUL (U+0000). PostgreSQL's `text` cannot store it (the insert
//! fails, and the client would see a 500), SQLite would keep a string other tools cut short,
//! and nothing switchdesk stores has a use for it. So it is refused at the door with a 400
//! that names where it was: in the URI (path or query parameter, written `%00`) by
//! [`refuse_nul_in_uri`], a layer on every route, and in a JSON body by
//! [`refuse_nul_in_json`], which [`super::error::ApiJson`] runs before deserializing. The other
//! bodies refuse it where they are parsed: CDR XML in [`crate::cdr`], phone book files in
//! [`crate::directory::import`].

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ApiError;

/// Longest parameter name quoted back in an error.
const MAX_NAME_SHOWN: usize = 64;

/// A layer: 400 for a request whose path or query string carries an encoded NUL.
pub(crate) async fn refuse_nul_in_uri(request: Request, next: Next) -> Response {
    match nul_in_uri(request.uri()) {
        Some(problem) => ApiError::bad_request(problem).into_response(),
        None => next.run(request).await,
    }
}

/// Where the URI carries `%00`, said for the client. A URI cannot hold a raw NUL byte (the
/// HTTP parser refuses it), and `%00` is the only way to write one there.
fn nul_in_uri(uri: &Uri) -> Option<String> {
    if encodes_nul(uri.path()) {
        return Some("the path contains a NUL character (%00), which is not allowed".to_owned());
    }
    let pair = uri.query()?.split('&').find(|pair| encodes_nul(pair))?;
    let name: String = pair
        .split('=')
        .next()
        .unwrap_or("")
        .chars()
        .take(MAX_NAME_SHOWN)
        .collect();
    Some(format!(
        "query parameter {name:?} contains a NUL character (%00), which is not allowed"
    ))
}

fn encodes_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// `Err(400)` naming the field when a JSON text holds U+0000 in a string or a key. A raw NUL
/// byte is not JSON (and is refused as well); the only way to write one is `\u0000`, so the
/// bytes are scanned for that escape outside of an escaped backslash, without parsing. Only
/// a body that has one is parsed again, to name the field.
pub(crate) fn refuse_nul_in_json(bytes: &[u8]) -> Result<(), ApiError> {
    if !json_has_nul(bytes) {
        return Ok(());
    }
    let place = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|value| nul_path(&value, "body"));
    Err(ApiError::bad_request(match place {
        Some(place) => format!("{place} contains a NUL character (\\u0000), which is not allowed"),
        None => "the JSON body contains a NUL character, which is not allowed".to_owned(),
    }))
}

fn json_has_nul(bytes: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match (in_string, byte) {
            (_, 0) => return true,
            (true, b'\\') => {
                if bytes.get(i + 1..i + 6) == Some(b"u0000") {
                    return true;
                }
                // Skip the escaped character, so `\\` and `\"` are read as one unit.
                i += 1;
            }
            (true, b'"') => in_string = false,
            (false, b'"') => in_string = true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The path of the first string or key holding U+0000: `body.numbers[0].number`.
fn nul_path(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(format!("a key in {path}"))
            } else {
                nul_path(item, &format!("{path}.{key}"))
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nul_escape_is_found_and_named_but_an_escaped_backslash_is_not_one() {
        assert!(refuse_nul_in_json(br#"{"a": "x\u0000y"}"#).is_err());
        assert!(refuse_nul_in_json(b"{\"a\": \"x\0\"}").is_err());
        assert!(refuse_nul_in_json(br#"{"a": "\\u0000", "b": "\"\\"}"#).is_ok());
        assert!(refuse_nul_in_json(br#"{"a": "\u0001", "u0000": 1}"#).is_ok());
        let value: Value =
            serde_json::from_slice(br#"{"n": [{"number": "1"}, {"number": "2\u0000"}]}"#).unwrap();
        assert_eq!(
            nul_path(&value, "body").as_deref(),
            Some("body.n[1].number")
        );
        let key: Value = serde_json::from_slice(br#"{"o": {"k\u0000": 1}}"#).unwrap();
        assert_eq!(nul_path(&key, "body").as_deref(), Some("a key in body.o"));
    }

    #[test]
    fn an_encoded_nul_in_the_path_or_a_query_parameter_is_named() {
        let uri: Uri = "/api/contacts/search?limit=5&q=ab%00c".parse().unwrap();
        assert!(nul_in_uri(&uri).unwrap().contains("\"q\""));
        let uri: Uri = "/api/agents/ann%00/status".parse().unwrap();
        assert!(nul_in_uri(&uri).unwrap().contains("path"));
        let uri: Uri = "/api/contacts/search?q=100%25%2500".parse().unwrap();
        assert_eq!(nul_in_uri(&uri), None);
    }
}
