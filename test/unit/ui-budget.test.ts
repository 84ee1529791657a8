/**
 * The bottom screen must stay light (Chromium on a Pi): everything it loads, ui/bottom/* and
 * the ui/shared/* modules reached through its imports, under 100 KB, with nothing fetched from
 * another host (the locker works offline).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const UI = fileURLToPath(new URL('../../ui/', import.meta.url));
const BUDGET_BYTES = 100 * 1024;

/** A URL as the page asks for it, to the file the server maps it to (/x/... is ui/x/...). */
function resolveUrl(specifier: string, fromFile: string): string {
  if (/^[a-z]+:|^\/\//i.test(specifier)) throw new Error(`${relative(UI, fromFile)} loads from another host: ${specifier}`);
  return specifier.startsWith('/') ? join(UI, specifier) : resolve(dirname(fromFile), specifier);
}

/** Static and dynamic import specifiers of a module. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/\bimport\s*(?:[\w*{}\s,]+\s*from\s*)?\(?\s*['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  for (const m of source.matchAll(/\bexport\s*[\w*{}\s,]+\s*from\s*['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  return found;
}

/** Scripts and stylesheets an HTML page loads. */
export function assetsOf(html: string): string[] {
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] ?? '');
  const styles = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/g)].map((m) => m[1] ?? '');
  return [...scripts, ...styles];
}

/** Every file the bottom page loads: its own folder plus the module graph from its scripts. */
async function bottomFiles(): Promise<Set<string>> {
  const pageDir = join(UI, 'bottom');
  const index = join(pageDir, 'index.html');
  const own = (await readdir(pageDir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(pageDir, e.name));
  const queue = [...own, ...assetsOf(await readFile(index, 'utf8')).map((url) => resolveUrl(url, index))];
  const seen = new Set<string>();
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    await stat(file); // a module that does not exist fails the test with its name
    if (file.endsWith('.js')) {
      for (const spec of importsOf(await readFile(file, 'utf8'))) queue.push(resolveUrl(spec, file));
    } else if (file.endsWith('.css')) {
      for (const m of (await readFile(file, 'utf8')).matchAll(/url\(\s*['"]?([^'")]+)/g)) {
        const url = m[1] ?? '';
        if (!url.startsWith('data:')) queue.push(resolveUrl(url, file));
      }
    }
  }
  return seen;
}

t.test('the import scanner sees the forms the screens use', async (t) => {
  t.same(importsOf(`import { a } from '/shared/a.js';\nimport b from "./b.js";\nimport '/c.js';\nconst d = import('/d.js');\nexport { e } from './e.js';`),
    ['/shared/a.js', './b.js', '/c.js', '/d.js', './e.js']);
  t.same(assetsOf('<link rel="stylesheet" href="/bottom/style.css"><script type="module" src="/bottom/app.js"></script>'),
    ['/bottom/app.js', '/bottom/style.css']);
  t.throws(() => resolveUrl('https://cdn.example.com/x.js', join(UI, 'bottom', 'app.js')), /another host/);
});

t.test('the bottom screen loads under 100 KB of JS, CSS and HTML', async (t) => {
  const files = await bottomFiles();
  const names = [...files].map((f) => relative(UI, f)).sort();
  t.ok(names.includes('bottom/app.js') && names.includes('bottom/style.css'), 'the page itself is counted');
  t.ok(names.some((n) => n.startsWith('shared/')), 'the shared modules it imports are counted');
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  t.comment(`${names.join(', ')}: ${total} bytes`);
  t.ok(total < BUDGET_BYTES, `${total} bytes < ${BUDGET_BYTES}`);
});
