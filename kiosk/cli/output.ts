/**
 * One way for every lockerctl command to report and exit, so scripts can rely on it:
 * human text by default, one JSON object on stdout with --json, progress on stderr, and these
 * exit codes.
 */
import { isOpsError, type OpsErrorCode } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** Something failed that is not one of the cases below: read the message. */
  FAILED: 1,
  /** Wrong command line (commander's own errors too). */
  USAGE: 2,
  /** The input was refused (bad checksum, corrupt backup, wrong machine...): nothing changed. */
  REFUSED: 3,
  /** The new release failed (migration or health) and the previous one serves again. */
  ROLLED_BACK: 4,
  /** The service is not healthy and lockerctl could not bring a healthy release back. */
  UNHEALTHY: 5,
  /** The service is not running (its admin socket does not answer): start it, or use a command that works on the store. */
  NOT_RUNNING: 6,
  /** The check ran and found faults (selftest: a compartment not confirmed; diagnostics: the database damaged). */
  FAULTS_FOUND: 7,
} as const;

const EXIT_BY_CODE: Record<OpsErrorCode, number> = {
  BAD_INPUT: EXIT.REFUSED,
  BAD_RELEASE: EXIT.REFUSED,
  CHECKSUM_MISMATCH: EXIT.REFUSED,
  INCOMPATIBLE_RELEASE: EXIT.REFUSED,
  ALREADY_INSTALLED: EXIT.REFUSED,
  CORRUPT_BACKUP: EXIT.REFUSED,
  SCHEMA_TOO_NEW: EXIT.REFUSED,
  NO_PREVIOUS_RELEASE: EXIT.REFUSED,
  MIGRATION_FAILED: EXIT.ROLLED_BACK,
  ROLLED_BACK: EXIT.ROLLED_BACK,
  UNHEALTHY: EXIT.UNHEALTHY,
  SERVICE: EXIT.UNHEALTHY,
  REFUSED: EXIT.REFUSED,
  NOT_RUNNING: EXIT.NOT_RUNNING,
  FAULTS_FOUND: EXIT.FAULTS_FOUND,
};

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface ReportOptions {
  json?: boolean;
}

export function exitCodeFor(error: unknown): number {
  return isOpsError(error) ? EXIT_BY_CODE[error.code] : EXIT.FAILED;
}

/**
 * Runs a command's action and reports its result or error the same way for every command.
 * `render` turns a result into the lines a person reads.
 */
export async function report<T extends object>(
  io: Io,
  command: string,
  options: ReportOptions,
  action: () => Promise<T>,
  render: (result: T) => string,
): Promise<number> {
  try {
    const result = await action();
    if (options.json) io.stdout(`${JSON.stringify({ ok: true, command, ...result })}\n`);
    else io.stdout(`${render(result)}\n`);
    return EXIT.OK;
  } catch (error) {
    const code = isOpsError(error) ? error.code : 'FAILED';
    const message = error instanceof Error ? error.message : String(error);
    if (options.json) {
      const details = isOpsError(error) ? error.details : {};
      io.stdout(`${JSON.stringify({ ok: false, command, error: { code, message, ...details } })}\n`);
    } else io.stderr(`lockerctl ${command}: ${message}\n`);
    return exitCodeFor(error);
  }
}
