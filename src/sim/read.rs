//! `play_and_get_digits` as mod_dptools and `switch_play_and_get_digits` (FreeSWITCH 1.10,
//! `switch_ivr_play_say.c`) run it: the arguments `min max tries timeout terminators file
//! invalid_file var_name regexp [digit_timeout]` split on spaces (a timeout under 1000 ms is
//! 1000, no terminators is `#`). Each try plays the prompt, which any digit breaks (the digit is
//! kept), then waits `timeout` for the first digit and `digit_timeout` (else `timeout`) for each
//! next one, until `max` digits or a terminator; a lone terminator counts as nothing. Digits
//! that match the regular expression end the application with `var_name` set to them (and
//! `read_result=success`); otherwise `var_name` is cleared (`<var_name>_invalid` keeps what was
//! pressed), the invalid file plays, and the next try starts, until `tries` are spent. The
//! application sets no response (`Application-Response: _none_`). A hangup ends it at once
//! (`apps::interrupt`); a digit pressed when nothing reads is only a DTMF event.
//!
//! Each file played fires PLAYBACK_START and PLAYBACK_STOP as `playback` does. A caller's
//! scripted digits come from `Switch::press` or the caller's `dtmf` offsets.

use std::time::Duration;

use super::apps::{atoi, playback_length, Stop};
use super::events::{origin, Vars};
use super::switch::{Switch, Timer};

/// What one `play_and_get_digits` asks for, read from its argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReadSpec {
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) tries: u32,
    pub(crate) timeout: Duration,
    pub(crate) digit_timeout: Duration,
    pub(crate) terminators: String,
    pub(crate) file: String,
    pub(crate) invalid: String,
    pub(crate) var: String,
    pub(crate) regex: String,
}

impl ReadSpec {
    /// mod_dptools' reading of the argument; `None` without one ("No arguments specified").
    pub(crate) fn parse(arg: &str) -> Option<ReadSpec> {
        if arg.trim().is_empty() {
            return None;
        }
        let argv = super::api::separate(arg, 11);
        let word = |i: usize| argv.get(i).cloned().unwrap_or_default();
        let number = |i: usize| argv.get(i).map_or(0, |w| atoi(w));
        let min = usize::try_from(number(0).max(0)).unwrap_or(0);
        let max = usize::try_from(number(1).max(0)).unwrap_or(0).max(min);
        let tries = u32::try_from(number(2).max(0)).unwrap_or(0);
        let timeout = if argv.len() > 3 { number(3) } else { 1000 };
        let timeout = Duration::from_millis(u64::try_from(timeout.max(1000)).unwrap_or(1000));
        let digit_timeout = u64::try_from(number(9).max(0)).unwrap_or(0);
        let digit_timeout = if digit_timeout == 0 {
            timeout
        } else {
            Duration::from_millis(digit_timeout)
        };
        let terminators = Some(word(4))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "#".into());
        Some(ReadSpec {
            min,
            max,
            tries,
            timeout,
            digit_timeout,
            terminators,
            file: word(5),
            invalid: word(6),
            var: word(7),
            regex: word(8),
        })
    }

    /// `switch_regex_match`: no expression matches anything; one that does not compile
    /// matches nothing.
    fn matches(&self, digits: &str) -> bool {
        if self.regex.is_empty() {
            return true;
        }
        regex::Regex::new(&self.regex).is_ok_and(|r| r.is_match(digits))
    }
}

/// Where a running `play_and_get_digits` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The prompt of a try plays; a digit breaks it.
    Prompt,
    /// Waiting for digits after the prompt.
    Collect,
    /// The invalid file plays after a failed try.
    Invalid,
}

/// A running `play_and_get_digits` on a leg.
#[derive(Clone, Debug)]
pub(crate) struct Reading {
    pub(crate) spec: ReadSpec,
    pub(crate) tries_left: u32,
    pub(crate) phase: Phase,
    pub(crate) digits: String,
    /// A terminator ended the collection.
    pub(crate) terminated: bool,
}

impl Switch {
    /// Starts `play_and_get_digits` on `uuid`; false when it ends at once (no argument, no
    /// tries, or the leg is not ready).
    pub(crate) fn start_read(
        &mut self,
        uuid: &str,
        arg: &str,
        app_uuid: &str,
        broadcast: bool,
    ) -> bool {
        self.execute_event(uuid, "play_and_get_digits", arg, app_uuid);
        let Some(spec) = ReadSpec::parse(arg) else {
            self.execute_complete_event(uuid, "play_and_get_digits", arg, "_none_", app_uuid);
            return false;
        };
        if !spec.var.is_empty() && !spec.regex.is_empty() {
            if let Some(c) = self.chan_mut(uuid) {
                c.vars.unset(&format!("{}_invalid", spec.var));
            }
        }
        self.pre_answer(uuid);
        if spec.tries == 0 || !self.live(uuid) {
            self.execute_complete_event(uuid, "play_and_get_digits", arg, "_none_", app_uuid);
            return false;
        }
        let started = self.micros();
        let token = self.token();
        if let Some(c) = self.chan_mut(uuid) {
            c.timed = Some(super::channel::Running {
                app: "play_and_get_digits".to_owned(),
                arg: arg.to_owned(),
                app_uuid: app_uuid.to_owned(),
                file: None,
                started,
                token,
                broadcast,
            });
            c.reading = Some(Reading {
                tries_left: spec.tries,
                spec,
                phase: Phase::Prompt,
                digits: String::new(),
                terminated: false,
            });
        }
        self.begin_try(uuid);
        true
    }

    /// `switch_ivr_read`: the variables cleared, the prompt played.
    fn begin_try(&mut self, uuid: &str) {
        let Some(c) = self.chan_mut(uuid) else { return };
        let Some(r) = c.reading.as_mut() else { return };
        r.phase = Phase::Prompt;
        r.digits.clear();
        r.terminated = false;
        let file = r.spec.file.clone();
        let var = r.spec.var.clone();
        c.vars.unset("read_result");
        if !var.is_empty() {
            c.vars.unset(&var);
        }
        if let Some((after, digit)) = self.caller_read_digit(uuid) {
            self.schedule(after, Timer::Dtmf(uuid.to_owned(), digit));
        }
        if file.is_empty() || file.eq_ignore_ascii_case("silence") {
            self.collect(uuid);
        } else {
            self.play_step(uuid, &file);
        }
    }

    /// The next digit scripted for the leg's digit collections (`Simulator::answer_reads`).
    fn caller_read_digit(&mut self, uuid: &str) -> Option<(Duration, char)> {
        self.read_answers.get_mut(uuid).and_then(|a| a.pop_front())
    }

    /// Plays one file inside the application (PLAYBACK_START; its end on the agenda).
    fn play_step(&mut self, uuid: &str, file: &str) {
        self.fire(
            uuid,
            "PLAYBACK_START",
            origin::PLAYBACK_START,
            Vars::With,
            &[],
            &[("Playback-File-Path", file.to_owned())],
        );
        let length = playback_length(file, self.sound_file_length);
        let token = self.token();
        if let Some(running) = self.chan_mut(uuid).and_then(|c| c.timed.as_mut()) {
            running.file = Some(file.to_owned());
            running.token = token;
        }
        if let Some(length) = length {
            self.schedule(length, Timer::AppDone(uuid.to_owned(), token));
        }
    }

    /// The file playing inside the application stops (`status`: done or break).
    fn stop_step(&mut self, uuid: &str, status: &str) {
        let Some(file) = self
            .chan_mut(uuid)
            .and_then(|c| c.timed.as_mut())
            .and_then(|r| r.file.take())
        else {
            return;
        };
        self.fire(
            uuid,
            "PLAYBACK_STOP",
            origin::PLAYBACK_STOP,
            Vars::With,
            &[],
            &[
                ("Playback-File-Path", file),
                ("Playback-Status", status.to_owned()),
            ],
        );
    }

    /// Waits for digits (`timeout` for the first, `digit_timeout` after one), unless the
    /// prompt already brought enough.
    fn collect(&mut self, uuid: &str) {
        let Some(r) = self.chan(uuid).and_then(|c| c.reading.as_ref()) else {
            return;
        };
        if r.digits.len() >= r.spec.max.max(1) || r.terminated {
            return self.try_done(uuid);
        }
        let wait = if r.digits.is_empty() {
            r.spec.timeout
        } else {
            r.spec.digit_timeout
        };
        let token = self.token();
        if let Some(c) = self.chan_mut(uuid) {
            if let Some(r) = c.reading.as_mut() {
                r.phase = Phase::Collect;
            }
            if let Some(running) = c.timed.as_mut() {
                running.token = token;
            }
        }
        self.schedule(wait, Timer::AppDone(uuid.to_owned(), token));
    }

    /// The agenda's step for a running `play_and_get_digits` (its token was current).
    pub(crate) fn read_timer(&mut self, uuid: &str) {
        let Some(phase) = self
            .chan(uuid)
            .and_then(|c| c.reading.as_ref())
            .map(|r| r.phase.clone())
        else {
            return;
        };
        match phase {
            Phase::Prompt => {
                self.stop_step(uuid, "done");
                self.collect(uuid);
            }
            // Timed out waiting for (more) digits.
            Phase::Collect => self.try_done(uuid),
            Phase::Invalid => {
                self.stop_step(uuid, "done");
                self.next_try(uuid);
            }
        }
    }

    /// A digit reached a leg: taken by a running `play_and_get_digits` in its prompt or its
    /// collection; true if it was.
    pub(crate) fn read_digit(&mut self, uuid: &str, digit: char) -> bool {
        let Some(c) = self.chan_mut(uuid) else {
            return false;
        };
        let Some(r) = c.reading.as_mut() else {
            return false;
        };
        match r.phase {
            Phase::Prompt => {
                // switch_ivr_play_file with a buffer: any digit breaks, and is kept.
                r.digits.push(digit);
                self.stop_step(uuid, "break");
            }
            Phase::Collect => {
                if r.spec.terminators.contains(digit) {
                    r.terminated = true;
                    c.vars.set("read_terminator_used", digit.to_string());
                } else {
                    r.digits.push(digit);
                }
            }
            Phase::Invalid => return false,
        }
        self.collect(uuid);
        true
    }

    /// One try's digits are in: success ends the application, anything else plays the
    /// invalid file.
    fn try_done(&mut self, uuid: &str) {
        let Some(c) = self.chan_mut(uuid) else { return };
        let Some(r) = c.reading.as_mut() else { return };
        let mut digits = r.digits.clone();
        // A lone terminator pressed during the prompt is no input.
        if r.spec.max == 1 && digits.len() == 1 && r.spec.terminators.contains(digits.as_str()) {
            digits.clear();
        }
        let enough = !digits.is_empty() && digits.len() >= r.spec.min;
        let result = if enough || r.terminated {
            "success"
        } else {
            "timeout"
        };
        c.vars.set("read_result", result);
        let var = r.spec.var.clone();
        if !var.is_empty() && !digits.is_empty() {
            c.vars.set(&var, digits.clone());
        }
        if enough && r.spec.matches(&digits) {
            c.reading = None;
            return self.stop_and_continue(uuid, Stop::Done);
        }
        if !var.is_empty() {
            c.vars.unset(&var);
            if enough && !r.spec.regex.is_empty() {
                c.vars.set(&format!("{var}_invalid"), digits);
            }
        }
        r.phase = Phase::Invalid;
        let invalid = r.spec.invalid.clone();
        if invalid.is_empty() {
            self.next_try(uuid);
        } else {
            self.play_step(uuid, &invalid);
        }
    }

    /// The next try, or the end after the last.
    fn next_try(&mut self, uuid: &str) {
        let Some(r) = self.chan_mut(uuid).and_then(|c| c.reading.as_mut()) else {
            return;
        };
        r.tries_left = r.tries_left.saturating_sub(1);
        if r.tries_left == 0 {
            if let Some(c) = self.chan_mut(uuid) {
                c.reading = None;
            }
            self.stop_and_continue(uuid, Stop::Done);
        } else {
            self.begin_try(uuid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_read_as_mod_dptools_reads_them() {
        let spec = ReadSpec::parse(
            "1 1 2 5000 # switchdesk/survey.wav ivr/ivr-that_was_an_invalid_entry.wav switchdesk_rating ^[1-5] 3000",
        )
        .unwrap();
        assert_eq!((spec.min, spec.max, spec.tries), (1, 1, 2));
        assert_eq!(spec.timeout, Duration::from_millis(5000));
        assert_eq!(spec.digit_timeout, Duration::from_millis(3000));
        assert_eq!(spec.terminators, "#");
        assert_eq!(spec.file, "switchdesk/survey.wav");
        assert_eq!(spec.var, "switchdesk_rating");
        assert!(spec.matches("4"));
        assert!(!spec.matches("9"));
        // A timeout under a second is a second; no terminators is '#'; max never below min.
        let spec = ReadSpec::parse("2 1 1 10").unwrap();
        assert_eq!(spec.timeout, Duration::from_millis(1000));
        assert_eq!(spec.digit_timeout, Duration::from_millis(1000));
        assert_eq!(spec.max, 2);
        assert!(spec.matches("anything"));
        assert_eq!(ReadSpec::parse("  "), None);
        // An expression that does not compile matches nothing.
        let spec = ReadSpec::parse("1 1 1 1000 # a.wav b.wav v ^[1-$").unwrap();
        assert!(!spec.matches("1"));
    }
}
