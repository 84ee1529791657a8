/**
 * Catalogues: one flat JSON file per language in /i18n/<lang>.json, `{name}` placeholders.
 *
 * Convention (checked by test/unit/i18n-catalogue.test.ts): every catalogue key in ui/ code
 * is a string literal written as t('…') or k('…') in JS, or data-i18n="…" /
 * data-i18n-aria="…" in HTML. Keys chosen at run time come from tables built with k(), except
 * the families in CODE_FAMILIES: `error.<CODE>` and `next.<CODE>` are looked up by the code the
 * server sent (byCode), so a new code needs only catalogue entries.
 */

export const LANGUAGES = ['nb', 'sv', 'fr', 'en'];
/** Each language by its own name (endonyms), the same whatever the current language. */
export const LANGUAGE_NAMES = { nb: 'Norsk', sv: 'Svenska', fr: 'Français', en: 'English' };
export const LOCALES = { nb: 'nb-NO', sv: 'sv-SE', fr: 'fr-FR', en: 'en-GB' };
const FALLBACK = 'en';

const catalogues = new Map();
let current = null;
let fallback = null;
let currentLang = FALLBACK;

/** Mark a string as a catalogue key (for tables of keys); returns it unchanged. */
export const k = (key) => key;

async function fetchCatalogue(lang) {
  if (!catalogues.has(lang)) {
    const loading = fetch(`/i18n/${lang}.json`)
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`catalogue ${lang}: ${res.status}`))))
      .catch((error) => {
        catalogues.delete(lang); // try again next time
        throw error;
      });
    catalogues.set(lang, loading);
  }
  return catalogues.get(lang);
}

/** Load a language (and the fallback) and make it current. Keeps the previous one on failure. */
export async function setLanguage(lang) {
  const wanted = LANGUAGES.includes(lang) ? lang : FALLBACK;
  try {
    fallback = await fetchCatalogue(FALLBACK);
    current = await fetchCatalogue(wanted);
    currentLang = wanted;
    document.documentElement.lang = wanted;
  } catch {
    // Offline or missing file: keep what we had; t() falls back to the key.
  }
  return currentLang;
}

export function language() {
  return currentLang;
}

export function locale() {
  return LOCALES[currentLang] ?? 'en-GB';
}

/** Translate `key`, filling `{name}` from `params`. Falls back to English, then the key. */
export function t(key, params) {
  let text = current?.[key];
  if (typeof text !== 'string') text = fallback?.[key];
  if (typeof text !== 'string') return key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (params[name] === undefined || params[name] === null ? match : String(params[name])));
}

/** Catalogue families looked up by a server code (the catalogue test knows them too). */
export const CODE_FAMILIES = ['error', 'next'];

/**
 * The text of `<family>.<code>` (say `next.NOT_READY`) in the current language, falling back
 * to English; null when neither catalogue has it (the caller decides what to show instead).
 */
export function byCode(family, code) {
  if (!CODE_FAMILIES.includes(family) || typeof code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(code)) return null;
  const key = `${family}.${code}`;
  const text = current?.[key] ?? fallback?.[key];
  return typeof text === 'string' ? text : null;
}

/** 'one' or 'other' for a count in the current language (enough for nb, sv, fr, en). */
export function plural(count) {
  return new Intl.PluralRules(locale()).select(count) === 'one' ? 'one' : 'other';
}

/** Fill elements marked data-i18n (text) and data-i18n-aria (aria-label) under `root`. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}
