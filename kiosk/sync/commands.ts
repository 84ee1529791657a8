/**
 * Back-office commands, applied exactly once (docs/protocol.md, "Commands").
 *
 * Each command runs inside a transaction together with the record of its result
 * (`applied_commands`), so a command is either applied and remembered or neither:
 * - a repeat of an id with the same content (sha-256 of the canonical JSON of name + args)
 *   gets the stored result again and changes nothing;
 * - the same id with other content gets DUPLICATE_ID (and is not recorded: the id keeps
 *   belonging to its first content);
 * - a command that cannot apply (NOT_FOUND, CONFLICT, CODE_MISMATCH, AMOUNT_MISMATCH) is rolled
 *   back to its savepoint and its error is recorded like any result, so a repeat gets the same
 *   answer; only an unexpected failure (INTERNAL) is not recorded, so a repeat may succeed.
 *
 * Several commands that arrived together share one transaction (one fsync), each inside its
 * own SAVEPOINT: a snapshot of thousands of reservations applies in seconds, not minutes.
 * Effects outside the database (the help-call banner, `reservationChanged`) happen only after
 * the commit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LockoutService } from '../core/lockout.js';
import { normalisePlate } from '../core/normalise.js';
import type { Reservation } from '../core/types.js';
import type { Logger } from '../logging.js';
import type { Db, Tx } from '../store/db.js';
import { compartments, reservations, timeline } from '../store/repositories.js';
import * as store from './command-store.js';
import type { CommandArgs, CommandMessage, ErrorCode, ResultMessage } from './messages.js';

export type ReservationChange = 'updated' | 'cancelled' | 'payment' | 'reset';

export interface CommandEvents {
  /**
   * A reservation changed by the back office, after the change committed. The journey must
   * react when it is the current customer's: a cancelled one ends the session politely before
   * its door opens; a payment may unblock the pickup screen.
   */
  reservationChanged: [reservationId: string, change: ReservationChange];
}

/** The screens' help-call banner (Journeys.setHelpCall). */
export interface HelpCallPort {
  setHelpCall(state: 'none' | 'requested' | 'taken'): void;
}

export interface CommandProcessorOptions {
  db: Db;
  lockouts: LockoutService;
  logger: Logger;
  wallClock?: () => Date;
  help?: HelpCallPort;
}

export type CommandOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: { code: ErrorCode; message: string } };

/** Thrown inside a handler: the command's changes are rolled back and this is its answer. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL'>,
    message: string,
  ) {
    super(message);
  }
}

type Effect = () => void;

interface Context {
  tx: Tx;
  now: Date;
  commandId: string;
  effects: Effect[];
}

export class CommandProcessor {
  readonly events = new EventEmitter<CommandEvents>();
  readonly #db: Db;
  readonly #lockouts: LockoutService;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #help: HelpCallPort | undefined;

  constructor(options: CommandProcessorOptions) {
    this.#db = options.db;
    this.#lockouts = options.lockouts;
    this.#log = options.logger;
    this.#now = options.wallClock ?? (() => new Date());
    this.#help = options.help;
  }

  /** Applies one command and returns its one result. */
  async apply(command: CommandMessage): Promise<ResultMessage> {
    const [result] = await this.applyMany([command]);
    if (!result) throw new Error('no result'); // cannot happen: one in, one out
    return result;
  }

  /** Applies commands in order in one transaction; one result each, in the same order. */
  async applyMany(commands: readonly CommandMessage[]): Promise<ResultMessage[]> {
    if (commands.length === 0) return [];
    const now = this.#now();
    const effects: Effect[] = [];
    let outcomes: CommandOutcome[];
    try {
      outcomes = await this.#db.transaction(async (tx) => {
        const done: CommandOutcome[] = [];
        for (const command of commands) done.push(await this.#applyOne(tx, command, now, effects));
        return done;
      });
    } catch (error) {
      // The commit itself failed: nothing was applied or recorded; a repeat may succeed.
      this.#log.error({ err: String(error), commands: commands.length }, 'applying commands failed');
      effects.length = 0;
      outcomes = commands.map(() => internal());
    }
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.#log.error({ err: String(error) }, 'a command effect failed after commit');
      }
    }
    return commands.map((command, index) => toResult(command.id, outcomes[index] ?? internal()));
  }

  async #applyOne(tx: Tx, command: CommandMessage, now: Date, effects: Effect[]): Promise<CommandOutcome> {
    const hash = contentHash(command.name, command.args);
    const previous = await store.getApplied(tx, command.id);
    if (previous) {
      if (previous.contentHash === hash) {
        this.#log.debug({ commandId: command.id, name: command.name }, 'repeated command: first result sent again');
        return fromStored(previous.outcome);
      }
      this.#log.warn({ commandId: command.id, name: command.name, first: previous.name }, 'command id reused with other content');
      return { ok: false, error: { code: 'DUPLICATE_ID', message: `command id ${command.id} was already used for other content` } };
    }

    const local: Effect[] = [];
    let outcome: CommandOutcome;
    await tx.exec('SAVEPOINT command');
    try {
      outcome = { ok: true, result: await this.#dispatch({ tx, now, commandId: command.id, effects: local }, command) };
      await tx.exec('RELEASE command');
    } catch (error) {
      await tx.exec('ROLLBACK TO command');
      await tx.exec('RELEASE command');
      local.length = 0;
      if (!(error instanceof CommandFailure)) {
        this.#log.error({ err: String(error), commandId: command.id, name: command.name }, 'command failed unexpectedly');
        return internal();
      }
      outcome = { ok: false, error: { code: error.code, message: error.message } };
    }
    await store.recordApplied(tx, { id: command.id, name: command.name, contentHash: hash, outcome }, now);
    effects.push(...local);
    this.#log.info(
      { commandId: command.id, name: command.name, ok: outcome.ok, ...(outcome.ok ? {} : { code: outcome.error.code }) },
      'command applied',
    );
    return outcome;
  }

  #dispatch(ctx: Context, command: CommandMessage): Promise<Record<string, unknown>> {
    switch (command.name) {
      case 'reservation.upsert':
        return this.#upsert(ctx, command.args);
      case 'reservation.cancel':
        return this.#cancel(ctx, command.args);
      case 'reservation.reset':
        return this.#reset(ctx, command.args);
      case 'payment.status':
        return this.#payment(ctx, command.args);
      case 'help.update':
        return this.#helpUpdate(ctx, command.args);
      case 'mechanic.request':
        return this.#mechanicRequest(ctx, command.args);
      default: {
        const name = (command as { name: unknown }).name;
        throw new CommandFailure('SCHEMA', `unknown command ${String(name)}`);
      }
    }
  }

  // --- reservation.upsert --------------------------------------------------------------------

  async #upsert(ctx: Context, { reservation: wire, version }: CommandArgs['reservation.upsert']): Promise<Record<string, unknown>> {
    const { tx, now } = ctx;
    const existing = await reservations.getById(tx, wire.id);
    if (existing && version <= existing.version) return { applied: false, reason: 'stale', version: existing.version };
    const plate = normalisePlate(wire.plate);
    if (!plate.ok) throw new CommandFailure('SCHEMA', `args.reservation.plate is not a licence plate (${plate.error})`);
    if (existing && existing.kind !== wire.kind && existing.status !== 'booked') {
      throw new CommandFailure('CONFLICT', `reservation ${wire.id} is ${existing.status}: its kind cannot change`);
    }

    const at = now.toISOString();
    // What the locker owns (status, compartment, payment state, PIN failures) is kept; the
    // amount is too: it arrives with payment.status, and the wire reservation has none.
    const next: Reservation = {
      id: wire.id,
      code: wire.code,
      kind: wire.kind,
      workOrder: wire.workOrder,
      plate: plate.plate,
      plateDisplay: wire.plate,
      driverName: wire.driverName,
      phones: [...wire.phones],
      email: wire.email,
      appointmentDate: wire.appointmentDate,
      appointmentTime: wire.appointmentTime,
      pinHash: wire.pinHash,
      status: existing?.status ?? 'booked',
      compartmentId: existing?.compartmentId ?? null,
      remark: existing?.remark ?? null,
      paymentRequired: wire.paymentRequired,
      paymentStatus: existing?.paymentStatus ?? 'none',
      paymentAmount: existing?.paymentAmount ?? null,
      paymentCurrency: existing?.paymentCurrency ?? null,
      paymentVersion: existing?.paymentVersion ?? 0,
      version,
      failedPinAttempts: existing?.failedPinAttempts ?? 0,
      pinLockedAt: existing?.pinLockedAt ?? null,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    let written: Awaited<ReturnType<typeof reservations.upsert>>;
    try {
      written = await reservations.upsert(tx, next);
    } catch (error) {
      // The code is UNIQUE: letting the constraint say so saves a query per command.
      if (isUniqueViolation(error, 'reservations.code')) throw new CommandFailure('CONFLICT', `another reservation already has the code of reservation ${wire.id}`);
      throw error;
    }
    if (written === 'stale') return { applied: false, reason: 'stale', version: existing?.version ?? version };

    let status = next.status;
    if (wire.kind === 'pickup' && wire.compartmentId !== null && (status === 'booked' || status === 'ready')) {
      status = await this.#keyIsIn(ctx, next, wire.compartmentId);
    }
    // A new booking is the back office's own news; a change of one the locker held is history.
    if (existing) await timeline.append(tx, wire.id, 'updated-by-back-office', { version }, now);
    ctx.effects.push(() => this.events.emit('reservationChanged', wire.id, 'updated'));
    return { applied: true, created: written === 'inserted', version, status };
  }

  /**
   * A pickup naming its compartment: the mechanic has put the key in. The compartment must be
   * free (or already this reservation's); one holding another key, quarantined (content
   * uncertain) or disabled is a CONFLICT for a person to resolve.
   */
  async #keyIsIn(ctx: Context, reservation: Reservation, compartmentId: number): Promise<Reservation['status']> {
    const { tx, now } = ctx;
    if (reservation.status === 'ready' && reservation.compartmentId !== null && reservation.compartmentId !== compartmentId) {
      throw new CommandFailure('CONFLICT', `the key of reservation ${reservation.id} is in compartment ${reservation.compartmentId}, not ${compartmentId}`);
    }
    const compartment = await compartments.get(tx, compartmentId);
    if (!compartment) throw new CommandFailure('CONFLICT', `compartment ${compartmentId} does not exist in this locker`);
    const ours = compartment.reservationId === reservation.id && (compartment.state === 'reserved' || compartment.state === 'occupied');
    if (compartment.state !== 'free' && !ours) {
      throw new CommandFailure('CONFLICT', `compartment ${compartmentId} is ${compartment.state}${compartment.reservationId ? ' for another reservation' : ''}`);
    }
    if (compartment.state === 'occupied' && reservation.status === 'ready') return 'ready';
    // A compartment held for it elsewhere is not needed any more.
    for (const id of await store.compartmentsReservedFor(tx, reservation.id)) {
      if (id !== compartmentId) await compartments.setState(tx, id, { state: 'free' }, now);
    }
    await compartments.setState(tx, compartmentId, { state: 'occupied', reservationId: reservation.id }, now);
    await reservations.update(tx, reservation.id, { status: 'ready', compartmentId }, now);
    await timeline.append(tx, reservation.id, 'key-in-compartment', { compartment: compartmentId, by: 'back-office' }, now);
    return 'ready';
  }

  // --- reservation.cancel --------------------------------------------------------------------

  async #cancel(ctx: Context, { reservationId, version }: CommandArgs['reservation.cancel']): Promise<Record<string, unknown>> {
    const { tx, now } = ctx;
    const r = await requireReservation(tx, reservationId);
    if (version <= r.version) return { applied: false, reason: 'stale', version: r.version };
    if (r.status === 'cancelled') {
      await store.setReservationVersion(tx, r.id, version, now);
      return { applied: false, reason: 'already-cancelled', version };
    }
    if (r.status !== 'booked') {
      const where = r.status === 'collected' || r.status === 'retrieved' ? 'has been taken' : 'is in the locker';
      throw new CommandFailure('CONFLICT', `reservation ${r.id} is ${r.status}: its key ${where}`);
    }
    if (await store.hasInflight(tx, r.id)) {
      // The door is open for this customer now: the journey finishes, and its event follows.
      throw new CommandFailure('CONFLICT', `a door is open for reservation ${r.id} right now; the journey will finish`);
    }
    const freed = await store.compartmentsReservedFor(tx, r.id);
    for (const id of freed) await compartments.setState(tx, id, { state: 'free' }, now);
    await reservations.update(tx, r.id, { status: 'cancelled', compartmentId: null }, now);
    await store.setReservationVersion(tx, r.id, version, now);
    await timeline.append(tx, r.id, 'cancelled-by-back-office', { version }, now);
    ctx.effects.push(() => this.events.emit('reservationChanged', r.id, 'cancelled'));
    return { applied: true, version, status: 'cancelled', freedCompartments: freed };
  }

  // --- reservation.reset ---------------------------------------------------------------------

  async #reset(ctx: Context, { reservationId, code }: CommandArgs['reservation.reset']): Promise<Record<string, unknown>> {
    const { tx, now } = ctx;
    const r = await requireReservation(tx, reservationId);
    if (!sameText(r.code, code)) throw new CommandFailure('CODE_MISMATCH', `the code does not match reservation ${r.id}`);
    const wasLocked = r.pinLockedAt !== null;
    await this.#lockouts.resetReservation(tx, r.id, now);
    await timeline.append(tx, r.id, 'reset-by-staff', { wasLocked }, now);
    ctx.effects.push(() => this.events.emit('reservationChanged', r.id, 'reset'));
    return { applied: true, wasLocked };
  }

  // --- payment.status ------------------------------------------------------------------------

  async #payment(ctx: Context, payment: CommandArgs['payment.status']): Promise<Record<string, unknown>> {
    const { tx, now } = ctx;
    const r = await requireReservation(tx, payment.reservationId);
    if (payment.version <= r.paymentVersion) return { applied: false, reason: 'stale', version: r.paymentVersion };
    // Once the locker holds an amount, a status is only valid for that amount: a payment for
    // another invoice must never open the door.
    if (r.paymentAmount !== null && (payment.amount !== r.paymentAmount || (r.paymentCurrency !== null && payment.currency !== r.paymentCurrency))) {
      throw new CommandFailure('AMOUNT_MISMATCH', `the payment is not for the amount reservation ${r.id} holds`);
    }
    await reservations.update(
      tx,
      r.id,
      { paymentStatus: payment.status, paymentAmount: payment.amount, paymentCurrency: payment.currency, paymentVersion: payment.version },
      now,
    );
    await timeline.append(tx, r.id, `payment-${payment.status}`, { version: payment.version }, now);
    ctx.effects.push(() => this.events.emit('reservationChanged', r.id, 'payment'));
    return { applied: true, version: payment.version, status: payment.status };
  }

  // --- help.update ---------------------------------------------------------------------------

  async #helpUpdate(ctx: Context, { callId, state, by }: CommandArgs['help.update']): Promise<Record<string, unknown>> {
    const { tx, now } = ctx;
    const current = await store.helpCallState(tx, callId);
    // Closed is final: a "taken" overtaken by its "closed" must not bring the banner back.
    if (current === 'closed') return { applied: false, reason: 'stale', state: current };
    await store.setHelpCall(tx, callId, state, by, now);
    const help = this.#help;
    if (help) ctx.effects.push(() => help.setHelpCall(state === 'taken' ? 'taken' : 'none'));
    return { applied: true, state };
  }

  // --- mechanic.request ----------------------------------------------------------------------

  async #mechanicRequest(ctx: Context, args: CommandArgs['mechanic.request']): Promise<Record<string, unknown>> {
    const { tx, now } = ctx;
    await requireReservation(tx, args.reservationId);
    const fresh = await store.recordMechanicRequest(tx, { ...args, commandId: ctx.commandId }, now);
    return fresh ? { recorded: true } : { recorded: true, duplicate: true };
  }
}

async function requireReservation(tx: Tx, id: string): Promise<Reservation> {
  const r = await reservations.getById(tx, id);
  if (!r) throw new CommandFailure('NOT_FOUND', `reservation ${id} is not known to this locker`);
  return r;
}

function isUniqueViolation(error: unknown, column: string): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && e.message.includes(`UNIQUE constraint failed: ${column}`);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function internal(): CommandOutcome {
  return { ok: false, error: { code: 'INTERNAL', message: 'the locker could not apply the command; it may be sent again' } };
}

function fromStored(stored: store.StoredOutcome): CommandOutcome {
  if (stored.ok) return { ok: true, result: stored.result ?? {} };
  return { ok: false, error: { code: (stored.error?.code ?? 'INTERNAL') as ErrorCode, message: stored.error?.message ?? '' } };
}

function toResult(commandId: string, outcome: CommandOutcome): ResultMessage {
  return outcome.ok
    ? { v: 1, type: 'result', commandId, ok: true, result: outcome.result }
    : { v: 1, type: 'result', commandId, ok: false, error: outcome.error };
}

/** sha-256 (hex) of the canonical JSON of { name, args }: keys sorted at every level. */
export function contentHash(name: string, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ name, args })).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}
