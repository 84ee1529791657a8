/**
 * The walls of the house, drawn from the imports: which folder may reach which. A new import
 * across a wall fails here, before it becomes a habit.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = join(import.meta.dirname, '..', '..');

interface Wall {
  /** Files this rule is about (prefix of the repository-relative path). */
  from: string;
  /** What they may import from the project (prefixes); anything else in the project is a crossing. */
  may: string[];
  why: string;
}

const WALLS: Wall[] = [
  { from: 'kiosk/lib/', may: ['kiosk/lib/'], why: 'the neutral home of shared utilities imports nothing of the project' },
  { from: 'controller/', may: ['controller/', 'kiosk/lib/'], why: 'the controller is hardware only' },
  {
    from: 'kiosk/core/',
    may: ['kiosk/core/', 'kiosk/lib/', 'kiosk/errors.ts', 'kiosk/config/schema.ts', 'controller/lock-bank.ts'],
    why: 'the core reaches the store, the wire and the hardware only through kiosk/core/ports.ts',
  },
  { from: 'kiosk/sync/', may: ['kiosk/'], why: 'the back-office link knows nothing of the hardware' },
  { from: 'kiosk/', may: ['kiosk/', 'controller/'], why: 'the locker never imports the reference back office or anything under test/' },
];

/**
 * Crossings that exist today and are owned by an open issue. Each must still exist (so this
 * list cannot go stale); remove the line when the crossing goes.
 */
const KNOWN_CROSSINGS: string[] = [];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports of a file, as repository-relative paths of .ts files. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s*'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/gm)].map((m) => m[1] ?? m[2] ?? '');
  return specs.map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts'));
}

/** Every import that crosses a wall: the most specific wall whose `from` matches decides. */
export function crossings(graph: Map<string, string[]>, walls: readonly Wall[]): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    const wall = walls.filter((w) => file.startsWith(w.from)).sort((a, b) => b.from.length - a.from.length)[0];
    if (!wall) continue;
    for (const target of targets) {
      if (!wall.may.some((prefix) => target.startsWith(prefix))) found.push(`${file} -> ${target}`);
    }
  }
  return found.sort();
}

t.test('no import crosses a wall, beyond the known crossings owned by open issues', async (t) => {
  const graph = new Map<string, string[]>();
  for (const file of [...sourceFiles('kiosk'), ...sourceFiles('controller')]) {
    graph.set(file, importsOf(file, readFileSync(join(ROOT, file), 'utf8')));
  }
  t.ok(graph.size > 50, `${graph.size} files read`);
  const found = crossings(graph, WALLS);
  t.same(found.filter((c) => !KNOWN_CROSSINGS.includes(c)), [], 'no new crossing');
  t.same(KNOWN_CROSSINGS.filter((c) => !found.includes(c)), [], 'every known crossing still exists (remove the ones that are gone)');
});

t.test('the check finds a crossing when there is one', async (t) => {
  const graph = new Map<string, string[]>([
    ['controller/lock-bank.ts', ['kiosk/lib/clock.ts', 'kiosk/logging.ts']],
    ['kiosk/locker.ts', ['test/reference-backoffice/start.ts', 'kiosk/store/db.ts']],
    ['kiosk/sync/link.ts', ['controller/lock-bank.ts']],
  ]);
  t.same(crossings(graph, WALLS), [
    'controller/lock-bank.ts -> kiosk/logging.ts',
    'kiosk/locker.ts -> test/reference-backoffice/start.ts',
    'kiosk/sync/link.ts -> controller/lock-bank.ts',
  ]);
  t.same(importsOf('kiosk/a/b.ts', "import x from '../c.js';\nexport { y } from './d.js';\nconst z = await import('../../controller/e.js');"), [
    'kiosk/c.ts',
    'kiosk/a/d.ts',
    'controller/e.ts',
  ]);
});

/**
 * Package names a file loads (static, re-exported or dynamic imports), without subpaths:
 * `jose/jwt/sign` is `jose`. `import type` is erased, so it loads nothing.
 */
export function packagesOf(text: string): string[] {
  const matches = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s*'([^'.][^']*)'|(?:^|\s)import\s+'([^'.][^']*)'|import\(\s*'([^'.][^']*)'\s*\)/gm)];
  const specs = matches.filter((m) => !/^\s*(?:import|export)\s+type\s/.test(m[0])).map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return specs.filter((spec) => !spec.startsWith('node:')).map((spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
}

t.test('the locker imports only its production dependencies: the release ships no others', async (t) => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const shipped = new Set(Object.keys(manifest.dependencies));
  const strays: string[] = [];
  let imports = 0;
  for (const file of [...sourceFiles('kiosk'), ...sourceFiles('controller')]) {
    for (const name of packagesOf(readFileSync(join(ROOT, file), 'utf8'))) {
      imports += 1;
      if (!shipped.has(name)) strays.push(`${file} -> ${name}`);
    }
  }
  t.ok(imports > 20, `${imports} package imports read`);
  t.same(strays, [], 'every package the locker or lockerctl imports is in "dependencies" (devDependencies, zod among them, stay on the build machine)');
  t.same(packagesOf("import { z } from 'zod';\nimport type { X } from '@types/x/y';\nimport 'pino';\nconst q = await import('qrcode');\nimport { a } from './a.js';\nexport { b } from '@scope/pkg/sub';"), ['zod', 'pino', 'qrcode', '@scope/pkg']);
});
