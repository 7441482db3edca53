//! Every XML file under `freeswitch/` read the way FreeSWITCH 1.10 reads it. CI cannot run a
//! FreeSWITCH, so these rules are the guard for what a team copies into its switch:
//!
//! - the pre-processor (`switch_xml.c`, `preprocess`) runs every line holding
//!   `<X-PRE-PROCESS` or `<!--#`, comments included: shipped files carry neither, so they
//!   never override the administrator's `vars.xml`;
//! - its parser ends a comment at the first `--` and refuses the file ("unclosed <!--") unless
//!   `>` follows, so no comment holds `--`;
//! - the file is well-formed XML;
//! - every `${name}` is a channel variable FreeSWITCH sets or one a shipped file sets, and no
//!   `${api(...)}` call is used (the shipped `switch.conf.xml` may turn API expansion off);
//! - every `$${global}` is one FreeSWITCH defines or one `freeswitch/README.md` declares;
//! - mod_curl's arguments, which it splits on spaces, are all words it knows;
//! - a condition's `field` is a channel variable (`${name}`) or a caller-profile field: the
//!   dialplan (`mod_dialplan_xml.c`, `parse_exten`) expands it only if it holds a `$`, and a
//!   `$${global}` is already replaced by its value when the file is read, so a field written
//!   `$${x}` is looked up as a caller-profile field named after x's value, which is empty.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

fn shipped() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "xml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("freeswitch"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 5, "shipped files: {files:?}");
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Channel variables FreeSWITCH itself sets that the shipped files read.
const SWITCH_VARIABLES: &[&str] = &[
    "destination_number",
    "caller_id_number",
    "caller_id_name",
    "uuid",
    "domain_name",
    // mod_curl's `curl` application sets these.
    "curl_response_code",
    "curl_response_data",
];

/// Globals FreeSWITCH defines at start (`switch_core.c`, the stock `vars.xml`).
const SWITCH_GLOBALS: &[&str] = &[
    "base_dir",
    "conf_dir",
    "log_dir",
    "recordings_dir",
    "sounds_dir",
    "storage_dir",
    "temp_dir",
    "domain",
    "local_ip_v4",
];

/// Words mod_curl 1.10.12 understands after the URL (`curl_app_function`); a word it does not
/// know is dropped without a warning, which is how a header with a space in it vanishes. The
/// application (unlike the `curl` API) knows no `connect-timeout` or `timeout` word: it reads
/// the channel variables `curl_connect_timeout` and `curl_timeout` instead.
const CURL_WORDS: &[&str] = &["headers", "json", "get", "head", "insecure", "secure"];
const CURL_WORDS_WITH_VALUE: &[&str] = &[
    "content-type",
    "append_headers",
    "proxy",
    "post",
    "put",
    "patch",
    "delete",
];

/// Every `${...}` in `text` (outermost first, nested ones too), as their inner text.
fn expansions(text: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let inner_start = at + prefix.len();
        let mut depth = 1;
        let mut end = None;
        for (i, c) in rest[inner_start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(inner_start + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end.unwrap_or_else(|| panic!("unterminated {prefix} in {text:?}"));
        let inner = &rest[inner_start..end];
        found.push(inner.to_owned());
        found.extend(expansions(inner, prefix));
        rest = &rest[end + 1..];
    }
    found
}

/// Attribute values (unescaped) and text of every element, with the element's name.
fn values(path: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let xml = read(path);
    let mut reader = Reader::from_str(&xml);
    let mut elements = Vec::new();
    let mut roots = 0;
    let mut depth = 0usize;
    let attributes = |start: &BytesStart| -> Vec<(String, String)> {
        start
            .attributes()
            .map(|a| {
                let a = a.unwrap_or_else(|e| panic!("{}: bad attribute: {e}", path.display()));
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect()
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                roots += usize::from(depth == 0);
                depth += 1;
                let name = String::from_utf8(start.name().as_ref().to_vec()).unwrap();
                elements.push((name, attributes(&start)));
            }
            Ok(Event::Empty(start)) => {
                roots += usize::from(depth == 0);
                let name = String::from_utf8(start.name().as_ref().to_vec()).unwrap();
                elements.push((name, attributes(&start)));
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(text)) => {
                let text = text.decode().unwrap().into_owned();
                if !text.trim().is_empty() {
                    elements.push(("#text".into(), vec![("text".into(), text)]));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{} is not well-formed XML: {e}", path.display()),
        }
    }
    assert_eq!(depth, 0, "{}: unclosed elements", path.display());
    assert_eq!(roots, 1, "{}: one root element", path.display());
    elements
}

/// Lines FreeSWITCH's pre-processor would run, wherever they stand.
fn pre_processor_lines(xml: &str) -> Vec<String> {
    xml.lines()
        .filter(|line| {
            line.to_ascii_uppercase().contains("X-PRE-PROCESS") || line.contains("<!--#")
        })
        .map(str::to_owned)
        .collect()
}

/// Comments FreeSWITCH's parser refuses: the first `--` after `<!--` must be `-->`.
fn broken_comments(xml: &str) -> Vec<String> {
    let mut broken = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find("<!--") {
        let body = &rest[open + 4..];
        let Some(dashes) = body.find("--") else {
            broken.push("unclosed comment".to_owned());
            break;
        };
        if !body[dashes + 2..].starts_with('>') {
            let from = body[..dashes]
                .char_indices()
                .rev()
                .nth(30)
                .map_or(0, |(i, _)| i);
            broken.push(body[from..dashes + 2].to_owned());
        }
        rest = &body[dashes + 2..];
    }
    broken
}

/// Caller-profile fields a condition may name without `${}` (`switch_caller_get_field_by_name`).
const CALLER_PROFILE_FIELDS: &[&str] = &[
    "destination_number",
    "caller_id_number",
    "caller_id_name",
    "ani",
    "aniii",
    "rdnis",
    "network_addr",
    "username",
    "context",
    "dialplan",
    "source",
    "chan_name",
    "uuid",
];

/// Why FreeSWITCH would not read a condition's `field` as its author meant.
fn condition_field_problem(field: &str) -> Option<String> {
    if field.contains("$${") {
        return Some(format!(
            "{field:?} is replaced by the global's value when the file is read, then looked up as \
             a caller-profile field of that name (always empty): read it as a channel \
             variable, `${{name}}` (globals are visible there too)"
        ));
    }
    if !field.contains('$') && !CALLER_PROFILE_FIELDS.contains(&field) {
        return Some(format!("{field:?} is not a caller-profile field"));
    }
    None
}

/// What mod_curl would not understand in a `curl` application's data.
fn curl_problems(data: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut words = data.split(' ');
    let url = words.next().unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("$${")) {
        problems.push(format!("URL {url:?}"));
    }
    while let Some(word) = words.next() {
        if CURL_WORDS_WITH_VALUE.contains(&word) {
            match (word, words.next()) {
                (_, None) => problems.push(format!("`{word}` without a value")),
                ("append_headers", Some(value)) => {
                    let (header, content) = value.split_once(':').unwrap_or_default();
                    if header.is_empty() || content.is_empty() {
                        problems.push(format!("header {value:?} is not Name:Value"));
                    }
                }
                _ => {}
            }
        } else if !CURL_WORDS.contains(&word) {
            problems.push(format!("mod_curl would silently drop {word:?}"));
        }
    }
    problems
}

#[test]
fn no_file_carries_a_pre_processor_line_even_in_a_comment() {
    for path in shipped() {
        let lines = pre_processor_lines(&read(&path));
        assert!(
            lines.is_empty(),
            "{}: FreeSWITCH runs these lines even inside a comment: {lines:?}",
            path.display()
        );
    }
}

#[test]
fn every_comment_closes_where_freeswitch_ends_it() {
    for path in shipped() {
        let broken = broken_comments(&read(&path));
        assert!(
            broken.is_empty(),
            "{}: `--` inside a comment (FreeSWITCH: \"unclosed <!--\"): {broken:?}",
            path.display()
        );
    }
}

#[test]
fn every_variable_is_one_the_switch_or_a_shipped_file_sets() {
    let files = shipped();
    let mut set_by_files: BTreeSet<String> = BTreeSet::new();
    for path in &files {
        for (name, attributes) in values(path) {
            let is_action = name == "action" || name == "anti-action";
            let app = attributes.iter().find(|(k, _)| k == "application");
            let data = attributes.iter().find(|(k, _)| k == "data");
            if let (true, Some((_, app)), Some((_, data))) = (is_action, app, data) {
                if app == "set" || app == "export" {
                    if let Some((variable, _)) = data.split_once('=') {
                        set_by_files.insert(variable.to_owned());
                    }
                }
            }
        }
    }
    let readme = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("freeswitch/README.md"));
    for path in &files {
        for (_, attributes) in values(path) {
            for (_, value) in &attributes {
                let globals = expansions(value, "$${");
                for global in &globals {
                    assert!(
                        SWITCH_GLOBALS.contains(&global.as_str())
                            || readme.contains(&format!("data=\"{global}=")),
                        "{}: $${{{global}}} is neither a FreeSWITCH global nor declared in freeswitch/README.md",
                        path.display()
                    );
                }
                let without_globals = globals
                    .iter()
                    .fold(value.clone(), |v, g| v.replace(&format!("$${{{g}}}"), ""));
                for inner in expansions(&without_globals, "${") {
                    assert!(
                        !inner.contains('(') && !inner.contains(' '),
                        "{}: ${{{inner}}} is an API call; shipped files use none (api-expansion may be off)",
                        path.display()
                    );
                    // A channel variable that is not set falls back to the global of that
                    // name (`switch_channel_get_variable_dup`).
                    assert!(
                        SWITCH_VARIABLES.contains(&inner.as_str())
                            || set_by_files.contains(&inner)
                            || readme.contains(&format!("data=\"{inner}=")),
                        "{}: ${{{inner}}} is set by neither FreeSWITCH, a shipped file nor vars.xml",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn curl_arguments_are_words_mod_curl_knows() {
    let mut checked = 0;
    for path in shipped() {
        for (name, attributes) in values(&path) {
            let get = |key: &str| {
                attributes
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            };
            if !(name == "action" || name == "anti-action") || get("application") != Some("curl") {
                continue;
            }
            let data = get("data").unwrap();
            let problems = curl_problems(data);
            assert!(
                problems.is_empty(),
                "{}: curl {data:?}: {problems:?}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 1,
        "the outbound blocklist asks switchdesk with curl"
    );
}

#[test]
fn condition_fields_are_read_as_the_dialplan_reads_them() {
    let mut checked = 0;
    for path in shipped() {
        for (name, attributes) in values(&path) {
            if name != "condition" {
                continue;
            }
            if let Some((_, field)) = attributes.iter().find(|(k, _)| k == "field") {
                let problem = condition_field_problem(field);
                assert!(problem.is_none(), "{}: {problem:?}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "the dialplans have conditions");
}

#[test]
fn the_rules_catch_the_mistakes_they_exist_for() {
    // What earlier shipped files did, each of which broke a real FreeSWITCH.
    let example_in_comment =
        "<!--\n  <X-PRE-PROCESS cmd=\"set\" data=\"switchdesk_cdr_cred=x:y\"/>\n-->";
    assert_eq!(pre_processor_lines(example_in_comment).len(), 1);
    assert_eq!(
        broken_comments("<!-- switchdesk token add freeswitch-dialplan --role agent -->"),
        [" token add freeswitch-dialplan --"]
    );
    assert!(broken_comments("<!-- a - b -->\n<x/><!-- c -->").is_empty());
    assert_eq!(
        curl_problems("http://x/check append_headers Authorization:Bearer TOKEN"),
        ["mod_curl would silently drop \"TOKEN\""]
    );
    assert!(curl_problems("http://x/check append_headers X-Switchdesk-Token:abc").is_empty());
    // The outbound blocklist's `open` switch never opened on a real 1.10.12: the field was
    // `$${switchdesk_blocklist_on_failure}`, read as the caller-profile field `open`.
    assert!(condition_field_problem("$${switchdesk_blocklist_on_failure}").is_some());
    assert!(condition_field_problem("open").is_some());
    assert!(condition_field_problem("${switchdesk_blocklist_on_failure}").is_none());
    assert!(condition_field_problem("destination_number").is_none());
    assert_eq!(
        curl_problems("http://x/check timeout 2"),
        [
            "mod_curl would silently drop \"timeout\"",
            "mod_curl would silently drop \"2\""
        ]
    );
    assert_eq!(
        expansions(
            "${curl(http://x?n=${uri_encode(${destination_number})})}",
            "${"
        ),
        [
            "curl(http://x?n=${uri_encode(${destination_number})})",
            "uri_encode(${destination_number})",
            "destination_number"
        ]
    );
    assert_eq!(
        expansions("$${switchdesk_url}/x ${a}", "$${"),
        ["switchdesk_url"]
    );
}

/// Every module switchdesk drives FreeSWITCH through: the event socket, SIP, the applications
/// and commands it sends, the dialplan it parks in, hold music and prompts, mod_say for the
/// English and Russian announcements (`say en ...`, `say ru ...` with mod_say_ru's `gender`
/// and `cases`), fax, CDRs and the outbound blocklist's `curl`.
const NEEDED_MODULES: &[&str] = &[
    "mod_event_socket",
    "mod_sofia",
    "mod_dptools",
    "mod_commands",
    "mod_dialplan_xml",
    "mod_local_stream",
    "mod_tone_stream",
    "mod_sndfile",
    "mod_say_en",
    "mod_say_ru",
    "mod_spandsp",
    "mod_xml_cdr",
    "mod_curl",
];

#[test]
fn the_shipped_modules_conf_loads_every_module_switchdesk_needs() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("freeswitch/autoload_configs/modules.conf.xml");
    // Comments are not elements: a module commented out is not loaded.
    let loaded: BTreeSet<String> = values(&path)
        .into_iter()
        .filter(|(name, _)| name == "load")
        .filter_map(|(_, attributes)| {
            attributes
                .into_iter()
                .find(|(k, _)| k == "module")
                .map(|(_, v)| v)
        })
        .collect();
    let missing: Vec<&&str> = NEEDED_MODULES
        .iter()
        .filter(|m| !loaded.contains(**m))
        .collect();
    assert!(missing.is_empty(), "not loaded: {missing:?}");
    // The stock file's other modules are still there (it replaces the stock file).
    assert!(loaded.len() > 40, "{loaded:?}");
}
