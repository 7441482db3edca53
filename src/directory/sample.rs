//! Realistic phone-book data for the demo, the tests and the benchmarks: Russian names in
//! Cyrillic (patronymics, surnames that agree with the person's gender), US and UK names,
//! Russian and English organizations with DID blocks, and numbers in E.164 that look like the
//! real ones (Russian mobiles, Moscow, St Petersburg, London, UK mobiles, US area codes).
//!
//! Deterministic: the same seed gives the same book, and a longer book starts with the shorter
//! one. Independent of the store; [`SampleContact::entry`] feeds the search index directly.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::search::{Entry, Key};
use super::translit;

/// A generated person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleContact {
    pub first_name: String,
    /// A Russian patronymic, for about half of the Russian contacts.
    pub middle_name: Option<String>,
    pub last_name: String,
    /// The name of one of the first `n / 50` organizations of the same seed (see [`contacts`]).
    pub organization: Option<String>,
    /// E.164; the first is the main one.
    pub numbers: Vec<String>,
    pub email: Option<String>,
    pub vip: bool,
}

impl SampleContact {
    /// "First Middle Last", as a Russian phone book shows a person.
    pub fn display_name(&self) -> String {
        match &self.middle_name {
            Some(middle) => format!("{} {middle} {}", self.first_name, self.last_name),
            None => format!("{} {}", self.first_name, self.last_name),
        }
    }

    /// The search index's view of this contact, as `Key::Contact(id)`.
    pub fn entry(&self, id: i64) -> Entry {
        Entry {
            key: Key::Contact(id),
            names: vec![self.display_name()],
            numbers: self.numbers.clone(),
            ranges: Vec::new(),
        }
    }
}

/// A generated company.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleOrganization {
    pub name: String,
    /// The main line (and a fax line for some), inside the first DID block.
    pub numbers: Vec<String>,
    /// E.164 prefixes of its DID blocks, 10,000 numbers each.
    pub ranges: Vec<String>,
    pub vip: bool,
    /// What it pays a month for support, in cents: [`FIRST_MONTHLY_FEE_CENTS`] for the first
    /// organization of a book, [`MONTHLY_FEE_STEP_CENTS`] more for each next one, so a
    /// profitability report over the book shows a range of margins.
    pub monthly_fee_cents: i64,
}

/// The monthly support fee of the first organization of a book, in cents.
pub const FIRST_MONTHLY_FEE_CENTS: i64 = 50_000;
/// How much more each next organization of a book pays a month, in cents.
pub const MONTHLY_FEE_STEP_CENTS: i64 = 7_500;

impl SampleOrganization {
    /// The search index's view of this organization, as `Key::Organization(id)`.
    pub fn entry(&self, id: i64) -> Entry {
        Entry {
            key: Key::Organization(id),
            names: vec![self.name.clone()],
            numbers: self.numbers.clone(),
            ranges: self.ranges.clone(),
        }
    }
}

/// `n` contacts: about 60% Russian and 40% English-speaking (half UK, half US), each with one
/// to three numbers. About 30% work for one of the first `max(n / 50, 1)` organizations of
/// [`organizations`] with the same seed, and half of those have a number in its DID block: a
/// book of a million contacts goes with 20,000 organizations.
pub fn contacts(seed: u64, n: usize) -> impl Iterator<Item = SampleContact> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let employers = (n / 50).max(1);
    (0..n).map(move |_| contact(&mut rng, seed, employers))
}

/// `n` organizations, about 60% Russian, each with one to three DID blocks. The `i`-th depends
/// only on the seed and `i`.
pub fn organizations(seed: u64, n: usize) -> impl Iterator<Item = SampleOrganization> {
    (0..n).map(move |i| organization(seed, i))
}

/// The `i`-th organization of [`organizations`] with this seed.
pub fn organization(seed: u64, i: usize) -> SampleOrganization {
    let mixed = seed
        ^ (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut rng = SmallRng::seed_from_u64(mixed);
    let russian = rng.random_bool(0.6);
    let name = if russian {
        format!(
            "{} «{}{}»",
            pick(&mut rng, RU_ORG_FORMS, 2.0),
            pick(&mut rng, RU_ORG_ROOTS, 1.2),
            pick(&mut rng, RU_ORG_SUFFIXES, 1.5)
        )
    } else {
        let middle = if rng.random_bool(0.5) {
            format!(" {}", pick(&mut rng, EN_ORG_TRADES, 1.0))
        } else {
            String::new()
        };
        format!(
            "{}{middle} {}",
            pick(&mut rng, EN_ORG_ROOTS, 1.2),
            pick(&mut rng, EN_ORG_SUFFIXES, 1.5)
        )
    };
    let country = if russian {
        Country::Russia
    } else if rng.random_bool(0.5) {
        Country::Uk
    } else {
        Country::Us
    };
    let blocks = rng.random_range(1..=3);
    let ranges: Vec<String> = (0..blocks).map(|_| block(&mut rng, country)).collect();
    let mut numbers = vec![format!("{}0000", ranges[0])];
    if rng.random_bool(0.3) {
        numbers.push(format!("{}0099", ranges[0]));
    }
    SampleOrganization {
        name,
        numbers,
        ranges,
        vip: rng.random_bool(0.05),
        monthly_fee_cents: FIRST_MONTHLY_FEE_CENTS.saturating_add(
            i64::try_from(i)
                .unwrap_or(i64::MAX)
                .saturating_mul(MONTHLY_FEE_STEP_CENTS),
        ),
    }
}

/// `text` with one typo in one of its words of three letters or more: a letter dropped, added,
/// replaced (by one of the same script) or swapped with the next.
pub fn misspell(rng: &mut impl Rng, text: &str) -> String {
    let mut words: Vec<Vec<char>> = text
        .split_whitespace()
        .map(|w| w.chars().collect())
        .collect();
    let long: Vec<usize> = (0..words.len()).filter(|&i| words[i].len() >= 3).collect();
    let Some(&target) = long.get(rng.random_range(0..long.len().max(1))) else {
        return text.to_owned();
    };
    let word = &mut words[target];
    let at = rng.random_range(0..word.len());
    let cyrillic = word.iter().any(|c| ('\u{400}'..='\u{4ff}').contains(c));
    let letter = if cyrillic {
        char::from_u32(0x430 + rng.random_range(0..32)).unwrap_or('а')
    } else {
        char::from(b'a' + rng.random_range(0..26u8))
    };
    match rng.random_range(0..4) {
        0 => {
            word.remove(at);
        }
        1 => word.insert(at, letter),
        2 => word[at] = letter,
        _ if at + 1 < word.len() => word.swap(at, at + 1),
        _ => word.swap(at - 1, at),
    }
    words
        .iter()
        .map(|w| w.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Copy)]
enum Country {
    Russia,
    Uk,
    Us,
}

fn contact(rng: &mut SmallRng, seed: u64, employers: usize) -> SampleContact {
    let female = rng.random_bool(0.5);
    let country = match rng.random_range(0..10) {
        0..6 => Country::Russia,
        6..8 => Country::Uk,
        _ => Country::Us,
    };
    let (first_name, middle_name, last_name) = match country {
        Country::Russia => russian_name(rng, female),
        Country::Uk | Country::Us => {
            let first = pick(rng, if female { EN_FEMALE } else { EN_MALE }, 1.6);
            (
                first.to_owned(),
                None,
                pick(rng, EN_SURNAMES, 1.3).to_owned(),
            )
        }
    };
    let mut numbers: Vec<String> = (0..rng.random_range(1..=3))
        .map(|i| {
            if i == 0 || rng.random_bool(0.5) {
                mobile(rng, country)
            } else {
                landline(rng, country)
            }
        })
        .collect();
    let employer = rng
        .random_bool(0.3)
        .then(|| organization(seed, rng.random_range(0..employers)));
    if let Some(employer) = &employer {
        if rng.random_bool(0.5) {
            let block = &employer.ranges[rng.random_range(0..employer.ranges.len())];
            numbers.truncate(2);
            numbers.push(format!("{block}{:04}", rng.random_range(1..10_000)));
        }
    }
    let email = rng
        .random_bool(0.4)
        .then(|| email(rng, &first_name, &last_name, country));
    SampleContact {
        first_name,
        middle_name,
        last_name,
        organization: employer.map(|e| e.name),
        numbers,
        email,
        vip: rng.random_bool(0.02),
    }
}

fn russian_name(rng: &mut SmallRng, female: bool) -> (String, Option<String>, String) {
    let first = pick(rng, if female { RU_FEMALE } else { RU_MALE }, 1.6);
    let surname = pick(rng, RU_SURNAMES, 1.3);
    let last = if female {
        feminine(surname)
    } else {
        surname.to_owned()
    };
    let middle = rng.random_bool(0.5).then(|| {
        let (his, hers) = PATRONYMICS[skewed(rng, PATRONYMICS.len(), 1.4)];
        if female { hers } else { his }.to_owned()
    });
    (first.to_owned(), middle, last)
}

/// The feminine form of a Russian surname: Иванов → Иванова, Покровский → Покровская;
/// Ревенко, Шевчук and Черных do not change.
fn feminine(surname: &str) -> String {
    for (his, hers) in [("ский", "ская"), ("цкий", "цкая"), ("ой", "ая")] {
        if let Some(stem) = surname.strip_suffix(his) {
            return format!("{stem}{hers}");
        }
    }
    if ["ов", "ев", "ёв", "ин", "ын"]
        .iter()
        .any(|end| surname.ends_with(end))
    {
        return format!("{surname}а");
    }
    surname.to_owned()
}

/// An index into a list sorted most common first: `skew` 1 is uniform, 2 gives the first
/// tenth of the list about a third of the draws.
fn skewed(rng: &mut impl Rng, len: usize, skew: f64) -> usize {
    let u: f64 = rng.random();
    ((u.powf(skew) * len as f64) as usize).min(len.saturating_sub(1))
}

fn pick<'a>(rng: &mut impl Rng, list: &[&'a str], skew: f64) -> &'a str {
    list.get(skewed(rng, list.len(), skew))
        .copied()
        .unwrap_or_default()
}

fn digits(rng: &mut impl Rng, count: u32) -> String {
    format!(
        "{:0width$}",
        rng.random_range(0..10u64.pow(count)),
        width = count as usize
    )
}

fn mobile(rng: &mut impl Rng, country: Country) -> String {
    match country {
        Country::Russia => format!("+79{}", digits(rng, 9)),
        Country::Uk => format!("+447{}{}", rng.random_range(1..10), digits(rng, 8)),
        Country::Us => landline(rng, country),
    }
}

fn landline(rng: &mut impl Rng, country: Country) -> String {
    match country {
        Country::Russia => {
            let city = ["495", "495", "499", "812"][rng.random_range(0..4)];
            format!("+7{city}{}", digits(rng, 7))
        }
        Country::Uk => format!(
            "+4420{}{}",
            ["3", "7", "8"][rng.random_range(0..3)],
            digits(rng, 7)
        ),
        Country::Us => format!(
            "+1{}{}{}",
            pick(rng, US_AREA_CODES, 1.3),
            rng.random_range(200..1000),
            digits(rng, 4)
        ),
    }
}

/// The prefix of a block of 10,000 numbers.
fn block(rng: &mut impl Rng, country: Country) -> String {
    let number = landline(rng, country);
    number[..number.len() - 4].to_owned()
}

fn email(rng: &mut impl Rng, first: &str, last: &str, country: Country) -> String {
    let ascii = |name: &str| -> String {
        translit::to_latin(name)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let domains: &[&str] = match country {
        Country::Russia => &[
            "yandex.ru",
            "mail.ru",
            "gmail.com",
            "bk.ru",
            "list.ru",
            "rambler.ru",
        ],
        Country::Uk => &[
            "gmail.com",
            "outlook.com",
            "btinternet.com",
            "hotmail.co.uk",
            "yahoo.co.uk",
        ],
        Country::Us => &[
            "gmail.com",
            "outlook.com",
            "yahoo.com",
            "icloud.com",
            "aol.com",
        ],
    };
    let domain = pick(rng, domains, 1.5);
    match rng.random_range(0..3) {
        0 => format!("{}.{}@{domain}", ascii(first), ascii(last)),
        1 => format!(
            "{}{}@{domain}",
            ascii(first).chars().next().unwrap_or('x'),
            ascii(last)
        ),
        _ => format!("{}{}@{domain}", ascii(last), rng.random_range(1..100)),
    }
}

// Lists sorted roughly most common first: `pick` favours the head.

#[rustfmt::skip]
const RU_MALE: &[&str] = &[
    "Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Максим", "Евгений", "Иван", "Михаил",
    "Артём", "Владимир", "Николай", "Денис", "Павел", "Никита", "Игорь", "Роман", "Олег", "Илья",
    "Кирилл", "Антон", "Юрий", "Виктор", "Егор", "Вадим", "Василий", "Константин", "Владислав",
    "Георгий", "Даниил", "Анатолий", "Вячеслав", "Валерий", "Григорий", "Пётр", "Борис",
    "Станислав", "Геннадий", "Леонид", "Фёдор", "Тимур", "Руслан", "Виталий", "Матвей", "Марк",
    "Степан", "Семён", "Ярослав", "Глеб", "Лев", "Тимофей", "Арсений", "Богдан", "Эдуард",
    "Аркадий", "Валентин", "Филипп", "Захар", "Макар", "Платон", "Всеволод", "Святослав",
    "Ростислав", "Герман", "Артур", "Ян", "Эрик", "Эмиль", "Тарас", "Остап", "Данила", "Елисей",
    "Мирон", "Демид", "Родион", "Прохор", "Архип", "Гордей", "Лука", "Давид", "Адам", "Альберт",
    "Вениамин", "Гавриил", "Ефим", "Иннокентий", "Кузьма", "Леон", "Мартин", "Назар", "Нестор",
    "Ратмир", "Рустам", "Самуил", "Тихон", "Трофим", "Фома", "Харитон", "Эльдар", "Юлиан", "Яков",
    "Артемий", "Афанасий", "Савелий", "Игнат", "Светозар", "Добрыня", "Измаил", "Ибрагим",
    "Магомед", "Ренат", "Марат", "Айдар", "Ильдар", "Рамиль",
];

#[rustfmt::skip]
const RU_FEMALE: &[&str] = &[
    "Елена", "Татьяна", "Ольга", "Наталья", "Анна", "Мария", "Ирина", "Екатерина", "Светлана",
    "Юлия", "Анастасия", "Марина", "Дарья", "Людмила", "Галина", "Надежда", "Валентина", "Виктория",
    "Ксения", "Алина", "Полина", "Евгения", "Александра", "Елизавета", "Софья", "Вера", "Любовь",
    "Лариса", "Оксана", "Кристина", "Нина", "Алёна", "Яна", "Валерия", "Вероника", "Маргарита",
    "Тамара", "Инна", "Жанна", "Лидия", "Антонина", "Раиса", "Зоя", "Алла", "Диана", "Карина",
    "Кира", "Ангелина", "Варвара", "Василиса", "Ульяна", "Милана", "Алиса", "Ева", "Арина", "Злата",
    "Майя", "Олеся", "Регина", "Снежана", "Стефания", "Таисия", "Эвелина", "Эльвира", "Ярослава",
    "Мирослава", "Есения", "Агата", "Анжелика", "Виолетта", "Василина", "Дина", "Элина", "Лилия",
    "Римма", "Роза", "Зинаида", "Клавдия", "Нелли", "Эльмира", "Гульнара", "Альбина", "Камила",
    "Амина", "Сабина", "Аделина", "Вилена", "Влада", "Богдана", "Серафима", "Фаина", "Эмилия",
    "Нонна", "Инга", "Лолита", "Мадина", "Патимат", "Асель", "Динара", "Лейла",
];

#[rustfmt::skip]
const RU_SURNAMES: &[&str] = &[
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов",
    "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев",
    "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин",
    "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов",
    "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов",
    "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов",
    "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов",
    "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов",
    "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов",
    "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов",
    "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев",
    "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов", "Соболев",
    "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов", "Гришин",
    "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев", "Панов", "Моисеев", "Румянцев", "Акимов",
    "Кондратьев", "Бирюков", "Горбунов", "Анисимов", "Ерёмин", "Тихомиров", "Галкин", "Лукьянов",
    "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров", "Симонов", "Прокофьев", "Харитонов",
    "Князев", "Цветков", "Левин", "Митрофанов", "Воронов", "Аксёнов", "Софронов", "Мальцев",
    "Логинов", "Горшков", "Савин", "Краснов", "Майоров", "Демидов", "Елисеев", "Рыбаков", "Сафонов",
    "Плотников", "Дёмин", "Хохлов", "Фадеев", "Молчанов", "Игнатов", "Литвинов", "Ершов", "Ушаков",
    "Дементьев", "Рябов", "Мухин", "Калашников", "Леонтьев", "Лобанов", "Кузин", "Корнеев",
    "Евдокимов", "Бородин", "Платонов", "Некрасов", "Балашов", "Бобров", "Жданов", "Блинов",
    "Игнатьев", "Коротков", "Муравьёв", "Крюков", "Беляков", "Богомолов", "Дроздов", "Лавров",
    "Зуев", "Петухов", "Ларин", "Никулин", "Серов", "Терентьев", "Зотов", "Устинов", "Фокин",
    "Самойлов", "Константинов", "Сахаров", "Шишкин", "Самсонов", "Черкасов", "Чистяков", "Носов",
    "Спиридонов", "Карасёв", "Авдеев", "Воронцов", "Зверев", "Владимиров", "Селезнёв", "Нечаев",
    "Кудряшов", "Седов", "Фирсов", "Андрианов", "Панин", "Головин", "Терехов", "Ульянов",
    "Шестаков", "Агеев", "Никонов", "Селиванов", "Баженов", "Гордеев", "Кожевников", "Пахомов",
    "Зимин", "Костин", "Широков", "Филимонов", "Ларионов", "Овсянников", "Сазонов", "Суворов",
    "Нефёдов", "Корнилов", "Любимов", "Львов", "Горбачёв", "Копылов", "Лукин", "Токарев", "Кулешов",
    "Шилов", "Большаков", "Панкратов", "Родин", "Шаповалов", "Покровский", "Бочаров", "Никольский",
    "Маркин", "Горелов", "Агафонов", "Березин", "Ермолаев", "Зубков", "Куприянов", "Трифонов",
    "Масленников", "Круглов", "Третьяков", "Колосов", "Рожков", "Артамонов", "Шмелёв", "Лаптев",
    "Лапшин", "Федосеев", "Зиновьев", "Зорин", "Уткин", "Столяров", "Зубов", "Ткачёв", "Дорофеев",
    "Антипов", "Завьялов", "Свиридов", "Золотарёв", "Кулаков", "Мещеряков", "Макеев", "Дьяконов",
    "Гуляев", "Петровский", "Бондарев", "Поздняков", "Панфилов", "Кочетков", "Суханов", "Рыжов",
    "Старостин", "Калмыков", "Колесов", "Золотов", "Кравцов", "Субботин", "Шубин", "Щукин", "Лосев",
    "Винокуров", "Лапин", "Парфёнов", "Исаков", "Голованов", "Коровин", "Розанов", "Артёмов",
    "Козырев", "Русаков", "Алёшин", "Крючков", "Булгаков", "Кошелев", "Сычёв", "Синицын", "Рогов",
    "Кононов", "Лаврентьев", "Евсеев", "Пименов", "Пантелеев", "Горячев", "Аникин", "Лопатин",
    "Рудаков", "Одинцов", "Серебряков", "Панков", "Дегтярёв", "Орехов", "Царёв", "Шувалов",
    "Кондрашов", "Горюнов", "Дубровин", "Голиков", "Курочкин", "Латышев", "Севастьянов", "Вавилов",
    "Ерофеев", "Сальников", "Клюев", "Носков", "Озеров", "Кольцов", "Комиссаров", "Меркулов",
    "Киреев", "Хомяков", "Булатов", "Ананьев", "Буров", "Шапошников", "Дружинин", "Островский",
    "Шевелёв", "Долгов", "Суслов", "Шевцов", "Пастухов", "Рубцов", "Бычков", "Глебов", "Ильинский",
    "Успенский", "Дьяков", "Кочергин", "Троицкий", "Вишневский", "Жуковский", "Добровольский",
    "Яблонский", "Заславский", "Белецкий", "Высоцкий", "Толстой", "Трубецкой", "Донской", "Ревенко",
    "Шевченко", "Бондаренко", "Коваленко", "Ткаченко", "Кравченко", "Марченко", "Литвиненко",
    "Савченко", "Руденко", "Мельниченко", "Гриценко", "Лысенко", "Петренко", "Павленко",
    "Романенко", "Мороз", "Шевчук", "Ковальчук", "Полищук", "Бойко", "Кравчук", "Черных", "Седых",
    "Белых", "Долгих", "Ревин", "Гурьев", "Ахмедов", "Алиев", "Гасанов", "Мамедов", "Хасанов",
    "Сафин", "Гарипов", "Зарипов", "Шарипов", "Галиев", "Нуриев", "Каримов", "Юсупов", "Абдуллаев",
    "Рахимов", "Ким", "Цой", "Пак", "Шульц", "Миллер", "Шмидт", "Кох", "Гофман", "Штерн",
    "Рабинович", "Кац", "Коган", "Гольдберг",
];

/// (his, hers), by the father's first name, most common first.
const PATRONYMICS: &[(&str, &str)] = &[
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Владимирович", "Владимировна"),
    ("Алексеевич", "Алексеевна"),
    ("Андреевич", "Андреевна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Николаевич", "Николаевна"),
    ("Иванович", "Ивановна"),
    ("Михайлович", "Михайловна"),
    ("Викторович", "Викторовна"),
    ("Евгеньевич", "Евгеньевна"),
    ("Юрьевич", "Юрьевна"),
    ("Анатольевич", "Анатольевна"),
    ("Олегович", "Олеговна"),
    ("Игоревич", "Игоревна"),
    ("Петрович", "Петровна"),
    ("Васильевич", "Васильевна"),
    ("Павлович", "Павловна"),
    ("Борисович", "Борисовна"),
    ("Геннадьевич", "Геннадьевна"),
    ("Валерьевич", "Валерьевна"),
    ("Вячеславович", "Вячеславовна"),
    ("Константинович", "Константиновна"),
    ("Григорьевич", "Григорьевна"),
    ("Леонидович", "Леонидовна"),
    ("Фёдорович", "Фёдоровна"),
    ("Романович", "Романовна"),
    ("Степанович", "Степановна"),
    ("Максимович", "Максимовна"),
    ("Артёмович", "Артёмовна"),
    ("Ильич", "Ильинична"),
    ("Никитич", "Никитична"),
    ("Львович", "Львовна"),
    ("Яковлевич", "Яковлевна"),
    ("Семёнович", "Семёновна"),
    ("Аркадьевич", "Аркадьевна"),
    ("Вадимович", "Вадимовна"),
    ("Тимурович", "Тимуровна"),
    ("Русланович", "Руслановна"),
    ("Эдуардович", "Эдуардовна"),
    ("Георгиевич", "Георгиевна"),
    ("Денисович", "Денисовна"),
    ("Кириллович", "Кирилловна"),
    ("Антонович", "Антоновна"),
    ("Валентинович", "Валентиновна"),
    ("Станиславович", "Станиславовна"),
    ("Филиппович", "Филипповна"),
    ("Егорович", "Егоровна"),
    ("Матвеевич", "Матвеевна"),
    ("Тарасович", "Тарасовна"),
];

#[rustfmt::skip]
const EN_MALE: &[&str] = &[
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
    "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward",
    "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry",
    "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Frank", "Patrick",
    "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "José", "Adam", "Nathan", "Henry",
    "Douglas", "Zachary", "Peter", "Kyle", "Noah", "Ethan", "Jeremy", "Walter", "Christian",
    "Keith", "Roger", "Terry", "Austin", "Sean", "Gerald", "Carl", "Harold", "Dylan", "Arthur",
    "Lawrence", "Jordan", "Jesse", "Bryan", "Billy", "Bruce", "Gabriel", "Joe", "Logan", "Alan",
    "Juan", "Albert", "Willie", "Elijah", "Wayne", "Randy", "Vincent", "Mason", "Roy", "Ralph",
    "Bobby", "Russell", "Bradley", "Philip", "Eugene", "Oliver", "Harry", "Jon", "Oscar", "Leo",
    "Freddie", "Archie", "Alfie", "Charlie", "Theo", "Callum", "Liam", "Connor", "Owen", "Rhys",
    "Lewis", "Jamie", "Toby", "Max", "Hugo", "Rory", "Finley", "Reuben", "Stanley", "Ian", "Graham",
    "Nigel", "Colin", "Neil", "Stuart", "Martin", "Simon", "Trevor", "Clive", "Derek", "Malcolm",
    "Gordon", "Hamish", "Angus", "Declan", "Ciaran", "Dafydd", "Gareth",
];

#[rustfmt::skip]
const EN_FEMALE: &[&str] = &[
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna",
    "Michelle", "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca",
    "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda",
    "Pamela", "Emma", "Nicole", "Helen", "Samantha", "Katherine", "Christine", "Debra", "Rachel",
    "Carolyn", "Janet", "Catherine", "Maria", "Heather", "Diane", "Ruth", "Julie", "Olivia",
    "Joyce", "Virginia", "Victoria", "Kelly", "Lauren", "Christina", "Joan", "Evelyn", "Judith",
    "Megan", "Andrea", "Cheryl", "Hannah", "Jacqueline", "Martha", "Gloria", "Teresa", "Ann",
    "Sara", "Madison", "Frances", "Kathryn", "Janice", "Jean", "Abigail", "Alice", "Judy", "Sophia",
    "Grace", "Denise", "Amber", "Doris", "Marilyn", "Danielle", "Beverly", "Isabella", "Theresa",
    "Diana", "Natalie", "Brittany", "Charlotte", "Marie", "Kayla", "Alexis", "Lori", "Amelia",
    "Isla", "Ava", "Mia", "Poppy", "Ella", "Lily", "Freya", "Florence", "Evie", "Sophie", "Chloe",
    "Holly", "Lucy", "Imogen", "Harriet", "Eleanor", "Philippa", "Gemma", "Kirsty", "Fiona",
    "Siobhan", "Niamh", "Bethany", "Zoe", "Joanne", "Claire", "Hayley", "Leanne", "Tracey",
    "Gillian", "Alison", "Wendy", "Renée", "Zoë", "Chloé",
];

#[rustfmt::skip]
const EN_SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker",
    "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook",
    "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly",
    "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood",
    "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo",
    "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell", "Jenkins", "Perry",
    "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes", "Gonzales", "Fisher",
    "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
    "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera",
    "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro",
    "Marshall", "Owens", "Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy",
    "Wells", "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford",
    "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason",
    "Dixon", "Muñoz", "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd",
    "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza",
    "Daniels", "Ferguson", "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne",
    "Grant", "Dunn", "Kelley", "Spencer", "Hawkins", "Arnold", "Pierce", "Hansen", "Peters",
    "Santos", "Hart", "Bradley", "Knight", "Elliott", "Cunningham", "Duncan", "Armstrong", "Hudson",
    "Carroll", "Lane", "Riley", "Andrews", "Ray", "Berry", "Perkins", "Hoffman", "Johnston",
    "Matthews", "Richards", "Willis", "Carpenter", "Lawrence", "Smyth", "Smithers", "O'Brien",
    "O'Connor", "MacDonald", "McKenzie", "Fraser", "Davies", "Walsh", "Byrne", "Lloyd", "Pugh",
    "Griffiths", "Rees", "Owen", "Watts", "Atkinson", "Barker", "Cartwright", "Fletcher", "Chapman",
    "Whitehouse", "Ashworth", "Featherstone", "Pemberton", "Whitfield", "Blackwood", "Thornton",
    "Müller", "Nowak", "Kowalski", "Singh", "Khan", "Ahmed", "Ali", "Novak", "Dubois", "Rossi",
    "Łukasik",
];

#[rustfmt::skip]
const US_AREA_CODES: &[&str] = &[
    "212", "646", "718", "415", "650", "408", "310", "213", "323", "312", "773", "617", "202",
    "305", "713", "214", "206", "404", "602", "303", "512", "702", "215", "267", "412", "216",
    "313", "612", "314", "503", "801", "919", "704", "615", "504", "808", "907",
];

const RU_ORG_FORMS: &[&str] = &["ООО", "АО", "ПАО", "ЗАО", "ГБУ", "ФГУП", "АНО"];

#[rustfmt::skip]
const RU_ORG_ROOTS: &[&str] = &[
    "Ромашка", "Вектор", "Альфа", "Меридиан", "Орион", "Гранит", "Север", "Восток", "Заря",
    "Рассвет", "Радуга", "Берёзка", "Ландыш", "Василёк", "Полюс", "Зенит", "Спектр", "Прогресс",
    "Импульс", "Интеграл", "Кристалл", "Алмаз", "Рубин", "Сапфир", "Янтарь", "Малахит", "Атлант",
    "Титан", "Гелиос", "Сатурн", "Юпитер", "Меркурий", "Олимп", "Парус", "Маяк", "Фрегат", "Бриз",
    "Каскад", "Исток", "Родник", "Эталон", "Стандарт", "Партнёр", "Союз", "Альянс", "Форвард",
    "Лидер", "Старт", "Темп", "Ритм", "Вега", "Арктика", "Байкал", "Волга", "Урал", "Алтай",
    "Енисей", "Нева", "Кама", "Ока", "Амур", "Сигма", "Омега", "Дельта", "Гамма", "Бета", "Квант",
    "Фотон", "Нейтрон", "Магистраль", "Континент", "Горизонт", "Перспектива", "Уют", "Домострой",
    "Теплосеть", "Водоканал", "Мостотрест",
];

#[rustfmt::skip]
const RU_ORG_SUFFIXES: &[&str] = &[
    "", "", "", "-Трейд", "-Сервис", "Строй", "Инвест", "Пром", "Техно", "-М", "Плюс", "Групп",
    "Логистик", "Энерго", "Авто", "Медиа", "Софт", "Телеком", "Агро", "Фарм",
];

#[rustfmt::skip]
const EN_ORG_ROOTS: &[&str] = &[
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Cyberdyne", "Northwind", "Contoso",
    "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware", "Blue Yonder", "Hooli", "Vandelay",
    "Wonka", "Oceanic", "Soylent", "Tyrell", "Massive Dynamic", "Aperture", "Pied Piper", "Bluth",
    "Dunder Mifflin", "Sterling Cooper", "Monarch", "Nakatomi", "Virtucon", "Gekko", "Sirius",
    "Zenith", "Apex", "Summit", "Pinnacle", "Vertex", "Meridian", "Horizon", "Evergreen",
    "Silverline", "Redwood", "Granite", "Harbor", "Beacon", "Keystone", "Crescent", "Atlas",
    "Orion", "Phoenix", "Falcon", "Oakridge", "Maple", "Willow", "Cedar", "Birchwood", "Riverside",
    "Highland", "Lakeside", "Westfield",
];

#[rustfmt::skip]
const EN_ORG_TRADES: &[&str] = &[
    "Logistics", "Software", "Consulting", "Engineering", "Trading", "Media", "Foods", "Health",
    "Energy", "Capital", "Systems", "Solutions", "Networks", "Labs", "Partners", "Industries",
    "Motors", "Telecom", "Insurance", "Realty",
];

#[rustfmt::skip]
const EN_ORG_SUFFIXES: &[&str] = &[
    "Ltd", "LLC", "Inc.", "PLC", "Group", "Holdings", "& Co", "Corp.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_book_and_a_longer_book_starts_with_the_shorter() {
        let short: Vec<_> = contacts(7, 100).collect();
        let long: Vec<_> = contacts(7, 300).take(100).collect();
        assert_eq!(
            short.iter().map(|c| &c.first_name).collect::<Vec<_>>(),
            long.iter().map(|c| &c.first_name).collect::<Vec<_>>()
        );
        assert_eq!(
            organizations(7, 5).collect::<Vec<_>>(),
            organizations(7, 5).collect::<Vec<_>>()
        );
        assert_ne!(contacts(8, 10).next(), contacts(7, 10).next());
    }

    #[test]
    fn numbers_are_e164_of_the_right_length() {
        for contact in contacts(1, 5_000) {
            assert!((1..=3).contains(&contact.numbers.len()), "{contact:?}");
            for number in &contact.numbers {
                let digits = number.strip_prefix('+').unwrap();
                assert!(digits.chars().all(|c| c.is_ascii_digit()), "{number}");
                let want = match &digits[..1] {
                    "7" | "1" => 11,
                    _ => 12,
                };
                assert_eq!(digits.len(), want, "{number}");
            }
        }
    }

    #[test]
    fn russian_surnames_agree_with_gender() {
        assert_eq!(feminine("Иванов"), "Иванова");
        assert_eq!(feminine("Соловьёв"), "Соловьёва");
        assert_eq!(feminine("Покровский"), "Покровская");
        assert_eq!(feminine("Троицкий"), "Троицкая");
        assert_eq!(feminine("Толстой"), "Толстая");
        assert_eq!(feminine("Ревин"), "Ревина");
        for same in ["Ревенко", "Шевчук", "Черных", "Мороз"] {
            assert_eq!(feminine(same), same);
        }
        let female_first: std::collections::HashSet<_> = RU_FEMALE.iter().collect();
        for contact in contacts(3, 2_000).filter(|c| female_first.contains(&c.first_name.as_str()))
        {
            assert!(
                !contact.last_name.ends_with("ов") && !contact.last_name.ends_with("ский"),
                "{contact:?}"
            );
            if let Some(middle) = &contact.middle_name {
                assert!(middle.ends_with("на"), "{contact:?}");
            }
        }
    }

    #[test]
    fn the_mix_is_about_sixty_percent_russian_and_employees_work_at_generated_organizations() {
        let book: Vec<_> = contacts(5, 10_000).collect();
        let russian = book
            .iter()
            .filter(|c| c.first_name.chars().any(|ch| ('а'..='я').contains(&ch)))
            .count();
        assert!((5_500..6_500).contains(&russian), "{russian}");
        let employers: std::collections::HashSet<String> =
            organizations(5, 200).map(|o| o.name).collect();
        let employed: Vec<_> = book
            .iter()
            .filter_map(|c| c.organization.as_ref())
            .collect();
        assert!(
            (2_500..3_500).contains(&employed.len()),
            "{}",
            employed.len()
        );
        assert!(employed.iter().all(|name| employers.contains(*name)));
    }

    #[test]
    fn organizations_have_their_main_line_inside_their_first_block() {
        for org in organizations(9, 500) {
            assert!(org.numbers[0].starts_with(&org.ranges[0]), "{org:?}");
            assert!((1..=3).contains(&org.ranges.len()));
        }
    }

    #[test]
    fn each_next_organization_pays_the_fee_step_more() {
        let fees: Vec<i64> = organizations(9, 3).map(|o| o.monthly_fee_cents).collect();
        assert_eq!(fees, [50_000, 57_500, 65_000]);
    }

    #[test]
    fn misspell_changes_one_word_by_one_edit() {
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..500 {
            let typo = misspell(&mut rng, "Алексей Ревенко");
            let words: Vec<&str> = typo.split(' ').collect();
            assert_eq!(words.len(), 2);
            let edits = strsim::osa_distance(words[0], "Алексей")
                + strsim::osa_distance(words[1], "Ревенко");
            assert!(edits <= 1, "{typo}");
        }
        assert_eq!(misspell(&mut rng, "Ян Ли"), "Ян Ли");
        assert_eq!(misspell(&mut rng, ""), "");
    }
}
