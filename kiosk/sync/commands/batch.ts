/**
 * Commands that arrived together, applied inside their one transaction (CommandProcessor.applyMany).
 *
 * What a command must guarantee is unchanged (kiosk/sync/commands.ts): applied and remembered, or
 * neither; a command that cannot apply is rolled back alone and its error remembered. How:
 * - the ids already answered are read in one query for the whole batch, and the results to
 *   remember are written at the end in multi-row INSERTs (not two statements per command);
 * - a run of consecutive BATCHED_COMMANDS (a snapshot's thousands of reservation.upsert) shares
 *   one savepoint instead of one per command, with the rows they change read ahead in one
 *   query. Should one of them fail, the run is rolled back to its savepoint, the commands
 *   before the failing one are applied again (the same state, the same `now`: the same result;
 *   their handlers touch only the database until the commit), the failing one is applied alone
 *   under its own savepoint exactly as any other command, and the run goes on after it. Each
 *   command runs at most twice together, then alone.
 * Every statement through the sqlite3 binding is a round trip to its thread; on a loaded machine
 * those round trips, not SQLite's work, are what a snapshot costs (docs/performance.md).
 */
import { plateText } from '../../core/normalise.js';
import type { Logger } from '../../logging.js';
import type { Reservation } from '../../core/types.js';
import type { Tx } from '../../store/db.js';
import { reservations } from '../../store/repositories.js';
import * as store from '../command-store.js';
import type { CommandMessage, ErrorCode } from '../messages.js';
import { contentHash } from './content-hash.js';
import { CommandFailure, type CommandPorts, type Prepared, type ReadAhead } from './context.js';
import { BATCHED_COMMANDS, handlerFor, READ_ONLY_COMMANDS } from './registry.js';

export type CommandOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: { code: ErrorCode; message: string } };

export type Effect = () => void;

/** Up to this many successful commands in one round are logged one line each. */
const LOG_EACH_UP_TO = 16;

/** A batch failed without saying which command made it fail. */
const UNKNOWN = -1;

interface Answered {
  name: string;
  contentHash: string;
  outcome: store.StoredOutcome;
}

/** One command's part of the transaction, decided but not yet written (its applied record). */
interface Step {
  command: CommandMessage;
  outcome: CommandOutcome;
  effects: Effect[];
  record: store.AppliedRecord | null;
  /** How it was answered, for the log. */
  as: 'applied' | 'repeat' | 'duplicate' | 'internal';
  firstName?: string;
}

export interface RoundOptions {
  tx: Tx;
  now: Date;
  ports: CommandPorts;
  log: Logger;
}

/** Applies `commands` in order inside `tx`; their outcomes in the same order, and the effects to run after the commit. */
export async function applyInTransaction(options: RoundOptions, commands: readonly CommandMessage[]): Promise<{ outcomes: CommandOutcome[]; effects: Effect[] }> {
  const answered = await store.getAppliedMany(options.tx, commands.map((command) => command.id));
  const round = new Round(options, commands, answered);
  return round.run();
}

class Round {
  readonly #tx: Tx;
  readonly #now: Date;
  readonly #ports: CommandPorts;
  readonly #log: Logger;
  readonly #commands: readonly CommandMessage[];
  readonly #prepared: Prepared[];
  readonly #answered = new Map<string, Answered>();
  readonly #steps: Step[] = [];

  constructor(options: RoundOptions, commands: readonly CommandMessage[], answered: Map<string, store.AppliedCommand>) {
    this.#tx = options.tx;
    this.#now = options.now;
    this.#ports = options.ports;
    this.#log = options.log;
    this.#commands = commands;
    this.#prepared = commands.map((command) => preparedAhead.get(command) ?? { hash: contentHash(command.name, command.args) });
    for (const [id, applied] of answered) this.#answered.set(id, { name: applied.name, contentHash: applied.contentHash, outcome: applied.outcome });
  }

  async run(): Promise<{ outcomes: CommandOutcome[]; effects: Effect[] }> {
    const count = this.#commands.length;
    let index = 0;
    while (index < count) {
      let end = index;
      while (end < count && BATCHED_COMMANDS.has(this.#command(end).name)) end += 1;
      if (end - index >= 2) {
        await this.#together(index, end);
        index = end;
      } else {
        this.#accept(await this.#alone(index));
        index += 1;
      }
    }
    await store.recordAppliedMany(this.#tx, this.#steps.flatMap((step) => (step.record ? [step.record] : [])), this.#now);
    this.#logSteps();
    return { outcomes: this.#steps.map((step) => step.outcome), effects: this.#steps.flatMap((step) => step.effects) };
  }

  #command(index: number): CommandMessage {
    const command = this.#commands[index];
    if (!command) throw new Error(`no command at ${index}`); // cannot happen: indices stay in range
    return command;
  }

  /** Commands [from, to) under one savepoint; on a failure, see the file's comment. */
  async #together(from: number, to: number): Promise<void> {
    let start = from;
    while (start < to) {
      const failedAt = await this.#tryTogether(start, to);
      if (failedAt === null) return;
      if (failedAt === UNKNOWN) {
        for (let index = start; index < to; index += 1) this.#accept(await this.#alone(index));
        return;
      }
      if (failedAt > start && (await this.#tryTogether(start, failedAt)) !== null) {
        for (let index = start; index < failedAt; index += 1) this.#accept(await this.#alone(index));
      }
      this.#accept(await this.#alone(failedAt));
      start = failedAt + 1;
    }
  }

  /**
   * null when all of [from, to) applied (and were accepted); else the index of the first that
   * threw, or UNKNOWN when the batch's inserts clashed at its end, with nothing kept.
   */
  async #tryTogether(from: number, to: number): Promise<number | null> {
    const tx = this.#tx;
    await tx.exec('SAVEPOINT batch');
    const readAhead = await this.#readAhead(from, to);
    const staged: Step[] = [];
    const pending = new Map<string, Answered>();
    for (let index = from; index < to; index += 1) {
      const command = this.#command(index);
      const prepared = this.#prepared[index];
      const hash = prepared?.hash ?? '';
      const known = this.#lookup(command, hash, pending);
      if (known) {
        staged.push(known);
        continue;
      }
      const effects: Effect[] = [];
      try {
        const handler = handlerFor(command.name);
        if (!handler) throw new Error(`no handler for ${command.name}`);
        const result = await handler({ tx, now: this.#now, commandId: command.id, ports: this.#ports, afterCommit: (effect) => effects.push(effect), readAhead, prepared }, command.args);
        const step = this.#step(command, hash, { ok: true, result }, effects);
        staged.push(step);
        if (step.record) pending.set(command.id, answeredOf(step.record, step.outcome));
      } catch {
        await tx.exec('ROLLBACK TO batch');
        await tx.exec('RELEASE batch');
        return index;
      }
    }
    try {
      await reservations.insertMany(tx, readAhead.inserts);
    } catch {
      // Which row clashed is not known: each command of the run again, alone.
      await tx.exec('ROLLBACK TO batch');
      await tx.exec('RELEASE batch');
      return UNKNOWN;
    }
    await tx.exec('RELEASE batch');
    for (const step of staged) this.#accept(step);
    return null;
  }

  /** The reservations the upserts in [from, to) will change, each id upserted once there (a second upsert of it reads it itself). */
  async #readAhead(from: number, to: number): Promise<ReadAhead & { inserts: Reservation[] }> {
    const counts = new Map<string, number>();
    for (let index = from; index < to; index += 1) {
      const command = this.#command(index);
      if (command.name === 'reservation.upsert') counts.set(command.args.reservation.id, (counts.get(command.args.reservation.id) ?? 0) + 1);
    }
    const once = new Set([...counts].filter(([, count]) => count === 1).map(([id]) => id));
    const rows = once.size > 0 ? await reservations.getManyById(this.#tx, [...once]) : new Map<string, Reservation>();
    const absent = new Set<string>();
    const inserts: Reservation[] = [];
    return {
      inserts,
      takeReservation: (id) => {
        if (!once.delete(id)) return undefined;
        const row = rows.get(id) ?? null;
        if (!row) absent.add(id);
        return row;
      },
      insertLater: (reservation) => {
        if (!absent.delete(reservation.id)) return false;
        inserts.push(reservation);
        return true;
      },
    };
  }

  /** One command under its own savepoint (as every command was before batching). */
  async #alone(index: number): Promise<Step> {
    const tx = this.#tx;
    const command = this.#command(index);
    const prepared = this.#prepared[index];
    const hash = prepared?.hash ?? '';
    const known = this.#lookup(command, hash, null);
    if (known) return known;
    const effects: Effect[] = [];
    let outcome: CommandOutcome;
    await tx.exec('SAVEPOINT command');
    try {
      const handler = handlerFor(command.name);
      if (!handler) throw new CommandFailure('SCHEMA', `unknown command ${String(command.name)}`);
      const result = await handler({ tx, now: this.#now, commandId: command.id, ports: this.#ports, afterCommit: (effect) => effects.push(effect), prepared }, command.args);
      outcome = { ok: true, result };
      await tx.exec('RELEASE command');
    } catch (error) {
      await tx.exec('ROLLBACK TO command');
      await tx.exec('RELEASE command');
      effects.length = 0;
      if (!(error instanceof CommandFailure)) {
        this.#log.error({ err: String(error), commandId: command.id, name: command.name }, 'command failed unexpectedly');
        // Not remembered: a repeat may succeed.
        return { command, outcome: internalOutcome(), effects: [], record: null, as: 'internal' };
      }
      outcome = { ok: false, error: { code: error.code, message: error.message } };
      if (error.afterRollback) await error.afterRollback(tx);
    }
    return this.#step(command, hash, outcome, effects);
  }

  /** The answer to an id already answered (in an earlier batch, or earlier in this one), or null. */
  #lookup(command: CommandMessage, hash: string, pending: Map<string, Answered> | null): Step | null {
    const previous = pending?.get(command.id) ?? this.#answered.get(command.id);
    if (!previous) return null;
    if (previous.contentHash === hash) return { command, outcome: fromStored(previous.outcome), effects: [], record: null, as: 'repeat' };
    return {
      command,
      outcome: { ok: false, error: { code: 'DUPLICATE_ID', message: `command id ${command.id} was already used for other content` } },
      effects: [],
      record: null,
      as: 'duplicate',
      firstName: previous.name,
    };
  }

  #step(command: CommandMessage, hash: string, outcome: CommandOutcome, effects: Effect[]): Step {
    // A read-only command is answered afresh each time (its result may be large: a page).
    const record = READ_ONLY_COMMANDS.has(command.name) ? null : { id: command.id, name: command.name, contentHash: hash, resultJson: JSON.stringify(outcome) };
    return { command, outcome, effects, record, as: 'applied' };
  }

  #accept(step: Step): void {
    this.#steps.push(step);
    if (step.record) this.#answered.set(step.command.id, answeredOf(step.record, step.outcome));
  }

  /**
   * A line per command, except for the commands that applied successfully in a round of more
   * than LOG_EACH_UP_TO (a snapshot's thousands): one line counts those by name, and each
   * failure, repeat or reused id still has its own line.
   */
  #logSteps(): void {
    const succeeded = this.#steps.filter((step) => step.as === 'applied' && step.outcome.ok);
    const summarise = succeeded.length > LOG_EACH_UP_TO;
    for (const step of this.#steps) {
      if (summarise && step.as === 'applied' && step.outcome.ok) continue;
      this.#logStep(step);
    }
    if (!summarise) return;
    const byName: Record<string, number> = {};
    for (const { command } of succeeded) byName[command.name] = (byName[command.name] ?? 0) + 1;
    this.#log.info({ commands: this.#steps.length, ok: succeeded.length, byName }, 'commands applied');
  }

  #logStep(step: Step): void {
    const { command, outcome } = step;
    if (step.as === 'repeat') this.#log.debug({ commandId: command.id, name: command.name }, 'repeated command: first result sent again');
    else if (step.as === 'duplicate') this.#log.warn({ commandId: command.id, name: command.name, first: step.firstName }, 'command id reused with other content');
    else if (step.as === 'applied') {
      this.#log.info({ commandId: command.id, name: command.name, ok: outcome.ok, ...(outcome.ok ? {} : { code: outcome.error.code }) }, 'command applied');
    }
  }
}

/** `outcome` is what `record.resultJson` says (JSON.stringify of it), kept as the object instead of parsed back. */
function answeredOf(record: store.AppliedRecord, outcome: CommandOutcome): Answered {
  return { name: record.name, contentHash: record.contentHash, outcome };
}

export function internalOutcome(): CommandOutcome {
  return { ok: false, error: { code: 'INTERNAL', message: 'the locker could not apply the command; it may be sent again' } };
}

function fromStored(stored: store.StoredOutcome): CommandOutcome {
  if (stored.ok) return { ok: true, result: stored.result ?? {} };
  return { ok: false, error: { code: (stored.error?.code ?? 'INTERNAL') as ErrorCode, message: stored.error?.message ?? '' } };
}

/**
 * What a command's round works out first without the database, computed ahead of the round
 * (prepareAhead), by command object: nothing changes a queued command before its round (a
 * repeat arrives as a new object), so it still holds then. An entry goes with its command.
 */
const preparedAhead = new WeakMap<CommandMessage, Prepared>();

/**
 * Prepares `command` now, for its round to find: CommandProcessor.prepareAhead, which
 * CommandQueue calls while the round before waits on SQLite. Its content hash; for a
 * reservation.upsert also its plate and its PIN hash's index (see Prepared).
 */
export function prepareAhead(command: CommandMessage, ports: Pick<CommandPorts, 'pins'>): void {
  if (preparedAhead.has(command)) return;
  const prepared: Prepared = { hash: contentHash(command.name, command.args) };
  if (command.name === 'reservation.upsert') {
    const { plate, pinHash } = command.args.reservation;
    prepared.plate = plateText(plate);
    const pinIndex = ports.pins.indexAhead(pinHash);
    if (pinIndex !== undefined) prepared.pinIndex = pinIndex;
  }
  preparedAhead.set(command, prepared);
}
