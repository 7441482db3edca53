//! What a FreeSWITCH event means for the queues: pure functions from [`Event`] to [`Input`].
//! A caller is a channel the dialplan parked with `switchdesk_queue` set; legs this service
//! originated carry `switchdesk_leg` and are never mistaken for callers. A channel whose
//! `Unique-ID` is not UUID-shaped is ignored: its id would go back into commands.

use crate::clock::Millis;
use crate::esl::Event;
use crate::fsarg::ChannelUuid;

use super::vars;

/// The event's channel, if its id is a UUID.
fn channel_id(event: &Event) -> Option<String> {
    let uuid = event.unique_id()?.into_owned();
    ChannelUuid::parse(&uuid).ok()?;
    Some(uuid)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Parked {
        call: String,
        queue: String,
        number: String,
        name: String,
        answered: bool,
        /// Set when the channel was queued before (by this service, before a restart).
        enqueued_at: Option<Millis>,
        priority: Option<i32>,
    },
    HungUp {
        uuid: String,
        cause: String,
    },
    Dtmf {
        call: String,
        digit: char,
    },
    /// CHANNEL_BRIDGE on a caller; `leg` is the other side (`Bridge-B-Unique-ID`).
    Bridged {
        call: String,
        leg: Option<String>,
    },
    /// A caller's own `bridge` application returned (CHANNEL_EXECUTE_COMPLETE): after the
    /// talk (`SUCCESS`), or with why the agent leg `leg` (its `origination_uuid`) failed.
    BridgeEnded {
        call: String,
        leg: Option<String>,
        disposition: String,
    },
    /// A leg this service originated ran its `&park()`: it answered and its originate is over.
    LegParked {
        leg: String,
    },
    /// The survey's `play_and_get_digits` returned on a caller (`switchdesk_survey` set):
    /// with the rating when a valid key was pressed.
    SurveyEnded {
        call: String,
        queue: Option<String>,
        rating: Option<u8>,
    },
}

pub(crate) fn interpret(event: &Event) -> Option<Input> {
    let name = event.name()?;
    // Every application's end comes by: only `bridge` and the survey's
    // `play_and_get_digits` matter, each told by one header.
    if name == "CHANNEL_EXECUTE_COMPLETE" {
        return match event.get("Application").as_deref() {
            Some("bridge") => bridge_ended(event),
            Some("play_and_get_digits") => survey_ended(event),
            _ => None,
        };
    }
    let uuid = channel_id(event)?;
    match name.as_ref() {
        "CHANNEL_PARK" => {
            if event.variable(vars::LEG).is_some() {
                return Some(Input::LegParked { leg: uuid });
            }
            // A caller kept for the survey has been served: not a new arrival.
            if event.variable(vars::SURVEY).is_some() {
                return None;
            }
            let queue = event.variable(vars::QUEUE)?.into_owned();
            Some(Input::Parked {
                call: uuid,
                queue,
                number: event
                    .get("Caller-Caller-ID-Number")
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
                name: event
                    .get("Caller-Caller-ID-Name")
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
                answered: event.get("Answer-State").is_some_and(|s| s == "answered"),
                enqueued_at: event
                    .variable(vars::ENQUEUED_AT)
                    .and_then(|v| unix_time(&v)),
                priority: event.variable(vars::PRIORITY).and_then(|v| v.parse().ok()),
            })
        }
        // CHANNEL_HANGUP is the moment the caller is gone. HANGUP_COMPLETE can come much
        // later: the leg lingers in CS_REPORTING while mod_xml_cdr posts (and retries) its
        // CDR, and a caller treated as waiting meanwhile would be offered to agents.
        "CHANNEL_HANGUP" | "CHANNEL_HANGUP_COMPLETE" => Some(Input::HungUp {
            uuid,
            cause: event
                .get("Hangup-Cause")
                .map(|c| c.into_owned())
                .unwrap_or_else(|| "NORMAL_CLEARING".into()),
        }),
        "DTMF" => {
            let digit = event.get("DTMF-Digit")?.chars().next()?;
            Some(Input::Dtmf { call: uuid, digit })
        }
        "CHANNEL_BRIDGE" => Some(Input::Bridged {
            call: uuid,
            leg: event
                .get("Bridge-B-Unique-ID")
                .or_else(|| event.get("Other-Leg-Unique-ID"))
                .map(|v| v.into_owned())
                .filter(|leg| ChannelUuid::parse(leg).is_ok()),
        }),
        _ => None,
    }
}

/// The end of a caller's `bridge`, with the leg its dial string named.
fn bridge_ended(event: &Event) -> Option<Input> {
    if event.get("Application")? != "bridge" {
        return None;
    }
    let call = channel_id(event)?;
    let data = event.get("Application-Data").unwrap_or_default();
    let leg = data
        .split_once("origination_uuid=")
        .and_then(|(_, rest)| rest.split([',', ']', '}']).next())
        .filter(|leg| ChannelUuid::parse(leg).is_ok())
        .map(str::to_owned);
    let disposition = event
        .variable("originate_disposition")
        .map(|v| v.into_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "NORMAL_TEMPORARY_FAILURE".into());
    Some(Input::BridgeEnded {
        call,
        leg,
        disposition,
    })
}

/// The end of the survey's question on a caller switchdesk marked for it.
fn survey_ended(event: &Event) -> Option<Input> {
    event.variable(vars::SURVEY)?;
    let call = channel_id(event)?;
    Some(Input::SurveyEnded {
        call,
        queue: event.variable(vars::QUEUE).map(|q| q.into_owned()),
        rating: event.variable(vars::RATING).and_then(|r| vars::rating(&r)),
    })
}

/// What the switch knows about one channel, gathered for a resync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChannelState {
    pub uuid: String,
    pub queue: Option<String>,
    pub leg: Option<String>,
    pub agent: Option<String>,
    pub enqueued_at: Option<Millis>,
    pub priority: Option<i32>,
    pub number: String,
    pub name: String,
    pub answered: bool,
    /// Not bridged to anything: waiting (a caller) or answered and waiting (a leg).
    pub parked: bool,
    pub bridged_to: Option<String>,
    pub created_ms: Millis,
    /// A bridge of this channel is over (`last_bridge_to` without `bridge_to`): a caller in
    /// park after its talk, kept for a survey whose question was not asked yet.
    pub talked: bool,
    /// A caller kept after the call for the survey (`switchdesk_survey`): served, not waiting.
    pub surveyed: bool,
    /// Its question is over (`switchdesk_survey=done`), with the rating if one was given.
    pub survey_done: bool,
    pub rating: Option<u8>,
}

/// The channel uuids listed by `show channels as json` (`{"row_count": 0}` when empty).
pub(crate) fn channel_uuids(body: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|e| format!("show channels as json: {e}"))?;
    Ok(value["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["uuid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// A channel from its `uuid_dump <uuid> json` (a CHANNEL_DATA event).
pub(crate) fn channel_state(dump: &Event) -> Option<ChannelState> {
    let uuid = channel_id(dump)?;
    let var = |name: &str| {
        dump.variable(name)
            .map(|v| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    let bridged_to = var("bridge_uuid")
        .or_else(|| var("signal_bond"))
        .or_else(|| dump.get("Other-Leg-Unique-ID").map(|v| v.into_owned()))
        .filter(|other| *other != uuid);
    let answered = dump.get("Answer-State").is_some_and(|s| s == "answered");
    // FreeSWITCH sets `bridge_to` for the length of a bridge and clears it at the end, while
    // `bridge_uuid`, `signal_bond` and the `Other-Leg-*` block stay on the channel (checked on
    // 1.10.12: a caller kept in park after its agent hung up still names the gone leg).
    let bridging = var("bridge_to").is_some();
    let bridged = bridging
        && bridged_to.is_some()
        && dump
            .get("Channel-Call-State")
            .is_some_and(|s| s == "ACTIVE");
    Some(ChannelState {
        uuid,
        queue: var(vars::QUEUE),
        leg: var(vars::LEG),
        agent: var(vars::AGENT),
        enqueued_at: var(vars::ENQUEUED_AT).and_then(|v| unix_time(&v)),
        priority: var(vars::PRIORITY).and_then(|v| v.parse().ok()),
        number: dump
            .get("Caller-Caller-ID-Number")
            .map(|v| v.into_owned())
            .unwrap_or_default(),
        name: dump
            .get("Caller-Caller-ID-Name")
            .map(|v| v.into_owned())
            .unwrap_or_default(),
        answered,
        // Parked, or playing what we queued on a parked channel (hold music, announcements).
        parked: !bridged,
        bridged_to: if bridged { bridged_to } else { None },
        created_ms: dump
            .get("Caller-Channel-Created-Time")
            .and_then(|t| unix_time(&t))
            .map_or(0, |us| us / 1000),
        talked: !bridging && var("last_bridge_to").is_some(),
        surveyed: var(vars::SURVEY).is_some(),
        survey_done: var(vars::SURVEY).is_some_and(|v| v == vars::SURVEY_DONE),
        rating: var(vars::RATING).and_then(|r| vars::rating(&r)),
    })
}

/// A time a channel carries (ms, or µs for FreeSWITCH's own): never before the epoch.
fn unix_time(text: &str) -> Option<Millis> {
    text.parse::<Millis>().ok().filter(|at| *at >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esl::event::EventFormat;
    use bytes::Bytes;

    fn plain(text: &str) -> Event {
        Event::parse(EventFormat::Plain, Bytes::from(text.to_owned())).unwrap()
    }

    #[test]
    fn a_parked_caller_with_a_queue_is_an_arrival_and_our_own_legs_are_not() {
        let park = plain("Event-Name: CHANNEL_PARK\nUnique-ID: c0000000-0000-4000-8000-000000000001\nCaller-Caller-ID-Number: %2B15550001\nCaller-Caller-ID-Name: Caller%201\nAnswer-State: ringing\nvariable_switchdesk_queue: support\n\n");
        assert_eq!(
            interpret(&park),
            Some(Input::Parked {
                call: "c0000000-0000-4000-8000-000000000001".into(),
                queue: "support".into(),
                number: "+15550001".into(),
                name: "Caller 1".into(),
                answered: false,
                enqueued_at: None,
                priority: None
            })
        );
        let agent = plain("Event-Name: CHANNEL_PARK\nUnique-ID: 1e900000-0000-4000-8000-000000000002\nvariable_switchdesk_leg: agent\nvariable_switchdesk_queue: support\n\n");
        assert_eq!(
            interpret(&agent),
            Some(Input::LegParked {
                leg: "1e900000-0000-4000-8000-000000000002".into()
            })
        );
        let other =
            plain("Event-Name: CHANNEL_PARK\nUnique-ID: 0e000000-0000-4000-8000-000000000003\n\n");
        assert_eq!(interpret(&other), None);
        // A caller whose id is not a UUID is not taken: the id would go into commands.
        let odd = plain(
            "Event-Name: CHANNEL_PARK\nUnique-ID: c1%20all\nvariable_switchdesk_queue: support\n\n",
        );
        assert_eq!(interpret(&odd), None);
    }

    #[test]
    fn only_a_bridge_ending_is_read_from_execute_complete() {
        let done = plain("Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: c0000000-0000-4000-8000-000000000001\nApplication: bridge\nApplication-Data: %7Boriginate_timeout%3D20%7D%5Borigination_uuid%3D1e900000-0000-4000-8000-000000000002,switchdesk_leg%3Dagent%5Dsofia/external/a%40127.0.0.1\nvariable_originate_disposition: USER_BUSY\n\n");
        assert_eq!(
            interpret(&done),
            Some(Input::BridgeEnded {
                call: "c0000000-0000-4000-8000-000000000001".into(),
                leg: Some("1e900000-0000-4000-8000-000000000002".into()),
                disposition: "USER_BUSY".into(),
            })
        );
        let played = plain("Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: c0000000-0000-4000-8000-000000000001\nApplication: playback\n\n");
        assert_eq!(interpret(&played), None);
        // The survey's question, on a caller marked for it: the rating, if a valid one.
        let rated = plain("Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: c0000000-0000-4000-8000-000000000001\nApplication: play_and_get_digits\nvariable_switchdesk_survey: true\nvariable_switchdesk_queue: support\nvariable_switchdesk_rating: 4\n\n");
        assert_eq!(
            interpret(&rated),
            Some(Input::SurveyEnded {
                call: "c0000000-0000-4000-8000-000000000001".into(),
                queue: Some("support".into()),
                rating: Some(4),
            })
        );
        let none = plain("Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: c0000000-0000-4000-8000-000000000001\nApplication: play_and_get_digits\nvariable_switchdesk_survey: true\n\n");
        assert!(matches!(
            interpret(&none),
            Some(Input::SurveyEnded { rating: None, .. })
        ));
        // Someone else's play_and_get_digits is not ours.
        let other = plain("Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: c0000000-0000-4000-8000-000000000001\nApplication: play_and_get_digits\nvariable_switchdesk_rating: 4\n\n");
        assert_eq!(interpret(&other), None);
        // A surveyed caller parked is not an arrival.
        let kept = plain("Event-Name: CHANNEL_PARK\nUnique-ID: c0000000-0000-4000-8000-000000000001\nAnswer-State: answered\nvariable_switchdesk_queue: support\nvariable_switchdesk_survey: true\n\n");
        assert_eq!(interpret(&kept), None);
    }

    #[test]
    fn channel_lists_in_both_shapes() {
        assert_eq!(
            channel_uuids("{\"row_count\": 0}\n").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            channel_uuids("{\"row_count\":1,\"rows\":[{\"uuid\":\"a\"}]}").unwrap(),
            ["a"]
        );
        assert!(channel_uuids("-ERR no reply").is_err());
    }
}
