/**
 * A service manager without systemd: runs `node <root>/opt/keylocker/current/dist/kiosk/main.js
 * --config ...` as a child process and plays systemd's part for it: it gives the child a
 * NOTIFY_SOCKET, counts the service "active/running" only once READY=1 arrives, "failed" when
 * it exits on its own, and stops it with SIGTERM (SIGKILL after the unit's 10 s). The whole
 * update path runs on it in CI, with the same code that runs under systemd on a Pi.
 *
 * The child lives as long as this object's owner: it is for tests and workstations, not for
 * keeping a locker up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceManager, ServiceState } from './service-manager.js';

export interface ProcessRunnerOptions {
  /** The `current` symlink of the layout. */
  currentLink: string;
  configFile: string;
  /** The node binary (default: the one running this). */
  node?: string;
  env?: NodeJS.ProcessEnv;
  /** Each line the service writes (its JSON log), for tests to read. */
  onOutput?: (line: string) => void;
  stopTimeoutMs?: number;
}

interface DgramSocket {
  bind(path: string): void;
  on(event: 'message', listener: (message: Buffer) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
}

export class ProcessServiceManager implements ServiceManager {
  readonly kind = 'process';
  #child: ChildProcess | null = null;
  #state: ServiceState = { active: 'inactive', sub: 'dead' };
  #status: string | null = null;
  #socketDir: string | null = null;
  #socket: DgramSocket | null = null;
  /** Every notification received, oldest first (tests read them). */
  readonly notifications: string[] = [];

  constructor(private readonly options: ProcessRunnerOptions) {}

  async start(): Promise<void> {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) return;
    const notifyPath = this.#openNotifySocket();
    this.#status = null;
    this.#state = { active: 'activating', sub: 'start' };
    const child = spawn(
      this.options.node ?? process.execPath,
      [join(this.options.currentLink, 'dist', 'kiosk', 'main.js'), '--config', this.options.configFile],
      { env: { ...(this.options.env ?? process.env), NOTIFY_SOCKET: notifyPath }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    const forward = (chunk: Buffer): void => {
      for (const line of String(chunk).split('\n')) if (line) this.options.onOutput?.(line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      const clean = code === 0 || signal === 'SIGTERM';
      this.#state = clean && this.#stopping ? { active: 'inactive', sub: 'dead' } : { active: 'failed', sub: 'failed' };
    });
    child.on('error', () => {
      if (this.#child === child) this.#state = { active: 'failed', sub: 'failed' };
    });
  }

  #stopping = false;

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#state = { active: 'inactive', sub: 'dead' };
      return;
    }
    this.#stopping = true;
    this.#state = { active: 'deactivating', sub: 'stop-sigterm' };
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 10_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
      this.#stopping = false;
    }
    this.#state = { active: 'inactive', sub: 'dead' };
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async state(): Promise<ServiceState> {
    return { ...this.#state };
  }

  /** From the STATUS= that kiosk/main.ts sends with READY=1 ("serving http://.../health"). */
  healthUrl(): string | null {
    const match = /serving (\S+)/.exec(this.#status ?? '');
    return match?.[1] ?? null;
  }

  /** The child's PID, while it runs. */
  get pid(): number | null {
    return this.#child && this.#child.exitCode === null ? (this.#child.pid ?? null) : null;
  }

  /** Stops the service and closes the notification socket. */
  async close(): Promise<void> {
    await this.stop();
    this.#socket?.close();
    this.#socket = null;
    if (this.#socketDir) rmSync(this.#socketDir, { recursive: true, force: true });
    this.#socketDir = null;
  }

  #openNotifySocket(): string {
    if (!this.#socketDir) {
      // sun_path holds 108 bytes: a short directory of its own.
      this.#socketDir = mkdtempSync(join(tmpdir(), 'kl-svc-'));
      const require = createRequire(import.meta.url);
      const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
      const socket = unixDgram.createSocket('unix_dgram');
      // A failed receive must not take the caller down: the service then never counts as
      // ready, and the health wait says so.
      socket.on('error', (error) => this.notifications.push(`ERROR=${error.message}`));
      socket.on('message', (message) => this.#onNotification(String(message)));
      socket.bind(join(this.#socketDir, 'notify'));
      this.#socket = socket;
    }
    return join(this.#socketDir, 'notify');
  }

  #onNotification(message: string): void {
    this.notifications.push(message);
    const fields = new Map(message.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const));
    if (fields.has('STATUS')) this.#status = fields.get('STATUS') ?? null;
    if (fields.get('READY') === '1' && this.#state.active === 'activating') this.#state = { active: 'active', sub: 'running' };
    if (fields.get('STOPPING') === '1' && this.#state.active === 'active') this.#state = { active: 'deactivating', sub: 'stop-sigterm' };
  }
}
