//! Phone numbers to E.164, by libphonenumber's rules (the `phonenumber` crate) with a default
//! region for numbers written the national way. `8 (495) 123-45-67`, `+7 495 1234567`,
//! `007 495 123 45 67`, `tel:+7-495-123-45-67` and `sip:+74951234567@carrier;user=phone` are
//! all `+74951234567` with region `RU`.

use std::fmt;

use phonenumber::country;
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

/// Normalizes numbers for one deployment: the region its customers dial from by default.
#[derive(Clone, Copy)]
pub struct Numbering {
    region: country::Id,
}

impl fmt::Debug for Numbering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numbering({:?})", self.region)
    }
}

/// Longest E.164 number (15 digits) plus room for a written form's punctuation.
const MAX_INPUT: usize = 128;

impl Numbering {
    /// `region` is an ISO 3166 code (`RU`, `GB`, `US`).
    pub fn new(region: &str) -> Result<Numbering, String> {
        let region = region
            .trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .map_err(|_| {
                format!("unknown region {region:?} (expected an ISO 3166 code like RU, GB, US)")
            })?;
        Ok(Numbering { region })
    }

    /// The number in E.164 form. Accepts written forms in any region's style, international
    /// prefixes `+`, `00` and the region's own (`810` in Russia), SIP and SIPS URIs (the user
    /// part) and tel URIs.
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
        let e164 = match self.international_part(&written, &digits) {
            Some(international) => self.international(dialled, international)?,
            None => self.national(&written, &digits),
        };
        let count = e164.len() - 1;
        if !(7..=15).contains(&count) {
            return Err(NumberError::Unparsable(
                dialled.to_owned(),
                format!("{count} digits is not a plausible length"),
            ));
        }
        Ok(e164)
    }

    /// The digits after an international prefix: `+`, `00` (used in most of the world, even
    /// where the region's own differs) or the region's own (`810` in Russia, `011` in the US).
    fn international_part<'a>(&self, written: &str, digits: &'a str) -> Option<&'a str> {
        if written.trim_start().starts_with('+') {
            return Some(digits);
        }
        if let Some(rest) = digits.strip_prefix("00") {
            return Some(rest);
        }
        let metadata = self.metadata()?;
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

    /// `+` and the digits, unless libphonenumber strips a trunk prefix written after the
    /// country code (`+44 0 20 ...`) and only the stripped number is valid. phonenumber
    /// 0.3.10 strips the default region's trunk prefix from any number, so `+7 812 ...` (St
    /// Petersburg) would lose its 8: its answer is taken only when it is a valid number.
    fn international(&self, dialled: &str, digits: &str) -> Result<String, NumberError> {
        let full = format!("+{digits}");
        let number = phonenumber::parse(None, &full)
            .map_err(|e| NumberError::Unparsable(dialled.to_owned(), e.to_string()))?;
        let parsed = number.format().mode(Mode::E164).to_string();
        if parsed != full && phonenumber::is_valid(&number) {
            Ok(parsed)
        } else {
            Ok(full)
        }
    }

    /// A number as dialled inside the default region. libphonenumber's reading is checked
    /// against the digits: what it dropped in front must be nothing, the trunk prefix or the
    /// country code. Otherwise (or when it is not a valid number and the plain reading is)
    /// the number is the country code, then the digits without one trunk prefix.
    fn national(&self, written: &str, digits: &str) -> String {
        let code = self.country_code().to_string();
        let trunk = self.trunk_prefix().unwrap_or("");
        let plain_digits = digits
            .strip_prefix(trunk)
            .filter(|_| !trunk.is_empty())
            .unwrap_or(digits);
        let plain = format!("+{code}{plain_digits}");
        let Ok(number) = phonenumber::parse(Some(self.region), written) else {
            return plain;
        };
        let parsed = number.format().mode(Mode::E164).to_string();
        let national = parsed
            .get(1 + number.code().value().to_string().len()..)
            .unwrap_or("");
        let consistent = digits.strip_suffix(national).is_some_and(|dropped| {
            dropped.is_empty()
                || dropped == trunk
                || dropped == code
                || dropped == format!("{code}{trunk}")
        });
        if !consistent {
            return plain;
        }
        // Both readings agree with the digits: the valid one wins, libphonenumber's if both or
        // neither are (parsing the plain reading only when it could matter).
        let plain_valid =
            || phonenumber::parse(None, &plain).is_ok_and(|n| phonenumber::is_valid(&n));
        if parsed == plain || phonenumber::is_valid(&number) || !plain_valid() {
            parsed
        } else {
            plain
        }
    }

    fn metadata(&self) -> Option<&'static phonenumber::Metadata> {
        phonenumber::metadata::DATABASE.by_id(self.region.as_ref())
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
        if text.starts_with('+') {
            return Ok(format!("+{digits}"));
        }
        if let Some(rest) = digits.strip_prefix("00") {
            return Ok(format!("+{rest}"));
        }
        let code = self.country_code();
        let national = match self.trunk_prefix() {
            Some(trunk) => digits.strip_prefix(trunk).unwrap_or(&digits).to_owned(),
            None => digits,
        };
        Ok(format!("+{code}{national}"))
    }

    fn country_code(&self) -> u16 {
        self.metadata().map_or(0, |m| m.country_code())
    }

    fn trunk_prefix(&self) -> Option<&'static str> {
        self.metadata().and_then(|m| m.national_prefix())
    }

    /// `e164` for a person to read, in `style`. Text that is not a number comes back as it is.
    pub fn display(&self, e164: &str, style: Style) -> String {
        let Ok(number) = phonenumber::parse(None, e164) else {
            return e164.to_owned();
        };
        let same_region = number.country().id() == Some(self.region);
        match style {
            Style::E164 => number.format().mode(Mode::E164).to_string(),
            Style::National if same_region => number.format().mode(Mode::National).to_string(),
            Style::National | Style::International => {
                number.format().mode(Mode::International).to_string()
            }
        }
    }
}

/// What was dialled: the user part of a `sip:`/`sips:` URI, the number of a `tel:` URI (its
/// parameters dropped), or the text itself.
fn user_part(text: &str) -> Result<&str, NumberError> {
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
    }
}
