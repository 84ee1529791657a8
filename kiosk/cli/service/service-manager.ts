/**
 * What lockerctl needs from whatever supervises the service: start it, stop it, and say
 * whether it is up. systemd in production; a process runner in tests and on a workstation
 * (process-runner.ts); "none" where the technician has stopped the service and works on the
 * store directly.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OpsError } from '../../errors.js';

/** systemd's ActiveState, which the other managers imitate. */
export type ActiveState = 'active' | 'activating' | 'deactivating' | 'inactive' | 'failed' | 'reloading';

export interface ServiceState {
  active: ActiveState;
  /** systemd's SubState ("running", "start", "dead", "auto-restart", ...). */
  sub: string;
}

export interface ServiceManager {
  readonly kind: 'systemd' | 'process' | 'none';
  /** Asks for a start and returns at once; waitHealthy() tells when it is up. */
  start(): Promise<void>;
  /** Stops and waits until the service has stopped (outputs driven off). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  state(): Promise<ServiceState>;
  /** Where /health is, when the manager knows better than the config (a service on port 0). */
  healthUrl(): string | null;
}

export type RunCommand = (file: string, args: string[]) => Promise<{ stdout: string }>;

const execFileAsync = promisify(execFile);
const runCommand: RunCommand = async (file, args) => ({ stdout: (await execFileAsync(file, args, { timeout: 60_000 })).stdout });

export class SystemdServiceManager implements ServiceManager {
  readonly kind = 'systemd';

  constructor(
    readonly unit = 'keylocker.service',
    private readonly run: RunCommand = runCommand,
  ) {}

  async start(): Promise<void> {
    // --no-block: a Type=notify start would wait for READY=1; lockerctl waits with its own limit.
    await this.#systemctl(['start', '--no-block', this.unit]);
  }

  async stop(): Promise<void> {
    await this.#systemctl(['stop', this.unit]);
  }

  async restart(): Promise<void> {
    await this.#systemctl(['restart', '--no-block', this.unit]);
  }

  async state(): Promise<ServiceState> {
    const { stdout } = await this.#systemctl(['show', '-p', 'ActiveState,SubState', this.unit]);
    return parseShow(stdout);
  }

  healthUrl(): string | null {
    return null;
  }

  async #systemctl(args: string[]): Promise<{ stdout: string }> {
    try {
      return await this.run('systemctl', args);
    } catch (error) {
      throw new OpsError('SERVICE', `systemctl ${args.join(' ')} failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
}

/** `systemctl show -p ActiveState,SubState` prints KEY=value lines. */
export function parseShow(stdout: string): ServiceState {
  const values = new Map(
    stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );
  const active = values.get('ActiveState');
  const known: ActiveState[] = ['active', 'activating', 'deactivating', 'inactive', 'failed', 'reloading'];
  if (!active || !known.includes(active as ActiveState)) throw new OpsError('SERVICE', `systemctl show gave no ActiveState: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { active: active as ActiveState, sub: values.get('SubState') ?? '' };
}

/** For work on a stopped locker: nothing to start or stop, never healthy. */
export class NoServiceManager implements ServiceManager {
  readonly kind = 'none';
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async restart(): Promise<void> {}
  async state(): Promise<ServiceState> {
    return { active: 'inactive', sub: 'dead' };
  }
  healthUrl(): string | null {
    return null;
  }
}
