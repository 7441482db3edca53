//! Inbound legs: a caller arriving on the external sofia profile, the stock `public` context
//! (`outside_call`, `RFC2822_DATE`) and switchdesk's extension (`set switchdesk_queue`, `park`
//! without answering), media (pre-answer, answer, codec events), DTMF and caller patience.
//! Never decides queue policy: it only plays the part of the caller and the dialplan.

use super::channel::{CallState, Channel, Codec, Extension, State, PCMU};
use super::config::{Route, RouteAction};
use super::events::{self, origin, Headers, Vars};
use super::hangup::{End, Initiator};
use super::profile::Direction;
use super::spec::CallSpec;
use super::switch::{Role, Switch, Timer};

/// The caller side's SIP identity (sipp in the captures).
const CALLER_HOST: &str = "127.0.0.1";
const CALLER_PORT: &str = "5070";

impl Switch {
    /// A caller dials `spec.destination`; returns the new channel's UUID.
    pub(crate) fn place_call(&mut self, spec: &CallSpec) -> String {
        let uuid = self.inbound_leg(&spec.from_number, &spec.from_name, &spec.destination);
        self.roles.insert(
            uuid.clone(),
            Role::Caller {
                talk: spec.talk,
                dtmf: spec.dtmf.clone(),
            },
        );
        if let Some(patience) = spec.patience {
            self.schedule(patience, Timer::Patience(uuid.clone()));
        }
        self.run_dialplan(&uuid);
        uuid
    }

    /// Creates the leg and walks it to CS_EXECUTE with the events sofia and the core fire.
    pub(crate) fn inbound_leg(&mut self, from: &str, name: &str, destination: &str) -> String {
        let uuid = self.rng.uuid();
        let flow_id = self.rng.uuid();
        let session_id = self.next_session_id();
        let chan_name = format!("sofia/external/{from}@{CALLER_HOST}:{CALLER_PORT}");
        let mut chan = Channel::new(uuid.clone(), chan_name.clone(), Direction::Inbound, flow_id);
        let now = self.micros();
        let p = &mut chan.profile;
        p.username = from.to_owned();
        p.dialplan = "XML".into();
        p.caller_id_name = name.to_owned();
        p.caller_id_number = from.to_owned();
        p.orig_caller_id_name = name.to_owned();
        p.orig_caller_id_number = from.to_owned();
        p.network_addr = CALLER_HOST.into();
        p.ani = from.to_owned();
        p.destination_number = destination.to_owned();
        p.source = "mod_sofia".into();
        p.context = "public".into();
        p.times.created = now;
        p.times.profile_created = now;

        let call_id = format!(
            "{}-{}@{CALLER_HOST}",
            self.rng.range(1..100),
            self.rng.range(1000..9999)
        );
        let from_tag = format!(
            "{}SIPpTag00{}",
            self.rng.range(1000..9999),
            self.rng.range(1..10)
        );
        let branch = format!("z9hG4bK-{}", self.rng.token(10));
        let display = if name.is_empty() {
            String::new()
        } else {
            format!("\"{name}\" ")
        };
        let v = &mut chan.vars;
        v.set("direction", "inbound");
        v.set("uuid", uuid.clone());
        v.set("call_uuid", uuid.clone());
        v.set("session_id", session_id.to_string());
        v.set("sip_from_user", from);
        v.set("sip_from_port", CALLER_PORT);
        v.set(
            "sip_from_uri",
            format!("{from}@{CALLER_HOST}:{CALLER_PORT}"),
        );
        v.set("sip_from_host", CALLER_HOST);
        v.set("video_media_flow", "disabled");
        v.set("audio_media_flow", "disabled");
        v.set("text_media_flow", "disabled");
        v.set("channel_name", chan_name.clone());
        v.set("sip_call_id", call_id);
        v.set("sip_local_network_addr", "127.0.0.1");
        v.set("sip_network_ip", CALLER_HOST);
        v.set("sip_network_port", CALLER_PORT);
        v.set("sip_invite_stamp", now.to_string());
        v.set("sip_received_ip", CALLER_HOST);
        v.set("sip_received_port", CALLER_PORT);
        v.set("sip_via_protocol", "udp");
        if let Some(stripped) = from.strip_prefix('+') {
            v.set("sip_from_user_stripped", stripped);
        }
        v.set("sip_from_tag", from_tag.clone());
        v.set("sofia_profile_name", "external");
        v.set("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5080");
        v.set("recovery_profile_name", "external");
        v.set(
            "sip_full_via",
            format!("SIP/2.0/UDP {CALLER_HOST}:{CALLER_PORT};branch={branch}"),
        );
        v.set("sip_from_display", name);
        v.set(
            "sip_full_from",
            format!("{display}<sip:{from}@{CALLER_HOST}:{CALLER_PORT}>;tag={from_tag}"),
        );
        v.set("sip_full_to", format!("<sip:{destination}@127.0.0.1:5080>"));
        v.set("sip_req_user", destination);
        v.set("sip_req_port", "5080");
        v.set("sip_req_uri", format!("{destination}@127.0.0.1:5080"));
        v.set("sip_req_host", "127.0.0.1");
        v.set("sip_to_user", destination);
        v.set("sip_to_port", "5080");
        v.set("sip_to_uri", format!("{destination}@127.0.0.1:5080"));
        v.set("sip_to_host", "127.0.0.1");
        v.set("sip_contact_user", from);
        v.set("sip_contact_port", CALLER_PORT);
        v.set(
            "sip_contact_uri",
            format!("{from}@{CALLER_HOST}:{CALLER_PORT}"),
        );
        v.set("sip_contact_host", CALLER_HOST);
        v.set("rtp_use_codec_string", "PCMU,PCMA");
        v.set("sip_user_agent", "sipp-caller");
        v.set("sip_via_host", CALLER_HOST);
        v.set("sip_via_port", CALLER_PORT);
        v.set("max_forwards", "70");
        let remote_port = 2 * self.rng.range(7000..15000);
        v.set(
            "switch_r_sdp",
            format!(
                "v=0\r\no=caller 53655765 2353687637 IN IP4 {CALLER_HOST}\r\ns=-\r\nc=IN IP4 {CALLER_HOST}\r\nt=0 0\r\nm=audio {remote_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
            ),
        );
        v.set("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b");
        v.set("endpoint_disposition", "DELAYED NEGOTIATION");
        chan.flow.dialplan = Some("XML".into());
        chan.flow.profile = chan.profile.clone();
        self.add_channel(chan);

        self.fire(
            &uuid,
            "CHANNEL_STATE",
            origin::STATE,
            Vars::Without,
            &[],
            &[],
        );
        if let Some(c) = self.chan_mut(&uuid) {
            c.profile_set = true;
        }
        self.set_state(&uuid, State::Init, State::Init);
        if let Some(c) = self.chan_mut(&uuid) {
            c.state = State::Routing;
        }
        self.fire(
            &uuid,
            "CHANNEL_CREATE",
            origin::CREATE,
            Vars::With,
            &[],
            &[],
        );
        if let Some(c) = self.chan_mut(&uuid) {
            c.running = State::Routing;
        }
        self.set_callstate(&uuid, CallState::Ringing);
        self.set_state(&uuid, State::Routing, State::Routing);
        self.skip_seq();
        self.set_state(&uuid, State::Execute, State::Execute);
        uuid
    }

    /// The `public` context: the stock `outside_call` extension, then the DID's route.
    pub(crate) fn run_dialplan(&mut self, uuid: &str) {
        let Some(destination) = self
            .chan(uuid)
            .map(|c| c.profile.destination_number.clone())
        else {
            return;
        };
        let route = self.route_for(&destination);
        self.public_prelude(uuid, &destination, route.as_ref());
        match route.map(|r| r.action) {
            Some(action) => self.run_route(uuid, action),
            None => self.hangup(
                uuid,
                End::new("NO_ROUTE_DESTINATION", Initiator::Switch),
                None,
            ),
        }
    }

    /// The route whose destination is `destination`.
    pub(crate) fn route_for(&self, destination: &str) -> Option<Route> {
        self.routes
            .iter()
            .find(|r| r.destination == destination)
            .cloned()
    }

    /// Runs a route's applications on a leg in CS_EXECUTE.
    pub(crate) fn run_route(&mut self, uuid: &str, action: RouteAction) {
        match action {
            RouteAction::Queue(queue) => {
                self.simple_app(uuid, "set", &format!("switchdesk_queue={queue}"), None);
                self.park(uuid);
            }
            RouteAction::Fax { directory, ident } => self.start_rxfax(uuid, &directory, &ident),
            RouteAction::Apps(apps) => self.run_extension(uuid, apps),
        }
    }

    /// The applications a route's extension lists (for the CDR's `<callflow>`).
    pub(crate) fn route_apps(action: &RouteAction) -> Vec<(String, String)> {
        match action {
            RouteAction::Queue(queue) => vec![
                ("set".into(), format!("switchdesk_queue={queue}")),
                ("park".into(), String::new()),
            ],
            RouteAction::Fax { ident, .. } => vec![
                ("answer".into(), String::new()),
                ("set".into(), format!("fax_ident={ident}")),
                ("set".into(), "fax_enable_t38=false".into()),
                ("rxfax".into(), String::new()),
                ("hangup".into(), String::new()),
            ],
            RouteAction::Apps(apps) => apps.clone(),
        }
    }

    /// `outside_call` (set, export with a strftime API call) as every inbound capture shows.
    pub(crate) fn public_prelude(&mut self, uuid: &str, destination: &str, route: Option<&Route>) {
        let mut apps = vec![
            ("set".to_owned(), "outside_call=true".to_owned()),
            (
                "export".to_owned(),
                "RFC2822_DATE=${strftime(%a, %d %b %Y %T %z)}".to_owned(),
            ),
        ];
        if let Some(route) = route {
            apps.extend(Self::route_apps(&route.action));
        }
        if let Some(c) = self.chan_mut(uuid) {
            if route.is_some() {
                c.vars.push_array("DP_MATCH", destination);
                c.vars.push_array("DP_MATCH", destination);
            }
            let call_uuid = c.uuid.clone();
            c.vars.set("call_uuid", call_uuid);
            c.flow.extension = Some(Extension {
                name: "outside_call".into(),
                number: destination.to_owned(),
                apps,
            });
        }
        self.simple_app(uuid, "set", "outside_call=true", None);
        let api = self.api_event("strftime", Some("%a, %d %b %Y %T %z"));
        self.emit("API", None, api, None);
        let date = super::clock::rfc2822(self.micros());
        self.simple_app(uuid, "export", &format!("RFC2822_DATE={date}"), None);
    }

    /// The `park` application: CHANNEL_EXECUTE, then CHANNEL_PARK; the leg waits there.
    pub(crate) fn park(&mut self, uuid: &str) {
        let app_uuid = self.rng.uuid();
        self.park_as(uuid, &app_uuid);
    }

    pub(crate) fn park_as(&mut self, uuid: &str, app_uuid: &str) {
        self.execute_event(uuid, "park", "", app_uuid);
        if let Some(c) = self.chan_mut(uuid) {
            c.park = Some(app_uuid.to_owned());
        }
        self.fire(uuid, "CHANNEL_PARK", origin::PARK, Vars::With, &[], &[]);
        self.pump(uuid);
    }

    /// park ends (`switch_ivr_park` returning): CHANNEL_UNPARK, then EXECUTE_COMPLETE park
    /// with the response the last application left.
    pub(crate) fn leave_park(&mut self, uuid: &str) {
        let Some(c) = self.chan_mut(uuid) else { return };
        let Some(park_uuid) = c.park.take() else {
            return;
        };
        let response = c.last_response.clone();
        self.fire(uuid, "CHANNEL_UNPARK", origin::UNPARK, Vars::With, &[], &[]);
        self.execute_complete_event(uuid, "park", "", &response, &park_uuid);
    }

    /// Negotiates PCMU with the far end: the two CODEC events and the RTP variables.
    pub(crate) fn negotiate_media(&mut self, uuid: &str) {
        let local_port = 2 * self.rng.range(8192..16384);
        let remote_port = 2 * self.rng.range(7000..15000);
        let ssrc = self.rng.range(1_000_000_000..4_000_000_000);
        let stamp = self.rng.range(1_700_000_000..1_800_000_000);
        let Some(c) = self.chan_mut(uuid) else { return };
        if c.media {
            return;
        }
        c.media = true;
        c.codec = Some(PCMU);
        let v = &mut c.vars;
        v.set("rtp_use_codec_string", "PCMU,PCMA");
        v.set("remote_video_media_flow", "inactive");
        v.set("remote_text_media_flow", "inactive");
        v.set("remote_audio_media_flow", "sendrecv");
        v.set("audio_media_flow", "sendrecv");
        v.set("rtp_audio_recv_pt", "0");
        v.set("rtp_use_codec_name", "PCMU");
        v.set("rtp_use_codec_rate", "8000");
        v.set("rtp_use_codec_ptime", "20");
        v.set("rtp_use_codec_channels", "1");
        v.set("rtp_last_audio_codec_string", "PCMU@8000h@20i@1c");
        v.set("read_codec", "PCMU");
        v.set("original_read_codec", "PCMU");
        v.set("read_rate", "8000");
        v.set("original_read_rate", "8000");
        v.set("write_codec", "PCMU");
        v.set("write_rate", "8000");
        v.set("dtmf_type", "rfc2833");
        v.set("local_media_ip", "127.0.0.1");
        v.set("local_media_port", local_port.to_string());
        v.set("advertised_media_ip", "127.0.0.1");
        v.set("rtp_use_timer_name", "soft");
        v.set("rtp_use_pt", "0");
        v.set("rtp_use_ssrc", ssrc.to_string());
        v.set("rtp_2833_send_payload", "101");
        v.set("rtp_2833_recv_payload", "101");
        v.set("remote_media_ip", "127.0.0.1");
        v.set("remote_media_port", remote_port.to_string());
        v.set(
            "rtp_local_sdp_str",
            format!(
                "v=0\r\no=FreeSWITCH {stamp} {} IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {local_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
                stamp + 1
            ),
        );
        self.codec_events(uuid, PCMU);
    }

    /// CODEC for the read side (lower-case repeat headers) and for the write side.
    pub(crate) fn codec_events(&mut self, uuid: &str, codec: Codec) {
        self.read_codec_event(uuid, codec);
        let write = [
            ("Channel-Write-Codec-Name", codec.name.to_owned()),
            ("Channel-Write-Codec-Rate", codec.rate.to_string()),
            ("Channel-Write-codec-bit-rate", codec.bit_rate.to_string()),
        ];
        self.fire(
            uuid,
            "CODEC",
            origin::CODEC_WRITE,
            Vars::Without,
            &[],
            &write,
        );
    }

    /// The read codec changes (media negotiated, or spandsp taking the line as L16): the codec,
    /// its variables and a CODEC event with the lower-case repeat headers.
    pub(crate) fn read_codec_event(&mut self, uuid: &str, codec: Codec) {
        if let Some(c) = self.chan_mut(uuid) {
            c.codec = Some(codec);
            c.vars.set("read_codec", codec.name);
            c.vars.set("read_rate", codec.rate.to_string());
        }
        let read = [
            ("channel-read-codec-name", codec.name.to_owned()),
            ("channel-read-codec-rate", codec.rate.to_string()),
            ("channel-read-codec-bit-rate", codec.bit_rate.to_string()),
        ];
        self.fire(uuid, "CODEC", origin::CODEC_READ, Vars::Without, &[], &read);
    }

    /// `switch_channel_pre_answer`: early media (what `playback` does to an unanswered leg).
    pub(crate) fn pre_answer(&mut self, uuid: &str) {
        let Some(c) = self.chan(uuid) else { return };
        if c.early || c.answered || c.down {
            return;
        }
        self.negotiate_media(uuid);
        let now = self.micros();
        if let Some(c) = self.chan_mut(uuid) {
            c.early = true;
            c.profile.times.progress_media = now;
            c.vars.set("endpoint_disposition", "EARLY MEDIA");
        }
        self.fire(
            uuid,
            "CHANNEL_PROGRESS_MEDIA",
            origin::PROGRESS_MEDIA,
            Vars::With,
            &[],
            &[],
        );
        self.set_callstate(uuid, CallState::Early);
    }

    /// `switch_channel_answer` on an inbound leg; false if the leg is gone.
    pub(crate) fn answer(&mut self, uuid: &str) -> bool {
        let Some(c) = self.chan(uuid) else {
            return false;
        };
        if c.down {
            return false;
        }
        // Only the far end answers an outbound leg; asking the switch to is a no-op.
        if c.answered || c.direction == Direction::Outbound {
            return true;
        }
        self.pre_answer(uuid);
        let now = self.micros();
        let to_tag = self.rng.token(13);
        if let Some(c) = self.chan_mut(uuid) {
            c.answered = true;
            c.profile.times.answered = now;
            let full_to = format!("{};tag={to_tag}", c.vars.get("sip_full_to").unwrap_or(""));
            c.vars.set("sip_to_tag", to_tag);
            c.vars.set("sip_cseq", "1");
            c.vars.set("sip_full_to", full_to);
        }
        self.fire(uuid, "CHANNEL_ANSWER", origin::ANSWER, Vars::With, &[], &[]);
        self.set_callstate(uuid, CallState::Active);
        self.set_var(uuid, "endpoint_disposition", "ANSWER");
        if let Some(Role::Caller { dtmf, .. }) = self.roles.get(uuid) {
            let presses = dtmf.clone();
            for (after, digit) in presses {
                self.schedule(after, Timer::Dtmf(uuid.to_owned(), digit));
            }
        }
        true
    }

    /// A DTMF digit arriving on the leg (`source`: RTP for RFC 2833, APP for uuid_recv_dtmf);
    /// false if the leg has no media to carry it. A playback or say the digit terminates
    /// stops (`playback_terminators`, `*` by default).
    pub(crate) fn dtmf(&mut self, uuid: &str, digit: char, source: &str, duration: u32) -> bool {
        let Some(c) = self.chan_mut(uuid) else {
            return false;
        };
        if c.down || !(c.answered || c.early) {
            return false;
        }
        c.dtmf_log.push(digit);
        let after = [
            ("DTMF-Digit", digit.to_string()),
            ("DTMF-Duration", duration.to_string()),
            ("DTMF-Source", source.to_owned()),
        ];
        self.fire(uuid, "DTMF", origin::DTMF, Vars::Without, &[], &after);
        if !self.read_digit(uuid, digit) {
            self.terminator(uuid, digit);
        }
        true
    }

    /// The far end of `uuid` presses `digit` (RFC 2833, as capture 05's RTP source); false if
    /// there is no such leg with media or `digit` is not a DTMF digit.
    pub(crate) fn press(&mut self, uuid: &str, digit: char) -> bool {
        let digit = digit.to_ascii_uppercase();
        if !(digit.is_ascii_digit() || matches!(digit, '*' | '#' | 'A'..='D')) {
            return false;
        }
        self.dtmf(uuid, digit, "RTP", 2240)
    }

    /// The caller's patience ran out while still waiting (not bridged).
    pub(crate) fn caller_gives_up(&mut self, uuid: &str) {
        let waiting = self
            .chan(uuid)
            .is_some_and(|c| !c.down && c.bridged_to.is_none());
        if waiting {
            self.remote_hangup(uuid);
        }
    }

    /// The far end of `uuid` hangs up (BYE, or CANCEL before answer).
    pub(crate) fn remote_hangup(&mut self, uuid: &str) {
        if self.live(uuid) {
            self.hangup(uuid, End::new("NORMAL_CLEARING", Initiator::Remote), None);
        }
    }

    /// CHANNEL_EXECUTE of one application (`switch_core_session_execute_application`: the
    /// app log, `current_application*`, the response cleared).
    pub(crate) fn execute_event(&mut self, uuid: &str, app: &str, data: &str, app_uuid: &str) {
        let now = self.micros();
        let mut name = String::new();
        if let Some(c) = self.chan_mut(uuid) {
            c.vars.set("current_application", app);
            c.vars.set("current_application_data", data);
            c.vars.unset("current_application_response");
            c.last_response = "_none_".into();
            c.log_app(app, data, now);
            c.last_execute = (app.to_owned(), data.to_owned());
            name = c.app_uuid_name.clone().unwrap_or_default();
        }
        let after = [
            ("Application", app.to_owned()),
            ("Application-Data", data.to_owned()),
            ("Application-UUID", app_uuid.to_owned()),
            ("Application-UUID-Name", name),
        ];
        self.fire(
            uuid,
            "CHANNEL_EXECUTE",
            origin::EXECUTE,
            Vars::With,
            &[],
            &after,
        );
    }

    pub(crate) fn execute_complete_event(
        &mut self,
        uuid: &str,
        app: &str,
        data: &str,
        response: &str,
        app_uuid: &str,
    ) {
        let name = self
            .chan_mut(uuid)
            .and_then(|c| c.app_uuid_name.take())
            .unwrap_or_default();
        let after = [
            ("Application", app.to_owned()),
            ("Application-Data", data.to_owned()),
            ("Application-Response", response.to_owned()),
            ("Application-UUID", app_uuid.to_owned()),
            ("Application-UUID-Name", name),
        ];
        self.fire(
            uuid,
            "CHANNEL_EXECUTE_COMPLETE",
            origin::EXECUTE_COMPLETE,
            Vars::With,
            &[],
            &after,
        );
    }

    /// An instantaneous application (set, export, unset, answer...): EXECUTE, effect, COMPLETE.
    pub(crate) fn simple_app(
        &mut self,
        uuid: &str,
        app: &str,
        data: &str,
        app_uuid: Option<String>,
    ) {
        let app_uuid = app_uuid.unwrap_or_else(|| self.rng.uuid());
        self.execute_event(uuid, app, data, &app_uuid);
        match app {
            "set" => {
                if let Some((name, value)) = data.split_once('=') {
                    self.set_var(uuid, name, value);
                }
            }
            // mod_dptools' multiset: pairs split on spaces (no `^^` delimiter is modelled).
            "multiset" => {
                for pair in data.split(' ') {
                    if let Some((name, value)) = pair.split_once('=') {
                        self.set_var(uuid, name, value);
                    }
                }
            }
            "unset" => {
                if let Some(c) = self.chan_mut(uuid) {
                    c.vars.unset(data);
                }
            }
            "export" => {
                if let Some((name, value)) = data.split_once('=') {
                    self.set_var(uuid, name, value);
                    self.set_var(uuid, "export_vars", name);
                }
            }
            "answer" => {
                self.answer(uuid);
            }
            "pre_answer" => self.pre_answer(uuid),
            _ => {}
        }
        self.execute_complete_event(uuid, app, data, "_none_", &app_uuid);
    }

    /// Fires an event for a leg under an arbitrary name with its full data (fax results).
    pub(crate) fn custom_event(
        &mut self,
        uuid: &str,
        subclass: &str,
        origin: events::Origin,
        after: &[(&str, String)],
    ) {
        let seq = self.next_seq();
        if !self.wanted("CUSTOM") {
            return;
        }
        let at = self.micros();
        let Some(chan) = self.chan(uuid) else { return };
        let mut h = Headers::with_capacity(240);
        h.push("Event-Subclass", subclass);
        events::core_into(
            &mut h,
            &self.id,
            events::Head {
                name: "CUSTOM",
                seq,
                at,
                origin,
            },
        );
        chan.push_basic(&mut h);
        chan.push_vars(&mut h);
        for (n, v) in after {
            h.push(n, v);
        }
        self.emit("CUSTOM", Some(subclass.to_owned()), h, None);
    }
}
