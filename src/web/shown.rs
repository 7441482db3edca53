//! Records as the screens show them: the stored fields unchanged, and beside them the
//! caller's number written in `[phonebook] number_style` (`caller_number_shown`), so every
//! screen shows numbers one way without a second copy of the numbering rules in the browser.
//! The stored `caller_number` stays E.164 (or the extension), for filters and links.

use serde::Serialize;

use super::AppState;
use crate::cdr::CallRecord;
use crate::store::FaxRecord;
use crate::tickets::Ticket;

/// A record that names a caller by number.
pub(crate) trait CallerNumber {
    /// The number as filed: E.164 when it reads as one, else as the switch gave it.
    fn filed_number(&self) -> &str;
}

impl CallerNumber for Ticket {
    fn filed_number(&self) -> &str {
        &self.caller_number
    }
}

impl CallerNumber for CallRecord {
    fn filed_number(&self) -> &str {
        self.caller_e164.as_deref().unwrap_or(&self.caller_number)
    }
}

impl CallerNumber for FaxRecord {
    fn filed_number(&self) -> &str {
        &self.caller_number
    }
}

/// `record`'s fields and `caller_number_shown`.
#[derive(Serialize)]
pub(crate) struct Shown<T> {
    #[serde(flatten)]
    record: T,
    caller_number_shown: String,
}

impl<T: CallerNumber> Shown<T> {
    pub(crate) fn of(state: &AppState, record: T) -> Shown<T> {
        let number = record.filed_number();
        let caller_number_shown = if number.is_empty() {
            String::new()
        } else {
            state
                .phonebook
                .numbering()
                .display(number, state.config.phonebook.number_style)
        };
        Shown {
            record,
            caller_number_shown,
        }
    }

    pub(crate) fn all(state: &AppState, records: Vec<T>) -> Vec<Shown<T>> {
        records
            .into_iter()
            .map(|record| Shown::of(state, record))
            .collect()
    }
}
