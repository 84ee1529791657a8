/**
 * The PIN side of the back-office commands (docs/protocol.md, "PINs" and "Lockouts"): what a
 * reservation's `pinHash` may be and which index it gets (used by reservation.upsert), the
 * lockout part of reservation.reset, and `lockout.lift`, the staff's way to end a lockout
 * (locker-wide or one reservation's). Lockouts go through the core's LockoutService, so the
 * events that tell the back office are written here too, in the command's transaction.
 */
import type { LockoutService } from '../../core/lockout.js';
import { indexOfHash, PinError, type UnitPinHashing } from '../../core/pin.js';
import type { Tx } from '../../store/db.js';
import { journeyTxOf, type StoreStamps } from '../../store/journey-store.js';
import * as pinHashingSettings from '../../store/pin-hashing.js';
import type { CommandArgs } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';
import { requireReservation } from './shared.js';

export class PinCommands {
  readonly #lockouts: LockoutService;
  readonly #stamps: StoreStamps;
  #hashing: UnitPinHashing | null | undefined;

  constructor(options: { lockouts: LockoutService; stamps: StoreStamps; pinHashing?: UnitPinHashing | null }) {
    this.#lockouts = options.lockouts;
    this.#stamps = options.stamps;
    this.#hashing = options.pinHashing;
  }

  /**
   * The index of an upserted reservation's pinHash: its hash part when made with this unit's
   * salt and cost, null for a legacy hash. A hash that is malformed or names a cost outside
   * the accepted range (N 2^10-2^15, r 1-8, p 1-2) is refused (SCHEMA): it would cost a check
   * far more memory and time than a Pi has, at the moment a customer types.
   */
  async indexFor(tx: Tx, pinHash: string): Promise<string | null> {
    this.#hashing ??= await pinHashingSettings.get(tx);
    try {
      return indexOfHash(pinHash, this.#hashing); // checks the hash whether or not the unit has hashing
    } catch (error) {
      if (error instanceof PinError) throw new CommandFailure('SCHEMA', `args.reservation.pinHash: ${error.message}`);
      throw error;
    }
  }

  /**
   * indexFor's answer without the database, for a command prepared ahead of its round: undefined
   * when the unit's hashing is not read yet, or when indexFor would refuse the hash (its round
   * asks indexFor then, which says why).
   */
  indexAhead(pinHash: string): string | null | undefined {
    if (this.#hashing === undefined) return undefined;
    try {
      return indexOfHash(pinHash, this.#hashing);
    } catch {
      return undefined;
    }
  }

  /** Staff end a lockout; the count starts again from nothing. */
  lift(tx: Tx, target: { scope: 'locker' } | { scope: 'reservation'; reservationId: string }, now: Date, reason: 'lifted' | 'reset' = 'lifted'): Promise<{ wasLocked: boolean }> {
    return this.#lockouts.lift(journeyTxOf(tx, this.#stamps), target, now, reason);
  }
}

async function lift(ctx: CommandContext, args: CommandArgs['lockout.lift']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  if (args.scope === 'locker') {
    const { wasLocked } = await ctx.ports.pins.lift(tx, { scope: 'locker' }, now);
    return { applied: true, scope: 'locker', wasLocked };
  }
  if (args.reservationId === null) throw new CommandFailure('SCHEMA', 'args.reservationId is required for scope reservation');
  const r = await requireReservation(tx, args.reservationId);
  const { wasLocked } = await ctx.ports.pins.lift(tx, { scope: 'reservation', reservationId: r.id }, now);
  ctx.afterCommit(() => ctx.ports.reservationChanged(r.id, 'reset'));
  return { applied: true, scope: 'reservation', reservationId: r.id, wasLocked };
}

export const lockoutCommands: CommandFamily<'lockout.lift'> = {
  'lockout.lift': lift,
};
