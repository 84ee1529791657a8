/**
 * The tests' TypeScript loader (ts-loader.mjs registers it): what tsx does for a test process,
 * and only that, so each of the suite's ~140 processes starts lighter (docs/performance.md, "The
 * suite's time"). Node runs these hooks on a thread of their own, called for every module
 * the process imports.
 * - resolve: a relative `./x.js` imported from a .ts file is `./x.ts` when that file exists
 *   (the sources import with .js, as NodeNext resolution and tsc's output want);
 * - load: a .ts file is transpiled by esbuild (types removed, nothing checked: `npm run
 *   typecheck` checks), with an inline source map so stack traces name the .ts lines.
 * Everything else goes to Node's own resolution and loading untouched.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Loaded on the first .ts file: esbuild starts its service process then. */
let esbuild;

/** As tsconfig.json: import type stays a type import; class fields as ES2022 defines them. */
const TRANSFORM = {
  loader: 'ts',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
};

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent?.endsWith('.ts') && specifier.endsWith('.js') && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const ts = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(ts)) return { url: ts.href, format: 'module', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  esbuild ??= await import('esbuild');
  const { code } = await esbuild.transform(source, { ...TRANSFORM, sourcefile: path });
  return { format: 'module', source: code, shortCircuit: true };
}
