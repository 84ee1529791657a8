/**
 * Errors of the application, in one place. Each carries a stable `code` (shown to screens as
 * the catalogue key `error.<code>`, to the back office and the CLI as is) and the HTTP status
 * the server answers with. Hardware errors live in controller/errors.ts and are re-exported.
 */
export { HardwareError, isHardwareError, describeError } from '../controller/errors.js';
export { ConfigError } from './config/load.js';

export type DomainErrorCode =
  | 'BAD_ACTION' // the action is not allowed at this step, or malformed
  | 'PIN_FORMAT'
  | 'PIN_WRONG'
  | 'LOCKED_OUT' // the locker refuses PINs for a while
  | 'RESERVATION_LOCKED' // too many wrong PINs for this reservation
  | 'NOT_FOUND'
  | 'NOT_READY' // pickup: the key is not in the locker yet
  | 'ALREADY_USED' // the key was already dropped off or collected
  | 'RESERVATION_CANCELLED'
  | 'PIN_AMBIGUOUS' // the PIN matches more than one booking: the plate decides
  | 'PIN_OTHER_JOURNEY' // a right PIN for the other journey: offered as a switch, not counted
  | 'LOOKUP_THROTTLED' // too many plate/phone lookups at this locker just now
  | 'PIN_ALREADY_SENT' // the PIN was sent for this booking a few minutes ago
  | 'PLATE_INVALID'
  | 'PHONE_INVALID'
  | 'EMAIL_INVALID' // a typed receipt e-mail that is not an address
  | 'REMARK_TOO_LONG'
  | 'NO_COMPARTMENT'
  | 'OPEN_FAILED'
  | 'DOOR_OPEN'
  | 'NOT_QUARANTINED' // staff asked to clear a quarantine on a compartment that is not quarantined
  | 'PAYMENT_REQUIRED'
  | 'PAYMENT_PENDING'
  | 'OFFLINE'
  | 'SERVER';

const STATUS: Record<DomainErrorCode, number> = {
  BAD_ACTION: 400,
  PIN_FORMAT: 400,
  PIN_WRONG: 403,
  LOCKED_OUT: 429,
  RESERVATION_LOCKED: 423,
  NOT_FOUND: 404,
  NOT_READY: 409,
  ALREADY_USED: 409,
  RESERVATION_CANCELLED: 409,
  PIN_AMBIGUOUS: 409,
  PIN_OTHER_JOURNEY: 409,
  LOOKUP_THROTTLED: 429,
  PIN_ALREADY_SENT: 429,
  PLATE_INVALID: 400,
  PHONE_INVALID: 400,
  EMAIL_INVALID: 400,
  REMARK_TOO_LONG: 400,
  NO_COMPARTMENT: 503,
  OPEN_FAILED: 503,
  DOOR_OPEN: 409,
  NOT_QUARANTINED: 409,
  PAYMENT_REQUIRED: 402,
  PAYMENT_PENDING: 402,
  OFFLINE: 503,
  SERVER: 500,
};

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Values a screen may show (tries left, seconds to wait). Never personal data. */
    readonly params: { attemptsLeft?: number; retryAfterS?: number; journey?: 'dropoff' | 'pickup' } = {},
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

/** Status and body for any thrown value; unknown errors never leak their message. */
export function toHttpError(value: unknown): { status: number; body: { error: { code: string; message: string } } } {
  if (isDomainError(value)) return { status: value.status, body: { error: { code: value.code, message: value.message } } };
  const status = typeof (value as { status?: unknown })?.status === 'number' ? (value as { status: number }).status : 500;
  if (status >= 400 && status < 500) {
    return { status, body: { error: { code: 'BAD_REQUEST', message: 'the request could not be read' } } };
  }
  return { status: 500, body: { error: { code: 'SERVER', message: 'internal error' } } };
}

/**
 * Errors of the technician's operations (lockerctl, releases, backups). Each code maps to one
 * exit code (kiosk/cli/output.ts), so scripts can tell "refused, nothing changed" from
 * "rolled back" from "broken".
 */
export type OpsErrorCode =
  | 'BAD_INPUT' // a missing or malformed argument, file or config
  | 'BAD_RELEASE' // the tarball is not a release (no manifest, a link or device inside, a path out of it)
  | 'CHECKSUM_MISMATCH' // a file of the release differs from its manifest: refused, nothing changed
  | 'INCOMPATIBLE_RELEASE' // built for another CPU, OS or Node ABI than this machine's
  | 'ALREADY_INSTALLED' // that version is installed with other content
  | 'CORRUPT_BACKUP' // integrity_check failed, or not a keylocker database
  | 'SCHEMA_TOO_NEW' // a backup from a newer schema than the running release knows
  | 'NO_PREVIOUS_RELEASE'
  | 'MIGRATION_FAILED' // the new release could not migrate the store; the old one runs again
  | 'ROLLED_BACK' // the new release did not become healthy; the old one runs again
  | 'UNHEALTHY' // the service did not become healthy and nothing older could be brought back
  | 'SERVICE' // the service manager failed
  | 'REFUSED' // the running service refused the request (unknown compartment, a customer mid-journey...): nothing changed
  | 'NOT_RUNNING' // the service's admin socket does not answer (stopped, or not yet started)
  | 'FAULTS_FOUND'; // a check ran and found faults (a self-test compartment not confirmed, a damaged database)

export class OpsError extends Error {
  override readonly name = 'OpsError';
  constructor(
    readonly code: OpsErrorCode,
    message: string,
    /** Facts for --json output (versions, paths); never secrets or personal data. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isOpsError(value: unknown): value is OpsError {
  return value instanceof OpsError;
}
