//! Field values shared by the CSV and vCard readers: phone lists, e-mail lists, yes/no,
//! whole numbers, language tags. Each refusal is a reason a person can act on; the caller adds
//! the column's name.

use crate::directory::model::{Number, NumberKind};
use crate::directory::number::Numbering;

/// `"mobile:+7 916 123-45-67; work:8 (495) 123-45-67"`, or a bare number (of `default` kind).
/// Entries are separated by `;` or `,` (no number has either), but a SIP or tel URI keeps its
/// own `;param=value` parts. Each readable number is added to `numbers` (once); an entry that
/// is not a readable number is left out and its reason returned, so the rest of the list is
/// kept and no number is ever guessed.
pub(super) fn phones(
    numbering: &Numbering,
    text: &str,
    default: NumberKind,
    numbers: &mut Vec<Number>,
) -> Vec<String> {
    let mut unreadable = Vec::new();
    for entry in phone_entries(text) {
        let read = kind_prefix(&entry).and_then(|prefix| {
            let (kind, written) = prefix.unwrap_or((default, entry.as_str()));
            phone(numbering, written, kind)
        });
        match read {
            Ok(number) if !numbers.contains(&number) => numbers.push(number),
            Ok(_) => {}
            Err(reason) => unreadable.push(reason),
        }
    }
    unreadable
}

/// One number of `kind` in E.164 (an E.164 prefix for a range).
pub(super) fn phone(
    numbering: &Numbering,
    written: &str,
    kind: NumberKind,
) -> Result<Number, String> {
    crate::directory::prepare::normalize_number(numbering, written, kind).map_err(|e| e.to_string())
}

/// The entries of a phone list, with URI parameters glued back to their URI.
fn phone_entries(text: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    for piece in text
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match entries.last_mut() {
            Some(last) if is_uri_parameter(piece) && is_uri(last) => {
                last.push(';');
                last.push_str(piece);
            }
            _ => entries.push(piece.to_owned()),
        }
    }
    entries
}

fn is_uri(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    ["sip:", "sips:", "tel:"]
        .iter()
        .any(|scheme| lower.contains(scheme))
}

/// `user=phone`, `transport=tls`, `isub`: the shape of a URI parameter, which no number has.
fn is_uri_parameter(piece: &str) -> bool {
    let name = piece.split_once('=').map_or(piece, |(name, _)| name);
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `mobile:+7 916...` → (Mobile, `+7 916...`); `sip:...` and `tel:...` are URIs, not kinds.
/// A word that is not a kind is refused rather than read as part of the number.
fn kind_prefix(entry: &str) -> Result<Option<(NumberKind, &str)>, String> {
    let Some((prefix, rest)) = entry.split_once(':') else {
        return Ok(None);
    };
    let word = prefix.trim();
    if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return Ok(None);
    }
    if ["sip", "sips", "tel"]
        .iter()
        .any(|s| word.eq_ignore_ascii_case(s))
    {
        return Ok(None);
    }
    match NumberKind::parse(word) {
        Some(kind) => Ok(Some((kind, rest))),
        None => Err(format!(
            "{word:?} is not a number kind (mobile, work, home, fax, main, range, extension, other)"
        )),
    }
}

/// E-mail addresses separated by `;` or `,`.
pub(super) fn emails(text: &str) -> Result<Vec<String>, String> {
    let mut addresses: Vec<String> = Vec::new();
    for piece in text
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let address = email(piece)?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    Ok(addresses)
}

/// One address, a `mailto:` prefix dropped. Only the shape is checked (something@domain, no
/// spaces): whether the mailbox exists is for the mail server to say.
pub(super) fn email(text: &str) -> Result<String, String> {
    let text = text.trim();
    let address = match text.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &text[7..],
        _ => text,
    };
    let shaped = address.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !address.contains(char::is_whitespace);
    if shaped {
        Ok(address.to_owned())
    } else {
        Err(format!("{text:?} is not an e-mail address"))
    }
}

/// `;`-separated names (aliases), blanks dropped.
pub(super) fn list(text: &str) -> Vec<String> {
    text.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// yes/no, true/false, 1/0 in any case; empty is no.
pub(super) fn yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" | "" => Ok(false),
        _ => Err(format!(
            "{:?} is not yes/no, true/false or 1/0",
            text.trim()
        )),
    }
}

/// A whole number; empty is 0.
pub(super) fn whole(text: &str) -> Result<i32, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

/// A BCP 47 language tag (`ru`, `en-GB`), or `None` when empty. Only the shape is checked:
/// letters, digits and hyphens, a 2 to 8 letter language first.
pub(super) fn language(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut subtags = text.split('-');
    let primary = subtags.next().unwrap_or_default();
    let shaped = (2..=8).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if shaped {
        Ok(Some(text.to_owned()))
    } else {
        Err(format!("{text:?} is not a language tag like ru or en-GB"))
    }
}

/// Text or `None` when blank, for optional keys such as the external id.
pub(super) fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ru() -> Numbering {
        Numbering::new("RU").unwrap()
    }

    fn number(number: &str, kind: NumberKind) -> Number {
        Number {
            number: number.into(),
            kind,
        }
    }

    /// The numbers read from `text`, or what was left out.
    fn phones(text: &str, default: NumberKind) -> Result<Vec<Number>, Vec<String>> {
        let mut numbers = Vec::new();
        let unreadable = super::phones(&ru(), text, default, &mut numbers);
        if unreadable.is_empty() {
            Ok(numbers)
        } else {
            Err(unreadable)
        }
    }

    #[test]
    fn phone_lists_keep_kinds_and_sip_parameters() {
        let numbers = phones(
            "mobile:+7 916 123-45-67; work:8 (495) 123-45-67;sip:+74957654321@carrier;user=phone;transport=tls; fax: 8 495 111 22 33",
            NumberKind::Work,
        )
        .unwrap();
        assert_eq!(
            numbers,
            vec![
                number("+79161234567", NumberKind::Mobile),
                number("+74951234567", NumberKind::Work),
                number("+74957654321", NumberKind::Work),
                number("+74951112233", NumberKind::Fax),
            ]
        );
        assert_eq!(
            phones("8 495 123 45 67", NumberKind::Main).map(|n| n[0].kind),
            Ok(NumberKind::Main)
        );
        assert_eq!(
            phones("range: 8 495 123", NumberKind::Main).unwrap(),
            vec![number("+7495123", NumberKind::Range)]
        );
        assert_eq!(phones(" ; ", NumberKind::Work), Ok(Vec::new()));
        assert_eq!(
            phones("8 495 123-45-67, 8 495 765-43-21", NumberKind::Work).unwrap(),
            vec![
                number("+74951234567", NumberKind::Work),
                number("+74957654321", NumberKind::Work)
            ]
        );
        // E.164 stays as it is: a St Petersburg number keeps the 8 of its area code.
        assert_eq!(
            phones("+78121234567", NumberKind::Work).unwrap(),
            vec![number("+78121234567", NumberKind::Work)]
        );
    }

    #[test]
    fn a_bad_number_is_left_out_and_the_rest_kept() {
        let mut numbers = Vec::new();
        let unreadable = super::phones(
            &ru(),
            "work:8 495 123-45-67; mobile:call me; pager:8 495 765-43-21",
            NumberKind::Work,
            &mut numbers,
        );
        assert_eq!(numbers, [number("+74951234567", NumberKind::Work)]);
        assert_eq!(unreadable.len(), 2, "{unreadable:?}");
        assert!(unreadable[0].contains("call me"), "{}", unreadable[0]);
        assert!(unreadable[1].contains("\"pager\""), "{}", unreadable[1]);
    }

    #[test]
    fn small_fields_say_what_is_wrong() {
        assert_eq!(
            emails("a@x.ru; mailto:b@y.com,a@x.ru"),
            Ok(vec!["a@x.ru".to_owned(), "b@y.com".to_owned()])
        );
        assert!(emails("a@x.ru; nobody").unwrap_err().contains("nobody"));
        assert!(email("a b@x.ru").is_err());
        assert_eq!(yes_no("Yes"), Ok(true));
        assert_eq!(yes_no(""), Ok(false));
        assert!(yes_no("maybe").unwrap_err().contains("maybe"));
        assert_eq!(whole(" -3 "), Ok(-3));
        assert!(whole("high").is_err());
        assert_eq!(language("en-GB"), Ok(Some("en-GB".into())));
        assert_eq!(language(""), Ok(None));
        assert!(language("english please").is_err());
        assert_eq!(list("Vanya; ; Ivan P."), vec!["Vanya", "Ivan P."]);
    }
}
