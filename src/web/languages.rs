//! The screens' languages: one JSON file each under `web/lang/` (compiled in by `build.rs`, so
//! adding a language is adding its file), served at `/lang/CODE.json` and listed at
//! `/lang/index.json`, and which one a user sees: their own choice, else the best of the
//! browser's `Accept-Language`, else English.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/languages.rs"));

/// Shown when nothing better is known; its file holds only English's plural forms.
pub(crate) const FALLBACK: &str = "en";

/// A language as the menu lists it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Language {
    pub code: &'static str,
    /// Its own name for itself (`"@name"` of its file): "Русский".
    pub name: String,
    /// How it writes `1,5` (`"@decimal"` of its file; a point without one).
    #[serde(skip)]
    pub decimal: char,
}

/// Every language there is, by code.
pub(crate) fn languages() -> &'static [Language] {
    static LIST: OnceLock<Vec<Language>> = OnceLock::new();
    LIST.get_or_init(|| {
        LANGUAGES
            .iter()
            .map(|(code, json)| {
                let file = serde_json::from_str::<serde_json::Value>(json).ok();
                let mark = |key: &str| file.as_ref()?.get(key)?.as_str().map(str::to_owned);
                Language {
                    code,
                    name: mark("@name").unwrap_or_else(|| (*code).to_owned()),
                    decimal: mark("@decimal")
                        .and_then(|d| d.chars().next())
                        .unwrap_or('.'),
                }
            })
            .collect()
    })
}

/// The decimal mark of a language there is (a point for any other code).
pub(crate) fn decimal_mark(code: &str) -> char {
    languages()
        .iter()
        .find(|l| l.code == code)
        .map_or('.', |l| l.decimal)
}

/// The code as stored, when there is such a language.
pub(crate) fn known(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().map(|(c, _)| *c).find(|c| *c == code)
}

/// The best language for an `Accept-Language` header (`ru-RU,ru;q=0.9,en;q=0.8`): the one
/// with the highest weight whose primary subtag is a language there is; ties keep the
/// header's order; `*` and weight 0 never choose.
pub(crate) fn negotiate(accept_language: Option<&str>) -> &'static str {
    let Some(header) = accept_language else {
        return FALLBACK;
    };
    let mut best: Option<(f32, &'static str)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        let Some(code) = known(&primary) else {
            continue;
        };
        if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, code));
        }
    }
    best.map_or(FALLBACK, |(_, code)| code)
}

/// The language of a request's browser.
pub(crate) fn of_browser(headers: &HeaderMap) -> &'static str {
    negotiate(
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn json(body: String) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /lang/index.json`: `[{code, name}]`. Public: the sign-in page needs it.
pub(crate) async fn index() -> Response {
    json(serde_json::to_string(languages()).unwrap_or_else(|_| "[]".to_owned()))
}

/// `GET /lang/{code}.json`: the language's texts. Public, like the scripts.
pub(crate) async fn file(Path(file): Path<String>) -> Response {
    let found = file
        .strip_suffix(".json")
        .and_then(|code| LANGUAGES.iter().find(|(c, _)| *c == code));
    match found {
        Some((_, body)) => json((*body).to_owned()),
        None => (StatusCode::NOT_FOUND, "no such language").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_s_first_known_language_is_chosen() {
        assert_eq!(negotiate(Some("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7")), "ru");
        assert_eq!(negotiate(Some("de-DE,de;q=0.9,ru;q=0.5,en;q=0.7")), "en");
        assert_eq!(negotiate(Some("en;q=0.4, ru;q=0.6")), "ru");
        assert_eq!(negotiate(Some("ru;q=0, en")), "en");
        assert_eq!(negotiate(Some("de, fr")), FALLBACK);
        assert_eq!(negotiate(Some("*")), FALLBACK);
        assert_eq!(negotiate(Some(";;,,q=")), FALLBACK);
        assert_eq!(negotiate(None), FALLBACK);
    }

    #[test]
    fn every_language_has_its_own_name() {
        let list = languages();
        assert!(list.iter().any(|l| l.code == "en" && l.name == "English"));
        assert!(list.iter().any(|l| l.code == "ru" && l.name == "Русский"));
    }
}
