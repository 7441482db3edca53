//! mod_xml_cdr: the XML document of a finished leg (channel data, call stats, variables
//! URL-encoded, app log, callflows newest first) and its HTTP POST — `cdr=` plus the whole
//! document URL-encoded again, `User-Agent: freeswitch-xml/1.0`, basic credentials, retries
//! with a delay when the answer is not 2xx. A tiny HTTP/1.1 client keeps the request bytes
//! exactly as the captures show. Never decides what a CDR means.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::esl::event::array_items;
use crate::esl::percent;

use super::channel::{Callflow, Channel, OtherType};
use super::config::CdrTarget;
use super::events::Identity;
use super::profile::{CallerProfile, Direction};

/// An originated leg that was bridged carries an originator profile: mod_xml_cdr treats it as
/// a B leg (no `a_` prefix, subject to `log-b-leg`).
pub(crate) fn is_b_leg(chan: &Channel) -> bool {
    matches!(chan.other, Some((OtherType::Originator, _)))
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
    out
}

/// RTP counters of a leg that had media, from how long it was answered.
pub(crate) fn rtp_stats(chan: &Channel) -> Vec<(&'static str, String)> {
    let t = chan.profile.times;
    let talked_ms = if t.answered != 0 {
        (t.hungup - t.answered).max(0) / 1000
    } else {
        0
    };
    let packets = talked_ms / 20;
    let bytes = packets * 172;
    vec![
        ("rtp_audio_in_raw_bytes", bytes.to_string()),
        ("rtp_audio_in_media_bytes", bytes.to_string()),
        ("rtp_audio_in_packet_count", packets.to_string()),
        ("rtp_audio_in_media_packet_count", packets.to_string()),
        ("rtp_audio_in_skip_packet_count", "0".into()),
        ("rtp_audio_in_jitter_packet_count", "0".into()),
        ("rtp_audio_in_dtmf_packet_count", "0".into()),
        ("rtp_audio_in_cng_packet_count", "0".into()),
        ("rtp_audio_in_flush_packet_count", "0".into()),
        ("rtp_audio_in_largest_jb_size", "0".into()),
        ("rtp_audio_in_jitter_min_variance", "0.00".into()),
        ("rtp_audio_in_jitter_max_variance", "0.00".into()),
        ("rtp_audio_in_jitter_loss_rate", "0.00".into()),
        ("rtp_audio_in_jitter_burst_rate", "0.00".into()),
        ("rtp_audio_in_mean_interval", "20.00".into()),
        ("rtp_audio_in_flaw_total", "0".into()),
        ("rtp_audio_in_quality_percentage", "100.00".into()),
        ("rtp_audio_in_mos", "4.50".into()),
        ("rtp_audio_out_raw_bytes", bytes.to_string()),
        ("rtp_audio_out_media_bytes", bytes.to_string()),
        ("rtp_audio_out_packet_count", packets.to_string()),
        ("rtp_audio_out_media_packet_count", packets.to_string()),
        ("rtp_audio_out_skip_packet_count", "0".into()),
        ("rtp_audio_out_dtmf_packet_count", "0".into()),
        ("rtp_audio_out_cng_packet_count", "0".into()),
        ("rtp_audio_rtcp_packet_count", "0".into()),
        ("rtp_audio_rtcp_octet_count", "0".into()),
    ]
}

fn flags(chan: &Channel) -> &'static str {
    match (chan.direction, chan.answered, chan.profile.times.bridged != 0) {
        (Direction::Inbound, true, true) => "0=1;1=1;3=1;39=1;40=1;42=1;45=1;50=1;55=1;95=1;107=1;113=1;114=1;123=1;160=1;165=1;166=1",
        (Direction::Inbound, true, false) => "0=1;1=1;3=1;39=1;40=1;42=1;45=1;55=1;95=1;113=1;114=1;123=1;160=1;165=1;166=1",
        (Direction::Inbound, false, _) => "0=1;1=1;3=1;40=1;42=1;113=1;114=1;165=1",
        (Direction::Outbound, true, true) => "0=1;1=1;2=1;22=1;39=1;40=1;42=1;45=1;50=1;55=1;95=1;107=1;113=1;114=1;123=1;160=1;165=1;166=1",
        (Direction::Outbound, true, false) => "0=1;1=1;2=1;22=1;39=1;40=1;42=1;45=1;55=1;95=1;113=1;114=1;123=1;160=1;165=1;166=1",
        (Direction::Outbound, false, _) => "0=1;2=1;30=1;40=1;42=1;113=1;114=1;165=1",
    }
}

fn profile_xml(out: &mut String, p: &CallerProfile, indent: &str) {
    let fields: [(&str, &str); 14] = [
        ("username", &p.username),
        ("dialplan", &p.dialplan),
        ("caller_id_name", &p.caller_id_name),
        ("caller_id_number", &p.caller_id_number),
        ("callee_id_name", &p.callee_id_name),
        ("callee_id_number", &p.callee_id_number),
        ("ani", &p.ani),
        ("aniii", ""),
        ("network_addr", &p.network_addr),
        ("rdnis", &p.rdnis),
        ("destination_number", &p.destination_number),
        ("uuid", &p.uuid),
        ("source", &p.source),
        ("transfer_source", &p.transfer_source),
    ];
    for (name, value) in fields {
        if name == "transfer_source" && value.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{indent}<{name}>{}</{name}>\n",
            escape(value, false)
        ));
    }
    out.push_str(&format!(
        "{indent}<context>{}</context>\n",
        escape(&p.context, false)
    ));
    out.push_str(&format!(
        "{indent}<chan_name>{}</chan_name>\n",
        escape(&p.chan_name, false)
    ));
}

fn callflow_xml(out: &mut String, flow: &Callflow, profile: &CallerProfile) {
    out.push_str("  <callflow");
    if let Some(dialplan) = &flow.dialplan {
        out.push_str(&format!(" dialplan=\"{}\"", escape(dialplan, true)));
    }
    out.push_str(&format!(" unique-id=\"{}\"", flow.unique_id));
    if let Some(clone_of) = &flow.clone_of {
        out.push_str(&format!(" clone-of=\"{clone_of}\""));
    }
    out.push_str(&format!(
        " profile_index=\"{}\">\n",
        profile.profile_index.unwrap_or(1)
    ));
    if let Some(ext) = &flow.extension {
        out.push_str(&format!(
            "    <extension name=\"{}\" number=\"{}\">",
            escape(&ext.name, true),
            escape(&ext.number, true)
        ));
        if ext.apps.is_empty() {
            out.push_str("</extension>\n");
        } else {
            out.push('\n');
            for (app, data) in &ext.apps {
                out.push_str(&format!(
                    "      <application app_name=\"{}\" app_data=\"{}\"></application>\n",
                    escape(app, true),
                    escape(data, true)
                ));
            }
            out.push_str("    </extension>\n");
        }
    }
    out.push_str("    <caller_profile>\n");
    profile_xml(out, profile, "      ");
    if let Some((kind, other)) = &flow.relative {
        let tag = kind.as_str();
        out.push_str(&format!("      <{tag}>\n        <{tag}_caller_profile>\n"));
        profile_xml(out, other, "          ");
        out.push_str(&format!(
            "        </{tag}_caller_profile>\n      </{tag}>\n"
        ));
    }
    out.push_str("    </caller_profile>\n    <times>\n");
    let t = profile.times;
    for (name, value) in [
        ("created_time", t.created),
        ("profile_created_time", t.profile_created),
        ("progress_time", t.progress),
        ("progress_media_time", t.progress_media),
        ("answered_time", t.answered),
        ("bridged_time", t.bridged),
        ("last_hold_time", t.last_hold),
        ("hold_accum_time", t.hold_accum),
        ("hangup_time", t.hungup),
        ("resurrect_time", t.resurrected),
        ("transfer_time", t.transferred),
    ] {
        out.push_str(&format!("      <{name}>{value}</{name}>\n"));
    }
    out.push_str("    </times>\n  </callflow>\n");
}

/// The document mod_xml_cdr writes for `chan` once it reached CS_REPORTING.
pub(crate) fn document(id: &Identity, chan: &Channel) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<?xml version=\"1.0\"?>\n");
    out.push_str(&format!(
        "<cdr core-uuid=\"{}\" switchname=\"{}\">\n",
        id.core_uuid,
        escape(&id.hostname, true)
    ));
    out.push_str(&format!(
        "  <channel_data>\n    <state>CS_REPORTING</state>\n    <direction>{}</direction>\n    <state_number>11</state_number>\n    <flags>{}</flags>\n    <caps>1=1;2=1;3=1;4=1;5=1;6=1;8=1;9=1;10=1</caps>\n  </channel_data>\n",
        chan.direction.as_str(),
        flags(chan)
    ));
    if chan.media {
        let stats = rtp_stats(chan);
        let get = |name: &str| {
            stats
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("0", |(_, v)| v.as_str())
        };
        out.push_str("  <call-stats>\n    <audio>\n      <inbound>\n");
        for name in [
            "raw_bytes",
            "media_bytes",
            "packet_count",
            "media_packet_count",
            "skip_packet_count",
            "jitter_packet_count",
            "dtmf_packet_count",
            "cng_packet_count",
            "flush_packet_count",
            "largest_jb_size",
            "jitter_min_variance",
            "jitter_max_variance",
            "jitter_loss_rate",
            "jitter_burst_rate",
            "mean_interval",
            "flaw_total",
            "quality_percentage",
            "mos",
        ] {
            out.push_str(&format!(
                "        <{name}>{}</{name}>\n",
                get(&format!("rtp_audio_in_{name}"))
            ));
        }
        out.push_str("      </inbound>\n      <outbound>\n");
        for name in [
            "raw_bytes",
            "media_bytes",
            "packet_count",
            "media_packet_count",
            "skip_packet_count",
            "dtmf_packet_count",
            "cng_packet_count",
        ] {
            out.push_str(&format!(
                "        <{name}>{}</{name}>\n",
                get(&format!("rtp_audio_out_{name}"))
            ));
        }
        for name in ["rtcp_packet_count", "rtcp_octet_count"] {
            out.push_str(&format!(
                "        <{name}>{}</{name}>\n",
                get(&format!("rtp_audio_{name}"))
            ));
        }
        out.push_str("      </outbound>\n    </audio>\n  </call-stats>\n");
    } else {
        out.push_str("  <call-stats></call-stats>\n");
    }
    out.push_str("  <variables>\n");
    for (name, value) in chan.vars.iter() {
        for item in array_items(value) {
            out.push_str(&format!("    <{name}>{}</{name}>\n", percent::encode(item)));
        }
    }
    out.push_str("  </variables>\n");
    if !chan.app_log.is_empty() {
        out.push_str("  <app_log>\n");
        for entry in &chan.app_log {
            out.push_str(&format!(
                "    <application app_name=\"{}\" app_data=\"{}\" app_stamp=\"{}\"></application>\n",
                escape(&entry.app, true),
                escape(&entry.data, true),
                entry.stamp
            ));
        }
        out.push_str("  </app_log>\n");
    }
    callflow_xml(&mut out, &chan.flow, &chan.profile);
    for old in chan.history.iter().rev() {
        callflow_xml(&mut out, old, &old.profile);
    }
    out.push_str("</cdr>\n");
    out
}

/// The POST body: `cdr=` and the document URL-encoded once more (every `%` included, so the
/// variables end up encoded twice).
pub(crate) fn form_body(xml: &str) -> String {
    format!("cdr={}", percent::encode(&xml.replace('%', "%25")))
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum PostError {
    #[error("bad CDR url {0:?}: only http://host[:port]/path is supported")]
    Url(String),
    #[error("CDR receiver unreachable: {0}")]
    Io(#[from] std::io::Error),
    #[error("CDR receiver answered {0}")]
    Status(u16),
    #[error("CDR receiver sent no HTTP status line")]
    Malformed,
    #[error("CDR receiver did not answer within {0:?}")]
    Timeout(Duration),
}

fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request bytes curl sends for mod_xml_cdr (header order as captured).
pub(crate) fn request(
    target: &CdrTarget,
    query: &str,
    xml: &str,
) -> Result<(String, Vec<u8>), PostError> {
    let url = reqwest::Url::parse(&target.url).map_err(|_| PostError::Url(target.url.clone()))?;
    let host = url
        .host_str()
        .filter(|_| url.scheme() == "http")
        .ok_or_else(|| PostError::Url(target.url.clone()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let host_header = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let mut path = url.path().to_owned();
    match url.query() {
        Some(q) => path.push_str(&format!("?{q}&uuid={query}")),
        None => path.push_str(&format!("?uuid={query}")),
    }
    let body = form_body(xml);
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {host_header}\r\n");
    if let Some(user) = &target.username {
        let credentials = format!("{user}:{}", target.password.as_deref().unwrap_or(""));
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(credentials.as_bytes())
        ));
    }
    head.push_str(&format!(
        "User-Agent: freeswitch-xml/1.0\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    Ok((format!("{host}:{port}"), bytes))
}

async fn post_once(address: &str, bytes: &[u8]) -> Result<u16, PostError> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(bytes).await?;
    let mut response = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") && response.len() < 64 * 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&response);
    let status = text
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(PostError::Malformed)?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(PostError::Status(status))
    }
}

/// Posts one document, retrying as configured.
pub(crate) async fn post(target: &CdrTarget, query: &str, xml: &str) -> Result<u16, PostError> {
    let (address, bytes) = request(target, query, xml)?;
    let timeout = Duration::from_secs(30);
    let mut attempt = 0;
    loop {
        let outcome = match tokio::time::timeout(timeout, post_once(&address, &bytes)).await {
            Ok(result) => result,
            Err(_) => Err(PostError::Timeout(timeout)),
        };
        match outcome {
            Ok(status) => return Ok(status),
            Err(e) if attempt < target.retries => {
                debug!(
                    "CDR post for {query} failed ({e}); retrying in {:?}",
                    target.retry_delay
                );
                attempt += 1;
                tokio::time::sleep(target.retry_delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A task posting CDRs one at a time, in the order the legs ended.
pub(crate) fn spawn_poster(target: CdrTarget) -> mpsc::UnboundedSender<(String, String)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String)>();
    tokio::spawn(async move {
        while let Some((query, xml)) = rx.recv().await {
            if let Err(e) = post(&target, &query, &xml).await {
                warn!("CDR for {query} not delivered: {e}");
            }
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_encodes_the_document_and_the_variables_twice() {
        let xml = "<?xml version=\"1.0\"?>\n<v>%2B1555 a</v>";
        assert_eq!(
            form_body(xml),
            "cdr=%3C%3Fxml%20version%3D%221.0%22%3F%3E%0A%3Cv%3E%252B1555%20a%3C/v%3E"
        );
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
