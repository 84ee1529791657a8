import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { runLockerctl } from '../../kiosk/cli/program.js';
import { withLocker, type TestLocker, type TestLockerOptions } from './locker.js';

export interface CtlRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as the one JSON object --json prints. */
  json(): Record<string, unknown>;
}

/** Runs lockerctl in this process, as a script would see it. */
export async function lockerctl(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CtlRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runLockerctl(args, { io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, env });
  const stdout = out.join('');
  return { code, stdout, stderr: err.join(''), json: () => JSON.parse(stdout) as Record<string, unknown> };
}

/**
 * A directory with a short path for a Unix socket (sun_path holds 107 bytes; tap's test dirs
 * are longer), removed at teardown.
 */
export async function shortSocketPath(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'admin.sock');
}

/** A test locker (simulator + reference back office) with its admin socket, and lockerctl pointed at it. */
export async function withAdminLocker(t: Test, overrides: Record<string, unknown> = {}, options: TestLockerOptions = {}): Promise<{ locker: TestLocker; socket: string; ctl: (args: readonly string[]) => Promise<CtlRun> }> {
  const socket = await shortSocketPath(t);
  const locker = await withLocker(t, { ...overrides, admin: { socketPath: socket, group: 'keylocker-admin' } }, options);
  return { locker, socket, ctl: (args) => lockerctl(['--socket', socket, ...args]) };
}
