//! Every text of the screens is in every language: the English texts the scripts translate
//! (`t("...")`, `tn("...", n)`, `N_("...")`) and the page marks (`data-i18n`,
//! `data-i18n-attrs`) are read from `web/`, and each language file under `web/lang/` must
//! have each of them, with the same `{placeholders}`, plural forms for every category the
//! language has, and nothing the screens no longer use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn web() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// How a text is used: plain, or with a count (`tn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Plain,
    Counted,
}

/// The string literal starting at `text` (after its opening quote), unescaped, or None when
/// it is not closed on the line.
fn literal(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

fn script_texts(source: &str, texts: &mut BTreeMap<String, Use>) {
    for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (call, used) in [
            ("tn(\"", Use::Counted),
            ("t(\"", Use::Plain),
            ("N_(\"", Use::Plain),
        ] {
            let mut rest = line;
            while let Some(at) = rest.find(call) {
                let before = rest[..at].chars().next_back();
                let after = &rest[at + call.len()..];
                rest = after;
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '$') {
                    continue;
                }
                let text =
                    literal(after).expect("a translated text is one string literal on its line");
                let entry = texts.entry(text).or_insert(used);
                if used == Use::Counted {
                    *entry = Use::Counted;
                }
            }
        }
    }
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// `name="value"` of a tag's attributes.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

fn page_texts(page: &str, texts: &mut BTreeMap<String, Use>) {
    let mut rest = page;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + close];
        let after = &rest[open + close + 1..];
        let marked = tag.split_whitespace().any(|word| word == "data-i18n");
        if marked {
            let end = after
                .find('<')
                .expect("a marked element's text ends at a tag");
            assert!(
                after[end..].starts_with("</"),
                "an element marked data-i18n holds text only: {tag}>"
            );
            texts.insert(unescape_html(after[..end].trim()), Use::Plain);
        }
        if let Some(names) = attribute(tag, "data-i18n-attrs") {
            for name in names.split_whitespace() {
                let value = attribute(tag, name).unwrap_or_else(|| panic!("{tag}> has no {name}"));
                texts.insert(unescape_html(value), Use::Plain);
            }
        }
        rest = after;
    }
}

/// Every text the screens translate.
fn screen_texts() -> BTreeMap<String, Use> {
    let mut texts = BTreeMap::new();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(web())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
        .collect();
    scripts.sort();
    for script in scripts {
        script_texts(&std::fs::read_to_string(&script).unwrap(), &mut texts);
    }
    page_texts(
        &std::fs::read_to_string(web().join("index.html")).unwrap(),
        &mut texts,
    );
    texts
}

fn languages() -> BTreeMap<String, serde_json::Map<String, Value>> {
    std::fs::read_dir(web().join("lang"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let code = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                code,
                file.as_object()
                    .cloned()
                    .expect("a language file is an object"),
            )
        })
        .collect()
}

fn placeholders(text: &str) -> BTreeSet<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect()
}

/// CLDR's plural categories of the languages shipped (Intl.PluralRules uses the same).
fn plural_categories(code: &str) -> &'static [&'static str] {
    match code {
        "ru" | "uk" | "be" => &["one", "few", "many", "other"],
        "en" | "de" | "nl" | "sv" | "it" | "es" => &["one", "other"],
        _ => &["other"],
    }
}

#[test]
fn the_screens_translate_what_they_show() {
    let texts = screen_texts();
    // Enough of the screens were found for the check to mean something.
    for sample in [
        "Sign in",
        "Wallboard",
        "Service level",
        "Users and roles",
        "{n} tickets",
    ] {
        assert!(
            texts.contains_key(sample),
            "{sample:?} is among the screens' texts"
        );
    }
    assert!(texts.len() > 300, "{} texts", texts.len());
}

#[test]
fn every_language_has_every_text_of_the_screens() {
    let texts = screen_texts();
    let languages = languages();
    assert!(
        languages.contains_key("en") && languages.contains_key("ru"),
        "{:?}",
        languages.keys()
    );
    for (code, file) in &languages {
        assert!(
            file.get("@name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty()),
            "{code}.json names its language (\"@name\")"
        );
        let mut problems = Vec::new();
        for (text, used) in &texts {
            let wanted = placeholders(text);
            match (file.get(text), used) {
                // English is its own translation; its file holds only plural forms.
                (None, Use::Plain) if code == "en" => {}
                (None, _) => problems.push(format!("missing {text:?}")),
                (Some(Value::String(own)), Use::Plain) => {
                    if own.is_empty() || placeholders(own) != wanted {
                        problems.push(format!("{text:?} → {own:?}: placeholders {wanted:?}"));
                    }
                }
                (Some(Value::Object(forms)), Use::Counted) => {
                    for category in plural_categories(code) {
                        match forms.get(*category).and_then(Value::as_str) {
                            Some(form) if placeholders(form) == wanted => {}
                            other => problems.push(format!("{text:?} [{category}] → {other:?}")),
                        }
                    }
                }
                (Some(other), _) => problems.push(format!(
                    "{text:?} → {other} (a string, or plural forms for tn)"
                )),
            }
        }
        for key in file.keys().filter(|k| !k.starts_with('@')) {
            if !texts.contains_key(key) {
                problems.push(format!("{key:?} is not used by the screens any more"));
            }
        }
        assert!(
            problems.is_empty(),
            "web/lang/{code}.json:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn the_checker_reads_calls_marks_and_attributes() {
    let mut texts = BTreeMap::new();
    script_texts(
        "x = t(\"Save {name}\", { name });\n// t(\"a comment\")\nn = tn(\"{n} pages\", 3); label = N_(\"Idle\"); s.t(\"no\");",
        &mut texts,
    );
    page_texts(
        "<p data-i18n>Sign in &amp; go</p><input placeholder=\"Who\" data-i18n-attrs=\"placeholder\">",
        &mut texts,
    );
    let found: Vec<(&str, Use)> = texts.iter().map(|(k, u)| (k.as_str(), *u)).collect();
    assert_eq!(
        found,
        vec![
            ("Idle", Use::Plain),
            ("Save {name}", Use::Plain),
            ("Sign in & go", Use::Plain),
            ("Who", Use::Plain),
            ("{n} pages", Use::Counted),
        ]
    );
    assert_eq!(
        placeholders("{a} and {b_c} not { x }"),
        BTreeSet::from(["a", "b_c"])
    );
}
