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
import { z } from 'zod';

/** A request line longer than this is refused (and the connection closed). */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** How long a client may take to send its request line. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** The longest selftest wait for a door to be opened and closed, per compartment. */
export const MAX_SELFTEST_TIMEOUT_MS = 600_000;

const compartment = z.number().int().min(1).max(64);
/** A technician's reason: kept in the audit log, never in the service's log. */
const reason = z.string().trim().min(3, 'at least 3 characters').max(200, 'at most 200 characters');

export const adminRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('status') }),
  z.strictObject({ op: z.literal('open'), args: z.strictObject({ compartment, reason }) }),
  z.strictObject({
    op: z.literal('selftest'),
    args: z.strictObject({
      /** Empty: every free compartment. */
      compartments: z.array(compartment).max(64).default([]),
      /** How long each door may take to be opened and closed again. */
      timeoutMs: z.number().int().min(1000).max(MAX_SELFTEST_TIMEOUT_MS).default(60_000),
      /** Named compartments that hold a key are tested too (the technician is at the locker). */
      includeOccupied: z.boolean().default(false),
    }),
  }),
  z.strictObject({ op: z.literal('quarantine.clear'), args: z.strictObject({ compartment, reason }) }),
  z.strictObject({
    op: z.literal('lockout.clear'),
    args: z.strictObject({ reservationId: z.string().min(1).max(200).nullable().default(null) }).default({ reservationId: null }),
  }),
]);

export type AdminRequest = z.infer<typeof adminRequestSchema>;
export type AdminRequestInput = z.input<typeof adminRequestSchema>;
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

/** The first problem in a zod error, as one line naming the field. */
export function describeRequestIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  if (issue.code === 'unrecognized_keys') return `unknown field "${[...issue.path, issue.keys[0] ?? ''].join('.')}"`;
  if (issue.code === 'invalid_union' && issue.path.length === 0) return 'op must be one of status, open, selftest, quarantine.clear, lockout.clear';
  const where = issue.path.join('.') || 'request';
  return `${where}: ${issue.message}`;
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
  const op = (raw as { op?: unknown }).op;
  if (typeof op !== 'string' || !['status', 'open', 'selftest', 'quarantine.clear', 'lockout.clear'].includes(op)) {
    return { error: 'op must be one of status, open, selftest, quarantine.clear, lockout.clear' };
  }
  const parsed = adminRequestSchema.safeParse(raw);
  return parsed.success ? parsed.data : { error: describeRequestIssue(parsed.error) };
}
