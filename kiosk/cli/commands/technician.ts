/**
 * lockerctl status, selftest, open, quarantine clear, lockout clear: through the running service's admin socket
 * (kiosk/admin/). status alone also works with the service stopped (from a copy of the store).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { callAdmin } from '../../admin/client.js';
import { MAX_SELFTEST_TIMEOUT_MS } from '../../admin/protocol.js';
import { OpsError } from '../../errors.js';
import { loadOpsConfig, type OpsContext } from '../context.js';
import { EXIT, report } from '../output.js';
import type { CommandKit, GlobalOptions } from '../program.js';
import { offlineStatus } from '../technician/offline-status.js';
import { renderSelfTest, renderStatus } from '../technician/render.js';

const DEFAULT_SOCKET = '/run/keylocker/admin.sock';

/** A compartment number on the command line. */
export function parseCompartment(value: string): number {
  if (!/^\d{1,2}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a compartment number (1, 2, ...)');
  return Number(value);
}

function collectCompartment(value: string, previous: number[] = []): number[] {
  return [...previous, parseCompartment(value)];
}

function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds * 1000 > MAX_SELFTEST_TIMEOUT_MS) {
    throw new InvalidArgumentError(`a number of seconds from 1 to ${MAX_SELFTEST_TIMEOUT_MS / 1000}`);
  }
  return seconds;
}

/** --socket, else the config file's admin.socketPath. */
export async function socketPathFor(ctx: OpsContext, command: Command): Promise<string> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  if (globals.socket) return globals.socket;
  let config;
  try {
    config = await loadOpsConfig(ctx);
  } catch {
    return DEFAULT_SOCKET; // no config yet: the service would use the default too
  }
  if (config.admin.socketPath === null) throw new OpsError('BAD_INPUT', 'admin.socketPath is null in the config: the service has no admin socket');
  return config.admin.socketPath;
}

export function registerTechnicianCommands(program: Command, kit: CommandKit): void {
  const { io } = kit.deps;

  program
    .command('status')
    .description('unit id, version, board health, every compartment (state, door, content), the back-office link and outbox lag, the clock; with the service stopped, what the store says')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 reported (the service running or stopped), 3 bad config, 1 other failure.')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          io,
          'status',
          options,
          async () => {
            const socketPath = await socketPathFor(ctx, command);
            try {
              return { service: 'running', ...(await callAdmin({ op: 'status' }, { socketPath, timeoutMs: 10_000 })) };
            } catch (error) {
              if (!(error instanceof OpsError && error.code === 'NOT_RUNNING')) throw error;
              ctx.progress('the service is not running: reading the store');
              return offlineStatus(await loadOpsConfig(ctx), new Date());
            }
          },
          renderStatus,
        ),
      );
    });

  program
    .command('selftest')
    .description(
      'open each compartment in turn (all free ones, or those named) with you at the locker: wait for its door to be opened and closed again, ' +
        'and report each as confirmed, not-closed, no-door-signal, jammed, board-error or skipped',
    )
    .argument('[compartment...]', 'compartments to test (default: every free one)', collectCompartment)
    .option('--timeout <seconds>', 'how long each door may take to be closed again', parseTimeout, 60)
    .option('--include-occupied', 'also test named compartments that hold a key or are quarantined (never one mid-journey)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 every tested compartment confirmed, 7 a fault found, 3 refused (unknown compartment, a selftest already running), 6 the service is not running, 2 bad flags.')
    .action(async (compartments: number[] | undefined, options: { timeout: number; includeOccupied?: boolean; json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      let faults = 0;
      const code = await report(
        io,
        'selftest',
        options,
        async () => {
          const socketPath = await socketPathFor(ctx, command);
          const count = compartments?.length || 16;
          const result = await callAdmin(
            { op: 'selftest', args: { compartments: compartments ?? [], timeoutMs: options.timeout * 1000, includeOccupied: options.includeOccupied === true } },
            { socketPath, timeoutMs: count * (options.timeout * 1000 + 15_000), onProgress: (p) => ctx.progress(describeProgress(p)) },
          );
          faults = Number(result.faults ?? 0);
          return result;
        },
        renderSelfTest,
      );
      kit.setExit(code === EXIT.OK && faults > 0 ? EXIT.FAULTS_FOUND : code);
    });

  program
    .command('open')
    .description("open one compartment for service: audited with your reason; refused while a customer is mid-journey on it")
    .argument('<compartment>', 'the compartment number', parseCompartment)
    .requiredOption('--reason <text>', 'why (kept in the audit log: 3-200 characters, no personal data)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 opened, 7 the lock did not open (jammed, board error), 3 refused (unknown compartment, mid-journey, bad reason), 6 the service is not running, 2 bad flags.')
    .action(async (compartment: number, options: { reason: string; json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      let opened = true;
      const code = await report(
        io,
        'open',
        options,
        async () => {
          const socketPath = await socketPathFor(ctx, command);
          const result = await callAdmin({ op: 'open', args: { compartment, reason: options.reason } }, { socketPath, timeoutMs: 30_000 });
          opened = result.opened === true;
          return result;
        },
        (r) => `compartment ${String(r.compartment)}: ${String(r.result)} (${String(r.pulses)} pulse(s)); ${String(r.detail)}`,
      );
      kit.setExit(code === EXIT.OK && !opened ? EXIT.FAULTS_FOUND : code);
    });

  const quarantine = program.command('quarantine').description('compartments taken out of service because their content is uncertain');
  quarantine
    .command('clear')
    .description('put a quarantined compartment back into service after you have looked inside and closed its door (audited with your reason; the back office is told)')
    .argument('<compartment>', 'the compartment number', parseCompartment)
    .requiredOption('--reason <text>', 'what you found (kept in the audit log: 3-200 characters, no personal data)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', "\nExit codes: 0 cleared, 3 refused (unknown compartment, not quarantined, its door not seen closed, bad reason), 6 the service is not running, 2 bad flags.")
    .action(async (compartment: number, options: { reason: string; json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          io,
          'quarantine clear',
          options,
          async () => callAdmin({ op: 'quarantine.clear', args: { compartment, reason: options.reason } }, { socketPath: await socketPathFor(ctx, command), timeoutMs: 10_000 }),
          (r) => `compartment ${String(r.compartment)}: back in service (${r.state === 'occupied' ? `holding the key of ${String(r.reservationId)}` : 'free'})`,
        ),
      );
    });

  const lockout = program.command('lockout').description('the PIN lockout');
  lockout
    .command('clear')
    .description("lift the locker-wide PIN lockout (or one reservation's), as staff do from the back office (lockout.lift)")
    .option('--reservation <id>', "lift this reservation's lockout instead of the locker-wide one")
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 lifted (or there was none), 3 refused (no such reservation), 6 the service is not running.')
    .action(async (options: { reservation?: string; json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          io,
          'lockout clear',
          options,
          async () => callAdmin({ op: 'lockout.clear', args: { reservationId: options.reservation ?? null } }, { socketPath: await socketPathFor(ctx, command), timeoutMs: 10_000 }),
          (r) => `${r.scope === 'locker' ? 'locker-wide PIN lockout' : `reservation ${String(r.reservationId)}'s lockout`}: ${r.wasLocked ? 'lifted' : 'there was none; the count starts again from nothing'}`,
        ),
      );
    });
}

function describeProgress(progress: Record<string, unknown>): string {
  const where = `compartment ${String(progress.compartment)}`;
  switch (progress.phase) {
    case 'opening':
      return `${where}: opening`;
    case 'open':
      return `${where}: open: close the door`;
    case 'skipped':
      return `${where}: skipped (${String(progress.detail)})`;
    default:
      return `${where}: ${String(progress.result ?? progress.phase)}`;
  }
}
