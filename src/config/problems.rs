//! Every problem of a configuration in one run: when the whole file does not read, each
//! section (and each queue and agent) is read on its own so that one bad value does not hide
//! the next, and each problem names its line in the file.

use std::ops::Range;
use std::path::Path;

use figment::error::Kind;
use figment::value::Value;
use figment::Figment;
use serde::de::DeserializeOwned;
use toml_edit::{ImDocument, Item};

use super::{
    CdrConfig, Config, ConfigError, DatabaseConfig, DemoConfig, EslConfig, HttpConfig, LogConfig,
    PhonebookConfig, SwitchConfig,
};
use crate::acd::{AgentConfig, QueueConfig};

/// One value that does not read, where it is.
struct Problem {
    path: Vec<String>,
    message: String,
}

/// Every value that does not read (with its line in `file` when it is written there), then
/// what [`Config::validate`] finds in the rest: what did not read is left at its default (a
/// section) or left out (a queue or agent), so that one bad value hides nothing else.
pub(super) fn every_problem(figment: &Figment, file: Option<&Path>) -> Vec<String> {
    let mut found = Vec::new();
    let config = Config {
        database: section::<DatabaseConfig>(figment, "database", &mut found),
        esl: section::<EslConfig>(figment, "esl", &mut found),
        http: section::<HttpConfig>(figment, "http", &mut found),
        log: section::<LogConfig>(figment, "log", &mut found),
        demo: section::<DemoConfig>(figment, "demo", &mut found),
        switch: section::<SwitchConfig>(figment, "switch", &mut found),
        phonebook: section::<PhonebookConfig>(figment, "phonebook", &mut found),
        cdr: section::<CdrConfig>(figment, "cdr", &mut found),
        tickets: section(figment, "tickets", &mut found),
        webhook: section(figment, "webhook", &mut found),
        incidents: section(figment, "incidents", &mut found),
        smtp: section(figment, "smtp", &mut found),
        fax: section(figment, "fax", &mut found),
        matrix: section(figment, "matrix", &mut found),
        stats: section(figment, "stats", &mut found),
        service: section(figment, "service", &mut found),
        cluster: section(figment, "cluster", &mut found),
        queues: elements::<QueueConfig>(figment, "queues", &mut found),
        agents: elements::<AgentConfig>(figment, "agents", &mut found),
    };
    if let Some(dict) = figment.find_value("").ok().and_then(Value::into_dict) {
        let known = super::section_names();
        for key in dict.keys().filter(|k| !known.contains(k)) {
            found.push(Problem {
                path: vec![key.clone()],
                message: format!("unknown section; expected one of {}", known.join(", ")),
            });
        }
    }
    let text = file.and_then(|f| std::fs::read_to_string(f).ok());
    let document = text.as_deref().and_then(|t| ImDocument::parse(t).ok());
    let mut located: Vec<(Option<usize>, String)> = found
        .into_iter()
        .map(|p| {
            let line = document
                .as_ref()
                .zip(text.as_deref())
                .and_then(|(doc, text)| Some(line_at(text, span_of(doc.as_item(), &p.path)?)));
            let key = p.path.join(".");
            match line {
                Some(line) => (Some(line), format!("line {line}: {key}: {}", p.message)),
                None => (None, format!("{key}: {}", p.message)),
            }
        })
        .collect();
    // In the file's order; what the file does not hold (the environment's) last.
    located.sort_by_key(|(line, _)| line.unwrap_or(usize::MAX));
    let mut problems: Vec<String> = located.into_iter().map(|(_, p)| p).collect();
    if let Err(ConfigError::Invalid(more)) = config.validate() {
        problems.extend(more);
    }
    problems
}

/// Section `name`, or its default with a problem for each of its keys that does not read.
fn section<T: DeserializeOwned + Default>(
    figment: &Figment,
    name: &str,
    problems: &mut Vec<Problem>,
) -> T {
    match figment.find_value(name) {
        Ok(value) => read(&value, vec![name.to_owned()], problems).unwrap_or_default(),
        Err(_) => T::default(),
    }
}

/// Each element of the array `name` that reads; a problem for each key of the others.
fn elements<T: DeserializeOwned>(
    figment: &Figment,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    let Ok(value) = figment.find_value(name) else {
        return Vec::new();
    };
    let Value::Array(_, items) = value else {
        problems.push(Problem {
            path: vec![name.to_owned()],
            message: format!("must be a list of [[{name}]] tables"),
        });
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(at, item)| read(item, vec![name.to_owned(), at.to_string()], problems))
        .collect()
}

/// `value` as a `T`; when it does not read, each of its keys is read alone (over the
/// defaults) so that every bad key is named, not only the first serde stops at.
fn read<T: DeserializeOwned>(
    value: &Value,
    path: Vec<String>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let whole = match value.deserialize::<T>() {
        Ok(read) => return Some(read),
        Err(error) => error,
    };
    let before = problems.len();
    if let Some(dict) = value.clone().into_dict() {
        for (key, item) in dict {
            let mut alone = figment::value::Dict::new();
            alone.insert(key.clone(), item);
            if let Err(error) = Value::from(alone).deserialize::<T>() {
                // Alone, a key cannot supply the others a type requires.
                record(error, &path, problems, |e| !e.missing());
            }
        }
    }
    if problems.len() == before {
        record(whole, &path, problems, |_| true);
    }
    None
}

fn record(
    error: figment::Error,
    prefix: &[String],
    problems: &mut Vec<Problem>,
    keep: impl Fn(&figment::Error) -> bool,
) {
    for e in error.into_iter().filter(|e| keep(e)) {
        let mut path = prefix.to_vec();
        path.extend(e.path.iter().cloned());
        let message = match &e.kind {
            Kind::UnknownField(found, expected) => format!(
                "unknown key `{found}`; expected one of {}",
                expected.join(", ")
            ),
            kind => clean(&kind.to_string()),
        };
        problems.push(Problem { path, message });
    }
}

/// serde quotes names in backticks and figment quotes the whole message again: one pair is
/// enough.
fn clean(message: &str) -> String {
    message.replace("``", "`")
}

/// Where the key at `path` (table keys, and indexes into arrays of tables) is written; the
/// nearest enclosing key when the last one is not in the file (a value the environment set).
fn span_of(item: &Item, path: &[String]) -> Option<Range<usize>> {
    let Some((key, rest)) = path.split_first() else {
        return item.span();
    };
    let (here, next) = match item {
        Item::Table(table) => {
            let (k, v) = table.get_key_value(key)?;
            (k.span(), v)
        }
        Item::Value(toml_edit::Value::InlineTable(table)) => {
            let (k, v) = table.get_key_value(key)?;
            (k.span(), v)
        }
        Item::ArrayOfTables(tables) => {
            let table = tables.get(key.parse().ok()?)?;
            return span_in_table(table, rest).or_else(|| table.span());
        }
        _ => return None,
    };
    span_of(next, rest).or(here)
}

fn span_in_table(table: &toml_edit::Table, path: &[String]) -> Option<Range<usize>> {
    let Some((key, rest)) = path.split_first() else {
        return table.span();
    };
    let (k, v) = table.get_key_value(key)?;
    span_of(v, rest).or_else(|| k.span())
}

/// The 1-based line of byte `span.start` in `text`.
fn line_at(text: &str, span: Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
