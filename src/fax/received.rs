//! What a completed fax reception is, read from either of the two places FreeSWITCH reports it:
//! the `CHANNEL_EXECUTE_COMPLETE` of `rxfax` on the event socket, or the call's CDR.
//!
//! Capture 07 shows why that event: it carries the result (the `variable_fax_*` channel
//! variables; `Application-Response` is `_none_`) and where the TIFF was written
//! (`Application-Data`, the rxfax argument), and it comes only once rxfax has returned, so the
//! TIFF is complete on disk. The `spandsp::rxfaxresult` CUSTOM event just before it has the
//! same variables but fires while rxfax is still running, and needs a CUSTOM subscription of
//! its own. The CDR carries the same
//! variables and the rxfax entry of `app_log`, and is delivered even when the service was down
//! while the fax came in, so it is the durable fallback; both yield the same [`FaxReceived`],
//! keyed by the receiving leg's UUID.

use std::path::PathBuf;

use crate::cdr::{Cdr, FaxOutcome};
use crate::clock::{self, Millis};
use crate::esl::Event;

/// A fax reception that ended, successfully or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaxReceived {
    /// The receiving leg's UUID: a fax is processed once per UUID.
    pub call_uuid: String,
    /// The leg's direction as FreeSWITCH reports it (`inbound` for a received fax).
    pub direction: String,
    /// The number the fax was sent to (`Caller-Destination-Number`).
    pub did: String,
    pub caller_number: String,
    pub caller_name: String,
    pub success: bool,
    /// spandsp's T.30 completion code (0 is OK).
    pub result_code: Option<i32>,
    pub result_text: Option<String>,
    /// Pages transferred.
    pub pages: u32,
    pub remote_station: Option<String>,
    /// Where rxfax wrote the TIFF.
    pub tiff_path: Option<PathBuf>,
    /// When the reception ended, Unix ms.
    pub received_at: Millis,
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn path(value: Option<&str>) -> Option<PathBuf> {
    non_empty(value).map(PathBuf::from)
}

impl FaxReceived {
    /// From the `CHANNEL_EXECUTE_COMPLETE` of `rxfax`; `None` for any other event, or one
    /// without the channel's UUID.
    pub fn from_event(event: &Event) -> Option<FaxReceived> {
        if !event.is("CHANNEL_EXECUTE_COMPLETE") || event.get("Application")?.as_ref() != "rxfax" {
            return None;
        }
        let call_uuid = non_empty(event.unique_id().as_deref())?;
        let var = |name: &str| event.variable(name).map(|v| v.into_owned());
        let header = |name: &str| event.get(name).map(|v| v.into_owned());
        // A reception that never got as far as the result variables still ended: it failed.
        let outcome = FaxOutcome::read(|name| event.variable(name));
        let received_at = header("Event-Date-Timestamp")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .map(|micros| micros / 1000)
            .unwrap_or_else(clock::now);
        Some(FaxReceived {
            call_uuid,
            direction: header("Call-Direction").unwrap_or_else(|| "inbound".into()),
            did: header("Caller-Destination-Number").unwrap_or_default(),
            caller_number: header("Caller-Caller-ID-Number").unwrap_or_default(),
            caller_name: header("Caller-Caller-ID-Name").unwrap_or_default(),
            success: outcome.success,
            result_code: outcome.result_code,
            result_text: outcome.result_text,
            pages: outcome.transferred_pages.unwrap_or(0),
            remote_station: outcome.remote_station_id,
            tiff_path: path(header("Application-Data").as_deref())
                .or_else(|| path(var("fax_filename").as_deref())),
            received_at,
        })
    }

    /// From the receiving leg's CDR: the leg ran `rxfax` (its `app_log` entry holds the path)
    /// and has the `fax_*` variables. `None` for any other CDR, including the sending leg's.
    pub fn from_cdr(cdr: &Cdr) -> Option<FaxReceived> {
        let rxfax = cdr.app_log.iter().rev().find(|a| a.app_name == "rxfax")?;
        let call_uuid = non_empty(Some(cdr.uuid.as_str()))
            .or_else(|| non_empty(Some(cdr.caller.uuid.as_str())))?;
        let outcome = cdr.fax().unwrap_or_default();
        let received_at =
            crate::cdr::leg::moment_ms(cdr.end_uepoch, cdr.end_epoch).unwrap_or_else(clock::now);
        let direction = non_empty(Some(cdr.direction.as_str())).unwrap_or_else(|| "inbound".into());
        Some(FaxReceived {
            call_uuid,
            direction,
            did: cdr.caller.destination_number.clone(),
            caller_number: cdr.caller.caller_id_number.clone(),
            caller_name: cdr.caller.caller_id_name.clone(),
            success: outcome.success,
            result_code: outcome.result_code,
            result_text: outcome.result_text,
            pages: outcome.transferred_pages.unwrap_or(0),
            remote_station: outcome.remote_station_id,
            tiff_path: path(Some(rxfax.app_data.as_str()))
                .or_else(|| path(cdr.variable("fax_filename"))),
            received_at,
        })
    }

    /// The caller as a person reads it: `Name (number)`, the number, or "an unknown sender".
    pub fn caller(&self, language: crate::texts::Language) -> String {
        let name = self.caller_name.trim();
        let number = self.caller_number.trim();
        match (name.is_empty() || name == number, number.is_empty()) {
            (true, true) => language.unknown_sender().into(),
            (true, false) => number.to_owned(),
            (false, true) => name.to_owned(),
            (false, false) => format!("{name} ({number})"),
        }
    }
}
