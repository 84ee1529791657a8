/**
 * The admin socket's protocol: what lockerctl and the running service say to each other over
 * the Unix socket (kiosk/admin/socket-server.ts).
 *
 * One request per connection, newline-delimited JSON:
 *   client -> `{"op":"status"}` or `{"op":"open","args":{"compartment":3,"reason":"lock check"}}`
 *   service -> zero or more `{"progress":{...}}` lines (selftest: "compartment 3 is open"),
 *              then exactly one `{"ok":true,"result":{...}}` or
 *              `{"ok":false,"error":{"code":"UNKNOWN_COMPARTMENT","message":"..."}}`, then it closes.
 *
 * Every request is checked against the schemas below before anything happens: a bad one gets
 * `BAD_REQUEST` naming what was wrong, and changes nothing.
 */
import { array, boolean, decode, integer, nullable, object, oneOf, string, tagged, withDefault, type DecodeIssue, type Infer, type Input } from '../lib/decode.js';

/** A request line longer than this is refused (and the connection closed). */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** How long a client may take to send its request line. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** The longest selftest wait for a door to be opened and closed, per compartment. */
export const MAX_SELFTEST_TIMEOUT_MS = 600_000;

const compartment = integer({ min: 1, max: 64 });
/** A technician's reason: kept in the audit log, never in the service's log. */
const reason = string({ trim: true, min: 3, max: 200 });

export const adminRequestSchema = tagged('op', {
  status: object({ op: oneOf(['status']) }),
  open: object({ op: oneOf(['open']), args: object({ compartment, reason }) }),
  selftest: object({
    op: oneOf(['selftest']),
    args: object({
      /** Empty: every free compartment. */
      compartments: withDefault(array(compartment, { max: 64 }), []),
      /** How long each door may take to be opened and closed again. */
      timeoutMs: withDefault(integer({ min: 1000, max: MAX_SELFTEST_TIMEOUT_MS }), 60_000),
      /** Named compartments that hold a key are tested too (the technician is at the locker). */
      includeOccupied: withDefault(boolean(), false),
    }),
  }),
  'quarantine.clear': object({ op: oneOf(['quarantine.clear']), args: object({ compartment, reason }) }),
  'lockout.clear': object({
    op: oneOf(['lockout.clear']),
    args: withDefault(object({ reservationId: withDefault(nullable(string({ min: 1, max: 200 })), null) }), {}),
  }),
});

export type AdminRequest = Infer<typeof adminRequestSchema>;
export type AdminRequestInput = Input<typeof adminRequestSchema>;
export type AdminOp = AdminRequest['op'];

export type AdminErrorCode =
  | 'BAD_REQUEST' // not JSON, too long, unknown op, a bad argument
  | 'UNKNOWN_COMPARTMENT'
  | 'IN_USE' // a customer or mechanic is mid-journey on that compartment
  | 'NOT_FOUND' // no such reservation
  | 'REFUSED' // not possible in the compartment's state (not quarantined, its door not seen closed)
  | 'BUSY' // a selftest is already running
  | 'FAILED'; // the operation failed inside the service (the message says what)

export interface AdminError {
  code: AdminErrorCode;
  message: string;
}

export type AdminReply = { ok: true; result: Record<string, unknown> } | { ok: false; error: AdminError };

/** One line of progress before the reply. */
export interface AdminProgress {
  progress: Record<string, unknown>;
}

/** The first problem in a request, as one line naming the field. */
export function describeRequestIssue(issue: DecodeIssue): string {
  const where = issue.path.join('.') || 'request';
  if (issue.kind === 'unknown-key') return `unknown field "${where}"`;
  if (issue.path.length === 1 && issue.path[0] === 'op') return `op ${issue.problem}`;
  return `${where}: ${issue.problem}`;
}

/** Parses one request line; a string error says what was wrong. */
export function parseAdminRequest(line: string): AdminRequest | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { error: 'the request is not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { error: 'the request must be a JSON object' };
  const decoded = decode(adminRequestSchema, raw);
  return decoded.ok ? decoded.value : { error: describeRequestIssue(decoded.issue) };
}
