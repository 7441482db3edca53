//! The FreeSWITCH boundary: every value switchdesk puts into a FreeSWITCH command, as a type
//! that can only hold what FreeSWITCH reads literally in that position.
//!
//! FreeSWITCH expands `${var}` and `${api(args)}` (`${system(...)}` runs a shell as the switch's
//! user) in `api`/`bgapi` command lines and in application arguments, unescapes `\`, strips
//! quotes, runs `&app(...)` after an originate's dial string, reads `{...}`, `[...]` and `<...>`
//! there as channel variables and `,`, `|` and `:_:` as more destinations. None of that may come
//! from outside. Each type here refuses, in its only constructor, `$ { } & | ' " \`, `:_:`,
//! control characters (CR, LF, NUL end an ESL command) and whatever else its position gives a
//! meaning to; `switch::render` builds commands from these types only. Pure: `acd` and `blocklist`
//! keep their settings in these types, and serde goes through the same checks (`try_from`),
//! so a configuration file, a JSON body or a stored row with a bad value is refused with the
//! reason.
//!
//! Values FreeSWITCH itself sent (a caller-ID name from SIP) are not refused but reduced
//! ([`CallerIdName::reduce`], [`VarValue::reduce`]) to characters that mean nothing to it.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a value cannot go into a FreeSWITCH command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(String);

/// What every position refuses, and why.
fn forbidden(c: char) -> Option<&'static str> {
    Some(match c {
        '$' => "may not contain '$' (FreeSWITCH expands ${...}, which can run commands)",
        '{' | '}' => "may not contain '{' or '}' (FreeSWITCH reads {...} as channel variables)",
        '&' => "may not contain '&' (FreeSWITCH runs &app(...) after a dial string)",
        '|' => "may not contain '|' (FreeSWITCH reads it as another destination)",
        '\'' | '"' | '\\' => "may not contain quotes or '\\' (FreeSWITCH reads them as quoting)",
        c if c.is_control() => {
            "may not contain control characters (a line break would end the ESL command)"
        }
        _ => return None,
    })
}

/// Checks `text` against the universal refusals, then `allowed`, described by `shape`.
fn check(
    text: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    shape: &str,
) -> Result<(), ArgError> {
    if text.is_empty() {
        return Err(ArgError("is empty".into()));
    }
    if text.chars().count() > max {
        return Err(ArgError(format!("is longer than {max} characters")));
    }
    // What FreeSWITCH would expand or run is named first, wherever it stands.
    if let Some(reason) = text.chars().find_map(forbidden) {
        return Err(ArgError(reason.into()));
    }
    if text.contains(":_:") {
        return Err(ArgError(
            "may not contain ':_:' (FreeSWITCH reads it as another destination)".into(),
        ));
    }
    match text.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(ArgError(format!("may not contain {c:?} ({shape})"))),
        None => Ok(()),
    }
}

macro_rules! fs_arg {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Cow<'static, str>);

        impl $name {
            /// The value, if FreeSWITCH reads it literally here; else why not.
            pub fn parse(text: &str) -> Result<$name, ArgError> {
                let valid: fn(&str) -> Result<(), ArgError> = $check;
                valid(text)?;
                Ok($name(Cow::Owned(text.to_owned())))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ArgError;
            fn try_from(text: String) -> Result<$name, ArgError> {
                $name::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0.into_owned()
            }
        }

        impl std::str::FromStr for $name {
            type Err = ArgError;
            fn from_str(text: &str) -> Result<$name, ArgError> {
                $name::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+')
}

fn check_sound(text: &str) -> Result<(), ArgError> {
    const MAX: usize = 256;
    let (rest, allowed, shape): (&str, fn(char) -> bool, &str) =
        if let Some(rest) = text.strip_prefix("tone_stream://") {
            (
                rest,
                |c| c.is_ascii_alphanumeric() || "%(),;=.+-:".contains(c),
                "a tone_stream:// is digits, letters and %(),;=.+-:",
            )
        } else if let Some(rest) = text.strip_prefix("local_stream://") {
            (rest, path_char, "a local_stream:// names a stream")
        } else if let Some(rest) = text.strip_prefix("silence_stream://") {
            (
                rest,
                |c| c.is_ascii_digit() || c == ',',
                "a silence_stream:// is milliseconds",
            )
        } else if let Some(rest) = text.strip_prefix("say:") {
            (
                rest,
                |c| c.is_alphanumeric() || " .,!?:-".contains(c),
                "a say: phrase is words and .,!?:-",
            )
        } else if let Some(rest) = text.strip_prefix("phrase:") {
            (
                rest,
                |c| c.is_ascii_alphanumeric() || "_.:-".contains(c),
                "a phrase: names a phrase macro",
            )
        } else if text.contains("://") {
            return Err(ArgError(
                "is not a sound file, say:, phrase:, tone_stream://, local_stream:// or \
                 silence_stream://"
                    .into(),
            ));
        } else {
            (
                text,
                path_char,
                "a sound file path is letters, digits and /._-+",
            )
        };
    check(rest, MAX, allowed, shape)?;
    if rest.split('/').any(|segment| segment == "..") {
        return Err(ArgError("may not climb out of a directory ('..')".into()));
    }
    Ok(())
}

fs_arg!(
    /// What `playback` plays: a sound file (relative to the sound prefix or absolute),
    /// `say:` text for TTS, `phrase:`, `tone_stream://`, `local_stream://` or
    /// `silence_stream://`. No other URL scheme (FreeSWITCH would fetch it).
    SoundRef,
    check_sound
);

fs_arg!(
    /// A mod_say language (`en`, `ru`, `pt_BR`).
    Language,
    |text| check(
        text,
        16,
        |c| c.is_ascii_alphabetic() || c == '_',
        "a language is letters and '_'"
    )
);

fn check_extension(text: &str) -> Result<(), ArgError> {
    check(
        text,
        64,
        |c| c.is_ascii_alphanumeric() || "+*#._-".contains(c),
        "an extension is one word of letters, digits and +*#._-",
    )?;
    if text.starts_with('-') {
        // `uuid_transfer` would read it as its `-bleg`/`-both` flag.
        return Err(ArgError("may not start with '-'".into()));
    }
    Ok(())
}

fs_arg!(
    /// A dialplan extension a call is transferred to (`voicemail`, `1000`, `*98`): one word.
    Extension,
    check_extension
);

fs_arg!(
    /// A dialplan context (`default`, `public`): one word.
    DialplanContext,
    |text| {
        check(
            text,
            64,
            |c| c.is_ascii_alphanumeric() || "._-".contains(c),
            "a context is one word of letters, digits and ._-",
        )?;
        if text.starts_with('-') {
            return Err(ArgError("may not start with '-'".into()));
        }
        Ok(())
    }
);

impl Default for DialplanContext {
    fn default() -> DialplanContext {
        DialplanContext(Cow::Borrowed("default"))
    }
}

/// The characters of one FreeSWITCH dial string (`user/1001@default`,
/// `sofia/internal/1001%10.0.0.1`, `sofia/gateway/pstn/+15550001`).
fn dial_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/@._+%:*#=;-".contains(c)
}

const DIAL_SHAPE: &str = "a dial string is one destination: letters, digits and /@._+%:*#=;- \
                          (no spaces, ',', '[', '<')";

fn check_dial(text: &str) -> Result<(), ArgError> {
    check(text, 256, dial_char, DIAL_SHAPE)
}

fs_arg!(
    /// One destination of an originate: no variables, no second destination, no application.
    Endpoint,
    check_dial
);

/// The placeholder a callback dial string carries for the customer's number.
pub const NUMBER: &str = "{number}";

fs_arg!(
    /// A dial string with `{number}` where the customer's number goes
    /// (`sofia/gateway/pstn/{number}`, `user/{number}@pstn`); otherwise an [`Endpoint`].
    DialTemplate,
    |text| check_dial(&text.replace(NUMBER, "0"))
);

impl DialTemplate {
    pub fn has_number(&self) -> bool {
        self.0.contains(NUMBER)
    }

    /// The dial string for `number` (digits, with an optional leading `+`).
    pub fn fill(&self, number: &str) -> Result<Endpoint, ArgError> {
        let digits = number.strip_prefix('+').unwrap_or(number);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ArgError(format!("{number:?} is not a number to dial")));
        }
        Endpoint::parse(&self.0.replace(NUMBER, number))
    }
}

fs_arg!(
    /// A channel variable's name (`switchdesk_queue`).
    VarName,
    |text| check(
        text,
        64,
        |c| c.is_ascii_alphanumeric() || c == '_',
        "a variable name is letters, digits and '_'"
    )
);

/// What a value inside `{name=value}` or `uuid_setvar` may hold: letters of any script, digits,
/// spaces and `+-._@:#*`. Nothing that ends the value (`,` `=` `]` `>`), quotes or expands.
fn value_char(c: char) -> bool {
    c.is_alphanumeric() || " +-._@:#*".contains(c)
}

const VALUE_SHAPE: &str = "a channel variable is letters, digits, spaces and +-._@:#*";

/// Letters, digits and the harmless punctuation kept; everything else becomes a space; runs
/// of spaces folded; cut to `max` characters.
fn reduced(text: &str, max: usize) -> Option<String> {
    let kept: String = text
        .chars()
        .map(|c| if value_char(c) { c } else { ' ' })
        .collect();
    // `:_:` separates destinations anywhere in an originate, even inside `{...}`.
    let mut kept = kept;
    while kept.contains(":_:") {
        kept = kept.replace(":_:", ": :");
    }
    let folded: String = kept
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect();
    let folded = folded.trim_end().to_owned();
    (!folded.is_empty()).then_some(folded)
}

fn check_value(text: &str, max: usize) -> Result<(), ArgError> {
    check(text, max, value_char, VALUE_SHAPE)?;
    if text.trim() != text || text.contains("  ") {
        return Err(ArgError(
            "may not start or end with a space, or hold two in a row".into(),
        ));
    }
    Ok(())
}

fs_arg!(
    /// A channel variable's value: rendered quoted (`'a b'`) inside `{...}` when it has spaces.
    VarValue,
    |text| check_value(text, 128)
);

impl VarValue {
    /// A value FreeSWITCH sent, or any text, reduced so it can never be read as anything else
    /// ([`reduced`]); `None` when nothing is left.
    pub fn reduce(text: &str) -> Option<VarValue> {
        reduced(text, 128).map(|v| VarValue(Cow::Owned(v)))
    }

    pub fn number(n: u64) -> VarValue {
        VarValue(Cow::Owned(n.to_string()))
    }

    pub fn flag(on: bool) -> VarValue {
        VarValue(Cow::Borrowed(if on { "true" } else { "false" }))
    }

    /// As it goes inside `{name=value}`: quoted when it has a space.
    pub fn quoted(&self) -> Cow<'_, str> {
        if self.0.contains(' ') {
            Cow::Owned(format!("'{}'", self.0))
        } else {
            Cow::Borrowed(&self.0)
        }
    }
}

impl From<&ChannelUuid> for VarValue {
    fn from(uuid: &ChannelUuid) -> VarValue {
        VarValue(uuid.0.clone())
    }
}

fs_arg!(
    /// A caller-ID name switchdesk shows on a phone (`Support callback`, `Алексей Ревенко`).
    CallerIdName,
    |text| check_value(text, 80)
);

impl CallerIdName {
    /// A caller-ID name as SIP delivered it, reduced so it cannot expand or break out when it
    /// is sent back: letters of any script, digits, spaces and `+-._@:#*`, 80 characters.
    pub fn reduce(text: &str) -> Option<CallerIdName> {
        reduced(text, 80).map(|v| CallerIdName(Cow::Owned(v)))
    }
}

impl From<CallerIdName> for VarValue {
    fn from(name: CallerIdName) -> VarValue {
        VarValue(name.0)
    }
}

fn check_uuid(text: &str) -> Result<(), ArgError> {
    let shaped = text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if shaped {
        Ok(())
    } else {
        Err(ArgError(format!(
            "{:?} is not a channel UUID (8-4-4-4-12 hex digits)",
            text.chars().take(40).collect::<String>()
        )))
    }
}

fs_arg!(
    /// A channel's UUID, as FreeSWITCH (or switchdesk, for the legs it originates) made it.
    ChannelUuid,
    check_uuid
);

fs_arg!(
    /// A Q.850 hangup cause name (`CALL_REJECTED`, `USER_BUSY`).
    HangupCause,
    |text| check(
        text,
        64,
        |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_',
        "a hangup cause is upper-case letters, digits and '_'"
    )
);

// The values switchdesk ships as defaults; `tests::the_shipped_values_parse` checks each.
impl SoundRef {
    pub const LOCAL_MOH: SoundRef = SoundRef(Cow::Borrowed("local_stream://moh"));
    pub const YOU_ARE_NUMBER: SoundRef = SoundRef(Cow::Borrowed("ivr/ivr-you_are_number.wav"));
    pub const IN_LINE: SoundRef = SoundRef(Cow::Borrowed("ivr/ivr-in_line.wav"));
    pub const HOLD_TIME_IS: SoundRef = SoundRef(Cow::Borrowed("ivr/ivr-hold_time_is.wav"));
    pub const MINUTES: SoundRef = SoundRef(Cow::Borrowed("ivr/ivr-minutes.wav"));
    pub const THANK_YOU: SoundRef = SoundRef(Cow::Borrowed("ivr/ivr-thank_you.wav"));
    /// mod_say_en's own words (`time/minute`, `time/minutes`), in the English pack.
    pub const MINUTE: SoundRef = SoundRef(Cow::Borrowed("time/minute.wav"));
    pub const MINUTES_OTHER: SoundRef = SoundRef(Cow::Borrowed("time/minutes.wav"));
    /// The survey after a call: "Please rate the call from 1 to 5" is a recording to make
    /// (under the English pack's prefix); the invalid-entry prompt is the stock pack's.
    pub const SURVEY: SoundRef = SoundRef(Cow::Borrowed("switchdesk/survey.wav"));
    pub const SURVEY_INVALID: SoundRef =
        SoundRef(Cow::Borrowed("ivr/ivr-that_was_an_invalid_entry.wav"));
    /// A recording to make (freeswitch/README.md): "We know about a problem with your
    /// service and are working on it."
    pub const INCIDENT_NOTICE: SoundRef = SoundRef(Cow::Borrowed("switchdesk/incident_notice.wav"));
}

/// The Russian prompts: absolute paths into the Russian pack (`ru/RU/elena`) where the
/// packages install it, as the English ones are relative to the channel's `sound_prefix`
/// (the English pack). The `time/` words are the pack's own (mod_say_ru plays them); the
/// `switchdesk/` ones are recorded for switchdesk (freeswitch/README.md says what each says).
impl SoundRef {
    pub const RU_YOU_ARE: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/you_are.wav",
    ));
    pub const RU_IN_LINE: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/in_line.wav",
    ));
    pub const RU_HOLD_TIME_IS: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/hold_time_is.wav",
    ));
    pub const RU_CALLBACK_ACCEPTED: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/callback_accepted.wav",
    ));
    pub const RU_INCIDENT_NOTICE: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/incident_notice.wav",
    ));
    pub const RU_SURVEY: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/survey.wav",
    ));
    pub const RU_SURVEY_INVALID: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/survey_invalid.wav",
    ));
    pub const RU_SURVEY_THANKS: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/switchdesk/survey_thanks.wav",
    ));
    pub const RU_MINUTE: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/time/minute.wav",
    ));
    pub const RU_MINUTES_FEW: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/time/minutes-i.wav",
    ));
    pub const RU_MINUTES_MANY: SoundRef = SoundRef(Cow::Borrowed(
        "/usr/share/freeswitch/sounds/ru/RU/elena/time/minutes.wav",
    ));
}

impl SoundRef {
    /// Whether the sound is one word: an argument list split on spaces
    /// (`play_and_get_digits`) reads it whole. Only `say:` text can hold a space.
    pub fn is_one_word(&self) -> bool {
        !self.0.contains(char::is_whitespace)
    }

    /// Whether the sound can be a piece of a [`FileString`]: mod_dptools' `file_string://`
    /// opens each piece as a file (`switch_core_file_open`), so sound files and the
    /// `*_stream://` formats play there, while `say:` (TTS) and `phrase:` are read only by
    /// `playback` itself (`switch_ivr_play_file`), at the top of its argument.
    pub fn joins_file_string(&self) -> bool {
        !self.0.starts_with("say:") && !self.0.starts_with("phrase:")
    }
}

/// Sounds one `playback` plays in turn: `file_string://a!b!c` (one sound is itself). Each
/// piece [`SoundRef::joins_file_string`], and none holds the separator `!` (no sound that
/// joins can: only `say:` text may contain one), so the list splits back into the same sounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileString(Vec<SoundRef>);

impl FileString {
    /// The sounds in order; refused when empty or when one cannot be a piece.
    pub fn new(sounds: Vec<SoundRef>) -> Result<FileString, ArgError> {
        if sounds.is_empty() {
            return Err(ArgError("is empty".into()));
        }
        if let Some(sound) = sounds
            .iter()
            .find(|s| !s.joins_file_string() || s.0.contains('!'))
        {
            return Err(ArgError(format!(
                "{sound} cannot be played inside file_string:// (say: and phrase: are read \
                 only by playback itself)"
            )));
        }
        Ok(FileString(sounds))
    }

    pub fn sounds(&self) -> &[SoundRef] {
        &self.0
    }
}

impl fmt::Display for FileString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [one] = self.0.as_slice() {
            return write!(f, "{one}");
        }
        f.write_str("file_string://")?;
        for (i, sound) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("!")?;
            }
            write!(f, "{sound}")?;
        }
        Ok(())
    }
}

impl Language {
    pub const ENGLISH: Language = Language(Cow::Borrowed("en"));
    pub const RUSSIAN: Language = Language(Cow::Borrowed("ru"));

    /// The language of a BCP 47 tag (`ru`, `en-GB`, `pt_BR`) as mod_say names it: the primary
    /// subtag, lower-cased; `None` when there is none.
    pub fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        // The shipped languages are shared, not copied into every phone-book card.
        match primary.as_str() {
            "en" => Some(Language::ENGLISH),
            "ru" => Some(Language::RUSSIAN),
            _ => Language::parse(&primary).ok(),
        }
    }

    /// Whether a noun after a number takes three forms (one, few, many: `минута`, `минуты`,
    /// `минут`) rather than two (one, other: `minute`, `minutes`).
    fn east_slavic(&self) -> bool {
        matches!(self.as_str(), "ru" | "uk" | "be")
    }

    /// How many forms a noun counted by a number takes (CLDR's cardinal plural categories
    /// that occur for whole numbers): three for Russian, Ukrainian and Belarusian, else two.
    pub fn plural_forms(&self) -> usize {
        if self.east_slavic() {
            3
        } else {
            2
        }
    }

    /// Which of [`Language::plural_forms`] a noun takes after `n`: 0 one, 1 few (other), 2 many.
    pub fn plural_form(&self, n: u32) -> usize {
        if !self.east_slavic() {
            return usize::from(n != 1);
        }
        match (n % 10, n % 100) {
            (1, m) if m != 11 => 0,
            (2..=4, m) if !(12..=14).contains(&m) => 1,
            _ => 2,
        }
    }

    /// The channel variables mod_say reads before it says a number that counts `what`.
    /// mod_say_ru ignores the `say` application's gender argument: its `run_callback` reads
    /// the channel variables `gender` (`male_h` is the masculine ordinal, `female` the
    /// feminine cardinal) and `cases` (`nominativus`). A place in the queue is "вы третий в
    /// очереди" (masculine ordinal), minutes are feminine ("одна минута", "две минуты").
    /// Other languages' modules need none.
    pub fn say_variables(&self, what: Counted) -> Vec<(VarName, VarValue)> {
        if self.as_str() != "ru" {
            return Vec::new();
        }
        let gender = match what {
            Counted::Position => "male_h",
            Counted::Minutes => "female",
        };
        vec![
            (
                VarName(Cow::Borrowed("gender")),
                VarValue(Cow::Borrowed(gender)),
            ),
            (
                VarName(Cow::Borrowed("cases")),
                VarValue(Cow::Borrowed("nominativus")),
            ),
        ]
    }
}

/// The keys a one-digit answer may be, `low..=high` (`1..=5` for a rating): rendered as the
/// regular expression `play_and_get_digits` checks (`^[1-5]`), made from two digits only. No
/// end anchor: a one-key read holds one digit, and `$` is what FreeSWITCH expands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigitRange {
    low: u8,
    high: u8,
}

impl DigitRange {
    /// `low..=high`, two digits 0-9 in order.
    pub fn new(low: u8, high: u8) -> Result<DigitRange, ArgError> {
        if low > high || high > 9 {
            return Err(ArgError(format!(
                "{low}-{high} is not a range of digits (0-9, low to high)"
            )));
        }
        Ok(DigitRange { low, high })
    }

    /// The digit `key` is within the range.
    pub fn contains(&self, key: char) -> bool {
        key.to_digit(10)
            .is_some_and(|d| (u32::from(self.low)..=u32::from(self.high)).contains(&d))
    }

    pub fn low(&self) -> u8 {
        self.low
    }

    pub fn high(&self) -> u8 {
        self.high
    }
}

impl fmt::Display for DigitRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "^[{}-{}]", self.low, self.high)
    }
}

/// What a spoken number counts: it decides the number's form where numbers agree with a noun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// The caller's place in the queue, an ordinal ("третий").
    Position,
    /// The expected wait in minutes, a cardinal agreeing with "минута" (feminine).
    Minutes,
}

impl DialTemplate {
    pub const PSTN_GATEWAY: DialTemplate =
        DialTemplate(Cow::Borrowed("sofia/gateway/pstn/{number}"));
}

impl CallerIdName {
    pub const SUPPORT_CALLBACK: CallerIdName = CallerIdName(Cow::Borrowed("Support callback"));
}

impl HangupCause {
    pub const NORMAL_CLEARING: HangupCause = HangupCause(Cow::Borrowed("NORMAL_CLEARING"));
    pub const CALL_REJECTED: HangupCause = HangupCause(Cow::Borrowed("CALL_REJECTED"));
    pub const USER_BUSY: HangupCause = HangupCause(Cow::Borrowed("USER_BUSY"));
    pub const NO_ROUTE_DESTINATION: HangupCause =
        HangupCause(Cow::Borrowed("NO_ROUTE_DESTINATION"));
}

/// One item of a prompt list: a sound, or a number spoken in the caller's language.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Prompt {
    Sound(SoundRef),
    /// `{position}`: the caller's place in the queue.
    Position,
    /// `{wait_minutes}`: the expected wait, when it can be estimated.
    WaitMinutes,
    /// `{minutes}`: the word "minutes" in the form the expected wait takes (one of the prompt
    /// set's `minutes` sounds, by [`Language::plural_form`]).
    Minutes,
}

impl Prompt {
    pub fn parse(text: &str) -> Result<Prompt, ArgError> {
        match text {
            "{position}" => Ok(Prompt::Position),
            "{wait_minutes}" => Ok(Prompt::WaitMinutes),
            "{minutes}" => Ok(Prompt::Minutes),
            _ if text.starts_with('{') => Err(ArgError(format!(
                "{text:?} is not a placeholder; use {{position}}, {{wait_minutes}} or \
                 {{minutes}}"
            ))),
            _ => SoundRef::parse(text).map(Prompt::Sound),
        }
    }
}

impl TryFrom<String> for Prompt {
    type Error = ArgError;
    fn try_from(text: String) -> Result<Prompt, ArgError> {
        Prompt::parse(&text)
    }
}

impl std::str::FromStr for Prompt {
    type Err = ArgError;
    fn from_str(text: &str) -> Result<Prompt, ArgError> {
        Prompt::parse(text)
    }
}

impl From<Prompt> for String {
    fn from(prompt: Prompt) -> String {
        match prompt {
            Prompt::Sound(sound) => sound.into(),
            Prompt::Position => "{position}".into(),
            Prompt::WaitMinutes => "{wait_minutes}".into(),
            Prompt::Minutes => "{minutes}".into(),
        }
    }
}

/// For `#[serde(default, deserialize_with = "fsarg::empty_is_none")]`: an absent, `null` or
/// empty value is `None`; anything else must parse.
pub fn empty_is_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String, Error = ArgError>,
{
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => T::try_from(text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sounds_of_every_kind_and_nothing_that_expands() {
        for good in [
            "ivr/ivr-you_are_number.wav",
            "/usr/share/freeswitch/sounds/music/8000/suite.wav",
            "tone_stream://%(1000,4000,440);loops=-1",
            "local_stream://moh",
            "silence_stream://500",
            "say:Спасибо, мы перезвоним",
            "phrase:queue_position:3",
        ] {
            assert!(SoundRef::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "${system(id>/tmp/x)}",
            "$${hold_music}",
            "{volume=10}ivr/x.wav",
            "ivr/x.wav&bgsystem(id)",
            "ivr/x.wav\nexecute-app-name: system",
            "shout://example.com/x.mp3",
            "file_string://a.wav!b.wav",
            "../../etc/passwd",
            "ivr/x y.wav",
            "",
        ] {
            assert!(SoundRef::parse(bad).is_err(), "{bad}");
        }
        let err = SoundRef::parse("${system(id)}").unwrap_err().to_string();
        assert!(err.contains("'$'"), "{err}");
    }

    #[test]
    fn a_file_string_joins_files_and_streams_but_never_say_or_phrase() {
        let sound = |s: &str| SoundRef::parse(s).unwrap();
        let list = FileString::new(vec![
            sound("ivr/ivr-minutes.wav"),
            sound("tone_stream://%(1000,4000,440);loops=-1"),
        ])
        .unwrap();
        assert_eq!(
            list.to_string(),
            "file_string://ivr/ivr-minutes.wav!tone_stream://%(1000,4000,440);loops=-1"
        );
        assert_eq!(
            FileString::new(vec![sound("local_stream://moh")])
                .unwrap()
                .to_string(),
            "local_stream://moh"
        );
        for alone in ["say:Thank you! Bye", "phrase:queue_position:3"] {
            assert!(!sound(alone).joins_file_string(), "{alone}");
            assert!(FileString::new(vec![sound("ivr/a.wav"), sound(alone)]).is_err());
        }
        assert!(FileString::new(Vec::new()).is_err());
    }

    #[test]
    fn a_variable_value_never_holds_what_ends_a_uuid_setvar_multi_pair() {
        // `uuid_setvar_multi` splits pairs on ';' and a pair at its first '='.
        for bad in ["a;b", "a=b", "x;switchdesk_queue=sales"] {
            assert!(VarValue::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            VarValue::reduce("x;switchdesk_queue=sales")
                .unwrap()
                .as_str(),
            "x switchdesk_queue sales"
        );
    }

    #[test]
    fn one_word_extensions_contexts_and_one_destination_dial_strings() {
        assert!(Extension::parse("voicemail").is_ok());
        assert!(Extension::parse("*98").is_ok());
        assert!(Extension::parse("voicemail XML other_ctx").is_err());
        assert!(Extension::parse("-both").is_err());
        assert!(DialplanContext::parse("other ctx").is_err());
        assert!(Endpoint::parse("sofia/internal/1001%10.0.0.1").is_ok());
        for bad in [
            "user/1001 &park()",
            "user/1001,user/1002",
            "user/1001:_:user/1002",
            "[x=y]user/1001",
            "<x=y>user/1001",
            "user/${x}",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        let template = DialTemplate::parse("user/{number}@pstn").unwrap();
        assert_eq!(
            template.fill("+15550001").unwrap().as_str(),
            "user/+15550001@pstn"
        );
        assert!(template.fill("1;x").is_err());
        assert!(DialTemplate::parse("user/{number}@pstn &bgsystem(id)").is_err());
        assert!(DialTemplate::parse("user/{num}@pstn").is_err());
    }

    #[test]
    fn names_from_sip_are_reduced_and_keep_their_letters() {
        assert_eq!(
            CallerIdName::reduce("${system(touch /tmp/x)}")
                .unwrap()
                .as_str(),
            "system touch tmp x"
        );
        assert_eq!(
            CallerIdName::reduce("Алексей Ревенко").unwrap().as_str(),
            "Алексей Ревенко"
        );
        assert_eq!(CallerIdName::reduce("''"), None);
        assert!(CallerIdName::parse("Support callback").is_ok());
        assert!(CallerIdName::parse("a'b").is_err());
        assert_eq!(VarValue::reduce("a b").unwrap().quoted(), "'a b'");
        assert_eq!(VarValue::reduce("a:_:_:b").unwrap().as_str(), "a: : :b");
        assert!(VarValue::parse("a:_:b").is_err());
    }

    #[test]
    fn a_digit_range_is_two_digits_in_order() {
        let rating = DigitRange::new(1, 5).unwrap();
        assert_eq!(rating.to_string(), "^[1-5]");
        assert!(rating.contains('1') && rating.contains('5'));
        assert!(!rating.contains('0') && !rating.contains('6') && !rating.contains('#'));
        assert!(DigitRange::new(5, 1).is_err());
        assert!(DigitRange::new(1, 10).is_err());
        assert!(!SoundRef::parse("say:rate us").unwrap().is_one_word());
    }

    #[test]
    fn the_shipped_values_parse() {
        for sound in [
            SoundRef::LOCAL_MOH,
            SoundRef::YOU_ARE_NUMBER,
            SoundRef::IN_LINE,
            SoundRef::HOLD_TIME_IS,
            SoundRef::MINUTES,
            SoundRef::THANK_YOU,
            SoundRef::MINUTE,
            SoundRef::MINUTES_OTHER,
            SoundRef::RU_YOU_ARE,
            SoundRef::RU_IN_LINE,
            SoundRef::RU_HOLD_TIME_IS,
            SoundRef::RU_CALLBACK_ACCEPTED,
            SoundRef::RU_MINUTE,
            SoundRef::RU_MINUTES_FEW,
            SoundRef::RU_MINUTES_MANY,
            SoundRef::SURVEY,
            SoundRef::SURVEY_INVALID,
            SoundRef::RU_SURVEY,
            SoundRef::RU_SURVEY_INVALID,
            SoundRef::RU_SURVEY_THANKS,
            SoundRef::INCIDENT_NOTICE,
            SoundRef::RU_INCIDENT_NOTICE,
        ] {
            assert_eq!(SoundRef::parse(sound.as_str()), Ok(sound.clone()));
            assert!(sound.is_one_word());
        }
        assert!(Language::parse(Language::ENGLISH.as_str()).is_ok());
        assert!(Language::parse(Language::RUSSIAN.as_str()).is_ok());
        for (language, counted) in [
            (Language::RUSSIAN, Counted::Position),
            (Language::RUSSIAN, Counted::Minutes),
        ] {
            for (name, value) in language.say_variables(counted) {
                assert_eq!(VarName::parse(name.as_str()), Ok(name.clone()));
                assert_eq!(VarValue::parse(value.as_str()), Ok(value.clone()));
            }
        }
        assert!(DialTemplate::parse(DialTemplate::PSTN_GATEWAY.as_str()).is_ok());
        assert!(CallerIdName::parse(CallerIdName::SUPPORT_CALLBACK.as_str()).is_ok());
        assert!(DialplanContext::parse(DialplanContext::default().as_str()).is_ok());
        for cause in [
            HangupCause::NORMAL_CLEARING,
            HangupCause::CALL_REJECTED,
            HangupCause::USER_BUSY,
            HangupCause::NO_ROUTE_DESTINATION,
        ] {
            assert!(HangupCause::parse(cause.as_str()).is_ok());
        }
    }

    #[test]
    fn nouns_after_numbers_take_the_languages_plural_form() {
        let ru = Language::RUSSIAN;
        // минута, минуты, минут
        for (n, form) in [
            (1, 0),
            (21, 0),
            (2, 1),
            (4, 1),
            (23, 1),
            (5, 2),
            (11, 2),
            (12, 2),
            (14, 2),
            (0, 2),
            (111, 2),
            (101, 0),
        ] {
            assert_eq!(ru.plural_form(n), form, "{n}");
        }
        assert_eq!(ru.plural_forms(), 3);
        let en = Language::ENGLISH;
        assert_eq!(
            (en.plural_form(1), en.plural_form(2), en.plural_form(0)),
            (0, 1, 1)
        );
        assert_eq!(en.plural_forms(), 2);
        assert!(en.say_variables(Counted::Position).is_empty());
        let said = |c| {
            ru.say_variables(c)
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            said(Counted::Position),
            ["gender=male_h", "cases=nominativus"]
        );
        assert_eq!(
            said(Counted::Minutes),
            ["gender=female", "cases=nominativus"]
        );
    }

    #[test]
    fn a_contacts_language_tag_is_read_as_a_say_language() {
        assert_eq!(Language::of_tag("ru"), Some(Language::RUSSIAN));
        assert_eq!(Language::of_tag("en-GB"), Some(Language::ENGLISH));
        assert_eq!(Language::of_tag("RU_ru"), Some(Language::RUSSIAN));
        assert_eq!(Language::of_tag(""), None);
        assert_eq!(Language::of_tag("${x}"), None);
    }

    #[test]
    fn uuids_are_uuid_shaped() {
        assert!(ChannelUuid::parse("6b86e3a6-1b4f-4a51-9a3c-2f0c9b6f3e1d").is_ok());
        assert!(ChannelUuid::parse("c1").is_err());
        assert!(ChannelUuid::parse("6b86e3a6-1b4f-4a51-9a3c-2f0c9b6f3e1d all").is_err());
    }

    #[test]
    fn serde_refuses_with_the_reason_and_round_trips() {
        let err = serde_json::from_str::<SoundRef>("\"${system(id)}\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'$'"), "{err}");
        let prompts: Vec<Prompt> = serde_json::from_str("[\"ivr/a.wav\", \"{position}\"]").unwrap();
        assert_eq!(
            serde_json::to_string(&prompts).unwrap(),
            "[\"ivr/a.wav\",\"{position}\"]"
        );
        assert!(serde_json::from_str::<Prompt>("\"{system}\"").is_err());
    }
}
