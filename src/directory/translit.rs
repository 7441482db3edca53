//! Cyrillic → Latin transliteration, and the folding of name words that makes the phone book's
//! search indifferent to script, case, diacritics and the usual spelling variants.
//!
//! The index and the query both go through [`fold_words`], so a rule here can never cause a
//! miss, only a collision: each rule is chosen so that the spellings people actually write for
//! one name ("Алексей", "Aleksei", "Alexey", "Aleksej") land on one form ("aleksei"), and so
//! that the names it merges by accident are rare. Pure functions, no tables built at run time.

/// Longest word kept, in characters; the rest is dropped so a pathological input stays cheap.
pub const MAX_WORD: usize = 32;

/// The Latin spelling of a Cyrillic letter (lowercase), by the passport rules of Russia (ICAO
/// Doc 9303), plus the Ukrainian, Belarusian and Serbian letters. `None` for other characters.
fn cyrillic(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'й' | 'і' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "iu",
        'я' => "ia",
        'ї' => "yi",
        'є' => "ye",
        'ґ' | 'ѓ' => "g",
        'ђ' => "dj",
        'ј' => "j",
        'љ' => "lj",
        'њ' => "nj",
        'ћ' => "c",
        'ќ' => "k",
        'џ' | 'ѕ' => "dz",
        _ => return None,
    })
}

/// The plain Latin letters of an accented Latin letter (lowercase): Latin-1 and Latin
/// Extended-A, which covers the names of Western and Central Europe.
fn latin_base(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Marks that join a word rather than split it: "O'Brien", "Il'ya", "D’Artagnan".
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '´' | 'ʹ')
}

/// Combining diacritics, as left by a decomposed (NFD) input: dropped, the base letter stays.
fn is_combining(c: char) -> bool {
    ('\u{0300}'..='\u{036f}').contains(&c)
}

/// How one lowercase character enters a word: as Latin letters, as itself, or not at all
/// (`Skip` joins, `Break` splits words).
enum Piece {
    Text(&'static str),
    Char(char),
    Skip,
    Break,
}

fn piece(c: char) -> Piece {
    if let Some(latin) = cyrillic(c).or_else(|| latin_base(c)) {
        Piece::Text(latin)
    } else if is_apostrophe(c) || is_combining(c) {
        Piece::Skip
    } else if c.is_alphanumeric() {
        Piece::Char(c)
    } else {
        Piece::Break
    }
}

/// Splits `text` into lowercase Latin words: Cyrillic transliterated, diacritics dropped, any
/// character that is neither a letter nor a digit a separator. Other scripts pass through
/// lowercased. No phonetic folding: this is the readable form (e-mail addresses, sort keys).
pub fn latin_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        match piece(c) {
            Piece::Text(latin) => word.push_str(latin),
            Piece::Char(c) => word.push(c),
            Piece::Skip => {}
            Piece::Break => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `text` in Latin letters, case and punctuation kept: "Алексей Ревенко" → "Aleksei Revenko".
/// A capital Cyrillic letter that becomes two Latin letters capitalizes only the first ("Щ" →
/// "Shch").
pub fn to_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        match cyrillic(lower).or_else(|| latin_base(lower)) {
            Some(latin) if lower != c => {
                let mut letters = latin.chars();
                out.extend(letters.next().map(|first| first.to_ascii_uppercase()));
                out.extend(letters);
            }
            Some(latin) => out.push_str(latin),
            None if is_combining(c) => {}
            None => out.push(c),
        }
    }
    out
}

/// The phonetic folding of one lowercase Latin word, so that spelling variants meet:
///
/// - `ye` → `e` and `yo` → `e`: Yevgeny/Евгений, Yelena/Елена, Pyotr/Пётр, Semyon/Семён,
///   Andreyev/Андреев (Russian writes ё as е more often than not);
/// - `kh` → `h`: Mikhail/Mihail; `ph` → `f`; `ck` → `k`; `x` → `ks`: Alexey/Алексей, Maxim;
/// - `y` → `i` and `j` → `i`: Dmitry/Dmitriy/Дмитрий, Yuri/Iurii/Jurij/Юрий, Natalya/Наталья;
/// - `w` → `v`: German and Polish spellings of Slavic names;
/// - a doubled letter is written once: Iurii/Yuri, Kirill/Kiril, Anna/Ana;
/// - `shch`, `sh`, `ch`, `zh` and `ts` (щ ш ч ж ц) become one character each (`ŝ š č ž ç`,
///   which no input folds to), so that a typo on one Cyrillic letter stays one edit: "Ивщан"
///   is one edit from "Иван", not four.
pub fn fold_word(word: &str) -> String {
    let chars: Vec<char> = word.chars().take(MAX_WORD).collect();
    let mut out = String::with_capacity(chars.len() + 2);
    let mut last = None;
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        let (text, step): (&str, usize) = match (chars[i], next) {
            ('s', Some('h')) if chars.get(i + 2..i + 4) == Some(&['c', 'h'][..]) => ("ŝ", 4),
            ('s', Some('h')) => ("š", 2),
            ('c', Some('h')) => ("č", 2),
            ('z', Some('h')) => ("ž", 2),
            ('t', Some('s')) => ("ç", 2),
            ('y', Some('e' | 'o')) => ("e", 2),
            ('k', Some('h')) => ("h", 2),
            ('p', Some('h')) => ("f", 2),
            ('c', Some('k')) => ("k", 2),
            ('x', _) => ("ks", 1),
            ('y' | 'j', _) => ("i", 1),
            ('w', _) => ("v", 1),
            (c, _) => {
                push_once(&mut out, &mut last, c);
                i += 1;
                continue;
            }
        };
        for c in text.chars() {
            push_once(&mut out, &mut last, c);
        }
        i += step;
    }
    out
}

/// Pushes `c` unless it repeats the character just pushed.
fn push_once(out: &mut String, last: &mut Option<char>, c: char) {
    if *last != Some(c) {
        out.push(c);
        *last = Some(c);
    }
}

/// The search form of every word of `text`: [`latin_words`] then [`fold_word`].
pub fn fold_words(text: &str) -> Vec<String> {
    latin_words(text).iter().map(|w| fold_word(w)).collect()
}

/// The words of `text` as written, lowercased, split where [`fold_words`] splits them (the
/// two line up word for word: [`fold_written`] of each is [`fold_words`]' word), with the
/// marks that join a word dropped: what tells apart spellings that fold alike ("Novak" and
/// "Nowak", "Анна" and "Anna").
pub fn written_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // Whether the word has a letter in Latin: "ь" alone is no word of `fold_words`.
    let mut lettered = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        match piece(c) {
            Piece::Text(latin) => {
                word.push(c);
                lettered |= !latin.is_empty();
            }
            Piece::Char(_) => {
                word.push(c);
                lettered = true;
            }
            Piece::Skip => {}
            Piece::Break => {
                if lettered {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                lettered = false;
            }
        }
    }
    if lettered {
        words.push(word);
    }
    words
}

/// The search form of one word of [`written_words`].
pub fn fold_written(word: &str) -> String {
    let mut latin = String::with_capacity(word.len());
    for c in word.chars() {
        match piece(c) {
            Piece::Text(text) => latin.push_str(text),
            Piece::Char(c) => latin.push(c),
            Piece::Skip | Piece::Break => {}
        }
    }
    fold_word(&latin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(text: &str) -> String {
        fold_words(text).join(" ")
    }

    #[test]
    fn written_words_fold_word_for_word_to_the_search_form() {
        for text in [
            "Алексей Ревенко",
            "O'Brien-Smith  Zoë",
            "Zoe\u{308} Jean-Paul",
            "ООО «Ромашка»",
            "İstanbul ß Straße",
            "Щукин, Юрий!",
            "Ь ъ объект ьа",
            "",
        ] {
            let written = written_words(text);
            let folded: Vec<String> = written.iter().map(|w| fold_written(w)).collect();
            assert_eq!(folded, fold_words(text), "{text}");
        }
        assert_eq!(written_words("Nowak Анна"), ["nowak", "анна"]);
        assert_eq!(
            fold(&written_words("Nowak Анна").join(" ")),
            fold("Novak Anna")
        );
    }

    #[test]
    fn russian_names_transliterate_by_the_passport_table() {
        assert_eq!(to_latin("Алексей Ревенко"), "Aleksei Revenko");
        assert_eq!(to_latin("Щукин Юрий"), "Shchukin Iurii");
        assert_eq!(to_latin("Наталья Хохлова"), "Natalia Khokhlova");
        assert_eq!(to_latin("Пётр Объедков"), "Petr Obedkov");
        assert_eq!(to_latin("ООО «Ромашка»"), "OOO «Romashka»");
    }

    #[test]
    fn ukrainian_letters_transliterate() {
        assert_eq!(
            to_latin("Ґалаґан Їжаченко Євген Іваненко"),
            "Galagan Yizhachenko Yevgen Ivanenko"
        );
        assert_eq!(fold("Олексій"), "oleksi");
        assert_eq!(fold("Євген"), fold("Evgen"));
    }

    #[test]
    fn cyrillic_and_latin_spellings_of_one_name_fold_alike() {
        for group in [
            &[
                "Алексей",
                "Aleksei",
                "Alexey",
                "Aleksey",
                "Alexei",
                "Aleksej",
            ][..],
            &["Юрий", "Yuri", "Iurii", "Yuriy", "Jurij", "Yury"],
            &["Евгений", "Evgeny", "Yevgeniy", "Evgenii", "Yevgeny"],
            &["Дмитрий", "Dmitry", "Dmitriy", "Dmitrii"],
            &["Наталья", "Natalya", "Natalia", "Наталия"],
            &["Михаил", "Mikhail", "Mihail"],
            &["Пётр", "Pyotr", "Petr"],
            &["Семён", "Semyon", "Семен"],
            &["Ксения", "Kseniya", "Xenia", "Ksenia"],
            &["Татьяна", "Tatyana", "Tatiana"],
            &["Кирилл", "Kirill", "Kiril"],
            &["Илья", "Ilya", "Il'ya", "Ilia"],
            &["Андреев", "Andreyev", "Andreev"],
            &["Соловьёв", "Solovyov", "Solovev"],
        ] {
            let want = fold(group[0]);
            for spelling in group {
                assert_eq!(
                    fold(spelling),
                    want,
                    "{spelling} should fold like {}",
                    group[0]
                );
            }
        }
    }

    #[test]
    fn a_typo_on_one_cyrillic_letter_is_one_folded_edit() {
        for (typo, name) in [
            ("Ивщан", "Иван"),
            ("Сыч", "Сыж"),
            ("Цой", "Чой"),
            ("Шишкин", "Щишкин"),
        ] {
            let (a, b) = (fold(typo), fold(name));
            assert_eq!(
                strsim::osa_distance(&a, &b),
                1,
                "{typo} → {a}, {name} → {b}"
            );
        }
        assert_eq!(fold("Щукин"), fold("Shchukin"));
        assert_eq!(fold("Жанна Чернышёва"), fold("Zhanna Chernysheva"));
        assert_eq!(fold("Цветков"), fold("Tsvetkov"));
    }

    #[test]
    fn case_diacritics_and_apostrophes_do_not_matter() {
        assert_eq!(fold("JOSÉ Müller"), "iose muler");
        assert_eq!(fold("Jose Muller"), "iose muler");
        assert_eq!(fold("O'Brien"), "obrien");
        assert_eq!(fold("Łukasz Wałęsa"), fold("lukasz valesa"));
        // A decomposed "é" (e + combining acute) is the same word.
        assert_eq!(fold("Rene\u{301}e"), fold("Renée"));
        assert_eq!(fold("Straße"), "strase");
    }

    #[test]
    fn punctuation_and_symbols_split_words() {
        assert_eq!(
            fold_words("Римский-Корсаков, Николай"),
            ["rimski", "korsakov", "nikolai"]
        );
        assert_eq!(fold_words("ООО «Ромашка»"), ["o", "romaška"]);
        assert_eq!(fold_words("Acme Ltd. (UK) 👍"), ["acme", "ltd", "uk"]);
        assert!(fold_words("  -- 🙂 ").is_empty());
        assert!(fold_words("").is_empty());
    }

    #[test]
    fn other_scripts_pass_through_lowercased() {
        assert_eq!(fold_words("Ωμέγα 東京"), ["ωμέγα", "東京"]);
    }

    #[test]
    fn a_word_is_cut_at_max_word() {
        let long = "a".repeat(10) + &"b".repeat(100);
        assert_eq!(fold_word(&long), "ab");
        let varied: String = "abc".repeat(40);
        assert_eq!(fold_word(&varied).chars().count(), MAX_WORD);
    }
}
