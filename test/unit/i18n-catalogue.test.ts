/**
 * The screens' catalogues (ui/i18n/<lang>.json) against each other and against the code that
 * uses them. Reads the real files, so a key missing in one language, a placeholder lost in
 * translation, or a key used in ui/ but never written fails here.
 *
 * Convention (see ui/shared/i18n.js): in JS a key is a string literal inside t('…') or k('…');
 * in HTML, data-i18n="…" or data-i18n-aria="…". Keys picked at run time come from k() tables,
 * except the code families (`error.<CODE>`, `next.<CODE>`): the screens look those up by the
 * code the server sent, so every code the core can send needs both, in every language.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const UI = fileURLToPath(new URL('../../ui/', import.meta.url));
const ERRORS_TS = fileURLToPath(new URL('../../kiosk/errors.ts', import.meta.url));
const LANGUAGES = ['nb', 'sv', 'fr', 'en'] as const;
/** Catalogue families looked up by a server code at run time (ui/shared/i18n.js CODE_FAMILIES). */
const CODE_FAMILIES = ['error', 'next'] as const;
/** Codes only the screens themselves produce (a request that failed, an answer not understood). */
const SCREEN_CODES = ['OFFLINE', 'SERVER'];

/** Every `code` of the DomainErrorCode union in kiosk/errors.ts: what the server may send. */
export function domainErrorCodes(source: string): string[] {
  const union = /export type DomainErrorCode\s*=([^;]+);/.exec(source)?.[1];
  if (!union) throw new Error('kiosk/errors.ts: no DomainErrorCode union found');
  return [...union.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] ?? '');
}

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
  t.same(domainErrorCodes("export type DomainErrorCode =\n  | 'A_B' // why\n  | 'C';\nconst x = 'D';"), ['A_B', 'C']);
  t.throws(() => domainErrorCodes('type Other = 1;'), /no DomainErrorCode/);
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

t.test('every error code has a message and a next step, in every language', async (t) => {
  const codes = [...new Set([...domainErrorCodes(await readFile(ERRORS_TS, 'utf8')), ...SCREEN_CODES])];
  t.ok(codes.includes('NOT_READY') && codes.length >= 18, `${codes.length} codes from kiosk/errors.ts`);
  for (const lang of LANGUAGES) {
    const catalogue = await loadCatalogue(lang);
    for (const family of CODE_FAMILIES) {
      t.same(codes.filter((code) => !catalogue.has(`${family}.${code}`)), [], `${lang}: ${family}.<code> for every code`);
    }
    // A next step belongs to a message; a family key without a code behind it is a leftover.
    const orphans = [...catalogue.keys()].filter((key) => CODE_FAMILIES.some((f) => key.startsWith(`${f}.`)) && /^[a-z]+\.[A-Z]/.test(key) && !codes.includes(key.split('.')[1] ?? ''));
    t.same(orphans, [], `${lang}: no error.<code> or next.<code> for a code the server never sends`);
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
  // The code families are used by code (byCode), not by name.
  const byCode = (key: string) => CODE_FAMILIES.some((f) => key.startsWith(`${f}.`)) && /^[a-z]+\.[A-Z][A-Z0-9_]*$/.test(key);
  t.same([...en.keys()].filter((key) => !used.has(key) && !byCode(key)), [], 'no catalogue key is unused (add it to a k() table if the server picks it)');
});
