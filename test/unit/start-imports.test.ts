/**
 * What a locker loads to start (issue 13, cold start): the packages reached by static imports
 * from kiosk/main.ts. A package a start does not need is loaded where it is first used instead
 * (`qrcode` at the first QR code, prom-client at the first scrape of /metrics, Ajv only when the
 * precompiled validators are stale, jose by subpath rather than its index of about 45 modules).
 * A new static import of one of them fails here, where a slower start would only show in
 * `npm run bench`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = join(import.meta.dirname, '..', '..');

/** Loaded later than start, where they are used (docs/performance.md, cold start). */
const NOT_AT_START = ['qrcode', 'jose', 'ajv', 'ajv-formats', 'ajv/dist/2020.js', 'prom-client', 'zod'];

interface Imports {
  files: string[];
  packages: Set<string>;
}

/** Static value imports of a file (`import type` is erased: verbatimModuleSyntax). */
export function staticImports(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?'([^']+)'/gm)].map((m) => m[1] ?? '');
}

/** The static import graph from `entry`: the project's files reached and the packages they name. */
export function reachedFrom(entry: string, read: (file: string) => string | null): Imports {
  const files: string[] = [];
  const packages = new Set<string>();
  const queue = [entry];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const file = queue.shift()!;
    const text = read(file);
    if (text === null) continue;
    files.push(file);
    for (const spec of staticImports(text)) {
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return { files, packages };
}

const readSource = (file: string): string | null => {
  const path = join(ROOT, file);
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
};

t.test('a start loads none of the packages that wait for their first use', async (t) => {
  const reached = reachedFrom('kiosk/main.ts', readSource);
  t.ok(reached.files.length > 50, `${reached.files.length} of the project's files reached from kiosk/main.ts`);
  // The walk does reach what a start needs, so an empty result cannot pass for a clean one.
  for (const needed of ['express', 'ws', 'sqlite3', 'pino', 'jose/jwt/sign', 'jose/jwt/verify']) {
    t.ok(reached.packages.has(needed), `${needed} is loaded at start`);
  }
  t.same(NOT_AT_START.filter((name) => reached.packages.has(name)), [], `not at start: ${NOT_AT_START.join(', ')}`);
});

t.test('the walk finds a static import, and not a type-only or a dynamic one', async (t) => {
  const files: Record<string, string> = {
    'kiosk/main.ts': "import { a } from './a.js';\nimport type { T } from 'jose';\nexport { b } from './b.js';",
    'kiosk/a.ts': "import QRCode from 'qrcode';\nimport { type X, y } from 'express';\nconst later = () => import('ajv');",
    'kiosk/b.ts': "import 'pino';\nimport * as fs from 'node:fs';",
  };
  const reached = reachedFrom('kiosk/main.ts', (file) => files[file] ?? null);
  t.same(reached.files, ['kiosk/main.ts', 'kiosk/a.ts', 'kiosk/b.ts']);
  t.same([...reached.packages].sort(), ['express', 'pino', 'qrcode']);
});
