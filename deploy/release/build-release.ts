/**
 * `npm run release [-- --version V] [-- --out DIR]`: builds the versioned tarball a locker
 * installs with `lockerctl update` or `deploy/install.sh --release`, so the Pi needs neither
 * a compiler nor the registry.
 *
 * What goes in: `dist/` (tsc, tsconfig.build.json), `ui/`, the production node_modules (no
 * devDependencies, native modules as this machine built them), the systemd unit, the kiosk
 * files, the installer, the operations docs, and `manifest.json` (a SHA-256 per file, version,
 * Node ABI, OS and CPU, store schema version). Never `test/` (nor the reference back office in
 * it). The native modules are taken from this checkout's node_modules, so the release is for
 * the machine that builds it: build an arm64 release on a Pi (or another linux-arm64 machine
 * with the same Node major), after `deploy/npm-ci-allowlisted.sh`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ELF_MACHINE, MANIFEST_FILE, VERSION_PATTERN, elfMachine, hashTree, type ReleaseManifest } from '../../kiosk/cli/release/manifest.js';

const run = promisify(execFile);
const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BuildOptions {
  /** The source tree to build (a checkout, or a patched copy of one in tests). */
  sourceDir?: string;
  /** Where the built node_modules come from (default: sourceDir/node_modules). */
  modulesDir?: string;
  /** Default: package.json's version. */
  version?: string;
  /** Where the tarball goes (default: sourceDir/releases). */
  outDir?: string;
  /** An already compiled dist/ (compileDist) instead of running tsc again. */
  distDir?: string;
  /** Changes the staged tree before it is hashed (tests make releases with a marker or a migration). */
  patch?: (stageDir: string) => Promise<void>;
}

export interface BuiltRelease {
  tarball: string;
  version: string;
  sha256: string;
  bytes: number;
  files: number;
  manifest: ReleaseManifest;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

export async function buildRelease(options: BuildOptions = {}): Promise<BuiltRelease> {
  const sourceDir = resolve(options.sourceDir ?? CHECKOUT);
  const modulesDir = resolve(options.modulesDir ?? join(sourceDir, 'node_modules'));
  const pkg = JSON.parse(await readFile(join(sourceDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const version = options.version ?? String(pkg.version);
  if (!VERSION_PATTERN.test(version) || version.includes('..')) throw new Error(`version "${version}" is not usable as a directory name (digits, letters, . + _ -)`);
  const outDir = resolve(options.outDir ?? join(sourceDir, 'releases'));
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(outDir, '.build-'));
  try {
    const top = `keylocker-${version}`;
    const stage = join(work, top);
    await mkdir(stage);
    if (options.distDir) await cp(options.distDir, join(stage, 'dist'), { recursive: true });
    else await compileDist(sourceDir, modulesDir, join(stage, 'dist'));
    await copyRuntimeFiles(sourceDir, stage);
    await writeFile(join(stage, 'package.json'), `${JSON.stringify(runtimePackageJson(pkg, version), null, 2)}\n`);
    await copyProductionModules(sourceDir, modulesDir, join(stage, 'node_modules'));
    await assertNativeModulesFor(process.arch, join(stage, 'node_modules'));
    await options.patch?.(stage);
    await normaliseModes(stage);
    const manifest: ReleaseManifest = {
      format: 1,
      name: 'keylocker',
      version,
      builtAt: new Date().toISOString(),
      platform: process.platform,
      arch: process.arch,
      node: { version: process.version, abi: process.versions.modules, napi: process.versions.napi ?? '' },
      schemaVersion: await schemaVersionOf(stage),
      files: await hashTree(stage),
    };
    await writeFile(join(stage, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    const tarball = join(outDir, `${top}-${process.platform}-${process.arch}.tar.gz`);
    await run('tar', ['--create', '--gzip', '--file', tarball, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', work, top]);
    const sha256 = await sha256Of(tarball);
    await writeFile(`${tarball}.sha256`, `${sha256}  ${basename(tarball)}\n`);
    return { tarball, version, sha256, bytes: (await stat(tarball)).size, files: Object.keys(manifest.files).length + 1, manifest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function compileDist(sourceDir: string, modulesDir: string, outDir: string): Promise<void> {
  const tsc = join(resolve(modulesDir), 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', join(sourceDir, 'tsconfig.build.json'), '--outDir', outDir], { cwd: sourceDir, maxBuffer: 16 << 20 });
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`tsc failed: the release is built only from code that type-checks\n${out}`);
  }
  // As `npm run build`: the protocol validators as Ajv standalone code (a release ships no docs/schemas).
  await run(process.execPath, [join(outDir, 'kiosk', 'sync', 'validator-build.js'), '--schemas', join(sourceDir, 'docs', 'schemas')], {
    cwd: sourceDir,
    env: { ...process.env, NODE_PATH: resolve(modulesDir) }, // the stage has no node_modules yet; Ajv comes from the build's
  });
}

/** What the service and the installer need beside dist/ and node_modules/. */
const RUNTIME_PATHS = ['ui', 'systemd', 'deploy/kiosk', 'deploy/install.sh', 'docs/operations.md', 'docs/security.md', 'LICENSE'];

async function copyRuntimeFiles(sourceDir: string, stage: string): Promise<void> {
  for (const path of RUNTIME_PATHS) {
    const from = join(sourceDir, path);
    if (!existsSync(from)) continue;
    await mkdir(dirname(join(stage, path)), { recursive: true });
    await cp(from, join(stage, path), { recursive: true, dereference: false, verbatimSymlinks: true });
  }
}

function runtimePackageJson(pkg: Record<string, unknown>, version: string): Record<string, unknown> {
  return {
    name: pkg.name,
    version,
    description: pkg.description,
    private: true,
    type: pkg.type,
    engines: pkg.engines,
    bin: { lockerctl: 'dist/kiosk/cli/lockerctl.js' },
    dependencies: pkg.dependencies,
  };
}

/**
 * The production packages, read from package-lock.json (every entry not marked dev), copied
 * from the built node_modules. A package whose installed version differs from the lock means
 * node_modules is stale: refused rather than shipped.
 */
async function copyProductionModules(sourceDir: string, modulesDir: string, dest: string): Promise<void> {
  const lock = JSON.parse(await readFile(join(sourceDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  await mkdir(dest, { recursive: true });
  const topLevel: string[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || entry.dev || entry.devOptional || entry.link) continue;
    const rel = key.slice('node_modules/'.length);
    const from = join(modulesDir, rel);
    if (!existsSync(from)) {
      if (entry.optional) continue; // another platform's optional binary
      throw new Error(`${key} (a production dependency) is not installed: run deploy/npm-ci-allowlisted.sh first`);
    }
    const installed = JSON.parse(await readFile(join(from, 'package.json'), 'utf8')) as { version?: string };
    if (entry.version && installed.version !== entry.version) {
      throw new Error(`${key} is ${installed.version}, package-lock.json says ${entry.version}: node_modules is stale, run deploy/npm-ci-allowlisted.sh`);
    }
    // A nested package (a/node_modules/b) is a dependency of a production one: it comes with a.
    if (!rel.includes('/node_modules/')) topLevel.push(rel);
  }
  // One cp for all (Node's fs.cp is ten times slower on thousands of small files).
  await run('cp', ['-a', '--parents', ...topLevel, dest], { cwd: modulesDir });
  await removeBuildLeftovers(dest);
  await rm(join(dest, 'sqlite3', 'deps'), { recursive: true, force: true }); // SQLite's source tarball
  await pruneForeignPrebuilds(dest);
}

/** Object files, static libraries and makefiles of native builds, and .bin links: not needed to run. */
async function removeBuildLeftovers(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (['.bin', 'obj.target', 'obj', '.deps'].includes(entry.name)) await rm(full, { recursive: true, force: true });
      else await removeBuildLeftovers(full);
    } else if (/\.(a|o|lib|mk|Makefile|gypi)$/.test(entry.name) || entry.name === 'Makefile' || entry.name === 'config.gypi') {
      await rm(full, { force: true });
    } else if (entry.isSymbolicLink()) {
      await rm(full, { force: true }); // a release holds only files (bin links, mostly)
    }
  }
}

/** Packages that ship prebuilt binaries for many systems keep only this one's. */
async function pruneForeignPrebuilds(dir: string): Promise<void> {
  const here = `${process.platform}-${process.arch}`;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const full = join(dir, entry.name);
    if (entry.name === 'prebuilds') {
      for (const target of await readdir(full)) {
        if (target !== here && !target.startsWith(`${here}+`)) await rm(join(full, target), { recursive: true, force: true });
      }
    } else await pruneForeignPrebuilds(full);
  }
}

/** Every native module in the release must load on the target CPU. */
async function assertNativeModulesFor(arch: string, dir: string): Promise<void> {
  const wanted = ELF_MACHINE[arch];
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.node')) {
        const handle = await open(full, 'r');
        const header = Buffer.alloc(20);
        await handle.read(header, 0, 20, 0);
        await handle.close();
        const machine = elfMachine(header);
        if (machine !== wanted) throw new Error(`${full} is not a ${arch} ELF object (e_machine ${machine}): it would not load on the target`);
        found.push(full);
      }
    }
  };
  await walk(dir);
  if (found.length === 0) throw new Error('no native module found in node_modules: sqlite3 at least must be built');
}

/** Root will own the installed tree; nothing in it is writable by anyone else. */
async function normaliseModes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      await chmod(full, 0o755);
      await normaliseModes(full);
    } else {
      const mode = (await stat(full)).mode;
      await chmod(full, mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/** The store schema this release migrates to, read from its own compiled code. */
async function schemaVersionOf(stage: string): Promise<number> {
  const migrations = (await import(pathToFileURL(join(stage, 'dist', 'kiosk', 'store', 'migrations.js')).href)) as { LATEST_SCHEMA_VERSION: number };
  return migrations.LATEST_SCHEMA_VERSION;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function argValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const started = Date.now();
  buildRelease({ version: argValue(args, '--version'), outDir: argValue(args, '--out') }).then(
    (release) => {
      process.stdout.write(
        `${release.tarball}\n  version ${release.version} for ${release.manifest.platform}-${release.manifest.arch}, Node ABI ${release.manifest.node.abi}, ` +
          `store schema ${release.manifest.schemaVersion}\n  ${(release.bytes / 1048576).toFixed(1)} MiB, ${release.files} files, sha256 ${release.sha256}\n` +
          `  built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`release: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
