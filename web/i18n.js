// The screens' languages. The English text is the key: `t("Sign in")` answers the current
// language's text for it, or the English itself. Each language is one file, `web/lang/CODE.json`
// (`{"@name": "Русский", "Sign in": "Войти", ...}`), served at `/lang/CODE.json` and listed at
// `/lang/index.json`; adding a language is adding its file. Plurals are objects of the
// language's plural categories (Intl.PluralRules): `tn("{n} callers", n)` with
// `"{n} callers": {"one": "{n} звонящий", "few": "{n} звонящих", "many": "{n} звонящих", "other": "{n} звонящего"}`.
// English's own plurals are in `en.json`. Elements of the page marked `data-i18n` have their
// text translated (their English text is the key, and they hold text only); `data-i18n-attrs`
// lists attributes translated the same way (`placeholder title aria-label`).

const FALLBACK = "en";

let language = FALLBACK;
let strings = {};
let locale = FALLBACK;

/// The language shown (`en`, `ru`).
export function lang() {
  return language;
}

/// The locale for dates and numbers (the language's own).
export function localeTag() {
  return locale;
}

/// Marks a text for translation where it is written (a label in a table of constants), to be
/// translated with `t` where it is shown.
export function N_(text) {
  return text;
}

/// The text in the current language with `{name}` replaced by `params.name`.
export function t(text, params) {
  const own = strings[text];
  const chosen = typeof own === "string" && own !== "" ? own : text;
  return params ? fillIn(chosen, params) : chosen;
}

/// A text with a count: the language's plural form for `n`, `{n}` filled in.
export function tn(text, n, params = {}) {
  const forms = strings[text];
  let chosen = text;
  if (forms && typeof forms === "object") {
    const category = new Intl.PluralRules(locale).select(n);
    chosen = forms[category] || forms.other || text;
  } else if (typeof forms === "string" && forms !== "") {
    chosen = forms;
  }
  return fillIn(chosen, { n: new Intl.NumberFormat(locale).format(n), ...params });
}

function fillIn(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/// The best of the offered languages for the browser's preferences (`navigator.languages`,
/// what it sends as Accept-Language).
export function preferred(available, wanted = navigator.languages || [navigator.language]) {
  for (const tag of wanted) {
    const code = String(tag).toLowerCase().split("-")[0];
    if (available.includes(code)) return code;
  }
  return FALLBACK;
}

/// The languages there are: `[{code, name}]`.
export async function languages() {
  try {
    const response = await fetch("/lang/index.json", { credentials: "same-origin" });
    if (response.ok) return await response.json();
  } catch {
    // Offline: English only.
  }
  return [{ code: FALLBACK, name: "English" }];
}

/// Loads a language and translates the page's marked elements. Unknown or unreachable: English.
export async function use(code) {
  let loaded = {};
  try {
    const response = await fetch("/lang/" + encodeURIComponent(code) + ".json", { credentials: "same-origin" });
    if (response.ok) loaded = await response.json();
    else code = FALLBACK;
  } catch {
    code = FALLBACK;
  }
  language = code;
  strings = loaded;
  locale = typeof loaded["@locale"] === "string" ? loaded["@locale"] : code;
  document.documentElement.lang = code;
  translatePage(document);
}

/// Translates every element under `root` marked `data-i18n` (its text) or `data-i18n-attrs`
/// (the attributes named). The English is kept in the element's dataset, so translating
/// again (another language) starts from it.
export function translatePage(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    if (node.dataset.i18nKey === undefined) node.dataset.i18nKey = node.textContent.trim();
    node.textContent = t(node.dataset.i18nKey);
  }
  for (const node of root.querySelectorAll("[data-i18n-attrs]")) {
    for (const attr of node.dataset.i18nAttrs.split(/\s+/).filter(Boolean)) {
      const keep = "i18n" + attr.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase());
      if (node.dataset[keep] === undefined) node.dataset[keep] = node.getAttribute(attr) || "";
      node.setAttribute(attr, t(node.dataset[keep]));
    }
  }
}
