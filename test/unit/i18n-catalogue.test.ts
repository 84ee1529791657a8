/**
 * The screens' catalogues (ui/i18n/<lang>.json) against each other and against the code that
 * uses them. Reads the real files, so a key missing in one language, a placeholder lost in
 * translation, or a key used in ui/ but never written fails here.
 *
 * Convention (see ui/shared/i18n.js): in JS a key is a string literal inside t('…') or k('…');
 * in HTML, data-i18n="…" or data-i18n-aria="…". Keys picked at run time come from k() tables.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const UI = fileURLToPath(new URL('../../ui/', import.meta.url));
const LANGUAGES = ['nb', 'sv', 'fr', 'en'] as const;
/** Every `code` the server may put in SessionView.error or an HTTP error (kiosk/errors.ts). */
const ERROR_CODES = [
  'PIN_WRONG', 'PIN_FORMAT', 'LOCKED_OUT', 'RESERVATION_LOCKED', 'NOT_FOUND', 'NOT_READY', 'ALREADY_USED',
  'PLATE_INVALID', 'PHONE_INVALID', 'REMARK_TOO_LONG', 'NO_COMPARTMENT', 'OPEN_FAILED', 'DOOR_OPEN',
  'PAYMENT_REQUIRED', 'PAYMENT_PENDING', 'BAD_ACTION', 'SERVER', 'OFFLINE',
  'RESERVATION_CANCELLED', 'PIN_AMBIGUOUS', 'PIN_OTHER_JOURNEY', 'LOOKUP_THROTTLED', 'PIN_ALREADY_SENT',
];

type Catalogue = Map<string, unknown>;

async function loadCatalogue(lang: string): Promise<Catalogue> {
  const parsed: unknown = JSON.parse(await readFile(join(UI, 'i18n', `${lang}.json`), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${lang}.json is not a JSON object`);
  return new Map(Object.entries(parsed));
}

async function filesUnder(dir: string, extensions: readonly string[]): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && extensions.some((ext) => e.name.endsWith(ext)))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** `{name}` placeholders in a string, sorted and unique. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? ''))].sort();
}

const JS_KEY = /\b[tk]\(\s*(['"])([A-Za-z0-9_.-]+)\1/g;
const HTML_KEY = /\bdata-i18n(?:-aria)?="([^"]*)"/g;
/** Forms that would hide a key from this test: t(`…`) or t('prefix.' + x). */
const JS_DYNAMIC = /\b[tk]\(\s*(`|(['"])[^'"]*\2\s*\+)/g;

/** Keys a source file refers to, by the convention above. */
export function keysIn(source: string, kind: 'js' | 'html'): string[] {
  const pattern = kind === 'js' ? JS_KEY : HTML_KEY;
  return [...source.matchAll(pattern)].map((m) => (kind === 'js' ? m[2] : m[1]) ?? '');
}

function missingKeys(used: readonly string[], catalogue: Catalogue): string[] {
  return [...new Set(used)].filter((key) => !catalogue.has(key)).sort();
}

t.test('the checker itself finds keys and reports missing ones', async (t) => {
  const source = `t('welcome.title'); t("a.b", { n: 1 }); k('error.X'); split('.'); at('x.y'); h('div', {}, t('nope.missing'))`;
  t.same(keysIn(source, 'js'), ['welcome.title', 'a.b', 'error.X', 'nope.missing']);
  t.same(keysIn('<p data-i18n="x.y"></p><b data-i18n-aria="z.w">', 'html'), ['x.y', 'z.w']);
  t.same(missingKeys(['welcome.title', 'nope.missing'], new Map([['welcome.title', 'Welcome']])), ['nope.missing']);
  t.same(placeholdersOf('Step {index} of {count}, {index}'), ['count', 'index']);
  t.ok(JS_DYNAMIC.test("t('error.' + code)"), 'a concatenated key is caught');
  JS_DYNAMIC.lastIndex = 0;
});

t.test('every catalogue is a flat object of non-empty strings with the same keys', async (t) => {
  const catalogues = await Promise.all(LANGUAGES.map(async (lang) => [lang, await loadCatalogue(lang)] as const));
  const reference = new Map(catalogues).get('en');
  if (!reference) throw new Error('en.json missing');
  t.ok(reference.size > 100, `en.json has ${reference.size} keys`);
  for (const [lang, catalogue] of catalogues) {
    const bad = [...catalogue].filter(([, value]) => typeof value !== 'string' || value.trim() === '').map(([key]) => key);
    t.same(bad, [], `${lang}: every value is a non-empty string`);
    t.same([...catalogue.keys()].filter((key) => !reference.has(key)), [], `${lang}: no key that en.json lacks`);
    t.same([...reference.keys()].filter((key) => !catalogue.has(key)), [], `${lang}: no key missing`);
    t.same([...catalogue.keys()].filter((key) => !/^[a-z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)+$/.test(key)), [], `${lang}: keys are flat, dotted names`);
  }
});

t.test('every translation keeps the same {placeholders}', async (t) => {
  const en = await loadCatalogue('en');
  for (const lang of LANGUAGES) {
    const catalogue = await loadCatalogue(lang);
    const differing = [...en]
      .filter(([key, value]) => {
        const other = catalogue.get(key);
        return typeof value === 'string' && typeof other === 'string' && placeholdersOf(value).join() !== placeholdersOf(other).join();
      })
      .map(([key]) => key);
    t.same(differing, [], `${lang}: placeholders match en.json`);
  }
});

t.test('every server error code has a message', async (t) => {
  for (const lang of LANGUAGES) {
    const catalogue = await loadCatalogue(lang);
    t.same(ERROR_CODES.filter((code) => !catalogue.has(`error.${code}`)), [], `${lang}: error.<code> for all codes`);
  }
});

t.test('every key used in ui/ exists, and every key is used', async (t) => {
  const en = await loadCatalogue('en');
  const js = await filesUnder(UI, ['.js']);
  const html = await filesUnder(UI, ['.html']);
  t.ok(js.length >= 5 && html.length >= 3, `found ${js.length} JS and ${html.length} HTML files`);
  const used = new Set<string>();
  for (const file of [...js, ...html]) {
    const source = await readFile(file, 'utf8');
    const kind = file.endsWith('.js') ? 'js' : 'html';
    const keys = keysIn(source, kind);
    keys.forEach((key) => used.add(key));
    const name = relative(UI, file);
    t.same(missingKeys(keys, en), [], `${name}: every key it uses is in the catalogues`);
    if (kind === 'js') t.same([...source.matchAll(JS_DYNAMIC)].map((m) => m[0]), [], `${name}: no key built at run time outside k() tables`);
  }
  t.ok(used.size > 100, `${used.size} keys referenced`);
  t.same([...en.keys()].filter((key) => !used.has(key)), [], 'no catalogue key is unused (add it to a k() table if the server picks it)');
});
