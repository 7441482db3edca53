//! Phone numbers to E.164, by libphonenumber's rules (the `phonenumber` crate) with a default
//! region for numbers written the national way. `8 (495) 123-45-67`, `+7 495 1234567`,
//! `007 495 123 45 67`, `tel:+7-495-123-45-67` and `sip:+74951234567@carrier;user=phone` are
//! all `+74951234567` with region `RU`.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};

use phonenumber::country;
use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use phonenumber::Mode;

/// Why text is not a phone number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("no digits in {0:?}")]
    NoDigits(String),
    #[error("{0:?} is not a phone number: {1}")]
    Unparsable(String, String),
    #[error("{0:?} is not a SIP or tel URI a number can be read from")]
    BadUri(String),
    /// Written with a country code, but no number of that country reads so.
    #[error("{0:?} is not a valid number")]
    Invalid(String),
    /// Written the national way and valid in none of the regions tried.
    #[error("{written:?} is not a valid number for {regions}")]
    InvalidInRegions { written: String, regions: String },
    /// Written the national way and valid in more than one candidate region.
    #[error("{written:?} could be {readings}: write it with its country code")]
    Ambiguous { written: String, readings: String },
    /// Written the national way, and no region is configured to read it.
    #[error("{0:?} has no country code and phonebook.default_region is not set")]
    NoRegion(String),
}

/// How a number is shown to a person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// `8 (495) 123-45-67`: as dialled inside the default region.
    National,
    /// `+7 495 123-45-67`
    #[default]
    International,
    /// `+74951234567`
    E164,
}

/// Reads numbers for one deployment: the region its customers dial from by default, and the
/// regions a nationally written number may also come from (a Russian team's British and
/// American customers). A number is only ever read as one libphonenumber calls valid: text
/// that is not such a number is refused with the reason, never rewritten into another number.
#[derive(Clone)]
pub struct Numbering {
    region: Option<country::Id>,
    /// Tried in order when a nationally written number is not valid in `region`; `region`
    /// itself is not among them.
    candidates: Arc<[country::Id]>,
    /// How [`Numbering::shown`] writes numbers for people (`[phonebook] number_style`).
    style: Style,
}

impl fmt::Debug for Numbering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numbering({})", self.regions_label())
    }
}

/// Longest E.164 number (15 digits) plus room for a written form's punctuation.
const MAX_INPUT: usize = 128;

/// The shortest and longest internal extensions kept as ones (`101`, `1001`, `20315`).
const MIN_EXTENSION_DIGITS: usize = 3;
const MAX_EXTENSION_DIGITS: usize = 6;

fn region_id(region: &str) -> Result<country::Id, String> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| {
            format!("unknown region {region:?} (expected an ISO 3166 code like RU, GB, US)")
        })
}

impl Numbering {
    /// `region` is an ISO 3166 code (`RU`, `GB`, `US`); no other region is tried.
    pub fn new(region: &str) -> Result<Numbering, String> {
        Numbering::with_regions::<&str>(Some(region), &[])
    }

    /// Reads national forms in `region` first, then in each of `candidates` in order,
    /// accepting a reading valid in exactly one of them. Without a region, only the
    /// candidates read national forms (and without either, only international forms read).
    pub fn with_regions<S: AsRef<str>>(
        region: Option<&str>,
        candidates: &[S],
    ) -> Result<Numbering, String> {
        let region = region.map(region_id).transpose()?;
        let mut others: Vec<country::Id> = Vec::new();
        for candidate in candidates {
            let id = region_id(candidate.as_ref())?;
            if Some(id) != region && !others.contains(&id) {
                others.push(id);
            }
        }
        Ok(Numbering {
            region,
            candidates: others.into(),
            style: Style::default(),
        })
    }

    /// The same reading, showing numbers in `style`.
    pub fn styled(self, style: Style) -> Numbering {
        Numbering { style, ..self }
    }

    /// A number as the screens show it: read as [`Numbering::normalize`] reads it, then
    /// written in the deployment's style; what does not read as a number (an extension, an
    /// anonymous caller) as it came. The one place a number served to a screen is formatted.
    pub fn shown(&self, number: &str) -> String {
        match self.normalize(number) {
            Ok(e164) => self.display(&e164, self.style),
            Err(_) => number.to_owned(),
        }
    }

    /// The default region's code (`RU`), when one is set.
    pub fn region(&self) -> Option<&'static str> {
        self.region.map(id_code)
    }

    /// Every region national forms are read in, in order: `RU, GB, US`.
    pub fn regions_label(&self) -> String {
        let all: Vec<&str> = self
            .region
            .iter()
            .chain(self.candidates.iter())
            .map(|id| id_code(*id))
            .collect();
        if all.is_empty() {
            "no region".to_owned()
        } else {
            all.join(", ")
        }
    }

    /// The number in E.164 form. Accepts written forms in any region's style, international
    /// prefixes `+`, `00` and the default region's own (`810` in Russia), SIP and SIPS URIs
    /// (the user part) and tel URIs. Only a number libphonenumber calls valid is returned.
    pub fn normalize(&self, raw: &str) -> Result<String, NumberError> {
        let text = raw.trim();
        if text.len() > MAX_INPUT {
            return Err(NumberError::Unparsable(
                truncate(text),
                "longer than any phone number".into(),
            ));
        }
        let dialled = user_part(text)?;
        // `+44 (0)20 ...`: the `(0)` is the trunk prefix shown for callers inside the country.
        let written = dialled.replace("(0)", "");
        let digits: String = written.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(NumberError::NoDigits(text.to_owned()));
        }
        if digits.len() > 17 {
            return Err(NumberError::Unparsable(
                truncate(dialled),
                format!("{} digits is longer than any phone number", digits.len()),
            ));
        }
        match self.international_part(&written, &digits) {
            Some(international) => international_reading(international)
                .ok_or_else(|| NumberError::Invalid(dialled.to_owned())),
            None => self.national(dialled, &written, &digits),
        }
    }

    /// An internal extension as written (`1001`): three to six digits and nothing else.
    pub fn extension(&self, raw: &str) -> Option<String> {
        let text = raw.trim();
        let text = user_part(text).unwrap_or(text);
        ((MIN_EXTENSION_DIGITS..=MAX_EXTENSION_DIGITS).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.to_owned())
    }

    /// What the phone book files a number under: its E.164 form, else the internal
    /// extension it is. `None` for text that is neither.
    pub fn key(&self, raw: &str) -> Option<String> {
        self.normalize(raw).ok().or_else(|| self.extension(raw))
    }

    /// The digits after an international prefix: `+`, `00` (used in most of the world, even
    /// where the region's own differs) or the default region's own (`810` in Russia, `011`
    /// in the US).
    fn international_part<'a>(&self, written: &str, digits: &'a str) -> Option<&'a str> {
        if written.trim_start().starts_with('+') {
            return Some(digits);
        }
        if let Some(rest) = digits.strip_prefix("00") {
            return Some(rest);
        }
        let metadata = self.region.and_then(metadata_of)?;
        // The preferred form when several exist (`8~10`, `~` a pause for the dial tone), else
        // the one prefix when it is plain digits rather than a pattern.
        let own = match metadata.preferred_international_prefix() {
            Some(preferred) => preferred.replace('~', ""),
            None => metadata.international_prefix()?.as_str().to_owned(),
        };
        digits
            .strip_prefix(own.as_str())
            .filter(|_| !own.is_empty() && own.bytes().all(|b| b.is_ascii_digit()))
    }

    /// A number written without a country code: valid in the default region, else valid in
    /// exactly one of the candidate regions.
    fn national(&self, dialled: &str, written: &str, digits: &str) -> Result<String, NumberError> {
        if let Some(e164) = self
            .region
            .and_then(|r| national_reading(r, written, digits))
        {
            return Ok(e164);
        }
        if self.region.is_none() && self.candidates.is_empty() {
            return Err(NumberError::NoRegion(dialled.to_owned()));
        }
        let readings: BTreeSet<(String, &'static str)> = self
            .candidates
            .iter()
            .filter_map(|r| national_reading(*r, written, digits).map(|e| (e, id_code(*r))))
            .collect();
        let numbers: BTreeSet<&str> = readings.iter().map(|(e, _)| e.as_str()).collect();
        match numbers.len() {
            1 => Ok(numbers.into_iter().next().unwrap_or_default().to_owned()),
            0 => Err(NumberError::InvalidInRegions {
                written: dialled.to_owned(),
                regions: self.regions_label(),
            }),
            _ => Err(NumberError::Ambiguous {
                written: dialled.to_owned(),
                readings: readings
                    .iter()
                    .map(|(e164, region)| format!("{e164} ({region})"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            }),
        }
    }

    /// An E.164 prefix for a number range (`+7 495 123` → `+7495123`): digits only, with the
    /// country code; a national prefix is read by the default region's trunk prefix.
    pub fn normalize_prefix(&self, raw: &str) -> Result<String, NumberError> {
        let text = raw.trim();
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(NumberError::NoDigits(text.to_owned()));
        }
        if digits.len() > 15 {
            return Err(NumberError::Unparsable(
                truncate(text),
                "longer than any phone number".into(),
            ));
        }
        let international = if text.starts_with('+') {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else {
            let metadata = self
                .region
                .and_then(metadata_of)
                .ok_or_else(|| NumberError::NoRegion(text.to_owned()))?;
            let national = match metadata.national_prefix() {
                Some(trunk) => digits.strip_prefix(trunk).unwrap_or(&digits),
                None => &digits,
            };
            format!("{}{national}", metadata.country_code())
        };
        if split_country_code(&international).is_none() {
            return Err(NumberError::Unparsable(
                text.to_owned(),
                "it does not start with a country code".into(),
            ));
        }
        Ok(format!("+{international}"))
    }

    /// `e164` for a person to read, in `style`. Text that is not a number comes back as it is.
    pub fn display(&self, e164: &str, style: Style) -> String {
        let Some(number) = parsed_as_written(e164) else {
            return e164.to_owned();
        };
        let same_region = self.region.is_some() && number.country().id() == self.region;
        match style {
            Style::E164 => number.format().mode(Mode::E164).to_string(),
            Style::National if same_region => number.format().mode(Mode::National).to_string(),
            Style::National | Style::International => {
                number.format().mode(Mode::International).to_string()
            }
        }
    }
}

fn id_code(id: country::Id) -> &'static str {
    // `country::Id` is a closed enum of ISO codes; its `AsRef<str>` is the code itself.
    metadata_of(id).map_or("??", Metadata::id)
}

fn metadata_of(id: country::Id) -> Option<&'static Metadata> {
    DATABASE.by_id(id.as_ref())
}

/// `digits` (after `+`) split into a country code that exists and the national number.
/// Country codes are prefix-free, so the first one found is the only one.
fn split_country_code(digits: &str) -> Option<(Vec<&'static Metadata>, &str)> {
    (1..=3).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        DATABASE
            .by_code(&code)
            .map(|regions| (regions, &digits[len..]))
    })
}

/// `+{digits}` as the crate's number, its national part exactly as written after the country
/// code. The crate's parser takes a trunk prefix off a number given with its country code
/// (`+7 812 ...`, Saint Petersburg, read as `+7 12...` because Russia's trunk prefix is 8), so
/// a national part it shortened is put back (through the crate's own serialized form, as it
/// has no other way to build a number).
fn parsed_as_written(e164: &str) -> Option<phonenumber::PhoneNumber> {
    let number = phonenumber::parse(None, e164).ok()?;
    let code = number.code().value().to_string();
    let written = e164.strip_prefix('+')?.strip_prefix(code.as_str())?;
    let national = number.national();
    let read = format!("{}{national}", "0".repeat(usize::from(national.zeros())));
    if read == written {
        return Some(number);
    }
    let as_written: phonenumber::NationalNumber = written.parse().ok()?;
    let mut fields = serde_json::to_value(&number).ok()?;
    fields["national"] = serde_json::to_value(as_written).ok()?;
    serde_json::from_value(fields).ok()
}

/// Whether `+{digits}` is a valid number: its national part is of a known type (fixed
/// line, mobile, toll free...) in a region of its country code, matched against the
/// metadata directly (as libphonenumber's `isValidNumber` does), so the `phonenumber`
/// crate's parser cannot take a trunk prefix off a number it only checks.
fn is_valid_digits(digits: &str) -> bool {
    split_country_code(digits)
        .is_some_and(|(regions, national)| regions.iter().any(|m| of_known_type(m, national)))
}

fn of_known_type(metadata: &'static Metadata, national: &str) -> bool {
    let kinds = metadata.descriptors();
    let general = kinds.general();
    full_match(general, national, general)
        && [
            kinds.fixed_line(),
            kinds.mobile(),
            kinds.toll_free(),
            kinds.premium_rate(),
            kinds.shared_cost(),
            kinds.personal_number(),
            kinds.voip(),
            kinds.pager(),
            kinds.uan(),
            kinds.voicemail(),
        ]
        .into_iter()
        .flatten()
        .any(|kind| full_match(kind, national, general))
}

/// The metadata's patterns, anchored at both ends (the crate matches a prefix only).
static ANCHORED: LazyLock<RwLock<HashMap<&'static str, regex::Regex>>> =
    LazyLock::new(Default::default);

fn full_match(kind: &'static Descriptor, national: &str, general: &Descriptor) -> bool {
    let lengths = if kind.possible_length().is_empty() {
        general.possible_length()
    } else {
        kind.possible_length()
    };
    if !lengths.is_empty() && !lengths.contains(&(national.len() as u16)) {
        return false;
    }
    let pattern = kind.national_number().as_str();
    let cached = ANCHORED
        .read()
        .ok()
        .and_then(|known| known.get(pattern).cloned());
    let regex = match cached {
        Some(regex) => regex,
        None => {
            let Ok(regex) = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
                .ignore_whitespace(true)
                .build()
            else {
                return false;
            };
            if let Ok(mut known) = ANCHORED.write() {
                known.insert(pattern, regex.clone());
            }
            regex
        }
    };
    regex.is_match(national)
}

/// A number written with its country code, as E.164: the digits as they are when valid, or
/// without a trunk prefix written after the country code (`+44 0 20 ...`) when that is.
fn international_reading(digits: &str) -> Option<String> {
    if is_valid_digits(digits) {
        return Some(format!("+{digits}"));
    }
    let (regions, national) = split_country_code(digits)?;
    let code = &digits[..digits.len() - national.len()];
    regions.iter().find_map(|m| {
        let rest = national.strip_prefix(m.national_prefix()?)?;
        let stripped = format!("{code}{rest}");
        is_valid_digits(&stripped).then(|| format!("+{stripped}"))
    })
}

/// A number written without a country code, read as dialled inside `region`: the first
/// valid one of libphonenumber's reading (when what it dropped in front is nothing, the
/// trunk prefix or the country code), the digits without the trunk prefix, the digits as
/// they are, and the digits without a country code written without `+`.
fn national_reading(region: country::Id, written: &str, digits: &str) -> Option<String> {
    let metadata = metadata_of(region)?;
    let code = metadata.country_code().to_string();
    let trunk = metadata.national_prefix().unwrap_or("");
    let mut readings: Vec<String> = Vec::with_capacity(4);
    if let Ok(number) = phonenumber::parse(Some(region), written) {
        let national = number.national().to_string();
        let zeros = "0".repeat(usize::from(number.national().zeros()));
        let national = format!("{zeros}{national}");
        let consistent = number.code().value().to_string() == code
            && digits
                .strip_suffix(national.as_str())
                .is_some_and(|dropped| {
                    dropped.is_empty()
                        || dropped == trunk
                        || dropped == code
                        || dropped == format!("{code}{trunk}")
                });
        if consistent {
            readings.push(format!("{code}{national}"));
        }
    }
    if let Some(rest) = digits.strip_prefix(trunk).filter(|_| !trunk.is_empty()) {
        readings.push(format!("{code}{rest}"));
    }
    readings.push(format!("{code}{digits}"));
    if let Some(rest) = digits.strip_prefix(code.as_str()) {
        readings.push(format!("{code}{rest}"));
    }
    readings
        .into_iter()
        .find(|reading| is_valid_digits(reading))
        .map(|reading| format!("+{reading}"))
}

/// What was dialled: the user part of a `sip:`/`sips:` URI, the number of a `tel:` URI (its
/// parameters dropped), or the text itself.
pub(crate) fn user_part(text: &str) -> Result<&str, NumberError> {
    let lower = text
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if lower.starts_with("tel:") {
        let number = &text[4..];
        return Ok(number.split(';').next().unwrap_or(number));
    }
    if lower.starts_with("sip:") || lower.starts_with("sips:") {
        let uri = rsip::Uri::try_from(text).map_err(|_| NumberError::BadUri(text.to_owned()))?;
        let user = uri
            .user()
            .ok_or_else(|| NumberError::BadUri(text.to_owned()))?;
        // The user part borrows from `uri`; find the same text inside the input.
        let start = text
            .find(user)
            .ok_or_else(|| NumberError::BadUri(text.to_owned()))?;
        // A user part may carry its own parameters (`+7495...;isub=1`).
        let user = &text[start..start + user.len()];
        return Ok(user.split(';').next().unwrap_or(user));
    }
    Ok(text)
}

fn truncate(text: &str) -> String {
    text.chars().take(32).collect::<String>() + "…"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ru() -> Numbering {
        Numbering::new("RU").unwrap()
    }

    #[test]
    fn russian_written_forms_are_one_number() {
        for raw in [
            "8 (495) 123-45-67",
            "+7 495 1234567",
            "007 495 123 45 67",
            "8 10 7 495 123 45 67",
            "sip:+74951234567@carrier;user=phone",
            "sips:+74951234567@carrier.example:5061;transport=tls",
            "tel:+7-495-123-45-67;phone-context=example.com",
            "74951234567",
            "(495) 123-45-67",
        ] {
            assert_eq!(ru().normalize(raw).as_deref(), Ok("+74951234567"), "{raw}");
        }
    }

    #[test]
    fn area_codes_that_start_like_a_trunk_prefix_are_kept() {
        for (raw, e164) in [
            ("8 (812) 123-45-67", "+78121234567"),
            ("+7 812 123-45-67", "+78121234567"),
            ("+78121234567", "+78121234567"),
            ("8 800 555-35-35", "+78005553535"),
            ("8 (862) 200-00-00", "+78622000000"),
        ] {
            assert_eq!(ru().normalize(raw).as_deref(), Ok(e164), "{raw}");
        }
        let us = Numbering::new("US").unwrap();
        assert_eq!(us.normalize("+7 812 123-45-67").unwrap(), "+78121234567");
        assert_eq!(
            ru().normalize("+44 (0)20 7946 0018").unwrap(),
            "+442079460018"
        );
        assert_eq!(us.normalize("+44 0 20 7946 0018").unwrap(), "+442079460018");
    }

    #[test]
    fn other_regions_use_their_trunk_prefixes() {
        let gb = Numbering::new("gb").unwrap();
        assert_eq!(gb.normalize("020 7946 0018").unwrap(), "+442079460018");
        assert_eq!(
            gb.normalize("+44 (0)20 7946 0018").unwrap(),
            "+442079460018"
        );
        let us = Numbering::new("US").unwrap();
        assert_eq!(us.normalize("1 (212) 555-0142").unwrap(), "+12125550142");
        assert_eq!(us.normalize("212.555.0142").unwrap(), "+12125550142");
        assert_eq!(us.normalize("011 7 495 123 45 67").unwrap(), "+74951234567");
        // A number of another country, written internationally, is read as such.
        assert_eq!(ru().normalize("+1 212 555 0142").unwrap(), "+12125550142");
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert!(matches!(
            ru().normalize("anonymous"),
            Err(NumberError::NoDigits(_))
        ));
        assert!(matches!(ru().normalize(""), Err(NumberError::NoDigits(_))));
        assert!(ru().normalize("12").is_err());
        assert!(ru().normalize(&"9".repeat(400)).is_err());
        assert!(matches!(
            ru().normalize("sip:@"),
            Err(NumberError::BadUri(_))
        ));
        assert!(Numbering::new("XX").is_err());
    }

    fn ru_gb_us() -> Numbering {
        Numbering::with_regions(Some("RU"), &["GB", "US"]).unwrap()
    }

    #[test]
    fn numbers_invalid_everywhere_are_refused_not_rewritten() {
        // Each of these used to be stored as another, invalid number (`+702014472960`...).
        for raw in ["020 1447 2960", "(212) 927-6877", "1-646-770-9127"] {
            let refused = ru().normalize(raw).unwrap_err();
            assert_eq!(
                refused,
                NumberError::InvalidInRegions {
                    written: raw.into(),
                    regions: "RU".into()
                },
                "{raw}"
            );
        }
        let us = Numbering::new("US").unwrap();
        for raw in ["8 (812) 555-11-22", "84951112233"] {
            assert!(us.normalize(raw).is_err(), "{raw}: {:?}", us.normalize(raw));
        }
        for raw in ["+702014472960", "+1 555 0001", "+999 123 4567"] {
            assert_eq!(
                ru().normalize(raw),
                Err(NumberError::Invalid(raw.into())),
                "{raw}"
            );
        }
        assert_eq!(
            ru_gb_us().normalize("12345678").unwrap_err().to_string(),
            "\"12345678\" is not a valid number for RU, GB, US"
        );
    }

    #[test]
    fn candidate_regions_read_what_the_default_region_cannot() {
        for (raw, e164) in [
            ("020 7946 0018", "+442079460018"),
            ("(212) 927-6877", "+12129276877"),
            ("1-646-770-9127", "+16467709127"),
            // Valid at home: the candidates are not asked.
            ("8 (812) 555-11-22", "+78125551122"),
        ] {
            assert_eq!(ru_gb_us().normalize(raw).as_deref(), Ok(e164), "{raw}");
        }
        // Without a default region only the candidates read national forms.
        let only = Numbering::with_regions(None, &["GB"]).unwrap();
        assert_eq!(only.normalize("020 7946 0018").unwrap(), "+442079460018");
        let none = Numbering::with_regions::<&str>(None, &[]).unwrap();
        assert_eq!(
            none.normalize("020 7946 0018"),
            Err(NumberError::NoRegion("020 7946 0018".into()))
        );
        assert_eq!(none.normalize("+44 20 7946 0018").unwrap(), "+442079460018");
    }

    #[test]
    fn a_reading_valid_in_two_candidate_regions_is_refused() {
        let two = Numbering::with_regions(Some("RU"), &["US", "DE"]).unwrap();
        let gb_us = |raw: &str| two.normalize(raw);
        // Whatever both read validly as different numbers is ambiguous, and says so.
        let mut found = None;
        for raw in ["2129276877", "3012345678", "6467709127", "3023456789"] {
            if let Err(NumberError::Ambiguous { readings, .. }) = gb_us(raw) {
                found = Some(readings);
                break;
            }
        }
        let readings = found.expect("one of the numbers reads in both US and DE");
        assert!(
            readings.contains("(US)") && readings.contains("(DE)"),
            "{readings}"
        );
    }

    #[test]
    fn internal_extensions_are_kept_as_extensions() {
        assert_eq!(ru().extension("1001").as_deref(), Some("1001"));
        assert_eq!(
            ru().extension("sip:1001@pbx.example").as_deref(),
            Some("1001")
        );
        assert_eq!(ru().extension("+1001"), None);
        assert_eq!(ru().extension("1234567"), None);
        assert_eq!(ru().key("1001").as_deref(), Some("1001"));
        assert_eq!(ru().key("8 495 123 45 67").as_deref(), Some("+74951234567"));
    }

    #[test]
    fn prefixes_keep_the_country_code() {
        assert_eq!(ru().normalize_prefix("8 495 123").unwrap(), "+7495123");
        assert_eq!(ru().normalize_prefix("+7 (495) 12").unwrap(), "+749512");
        assert_eq!(ru().normalize_prefix("0044 20").unwrap(), "+4420");
    }

    #[test]
    fn numbers_are_shown_as_the_user_prefers() {
        assert_eq!(
            ru().display("+74951234567", Style::National),
            "8 (495) 123-45-67"
        );
        assert_eq!(
            ru().display("+74951234567", Style::International),
            "+7 495 123-45-67"
        );
        assert_eq!(
            ru().display("+442079460018", Style::National),
            "+44 20 7946 0018"
        );
        assert_eq!(ru().display("1001", Style::E164), "1001");
        // Saint Petersburg's 812 starts with Russia's trunk prefix; the crate's parser would
        // take it off (`+7 121013140`).
        assert_eq!(
            ru().display("+78121013140", Style::International),
            "+7 812 101-31-40"
        );
        assert_eq!(
            ru().display("+78121013140", Style::National),
            "8 (812) 101-31-40"
        );
        assert_eq!(ru().display("+78121013140", Style::E164), "+78121013140");
    }

    #[test]
    fn a_number_is_shown_in_the_deployments_style_and_anything_else_as_it_came() {
        let ru = Numbering::new("RU").unwrap();
        assert_eq!(ru.shown("+74951234567"), "+7 495 123-45-67");
        let national = Numbering::new("RU").unwrap().styled(Style::National);
        assert_eq!(national.shown("+74951234567"), "8 (495) 123-45-67");
        assert_eq!(national.shown("+12125550101"), "+1 212-555-0101");
        let e164 = Numbering::new("RU").unwrap().styled(Style::E164);
        assert_eq!(e164.shown("8 (495) 123-45-67"), "+74951234567");
        for other in ["1001", "anonymous", ""] {
            assert_eq!(national.shown(other), other);
        }
    }
}
