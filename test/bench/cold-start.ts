/**
 * Bench: cold start of the production build (`npm run build` -> `node dist/kiosk/main.js
 * --config FILE`) to ready, beside a bare express + ws server (test/bench/bare-server.mjs)
 * started the same way, in the same run, rounds interleaved so both see the same machine load.
 *
 * Ready is the moment the process says so on stdout: the locker's "keylocker running" log line
 * (written once recovery is done and the server listens, just after systemd's READY=1), the
 * bare server's {"msg":"ready"}. At that moment the bench reads the child's CPU time
 * (utime + stime, /proc/PID/stat) and RSS (VmRSS, /proc/PID/status) from outside: the same
 * method for both, nothing asked of the child.
 *
 * Both run with the systemd unit's environment (production-launch.ts). The locker runs as a provisioned unit (a loopback back office that welcomes it), on the
 * simulator, on a data directory made by one uncounted warm-up start: a restart, as a power cut
 * or an update gives, not the first boot (which makes the unit key).
 *
 * `npm run bench` calls benchColdStart() from test/bench/run.ts; `tsx test/bench/cold-start.ts`
 * runs it alone (COLD_START_ROUNDS=N to change the rounds).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { plainEnv } from '../invariants/crash/build.js';
import { ackingServer } from './outbox-drain.js';
import { productionEnv, productionNodeArgs } from './production-launch.js';
import { PI4_FACTOR, piEstimate, round, spread, type Spread } from './scale.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const MAIN = join(REPO, 'dist', 'kiosk', 'main.js');
const BARE = join(REPO, 'test', 'bench', 'bare-server.mjs');
const ROUNDS = Number(process.env.COLD_START_ROUNDS ?? 7);
const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux (getconf CLK_TCK)
const START_TIMEOUT_MS = 30_000;

export interface StartSample {
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
}

/** Runs `npm run build` unless dist/ is newer than every source it is built from. */
export async function ensureBuild(): Promise<'rebuilt' | 'up to date'> {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestSource()) return 'up to date';
  await promisify(execFile)('npm', ['run', '-s', 'build'], { cwd: REPO, env: plainEnv() });
  return 'rebuilt';
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ['kiosk', 'controller', join('docs', 'schemas')]) walk(join(REPO, dir));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) newest = Math.max(newest, statSync(join(REPO, file)).mtimeMs);
  return newest;
}

/** utime + stime of a live process, in ms. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

function rssMiBOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * Spawns `node ...args`, waits for the stdout line that `isReady` accepts, samples the child,
 * stops it with SIGTERM and waits for its exit. Extra node flags (e.g. --cpu-prof) through
 * COLD_START_NODE_OPTIONS.
 */
export async function startOnce(args: string[], isReady: (line: Record<string, unknown>) => boolean, env: Readonly<Record<string, string>> = {}): Promise<StartSample> {
  const extra = process.env.COLD_START_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const started = performance.now();
  const child = spawn(process.execPath, [...extra, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...plainEnv(), ...env } });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += String(chunk);
  });
  try {
    return await new Promise<StartSample>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ready line within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
      void exited.then(() => fail(new Error(`exited before ready: ${stderr}`)));
      let partial = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + String(chunk)).split('\n');
        partial = lines.pop() ?? '';
        for (const text of lines) {
          let line: Record<string, unknown>;
          try {
            line = JSON.parse(text) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (!isReady(line) || child.pid === undefined) continue;
          const wallMs = performance.now() - started;
          const sample = { wallMs, cpuMs: cpuMsOf(child.pid), rssMiB: rssMiBOf(child.pid) };
          clearTimeout(timer);
          done(sample);
          return;
        }
      });
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export const lockerReady = (line: Record<string, unknown>): boolean => typeof line.msg === 'string' && line.msg.startsWith('keylocker running');
export const bareReady = (line: Record<string, unknown>): boolean => line.msg === 'ready';

/** A provisioned locker's configuration on the simulator, its data in `dataDir`. */
export async function writeLockerConfig(dataDir: string, backOfficeUrl: string): Promise<string> {
  const path = join(dataDir, 'locker.json');
  await writeFile(
    path,
    JSON.stringify({
      unitId: 'bench-unit',
      dataDir,
      log: { level: 'info' },
      server: { host: '127.0.0.1', port: 0 },
      backOffice: { url: backOfficeUrl },
    }),
  );
  return path;
}

export async function benchColdStart(): Promise<Record<string, unknown>> {
  const build = await ensureBuild();
  const dir = await mkdtemp(join(tmpdir(), 'keylocker-bench-start-'));
  const backOffice = await ackingServer();
  try {
    const config = await writeLockerConfig(dir, backOffice.url);
    // Both as the unit launches the locker: its node flags and its environment.
    const nodeArgs = productionNodeArgs();
    const lockerArgs = [...nodeArgs, MAIN, '--config', config];
    const bareArgs = [...nodeArgs, BARE];
    // Warm-up, uncounted: makes the database and the unit key, fills the page cache.
    const env = productionEnv();
    await startOnce(lockerArgs, lockerReady, env);
    await startOnce(bareArgs, bareReady, env);
    const locker: StartSample[] = [];
    const bare: StartSample[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      locker.push(await startOnce(lockerArgs, lockerReady, env));
      bare.push(await startOnce(bareArgs, bareReady, env));
    }
    const figures = (samples: StartSample[]): { wallMs: Spread; cpuMs: Spread; rssMiB: Spread } => ({
      wallMs: spread(samples.map((s) => s.wallMs)),
      cpuMs: spread(samples.map((s) => s.cpuMs)),
      rssMiB: spread(samples.map((s) => s.rssMiB)),
    });
    const l = figures(locker);
    const b = figures(bare);
    return {
      build,
      rounds: ROUNDS,
      lockerEnv: productionEnv(),
      nodeArgs,
      locker: l,
      bareExpressWs: b,
      wallVsBare: round(l.wallMs.median / b.wallMs.median),
      cpuVsBare: round(l.cpuMs.median / b.cpuMs.median),
      rssVsBare: round(l.rssMiB.median / b.rssMiB.median),
      target: 'wall and CPU at most 2x the bare server',
      pi4Estimate: {
        wallMs: piEstimate(l.wallMs.median),
        cpuMs: piEstimate(l.cpuMs.median),
        scaled: `median x ${PI4_FACTOR.low}-${PI4_FACTOR.high}: ${PI4_FACTOR.why}; a start is module loading and compiling, one core's work`,
      },
    };
  } finally {
    await backOffice.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchColdStart(), null, 2));
}
