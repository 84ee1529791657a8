/**
 * The reference back office as a process of its own (test/reference-backoffice/main.ts), so it
 * can be dropped the hard way (SIGKILL: every connection reset at once) and measured alone
 * (its RSS and CPU from /proc), then started again on the same data and port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const READY = /lockers connect to:\s+(ws:\/\/\S+)/;
/** Start-up includes tsx compiling the back office on a busy machine. */
const START_BOUND_MS = 60_000;

export interface ProcessSample {
  rssMiB: number;
  /** User + system CPU seconds since the process started. */
  cpuS: number;
}

export interface BackOfficeProcess {
  lockerUrl: string;
  pid: number;
  /** performance.now() when it said it was listening. */
  readyAt: number;
  sample(): Promise<ProcessSample>;
  /** SIGKILL, resolved once the process has exited. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export async function startBackOfficeProcess(options: { dataDir: string; port: number; unitsFile: string }): Promise<BackOfficeProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/reference-backoffice/main.ts'), '--data-dir', options.dataDir, '--port', String(options.port), '--host', '127.0.0.1', '--units', options.unitsFile, '--time-zone', 'Europe/Oslo'],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const lockerUrl = await new Promise<string>((done, fail) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error(`the back office did not start within ${START_BOUND_MS} ms: ${text.slice(-500)}`)), START_BOUND_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = READY.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the back office exited (${code}) before it was ready: ${text.slice(-500)}`));
    });
  });
  const readyAt = performance.now();
  const pid = child.pid as number;
  return {
    lockerUrl,
    pid,
    readyAt,
    sample: () => sampleProcess(pid),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** RSS and CPU time of a process, from /proc (Linux). */
export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // /proc/<pid>/stat: fields after the ")" of the command name; utime and stime are the 14th and 15th.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: Math.round((rssKiB / 1024) * 10) / 10, cpuS: Math.round((ticks / 100) * 100) / 100 };
}
