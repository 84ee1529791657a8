/**
 * One life of the real locker process: `node <build>/kiosk/main.js --config <file>`, its JSON
 * log read line by line, ready once it logs that it is running (recovery is done before its
 * server listens), ended by SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { plainEnv } from './build.js';

export interface LogLine {
  msg?: string;
  module?: string;
  level?: number;
  [key: string]: unknown;
}

export interface ReadyInfo {
  /** http://127.0.0.1:PORT of the screens' server. */
  server: string;
  /** The log lines written before the "running" line (start-up and recovery). */
  startup: LogLine[];
}

const RUNNING = /^keylocker running/;

export class LockerProcess {
  readonly lines: LogLine[] = [];
  readonly ready: Promise<ReadyInfo | null>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly startedAt = performance.now();
  readyAt: number | null = null;
  stderr = '';
  readonly #child: ChildProcess;

  /** Lines of stdout that are not log lines (node's own, e.g. --trace-gc's). */
  readonly otherLines: string[] = [];

  /**
   * `env`: variables set on top of the plain environment (the benches pass the systemd unit's);
   * `nodeArgs`: flags for node itself (the memory bench's --trace-gc).
   */
  constructor(main: string, configPath: string, env: Readonly<Record<string, string>> = {}, nodeArgs: readonly string[] = []) {
    // CRASH_NODE_OPTIONS: extra node flags for the locker (e.g. --cpu-prof to see where a life goes).
    const extra = [...nodeArgs, ...(process.env.CRASH_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [])];
    this.#child = spawn(process.execPath, [...extra, main, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...plainEnv(), ...env } });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve({ code, signal })));
    let partial = '';
    let settle: (info: ReadyInfo | null) => void = () => undefined;
    this.ready = new Promise((resolve) => (settle = resolve));
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      const text = partial + String(chunk);
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) {
        if (!part.trim()) continue;
        let line: LogLine;
        try {
          line = JSON.parse(part) as LogLine;
        } catch {
          // A line cut by the kill, or node's own (bounded: a day's GC trace is a few thousand).
          if (this.otherLines.length < 100_000) this.otherLines.push(part);
          continue;
        }
        this.lines.push(line);
        if (this.readyAt === null && typeof line.msg === 'string' && RUNNING.test(line.msg)) {
          this.readyAt = performance.now();
          const urls = line.urls as { health?: string } | undefined;
          const server = urls?.health?.replace(/\/health$/, '') ?? '';
          settle({ server, startup: this.lines.slice(0, -1) });
        }
      }
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += String(chunk);
    });
    void this.exited.then(() => settle(null));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** SIGKILL, and wait until the process is gone (its file handles closed). */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the clean stop (outputs off, logs flushed), and wait until the process is gone. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    await this.exited;
  }

  /** Log lines of this life with the given message. */
  count(msg: string): number {
    return this.lines.filter((line) => line.msg === msg).length;
  }
}
