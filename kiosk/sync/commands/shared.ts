/** Small helpers several command families use. */
import { timingSafeEqual } from 'node:crypto';
import type { Reservation } from '../../core/types.js';
import type { Tx } from '../../store/db.js';
import { reservations } from '../../store/repositories.js';
import { CommandFailure } from './context.js';

export async function requireReservation(tx: Tx, id: string): Promise<Reservation> {
  const r = await reservations.getById(tx, id);
  if (!r) throw new CommandFailure('NOT_FOUND', `reservation ${id} is not known to this locker`);
  return r;
}

export function isUniqueViolation(error: unknown, column: string): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && e.message.includes(`UNIQUE constraint failed: ${column}`);
}

/** Compares secrets (a reservation code) in constant time. */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
