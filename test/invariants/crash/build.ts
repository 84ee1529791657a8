/**
 * The locker as production runs it: `tsc -p tsconfig.build.json` to JavaScript (type checking
 * is `npm run typecheck`'s job, so `--noCheck` here: the same files, emitted faster), with the
 * protocol validators precompiled as `npm run build` does. The screens' files and the protocol
 * schemas are found beside the build (ui/, docs/ linked in), node_modules through a link too,
 * so the build may live anywhere.
 *
 * Then, by default, that JavaScript bundled into one file with esbuild (`bundleLocker`): the
 * same emitted code and the same packages, inlined, so a start reads one file instead of
 * resolving and compiling some 600 modules. A crash run starts the locker hundreds of times and
 * the start is most of a kill's cost: measured with test/invariants/crash/start-cost.ts, a start
 * to "running" costs about a third less CPU bundled (docs/performance.md, "Crash runs").
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cp, mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface BuildOptions {
  /** false: run the tsc output itself (`<out>/kiosk/main.js`), module by module. Default true. */
  bundle?: boolean;
}

/** Builds into `outDir`; returns the path of the entry point to run with node. */
export async function buildLocker(outDir: string, options: BuildOptions = {}): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--noCheck', '--sourceMap', 'false'], {
    cwd: REPO_ROOT,
    env: plainEnv(),
  });
  // As `npm run build`: the protocol validators precompiled (a start that compiles them is slower).
  await promisify(execFile)(process.execPath, [join(outDir, 'kiosk', 'sync', 'validator-build.js'), '--schemas', join(REPO_ROOT, 'docs', 'schemas')], { cwd: REPO_ROOT, env: plainEnv() });
  await linkCheckout(outDir);
  const main = join(outDir, 'kiosk', 'main.js');
  if (!existsSync(main)) throw new Error(`the build did not produce ${main}`);
  return options.bundle === false ? main : bundleLocker(main);
}

/** The screens' files, the protocol schemas and node_modules, found beside the build through links. */
async function linkCheckout(outDir: string): Promise<void> {
  for (const name of ['ui', 'docs', 'node_modules']) {
    const link = join(outDir, name);
    if (!existsSync(link)) await symlink(join(REPO_ROOT, name), link);
  }
}

/**
 * The same build, made once per content of the sources and kept on disk: beside the test
 * releases (test/helpers/releases.ts, keyed by a hash of everything they are made of), from
 * the `dist/` the release builder compiles there (tsc with its type check, the validators
 * precompiled: what `npm run build` makes), so that a suite compiles the locker once for the
 * crash runs, the install and the updates, and a second run of this file builds nothing. Its
 * key adds this checkout's path (the links point into it) and this file (how it is built).
 * Made in a directory of its own and renamed into place whole; a concurrent tap job that got
 * there first wins, with the same content. Code that does not type-check is still built, as
 * buildLocker does (`--noCheck`), so the crash runs do not depend on the type check.
 */
export async function cachedLockerBuild(options: BuildOptions = {}): Promise<string> {
  const bundle = options.bundle !== false;
  const { buildCache, sharedDist } = await import('../../helpers/releases.js');
  const key = createHash('sha256').update(`${REPO_ROOT}\nbundle=${bundle}\n`).update(readFileSync(import.meta.filename)).digest('hex').slice(0, 16);
  const dir = join(buildCache(), `crash-build-${key}`);
  const entry = join(dir, 'kiosk', bundle ? join('sync', 'main.bundle.mjs') : 'main.js');
  if (existsSync(entry)) return entry;
  const dist = await sharedDist().catch(() => null);
  const work = await mkdtemp(join(buildCache(), '.work-crash-'));
  try {
    const out = join(work, 'build');
    if (dist) {
      await cp(dist, out, { recursive: true });
      await linkCheckout(out);
      if (bundle) await bundleLocker(join(out, 'kiosk', 'main.js'));
    } else await buildLocker(out, { bundle });
    await rename(out, dir).catch(() => undefined); // another tap job got there first: the same build
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (!existsSync(entry)) throw new Error(`the build did not produce ${entry}`);
  return entry;
}

/** Packages with a native addon (a .node file found beside their JavaScript): left to node_modules. */
const NATIVE_PACKAGES = ['sqlite3', 'serialport', '@serialport/*', 'i2c-bus', 'onoff', 'unix-dgram'];

/**
 * `<out>/kiosk/main.js` and everything it imports, project and packages, in one ES module.
 * It is written into `<out>/kiosk/sync/`, beside the precompiled protocol validators, because
 * the inlined modules find their files from `import.meta.url`, which is now the bundle's:
 * validate.ts looks for the validators in its own directory and for the schemas two levels up,
 * locker.ts for ui/ one or two levels up, all of which hold from there. Packages bundled as
 * CommonJS call `require`: the banner gives them node's, resolved from the bundle's place.
 */
export async function bundleLocker(main: string): Promise<string> {
  const outfile = join(dirname(main), 'sync', 'main.bundle.mjs');
  await build({
    entryPoints: [main],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: NATIVE_PACKAGES,
    banner: { js: "import { createRequire as createBundleRequire } from 'node:module'; const require = createBundleRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}

/**
 * Where crash runs keep the lockers' data: /dev/shm (memory) when there is one. A SIGKILL
 * leaves the kernel's page cache whole, so what a killed process committed survives there as
 * on a disk; what memory saves is the fsync of every commit (`synchronous=FULL`), which guards
 * against power loss, a fault these tests cannot play anyway. About 15 times faster per commit.
 */
export function crashDataRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/**
 * The environment without the test runner's hooks: under tap, NODE_OPTIONS loads its process
 * tracker into every child and collects V8 coverage there, which would slow every locker start
 * several times over (and measure nothing: the build is not the code under coverage).
 */
export function plainEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && key !== 'NODE_V8_COVERAGE' && !key.startsWith('_TAPJS_') && !key.startsWith('TAP')));
}
