//! Spreadsheet downloads: every CSV the API answers leaves through [`csv`], starting with a
//! UTF-8 byte order mark (without it Excel reads UTF-8 as the locale's code page) and in the
//! dialect the reader's spreadsheet opens by a double click: `?separator=comma|semicolon`
//! when the request names one, else `[service] csv_separator` when set, else the one of the
//! user's language (`;` and decimal commas where the language writes `1,5`, Russian among
//! them; its file's `"@decimal"`).

use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Auth;
use super::error::ApiError;
use super::{languages, session, AppState};
use crate::spreadsheet;
pub(crate) use crate::spreadsheet::Dialect;

/// A CSV download's own parameter.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CsvChoice {
    /// `comma` or `semicolon`.
    separator: Option<String>,
}

impl CsvChoice {
    /// The dialect this request gets (see the module's notes).
    pub(crate) async fn dialect(
        &self,
        state: &AppState,
        auth: &Auth,
        headers: &HeaderMap,
    ) -> Result<Dialect, ApiError> {
        if let Some(name) = self.separator.as_deref().filter(|s| !s.is_empty()) {
            return Dialect::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!("separator {name:?} is not comma or semicolon"))
            });
        }
        if let Some(configured) = state.config.service.csv_separator {
            return Ok(configured);
        }
        let language = session::language_of(state, &auth.name, auth.credential, headers).await?;
        Ok(Dialect::for_decimal_mark(languages::decimal_mark(language)))
    }
}

/// `name.csv` as an attachment: the header row, then the rows.
pub(crate) fn csv<R, C>(name: &str, dialect: Dialect, header: &[&str], rows: R) -> Response
where
    R: IntoIterator<Item = C>,
    C: IntoIterator,
    C::Item: AsRef<str>,
{
    let mut out = spreadsheet::Writer::with_dialect(spreadsheet::BOM.as_bytes().to_vec(), dialect);
    let _ = out.write_row(header);
    for row in rows {
        let _ = out.write_row(row);
    }
    let body = String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default();
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}
