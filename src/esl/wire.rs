//! The switch's side of the protocol: the exact bytes FreeSWITCH 1.10 writes for each kind of
//! message (header order, spacing and encodings as the captures in `tests/fixtures/freeswitch` show).
//! The simulator speaks through these functions so that the client is tested against the same
//! bytes the real switch sends.

use super::event::{array_items, EventFormat};
use super::percent;

pub const DISCONNECT_BODY: &str =
    "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

pub fn auth_request() -> Vec<u8> {
    b"Content-Type: auth/request\n\n".to_vec()
}

pub fn command_reply(reply_text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {reply_text}\n\n").into_bytes()
}

/// The immediate answer to `bgapi`: the Job-UUID twice, in the text and as a header.
pub fn bgapi_reply(job_uuid: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job_uuid}\nJob-UUID: {job_uuid}\n\n").into_bytes()
}

pub fn api_response(body: &str) -> Vec<u8> {
    let mut out = format!(
        "Content-Type: api/response\nContent-Length: {}\n\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// How a session-bound connection (after `myevents <uuid>`) is told its channel is gone.
#[derive(Clone, Debug)]
pub enum Disconnect<'a> {
    /// An ordinary connection closing (auth failure, `exit`).
    Plain,
    /// The controlled channel hung up; the socket closes.
    Session { uuid: &'a str },
    /// The controlled channel hung up and `linger` keeps the socket open for a while.
    Linger {
        uuid: &'a str,
        channel_name: &'a str,
        seconds: u32,
    },
}

pub fn disconnect_notice(kind: Disconnect<'_>) -> Vec<u8> {
    let mut out = String::from("Content-Type: text/disconnect-notice\n");
    match kind {
        Disconnect::Plain => {}
        Disconnect::Session { uuid } => {
            out.push_str(&format!(
                "Controlled-Session-UUID: {uuid}\nContent-Disposition: disconnect\n"
            ));
        }
        Disconnect::Linger {
            uuid,
            channel_name,
            seconds,
        } => {
            out.push_str(&format!(
                "Controlled-Session-UUID: {uuid}\nContent-Disposition: linger\nChannel-Name: {channel_name}\nLinger-Time: {seconds}\nContent-Length: 0\n\n"
            ));
            return out.into_bytes();
        }
    }
    out.push_str(&format!(
        "Content-Length: {}\n\n{DISCONNECT_BODY}",
        DISCONNECT_BODY.len()
    ));
    out.into_bytes()
}

/// An event frame. `headers` are decoded values in the switch's order; multi-valued variables
/// are given in plain form (`ARRAY::a|:b`) and become JSON arrays in the json format.
pub fn event<'a, I>(format: EventFormat, headers: I, body: Option<&str>) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let text = match format {
        EventFormat::Plain => plain_event(headers, body),
        EventFormat::Json => json_event(headers, body),
        EventFormat::Xml => xml_event(headers, body),
    };
    let mut out = format!(
        "Content-Length: {}\nContent-Type: {}\n\n",
        text.len(),
        format.content_type()
    )
    .into_bytes();
    out.extend_from_slice(&text);
    out
}

/// The text of a plain event, as the body of its frame or of `uuid_dump`.
pub fn plain_event<'a, I>(headers: I, body: Option<&str>) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = Vec::with_capacity(4096);
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        percent::encode_into(value, &mut out);
        out.push(b'\n');
    }
    match body {
        Some(body) => {
            out.extend_from_slice(format!("Content-Length: {}\n\n", body.len()).as_bytes());
            out.extend_from_slice(body.as_bytes());
        }
        None => out.push(b'\n'),
    }
    out
}

/// The text of a json event: one object, values not URL-encoded, no trailing newline.
pub fn json_event<'a, I>(headers: I, body: Option<&str>) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = Vec::with_capacity(4096);
    out.push(b'{');
    let mut first = true;
    let mut push_pair = |out: &mut Vec<u8>, name: &str, value: &str, is_array: bool| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_json_string(out, name);
        out.push(b':');
        if is_array {
            out.push(b'[');
            for (i, item) in array_items(value).into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(out, item);
            }
            out.push(b']');
        } else {
            write_json_string(out, value);
        }
    };
    for (name, value) in headers {
        push_pair(&mut out, name, value, value.starts_with("ARRAY::"));
    }
    if let Some(body) = body {
        push_pair(&mut out, "Content-Length", &body.len().to_string(), false);
        push_pair(&mut out, "_body", body, false);
    }
    out.push(b'}');
    out
}

fn write_json_string(out: &mut Vec<u8>, value: &str) {
    // serde_json writes a &str as a quoted, escaped JSON string and cannot fail into a Vec.
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// The text of an xml event: URL-encoded values inside elements named after the headers.
pub fn xml_event<'a, I>(headers: I, body: Option<&str>) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = Vec::with_capacity(8192);
    out.extend_from_slice(b"<event>\n  <headers>\n");
    for (name, value) in headers {
        // A multi-valued variable is written as one element per value.
        for item in array_items(value) {
            out.extend_from_slice(format!("    <{name}>").as_bytes());
            percent::encode_into(item, &mut out);
            out.extend_from_slice(format!("</{name}>\n").as_bytes());
        }
    }
    out.extend_from_slice(b"  </headers>\n");
    if let Some(body) = body {
        out.extend_from_slice(
            format!(
                "  <Content-Length>{}</Content-Length>\n  <body>",
                body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(quick_xml::escape::escape(body).as_bytes());
        out.extend_from_slice(b"  </body>\n");
    }
    out.extend_from_slice(b"</event>\n");
    out
}
