/**
 * `npm test`'s pretest: makes tap's generated Test class carry the plugins package.json asks for
 * before tap starts, so the first run on a fresh install (every CI run) is like every later one.
 *
 * Why: tap (21) ships built with its default plugins. When package.json's "plugin" list differs
 * (ours drops @tapjs/typescript: test/helpers/ts-loader.mjs transpiles instead), `tap` rebuilds
 * itself at the start of a run, but the runner has already loaded the old build, and the old
 * build's loaders are what it passes to every test process of that run. So a fresh install's
 * first run gave each of the 139 test processes tsx's hooks on top of ours.
 *
 * Rebuilds only when the signatures differ (`tap build` takes 10-25 s; the check ~0.2 s).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
/** A package's directory as `from` (a package.json path) resolves it, whatever npm hoisted. */
const packageDir = (name, from) => dirname(createRequire(from).resolve(`${name}/package.json`));
const esmEntry = (dir, subpath) => {
  const target = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports[subpath];
  return pathToFileURL(join(dir, target.import.default ?? target.import)).href;
};

const tapDir = dirname(require.resolve('tap/package.json'));
const runDir = packageDir('@tapjs/run', join(tapDir, 'package.json'));
const testDir = packageDir('@tapjs/test', join(runDir, 'package.json'));
const configDir = packageDir('@tapjs/config', join(runDir, 'package.json'));

const { TapConfig } = await import(esmEntry(configDir, '.'));
const wanted = (await TapConfig.load()).pluginSignature;
// The built class's signature, read from its source rather than imported (importing it loads every plugin).
const built = readFileSync(new URL(esmEntry(testDir, './test-built')), 'utf8');
const match = /export const signature = `([^`]*)`/.exec(built);
const have = match ? match[1].trim() : null;

if (have !== wanted) {
  console.error(`tap-plugins: tap is built with other plugins than package.json asks for; running "tap build" first`);
  const tapBin = join(tapDir, JSON.parse(readFileSync(join(tapDir, 'package.json'), 'utf8')).bin.tap);
  const build = spawnSync(process.execPath, [tapBin, 'build'], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.error(`tap-plugins: "tap build" failed (status ${build.status}, signal ${build.signal})`);
    process.exit(1);
  }
}
