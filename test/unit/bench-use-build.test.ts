/**
 * `npm run bench` loads the locker's modules from the production build (test/bench/use-build.mjs):
 * a module of kiosk/ or controller/ resolves to its dist/ file, anything else is left alone, and
 * a missing build is said, not measured around. Run on a throwaway tree with the hooks copied in.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { builtFileOf } from '../bench/use-build-hooks.mjs';

const run = promisify(execFile);

t.test('which files map to dist/', async (t) => {
  t.equal(builtFileOf('/r/', '/r/kiosk/sync/commands.ts'), '/r/dist/kiosk/sync/commands.js');
  t.equal(builtFileOf('/r/', '/r/controller/lock-bank.ts'), '/r/dist/controller/lock-bank.js');
  t.equal(builtFileOf('/r/', '/r/test/bench/run.ts'), null, 'the benches themselves: source');
  t.equal(builtFileOf('/r/', '/r/kiosk/sync/protocol-validators.cjs'), null, 'only TypeScript sources');
  t.equal(builtFileOf('/r/', '/other/kiosk/a.ts'), null, 'another tree');
  t.equal(builtFileOf('/r/', '/r/ui/kiosk/a.ts'), null, 'kiosk/ only at the top');
});

t.test('a process started with the hooks runs the build, and stops when there is none', async (t) => {
  const repo = await mkdtemp(join(tmpdir(), 'keylocker-use-build-'));
  t.teardown(() => rm(repo, { recursive: true, force: true }));
  for (const dir of ['test/bench', 'kiosk', 'dist/kiosk', 'other']) await mkdir(join(repo, dir), { recursive: true });
  for (const file of ['use-build.mjs', 'use-build-hooks.mjs']) await copyFile(join(import.meta.dirname, '..', 'bench', file), join(repo, 'test', 'bench', file));
  await writeFile(join(repo, 'kiosk', 'where.ts'), "export const from = 'source';\n");
  await writeFile(join(repo, 'dist', 'kiosk', 'where.js'), "export const from = 'dist';\n");
  await writeFile(join(repo, 'other', 'plain.mjs'), "export const from = 'other';\n");
  await writeFile(join(repo, 'main.mjs'), "const a = await import('./kiosk/where.ts'); const b = await import('./other/plain.mjs'); console.log(a.from, b.from);\n");
  const start = () => run(process.execPath, ['--import', join(repo, 'test', 'bench', 'use-build.mjs'), join(repo, 'main.mjs')], { cwd: repo, timeout: 60_000 });

  const { stdout } = await start();
  t.equal(stdout.trim(), 'dist other', "kiosk/'s module from dist/, the rest as it is");

  await rm(join(repo, 'dist', 'kiosk', 'where.js'));
  const failed = await start().then(() => null, (error: { stderr?: string; code?: number }) => error);
  t.ok(failed, 'no build: the process fails');
  t.match(failed?.stderr ?? '', /dist\/kiosk\/where\.js is missing: run npm run build/);
});
