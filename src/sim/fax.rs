//! An inbound fax call to a DID routed to `rxfax`, as capture 07 shows the receiving side:
//! answer, `fax_ident`, `fax_enable_t38=false`, `rxfax <dir>/<uuid>.tif`, the
//! `spandsp::rxfaxnegociateresult` / `rxfaxpageresult` / `rxfaxresult` CUSTOM events (hyphenated
//! headers) with the `fax_*` channel variables (underscores), the TIFF written, then `hangup`.
//! Failures use spandsp's T.30 completion codes and texts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::channel::{L16, PCMU};
use super::events::origin;
use super::hangup::{End, Hook, Initiator};
use super::spec::{FaxOutcome, FaxSpec};
use super::switch::{Output, Role, Switch, Timer};

/// `t30_completion_code_to_str` for the codes FreeSWITCH documents (spandsp 0.0.6).
pub(crate) fn t30_text(code: u32) -> &'static str {
    match code {
        0 => "OK",
        2 => "Timed out waiting for initial communication",
        3 => "Timed out waiting for the first message",
        5 => "The HDLC carrier did not stop in a timely manner",
        6 => "Failed to train with any of the compatible modems",
        13 => "Unexpected message received",
        14 => "Received bad response to DCS or training",
        15 => "Received a DCN from remote after sending a page",
        17 => "Received a DCN while waiting for a DIS",
        20 => "Received no response to DCS or TCF",
        23 => "Invalid ECM response received from transmitter",
        31 => "Timer T2 expired while waiting for fax page",
        32 => "Timer T2 expired while waiting for next fax page",
        48 => "Disconnected after permitted retries",
        49 => "The call dropped prematurely",
        _ => "???",
    }
}

#[derive(Debug)]
pub(crate) struct FaxCall {
    pub(crate) spec: FaxSpec,
    pub(crate) ident: String,
    pub(crate) path: PathBuf,
    pub(crate) app_uuid: String,
}

/// The steps of a transfer: 1 negotiation, 2..=pages+1 one per page, then the result.
fn final_step(spec: &FaxSpec) -> u32 {
    match spec.outcome {
        FaxOutcome::Success => spec.pages.max(1) + 2,
        FaxOutcome::Failure { .. } => 2,
    }
}

impl Switch {
    /// An inbound fax call; returns its UUID.
    pub(crate) fn receive_fax(&mut self, spec: FaxSpec) -> String {
        let uuid = self.inbound_leg(&spec.from_number, &spec.from_name, &spec.destination);
        self.roles.insert(
            uuid.clone(),
            Role::Fax(Box::new(FaxCall {
                spec,
                ident: String::new(),
                path: PathBuf::new(),
                app_uuid: String::new(),
            })),
        );
        self.run_dialplan(&uuid);
        uuid
    }

    /// The fax extension: answer, the two `set`s, and `rxfax` starting.
    pub(crate) fn start_rxfax(&mut self, uuid: &str, directory: &Path, ident: &str) {
        self.simple_app(uuid, "answer", "", None);
        self.simple_app(uuid, "set", &format!("fax_ident={ident}"), None);
        self.simple_app(uuid, "set", "fax_enable_t38=false", None);
        let path = directory.join(format!("{uuid}.tif"));
        let data = path.display().to_string();
        let app_uuid = self.rng.uuid();
        self.execute_event(uuid, "rxfax", &data, &app_uuid);
        // spandsp reads signed linear audio while it runs.
        if let Some(c) = self.chan_mut(uuid) {
            c.vars.set("fax_v17_disabled", "0");
            c.vars.set("fax_ecm_requested", "1");
            c.vars.set("fax_filename", data.clone());
        }
        self.read_codec_event(uuid, L16);
        let duration = match self.roles.get_mut(uuid) {
            Some(Role::Fax(fax)) => {
                fax.ident = ident.to_owned();
                fax.path = path;
                fax.app_uuid = app_uuid;
                fax.spec.duration
            }
            // A plain caller dialled the fax DID: the transfer fails with no fax on the line.
            _ => {
                self.schedule(
                    Duration::from_secs(3),
                    Timer::Fax(uuid.to_owned(), u32::MAX),
                );
                return;
            }
        };
        let steps = match self.roles.get(uuid) {
            Some(Role::Fax(fax)) => final_step(&fax.spec),
            _ => 2,
        };
        for step in 1..=steps {
            let at = duration.mul_f64(f64::from(step) / f64::from(steps));
            self.schedule(at, Timer::Fax(uuid.to_owned(), step));
        }
    }

    pub(crate) fn fax_step(&mut self, uuid: &str, step: u32) {
        if !self.live(uuid) {
            return;
        }
        let (spec, ident, path, app_uuid) = match self.roles.get(uuid) {
            Some(Role::Fax(fax)) => (
                fax.spec.clone(),
                fax.ident.clone(),
                fax.path.clone(),
                fax.app_uuid.clone(),
            ),
            _ => {
                self.hangup(uuid, End::new("NORMAL_CLEARING", Initiator::Switch), None);
                return;
            }
        };
        let last = final_step(&spec);
        let success = spec.outcome == FaxOutcome::Success;
        let remote = spec.remote_station_id.clone();
        if step == 1 && success {
            for (n, v) in [
                ("fax_transfer_rate", "14400"),
                ("fax_ecm_used", "on"),
                ("fax_t38_status", "off"),
                ("fax_local_station_id", ident.as_str()),
                ("fax_remote_station_id", remote.as_str()),
            ] {
                self.set_var(uuid, n, v);
            }
            let after = [
                ("uuid", uuid.to_owned()),
                ("fax-transfer-rate", "14400".to_owned()),
                ("fax-ecm-used", "on".to_owned()),
                ("fax-t38-status", "off".to_owned()),
                ("fax-local-station-id", ident.clone()),
                ("fax-remote-station-id", remote.clone()),
            ];
            self.custom_event(
                uuid,
                "spandsp::rxfaxnegociateresult",
                origin::FAX_NEGOTIATED,
                &after,
            );
        } else if step > 1 && step < last && success {
            let page = step - 1;
            for (n, v) in [
                ("fax_file_image_resolution", "8040x7700"),
                ("fax_image_pixel_size", "1728x600"),
                ("fax_file_image_pixel_size", "1728x600"),
                ("fax_longest_bad_row_run", "0"),
                ("fax_encoding", "32"),
                ("fax_encoding_name", "T.85(L0)"),
            ] {
                self.set_var(uuid, n, v);
            }
            let after = [
                ("uuid", uuid.to_owned()),
                ("fax-document-transferred-pages", page.to_string()),
                ("fax-image-resolution", "8040x7700".into()),
                ("fax-file-image-resolution", "8040x7700".into()),
                ("fax-image-size", "0".into()),
                ("fax-image-pixel-size", "1728x600".into()),
                ("fax-file-image-pixel-size", "1728x600".into()),
                ("fax-bad-rows", "0".into()),
                ("fax-longest-bad-row-run", "0".into()),
                ("fax-encoding", "32".into()),
                ("fax-encoding-name", "T.85(L0)".into()),
            ];
            self.custom_event(uuid, "spandsp::rxfaxpageresult", origin::FAX_PAGE, &after);
        } else if step >= last {
            self.fax_result(uuid, &spec, &ident, &path, &app_uuid);
        }
    }

    /// phase E: the TIFF (on success), the `fax_*` variables, `spandsp::rxfaxresult`, rxfax
    /// completing, and the dialplan's `hangup`.
    fn fax_result(&mut self, uuid: &str, spec: &FaxSpec, ident: &str, path: &Path, app_uuid: &str) {
        let (code, pages, resolution, ecm) = match spec.outcome {
            FaxOutcome::Success => (0, spec.pages.max(1), "8040x7700", "on"),
            FaxOutcome::Failure { code } => (code, 0, "0x0", "off"),
        };
        if code == 0 {
            self.push(Output::WriteFax {
                from: spec.tiff.clone(),
                to: path.to_path_buf(),
            });
        }
        let success = if code == 0 { "1" } else { "0" };
        let remote = if code == 0 {
            spec.remote_station_id.clone()
        } else {
            String::new()
        };
        let values: [(&str, String); 13] = [
            ("success", success.into()),
            ("result_code", code.to_string()),
            ("result_text", t30_text(code).into()),
            ("ecm_used", ecm.into()),
            ("t38_status", "off".into()),
            ("local_station_id", ident.to_owned()),
            ("remote_station_id", remote.clone()),
            ("document_transferred_pages", pages.to_string()),
            ("document_total_pages", pages.to_string()),
            ("image_resolution", resolution.into()),
            ("image_size", "0".into()),
            ("bad_rows", "0".into()),
            ("transfer_rate", "14400".into()),
        ];
        for (name, value) in &values {
            self.set_var(uuid, &format!("fax_{name}"), value.clone());
        }
        let order = [
            "success",
            "result_code",
            "result_text",
            "document_transferred_pages",
            "document_total_pages",
            "image_resolution",
            "image_size",
            "bad_rows",
            "transfer_rate",
            "ecm_used",
            "t38_status",
            "local_station_id",
            "remote_station_id",
        ];
        let after: Vec<(&str, String)> = order
            .iter()
            .filter_map(|name| {
                let value = values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())?;
                let header: &'static str = match *name {
                    "success" => "fax-success",
                    "result_code" => "fax-result-code",
                    "result_text" => "fax-result-text",
                    "document_transferred_pages" => "fax-document-transferred-pages",
                    "document_total_pages" => "fax-document-total-pages",
                    "image_resolution" => "fax-image-resolution",
                    "image_size" => "fax-image-size",
                    "bad_rows" => "fax-bad-rows",
                    "transfer_rate" => "fax-transfer-rate",
                    "ecm_used" => "fax-ecm-used",
                    "t38_status" => "fax-t38-status",
                    "local_station_id" => "fax-local-station-id",
                    _ => "fax-remote-station-id",
                };
                Some((header, value))
            })
            .collect();
        self.custom_event(uuid, "spandsp::rxfaxresult", origin::FAX_RESULT, &after);
        self.read_codec_event(uuid, PCMU);
        let data = path.display().to_string();
        self.execute_complete_event(uuid, "rxfax", &data, "_none_", app_uuid);
        let hangup_uuid = self.rng.uuid();
        self.execute_event(uuid, "hangup", "", &hangup_uuid);
        let hook = Hook::AppComplete {
            app: "hangup".into(),
            data: String::new(),
            app_uuid: hangup_uuid,
        };
        self.hangup(
            uuid,
            End::new("NORMAL_CLEARING", Initiator::Switch),
            Some(hook),
        );
    }
}
