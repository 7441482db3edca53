//! An alarm as monitoring sends it, read into one shape. Pure: a JSON document in, the alarms
//! it holds (or why it is refused) out. Two formats, told apart by their keys:
//!
//! - **Zabbix** (media type "Webhook"): the object of the media type's parameters, as its
//!   script posts them (`JSON.parse(value)` sent back as the body), named as Zabbix's shipped
//!   media types name them: `event_id` (`{EVENT.ID}`, the problem's id, also in its
//!   recovery), `event_value` (`{EVENT.VALUE}`: 1 problem, 0 recovery), `host_name`
//!   (`{HOST.NAME}`), `host_ip` (`{HOST.IP}`), `event_name` (`{EVENT.NAME}`),
//!   `event_severity` (`{EVENT.SEVERITY}`), and optionally `trigger_id` (`{TRIGGER.ID}`),
//!   `event_recovery_id` (`{EVENT.RECOVERY.ID}`), `event_source` (`{EVENT.SOURCE}`, 0 for
//!   triggers), `event_update_status` (`{EVENT.UPDATE.STATUS}`: 1 is an acknowledgement or a
//!   comment, read as no alarm). Values are strings (Zabbix sends every parameter as one) or numbers; a macro
//!   Zabbix left unexpanded (`{EVENT.RECOVERY.ID}` in a problem) counts as absent.
//! - **Prometheus Alertmanager** (`webhook_configs`): version `"4"`, `alerts[]` each with
//!   `status` (`firing`/`resolved`), `labels` (`alertname`, `instance`, `severity`...),
//!   `annotations` (`summary`), `startsAt`, `fingerprint`.
//!
//! A document is taken whole or refused whole: one bad alert refuses the delivery.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// The longest host name or address kept.
const MAX_HOST: usize = 255;
/// The longest title kept (longer ones are cut).
const MAX_TITLE: usize = 300;
/// The longest event id, fingerprint or severity.
const MAX_KEY: usize = 200;
/// The most alerts one Alertmanager delivery may hold.
pub const MAX_ALERTS: usize = 500;

/// Which monitoring system sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Zabbix,
    Alertmanager,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Zabbix => "zabbix",
            Source::Alertmanager => "alertmanager",
        }
    }
}

/// A problem started, or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmState {
    Problem,
    Recovery,
}

/// One alarm, whatever sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarm {
    pub source: Source,
    pub state: AlarmState,
    /// One problem event: a delivery repeated (a retry, Alertmanager's repeat interval) has
    /// the same key. `zabbix:event:<EVENT.ID>`, `alertmanager:<fingerprint>:<startsAt>`.
    pub event_key: String,
    /// The condition flapping is folded by: `zabbix:trigger:<TRIGGER.ID>` (else the host
    /// and the event's name), `alertmanager:<fingerprint>`.
    pub condition_key: String,
    /// The host's name as monitoring knows it (matched against assets' names).
    pub host: String,
    /// The host's address (matched against assets' addresses); may be empty.
    pub address: String,
    pub title: String,
    pub severity: String,
}

/// Why a document is not an alarm we take; the text goes back as the 400's reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AlarmError(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, AlarmError> {
    Err(AlarmError(why.into()))
}

/// The alarms in a posted document (Zabbix's one, or Alertmanager's group).
pub fn parse(document: &Value) -> Result<Vec<Alarm>, AlarmError> {
    let Some(object) = document.as_object() else {
        return refuse(
            "expected a JSON object: a Zabbix webhook's parameters or an Alertmanager notification",
        );
    };
    if object.contains_key("alerts") {
        alertmanager(object)
    } else if object.contains_key("event_id") {
        zabbix(object).map(|alarm| alarm.into_iter().collect())
    } else {
        refuse(
            "neither a Zabbix webhook (no \"event_id\") nor an Alertmanager notification (no \"alerts\")",
        )
    }
}

/// A field as text: a string or a number, trimmed; None when absent, null, empty or an
/// unexpanded Zabbix macro (`{EVENT.RECOVERY.ID}`).
fn text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, AlarmError> {
    let value = match object.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return refuse(format!("\"{key}\" must be a string or a number")),
    };
    let macro_left = value.starts_with('{') && value.ends_with('}') && !value.contains(' ');
    Ok((!value.is_empty() && !macro_left).then_some(value))
}

fn required(object: &Map<String, Value>, key: &str, what: &str) -> Result<String, AlarmError> {
    text(object, key)?.ok_or_else(|| AlarmError(format!("\"{key}\" ({what}) is missing")))
}

fn bounded(value: String, key: &str, max: usize) -> Result<String, AlarmError> {
    if value.len() > max || value.chars().any(char::is_control) {
        return refuse(format!(
            "\"{key}\" must be at most {max} bytes without control characters"
        ));
    }
    Ok(value)
}

fn title(value: &str) -> String {
    let one_line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line.trim().chars().take(MAX_TITLE).collect()
}

/// Zabbix's alarm; None for an update (`event_update_status` 1: somebody acknowledged or
/// commented on the problem), which changes no problem's state.
fn zabbix(object: &Map<String, Value>) -> Result<Option<Alarm>, AlarmError> {
    if let Some(source) = text(object, "event_source")? {
        if source != "0" {
            return refuse(format!(
                "\"event_source\" is {source}: only trigger events (0) are alarms"
            ));
        }
    }
    let update = text(object, "event_update_status")?;
    let event_id = bounded(
        required(object, "event_id", "{EVENT.ID}")?,
        "event_id",
        MAX_KEY,
    )?;
    let state = match required(object, "event_value", "{EVENT.VALUE}")?.as_str() {
        "1" => AlarmState::Problem,
        "0" => AlarmState::Recovery,
        other => {
            return refuse(format!(
                "\"event_value\" is {other:?}: expected 1 (problem) or 0 (recovery)"
            ))
        }
    };
    let host_name = text(object, "host_name")?;
    let host_ip = text(object, "host_ip")?;
    if host_name.is_none() && host_ip.is_none() {
        return refuse("\"host_name\" ({HOST.NAME}) and \"host_ip\" ({HOST.IP}) are both missing");
    }
    let host = bounded(host_name.unwrap_or_default(), "host_name", MAX_HOST)?;
    let address = bounded(host_ip.unwrap_or_default(), "host_ip", MAX_HOST)?;
    let name = required(object, "event_name", "{EVENT.NAME}")?;
    let severity = bounded(
        text(object, "event_severity")?.unwrap_or_default(),
        "event_severity",
        MAX_KEY,
    )?;
    let who = if host.is_empty() { &address } else { &host };
    let condition_key = match text(object, "trigger_id")? {
        Some(trigger) => format!(
            "zabbix:trigger:{}",
            bounded(trigger, "trigger_id", MAX_KEY)?
        ),
        None => format!("zabbix:host:{who}:{}", title(&name)),
    };
    if update.as_deref() == Some("1") {
        return Ok(None);
    }
    Ok(Some(Alarm {
        source: Source::Zabbix,
        state,
        event_key: format!("zabbix:event:{event_id}"),
        condition_key,
        title: title(&name),
        host,
        address,
        severity,
    }))
}

fn alertmanager(object: &Map<String, Value>) -> Result<Vec<Alarm>, AlarmError> {
    if let Some(version) = text(object, "version")? {
        if version != "4" {
            return refuse(format!(
                "Alertmanager webhook version {version:?}: only version \"4\" is understood"
            ));
        }
    }
    let Some(alerts) = object.get("alerts").and_then(Value::as_array) else {
        return refuse("\"alerts\" must be an array");
    };
    if alerts.is_empty() {
        return refuse("\"alerts\" is empty");
    }
    if alerts.len() > MAX_ALERTS {
        return refuse(format!("more than {MAX_ALERTS} alerts in one notification"));
    }
    alerts
        .iter()
        .enumerate()
        .map(|(i, alert)| alert_of(alert).map_err(|e| AlarmError(format!("alerts[{i}]: {}", e.0))))
        .collect()
}

fn alert_of(alert: &Value) -> Result<Alarm, AlarmError> {
    let Some(alert) = alert.as_object() else {
        return refuse("an alert must be an object");
    };
    let state = match required(alert, "status", "firing or resolved")?.as_str() {
        "firing" => AlarmState::Problem,
        "resolved" => AlarmState::Recovery,
        other => {
            return refuse(format!(
                "\"status\" is {other:?}: expected firing or resolved"
            ))
        }
    };
    let Some(labels) = alert.get("labels").and_then(Value::as_object) else {
        return refuse("\"labels\" must be an object");
    };
    let alertname = required(labels, "alertname", "the alert's name")?;
    let instance = ["instance", "host", "hostname", "nodename"]
        .into_iter()
        .map(|key| text(labels, key))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .next()
        .ok_or_else(|| {
            AlarmError(
                "labels name no host (\"instance\", \"host\", \"hostname\" or \"nodename\")".into(),
            )
        })?;
    let host = bounded(host_of(&instance).to_owned(), "labels.instance", MAX_HOST)?;
    let summary = match alert.get("annotations").and_then(Value::as_object) {
        Some(annotations) => text(annotations, "summary")?,
        None => None,
    };
    let severity = bounded(
        text(labels, "severity")?.unwrap_or_default(),
        "labels.severity",
        MAX_KEY,
    )?;
    let fingerprint = match text(alert, "fingerprint")? {
        Some(fingerprint) => bounded(fingerprint, "fingerprint", MAX_KEY)?,
        // Alertmanager has sent one since 0.19; before that, the labels are the identity.
        None => {
            let mut pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            pairs.sort();
            format!("labels:{}", pairs.join(","))
        }
    };
    let starts_at = bounded(
        text(alert, "startsAt")?.unwrap_or_default(),
        "startsAt",
        MAX_KEY,
    )?;
    Ok(Alarm {
        source: Source::Alertmanager,
        state,
        event_key: format!("alertmanager:{fingerprint}:{starts_at}"),
        condition_key: format!("alertmanager:{fingerprint}"),
        title: title(&summary.unwrap_or(alertname)),
        address: host.clone(),
        host,
        severity,
    })
}

/// The host of an `instance` label: `db1:9100` → `db1`, `[2001:db8::1]:9100` → `2001:db8::1`,
/// a bare IPv6 address as it is.
fn host_of(instance: &str) -> &str {
    if let Some(rest) = instance.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    if instance.parse::<IpAddr>().is_ok() {
        return instance;
    }
    match instance.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => instance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instances_lose_their_port() {
        assert_eq!(host_of("db1.acme.example:9100"), "db1.acme.example");
        assert_eq!(host_of("10.0.0.5:9100"), "10.0.0.5");
        assert_eq!(host_of("[2001:db8::1]:9100"), "2001:db8::1");
        assert_eq!(host_of("2001:db8::1"), "2001:db8::1");
        assert_eq!(host_of("db1"), "db1");
    }

    #[test]
    fn unexpanded_macros_are_absent_and_numbers_are_text() {
        let alarm = parse(&json!({
            "event_id": 1234, "event_value": "1", "host_name": "srv-01", "host_ip": "{HOST.IP}",
            "event_name": "Disk full", "event_recovery_id": "{EVENT.RECOVERY.ID}"
        }))
        .unwrap();
        assert_eq!(alarm[0].event_key, "zabbix:event:1234");
        assert_eq!(alarm[0].address, "");
        assert_eq!(alarm[0].condition_key, "zabbix:host:srv-01:Disk full");
    }

    #[test]
    fn an_update_of_a_zabbix_problem_is_no_alarm() {
        let update = json!({
            "event_id": "7", "event_value": "0", "event_update_status": "1",
            "host_name": "srv-01", "event_name": "Disk full"
        });
        assert_eq!(parse(&update), Ok(Vec::new()));
    }

    #[test]
    fn refusals_name_the_field() {
        let no_value = json!({"event_id": "1", "host_name": "a", "event_name": "x"});
        assert!(parse(&no_value).unwrap_err().0.contains("event_value"));
        let bad = json!({"version": "4", "alerts": [{"status": "firing", "labels": {}}]});
        assert!(parse(&bad)
            .unwrap_err()
            .0
            .starts_with("alerts[0]: \"alertname\""));
        assert!(parse(&json!([1])).is_err());
        assert!(parse(&json!({"hello": 1}))
            .unwrap_err()
            .0
            .contains("neither"));
    }
}
