/**
 * `npm start`: the locker on the simulator beside the reference back office, as two programs.
 *
 * The reference back office runs in this process (it is a demo and a test peer, never part of
 * the locker); the locker runs as its own child process (`kiosk/main.ts`), provisioned against
 * it with a config written to `<dataDir>/locker.json`. Both keep their JSON logs in files, so
 * the terminal shows only where to go and what to type.
 *
 *   tsx test/demo/run.ts [--data-dir var] [--port 8080] [--back-office-port 8090]
 *
 * Delete the data dir to start over (the demo appointments are for the day they were seeded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadOrCreateIdentity } from '../../kiosk/sync/identity.js';
import { DEMO_APPOINTMENTS } from '../reference-backoffice/demo.js';
import { startReferenceBackOffice, type ReferenceBackOffice } from '../reference-backoffice/start.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const UNIT_ID = 'locker-demo';
const START_TIMEOUT_MS = 60_000;

interface Options {
  dataDir: string;
  port: number;
  backOfficePort: number;
}

function parseArgs(args: readonly string[]): Options {
  const value = (name: string, fallback: string): string => {
    const index = args.indexOf(name);
    const found = index >= 0 ? args[index + 1] : undefined;
    if (index >= 0 && found === undefined) throw new Error(`${name} needs a value`);
    return found ?? fallback;
  };
  const port = (name: string, fallback: string): number => {
    const n = Number(value(name, fallback));
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535)`);
    return n;
  };
  return { dataDir: resolve(value('--data-dir', 'var')), port: port('--port', '8080'), backOfficePort: port('--back-office-port', '8090') };
}

/** Starts the locker process; resolves with its screen URLs once it says it is running. */
function startLockerProcess(configPath: string, logPath: string): { child: ChildProcess; ready: Promise<Record<string, string>> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'kiosk', 'main.ts'), '--config', configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEYLOCKER_CONFIG: '' },
  });
  const log = createWriteStream(logPath, { flags: 'a' });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += String(chunk);
    log.write(chunk);
  });
  const ready = new Promise<Record<string, string>>((resolvePromise, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`the locker did not start within ${START_TIMEOUT_MS / 1000} s (see ${logPath})`)), START_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      buffered += String(chunk);
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        try {
          const entry = JSON.parse(line) as { msg?: string; urls?: Record<string, string> };
          if (entry.msg?.startsWith('keylocker running') && entry.urls) {
            clearTimeout(timer);
            resolvePromise(entry.urls);
          }
        } catch {
          // not a log line: it is in the file anyway
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the locker exited with code ${code}: ${errors.trim().split('\n').slice(-3).join(' | ') || `see ${logPath}`}`));
    });
  });
  return { child, ready };
}

function banner(urls: Record<string, string>, backOffice: ReferenceBackOffice, dataDir: string): string {
  const pins = DEMO_APPOINTMENTS.map((demo) => {
    const what =
      demo.kind === 'dropoff'
        ? `drop off   ${demo.plateDisplay}${demo.email ? '' : ' (no e-mail on file)'}`
        : demo.compartmentId === null
          ? `pick up    ${demo.plateDisplay}: key not in the locker yet`
          : `pick up    ${demo.plateDisplay}: ${demo.payment?.status === 'paid' ? 'paid' : 'payment pending'}, compartment ${demo.compartmentId}`;
    return `    ${demo.pin}   ${what}`;
  });
  return [
    '',
    '  keylocker demo: the locker on the simulator, beside the reference back office',
    '',
    `  customer screen (bottom)   ${urls.bottom}`,
    `  top screen                 ${urls.top}`,
    `  simulator (doors, faults)  ${urls.sim}`,
    `  staff page (back office)   ${backOffice.url}`,
    `  mechanic's tablet          ${backOffice.url}tablet/`,
    '',
    '  demo PINs',
    ...pins,
    '',
    `  logs: ${join(dataDir, 'locker.log')}, ${join(dataDir, 'backoffice.log')}`,
    '  Ctrl-C stops both. Delete the data folder to start over.',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const lockerDir = join(options.dataDir, 'locker');
  await mkdir(lockerDir, { recursive: true, mode: 0o700 });
  const logger = pino({ level: 'info' }, pino.destination({ dest: join(options.dataDir, 'backoffice.log'), sync: false, mkdir: true }));

  const backOffice = await startReferenceBackOffice({
    dataDir: join(options.dataDir, 'backoffice'),
    port: options.backOfficePort,
    audience: 'keylocker-backoffice',
    logger,
    timeZone: 'Europe/Oslo',
    demo: true,
  });
  let child: ChildProcess | null = null;
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolvePromise) => child?.once('exit', resolvePromise));
      child.kill('SIGTERM');
      await exited;
    }
    await backOffice.stop();
    logger.flush();
  };
  try {
    const identity = await loadOrCreateIdentity(lockerDir, UNIT_ID);
    await backOffice.registerUnit(UNIT_ID, identity.publicKeyJwk);
    const configPath = join(options.dataDir, 'locker.json');
    const config = { unitId: UNIT_ID, dataDir: lockerDir, server: { port: options.port }, backOffice: { url: backOffice.lockerUrl } };
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const started = startLockerProcess(configPath, join(options.dataDir, 'locker.log'));
    child = started.child;
    const urls = await started.ready;
    process.stderr.write(`${banner(urls, backOffice, options.dataDir)}\n`);
  } catch (error) {
    await stopAll();
    throw error;
  }

  return new Promise<number>((resolvePromise) => {
    const stop = (): void => void stopAll().then(() => resolvePromise(0), () => resolvePromise(1));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    child?.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`keylocker demo: the locker stopped (exit code ${code}); see ${join(options.dataDir, 'locker.log')}\n`);
      void backOffice.stop().then(() => resolvePromise(code === 0 ? 0 : 1));
    });
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`keylocker demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
