//! The one place ESL commands are encoded.
//!
//! Every command is a block of lines ending in a blank line; a CR or LF inside an argument would
//! end the block early and let the rest be read as a second command, so arguments carrying one
//! (or a NUL, where FreeSWITCH's C strings end) are refused here rather than escaped. The only
//! free-form bytes allowed are a `sendmsg` body, which travels behind its `content-length`.
//! What FreeSWITCH then does with an argument (`${...}` expansion) is `crate::fsarg`'s concern.

pub use super::event::EventFormat;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("{what} contains a line break, which would inject a second ESL command")]
    LineBreak { what: &'static str },
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} contains a NUL byte, where FreeSWITCH would cut the command short")]
    Nul { what: &'static str },
}

/// What `sendmsg` asks the channel to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallCommand {
    /// Run a dialplan application on the channel (`execute-app-name`/`execute-app-arg`).
    Execute {
        app: String,
        arg: Option<String>,
        /// Queue behind the running application instead of interrupting it.
        event_lock: bool,
        /// Comes back as `Application-UUID` in CHANNEL_EXECUTE[_COMPLETE].
        event_uuid: Option<String>,
        loops: Option<u32>,
    },
    Hangup {
        cause: String,
    },
    /// Any other call-command (`nomedia`, `unicast`, ...), with its headers.
    Other {
        name: String,
        headers: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Auth {
        password: String,
    },
    /// `event <format> <names...>`; the names accumulate on the connection.
    Events {
        format: EventFormat,
        names: Vec<String>,
    },
    NoEvents,
    NixEvent {
        names: Vec<String>,
    },
    Filter {
        header: String,
        value: String,
    },
    FilterDelete {
        header: String,
        value: Option<String>,
    },
    Api {
        command: String,
    },
    BgApi {
        command: String,
        job_uuid: String,
    },
    SendMsg {
        uuid: String,
        call: CallCommand,
        body: Option<String>,
    },
    MyEvents {
        uuid: String,
    },
    Linger {
        seconds: u32,
    },
    Log {
        level: u8,
    },
    NoLog,
    DivertEvents {
        on: bool,
    },
    Exit,
}

fn check<'a>(what: &'static str, value: &'a str) -> Result<&'a str, CommandError> {
    if value.contains(['\r', '\n']) {
        Err(CommandError::LineBreak { what })
    } else if value.contains('\0') {
        Err(CommandError::Nul { what })
    } else {
        Ok(value)
    }
}

fn check_nonempty<'a>(what: &'static str, value: &'a str) -> Result<&'a str, CommandError> {
    if value.trim().is_empty() {
        return Err(CommandError::Empty { what });
    }
    check(what, value)
}

impl Command {
    pub fn api(command: impl Into<String>) -> Command {
        Command::Api {
            command: command.into(),
        }
    }

    pub fn bgapi(command: impl Into<String>, job_uuid: impl Into<String>) -> Command {
        Command::BgApi {
            command: command.into(),
            job_uuid: job_uuid.into(),
        }
    }

    /// `sendmsg <uuid>` with `call-command: execute`.
    pub fn execute(
        uuid: impl Into<String>,
        app: impl Into<String>,
        arg: Option<String>,
        event_lock: bool,
    ) -> Command {
        Command::SendMsg {
            uuid: uuid.into(),
            call: CallCommand::Execute {
                app: app.into(),
                arg,
                event_lock,
                event_uuid: None,
                loops: None,
            },
            body: None,
        }
    }

    /// The bytes to write, ending in the blank line that closes the block.
    pub fn encode(&self) -> Result<Vec<u8>, CommandError> {
        let mut out = String::with_capacity(64);
        let mut body: Option<&str> = None;
        match self {
            Command::Auth { password } => {
                out.push_str("auth ");
                out.push_str(check_nonempty("password", password)?);
            }
            Command::Events { format, names } => {
                out.push_str("event ");
                out.push_str(format.as_str());
                for name in names {
                    out.push(' ');
                    out.push_str(check_nonempty("event name", name)?);
                }
            }
            Command::NoEvents => out.push_str("noevents"),
            Command::NixEvent { names } => {
                out.push_str("nixevent");
                for name in names {
                    out.push(' ');
                    out.push_str(check_nonempty("event name", name)?);
                }
            }
            Command::Filter { header, value } => {
                out.push_str("filter ");
                out.push_str(check_nonempty("filter header", header)?);
                out.push(' ');
                out.push_str(check_nonempty("filter value", value)?);
            }
            Command::FilterDelete { header, value } => {
                out.push_str("filter delete ");
                out.push_str(check_nonempty("filter header", header)?);
                if let Some(value) = value {
                    out.push(' ');
                    out.push_str(check("filter value", value)?);
                }
            }
            Command::Api { command } => {
                out.push_str("api ");
                out.push_str(check_nonempty("api command", command)?);
            }
            Command::BgApi { command, job_uuid } => {
                out.push_str("bgapi ");
                out.push_str(check_nonempty("bgapi command", command)?);
                out.push_str("\nJob-UUID: ");
                out.push_str(check_nonempty("Job-UUID", job_uuid)?);
            }
            Command::SendMsg {
                uuid,
                call,
                body: msg_body,
            } => {
                out.push_str("sendmsg ");
                out.push_str(check_nonempty("channel uuid", uuid)?);
                match call {
                    CallCommand::Execute {
                        app,
                        arg,
                        event_lock,
                        event_uuid,
                        loops,
                    } => {
                        out.push_str("\ncall-command: execute\nexecute-app-name: ");
                        out.push_str(check_nonempty("application", app)?);
                        if let Some(arg) = arg {
                            out.push_str("\nexecute-app-arg: ");
                            out.push_str(check("application argument", arg)?);
                        }
                        if let Some(loops) = loops {
                            out.push_str(&format!("\nloops: {loops}"));
                        }
                        if *event_lock {
                            out.push_str("\nevent-lock: true");
                        }
                        if let Some(id) = event_uuid {
                            out.push_str("\nevent-uuid: ");
                            out.push_str(check_nonempty("event-uuid", id)?);
                        }
                    }
                    CallCommand::Hangup { cause } => {
                        out.push_str("\ncall-command: hangup\nhangup-cause: ");
                        out.push_str(check_nonempty("hangup cause", cause)?);
                    }
                    CallCommand::Other { name, headers } => {
                        out.push_str("\ncall-command: ");
                        out.push_str(check_nonempty("call-command", name)?);
                        for (h, v) in headers {
                            out.push('\n');
                            out.push_str(check_nonempty("header name", h)?);
                            if h.contains(':') {
                                return Err(CommandError::LineBreak {
                                    what: "header name",
                                });
                            }
                            out.push_str(": ");
                            out.push_str(check("header value", v)?);
                        }
                    }
                }
                if let Some(b) = msg_body {
                    out.push_str(&format!(
                        "\ncontent-type: text/plain\ncontent-length: {}",
                        b.len()
                    ));
                    body = Some(b);
                }
            }
            Command::MyEvents { uuid } => {
                out.push_str("myevents ");
                out.push_str(check_nonempty("channel uuid", uuid)?);
            }
            Command::Linger { seconds } => out.push_str(&format!("linger {seconds}")),
            Command::Log { level } => out.push_str(&format!("log {level}")),
            Command::NoLog => out.push_str("nolog"),
            Command::DivertEvents { on } => out.push_str(if *on {
                "divert_events on"
            } else {
                "divert_events off"
            }),
            Command::Exit => out.push_str("exit"),
        }
        out.push_str("\n\n");
        let mut bytes = out.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b.as_bytes());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_captured_client_did() {
        assert_eq!(Command::api("status").encode().unwrap(), b"api status\n\n");
        assert_eq!(
            Command::bgapi("status", "6153d242-2bed-462a-a327-b5e41671ec84")
                .encode()
                .unwrap(),
            b"bgapi status\nJob-UUID: 6153d242-2bed-462a-a327-b5e41671ec84\n\n"
        );
        let play = Command::execute(
            "6b86",
            "playback",
            Some("tone_stream://%(300,200,600);loops=2".into()),
            true,
        );
        assert_eq!(
            String::from_utf8(play.encode().unwrap()).unwrap(),
            "sendmsg 6b86\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: tone_stream://%(300,200,600);loops=2\nevent-lock: true\n\n"
        );
        let with_body = Command::SendMsg {
            uuid: "c8b4".into(),
            call: CallCommand::Execute {
                app: "set".into(),
                arg: None,
                event_lock: false,
                event_uuid: None,
                loops: None,
            },
            body: Some("cc_body_form=yes".into()),
        };
        assert_eq!(
            String::from_utf8(with_body.encode().unwrap()).unwrap(),
            "sendmsg c8b4\ncall-command: execute\nexecute-app-name: set\ncontent-type: text/plain\ncontent-length: 16\n\ncc_body_form=yes"
        );
    }

    #[test]
    fn line_breaks_in_arguments_are_refused() {
        assert_eq!(
            Command::api("status\n\napi uuid_kill x").encode(),
            Err(CommandError::LineBreak {
                what: "api command"
            })
        );
        assert!(Command::bgapi("originate x", "id\r").encode().is_err());
        assert!(
            Command::execute("u", "playback", Some("a\nb".into()), false)
                .encode()
                .is_err()
        );
        assert!(Command::Auth {
            password: "Clue\rCon".into()
        }
        .encode()
        .is_err());
        assert!(Command::api(" ").encode().is_err());
        assert_eq!(
            Command::api("uuid_kill x\0 y").encode(),
            Err(CommandError::Nul {
                what: "api command"
            })
        );
    }
}
