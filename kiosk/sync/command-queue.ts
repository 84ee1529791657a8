/**
 * Commands from the back office, applied one batch at a time in arrival order (everything queued
 * while the previous batch committed forms the next, up to MAX_COMMAND_BATCH per round), so
 * results leave in the order the commands came. A command that failed its schema keeps its
 * place in that order: it is answered with a SCHEMA result between the others.
 *
 * With more queued behind a round (a snapshot), the next rounds join its transaction, up to
 * COMMANDS_PER_COMMIT, unless another call waits for the database (CommandProcessor.applyMany's
 * `more`): one commit instead of four, each index page written once instead of in each round,
 * and a customer's tap still waits behind one round at most (docs/performance.md).
 *
 * While a batch waits on SQLite's thread (its INSERTs, its fsync), the main thread would be
 * idle: the commands queued behind it are prepared then (their content hashes; an upsert's
 * plate and PIN index: CommandProcessor.prepareAhead), a few per turn of the event loop
 * (PREPARE_AHEAD_STEP: a fraction of a millisecond here, the most a customer's tap waits for
 * it), up to two batches ahead. A round finds them done. A snapshot of 10,000 spends about a
 * tenth of its time on that work (docs/performance.md).
 */
import type { Logger } from '../logging.js';
import { schemaFailure, type CommandProcessor } from './commands.js';
import type { CommandMessage, ResultMessage } from './messages.js';

/** Most commands applied in one round (one pass of commands/batch.ts: its reads, its INSERTs). */
const MAX_COMMAND_BATCH = 256;

/** Most commands in one transaction, over its rounds, when nothing else waits for the database. */
const COMMANDS_PER_COMMIT = 4 * MAX_COMMAND_BATCH;

/** Commands prepared ahead per turn of the event loop, and how far behind the batch being applied. */
const PREPARE_AHEAD_STEP = 16;
const PREPARE_AHEAD_WINDOW = 2 * MAX_COMMAND_BATCH;

type Queued = { kind: 'command'; command: CommandMessage } | { kind: 'invalid'; commandId: string; problem: string };

export class CommandQueue {
  readonly #processor: Pick<CommandProcessor, 'applyMany' | 'prepareAhead'>;
  readonly #send: (result: ResultMessage) => void;
  readonly #log: Logger;
  #queue: Queued[] = [];
  #worker: Promise<void> | null = null;
  readonly #onApplied: (() => void) | null;
  /** The next entry of #queue to prepare ahead, and the turn that will, if one is due. */
  #aheadIndex = 0;
  #ahead: NodeJS.Immediate | null = null;

  /** The most commands one transaction applies over its rounds. */
  readonly #perCommit: number;

  /**
   * `onApplied`: after each transaction's results are sent (its commands may have written events).
   * `commandsPerCommit`: the most commands one transaction applies over its rounds (at least
   * one round's; default COMMANDS_PER_COMMIT). The bench compares it with one round per commit.
   */
  constructor(
    processor: Pick<CommandProcessor, 'applyMany' | 'prepareAhead'>,
    send: (result: ResultMessage) => void,
    logger: Logger,
    options: { onApplied?: () => void; commandsPerCommit?: number } = {},
  ) {
    this.#processor = processor;
    this.#send = send;
    this.#log = logger;
    this.#onApplied = options.onApplied ?? null;
    this.#perCommit = Math.max(MAX_COMMAND_BATCH, options.commandsPerCommit ?? COMMANDS_PER_COMMIT);
  }

  push(command: CommandMessage): void {
    this.#queue.push({ kind: 'command', command });
    this.#run();
    this.#prepareAhead();
  }

  pushInvalid(commandId: string, problem: string): void {
    this.#queue.push({ kind: 'invalid', commandId, problem });
    this.#run();
  }

  /** Resolves when the queue is empty and nothing is being applied (bounded). */
  async idle(): Promise<void> {
    for (let round = 0; round < 100 && this.#worker; round += 1) await this.#worker;
  }

  #run(): void {
    if (this.#worker) return;
    this.#worker = (async () => {
      // Bounded: every round takes at least one entry off the queue.
      for (let round = 0; round < 1_000_000 && this.#queue.length > 0; round += 1) {
        const first = this.#queue[0];
        if (first?.kind === 'invalid') {
          this.#queue.shift();
          this.#aheadIndex = Math.max(0, this.#aheadIndex - 1);
          this.#send(schemaFailure(first.commandId, first.problem));
          continue;
        }
        const batch = this.#take(MAX_COMMAND_BATCH);
        let handed = batch.length;
        // The next round for the same transaction: the commands up to the next invalid entry
        // (its SCHEMA answer keeps its place), within the transaction's share.
        const more = (): CommandMessage[] => {
          const next = this.#take(Math.min(MAX_COMMAND_BATCH, this.#perCommit - handed));
          handed += next.length;
          return next;
        };
        const results = await this.#processor.applyMany(batch, more);
        // Unsent results are not lost: the back office sends the command again after a
        // reconnect, and its stored result is sent then.
        for (const result of results) this.#send(result);
        this.#onApplied?.();
      }
    })()
      .catch((error: unknown) => this.#log.error({ err: String(error) }, 'command worker failed'))
      .finally(() => {
        this.#worker = null;
        if (this.#queue.length > 0) this.#run();
      });
  }

  /** Takes up to `most` commands off the head of the queue, stopping before an invalid entry. */
  #take(most: number): CommandMessage[] {
    if (most <= 0) return [];
    const end = this.#queue.findIndex((entry, index) => index >= most || entry.kind === 'invalid');
    const taken = this.#queue.splice(0, end === -1 ? this.#queue.length : end);
    this.#aheadIndex = Math.max(0, this.#aheadIndex - taken.length);
    this.#prepareAhead();
    return taken.flatMap((entry) => (entry.kind === 'command' ? [entry.command] : []));
  }

  /** Schedules the next turn's preparing, if some of the window is left to prepare. */
  #prepareAhead(): void {
    if (this.#ahead || this.#aheadIndex >= Math.min(this.#queue.length, PREPARE_AHEAD_WINDOW)) return;
    this.#ahead = setImmediate(() => {
      this.#ahead = null;
      const end = Math.min(this.#queue.length, PREPARE_AHEAD_WINDOW, this.#aheadIndex + PREPARE_AHEAD_STEP);
      for (; this.#aheadIndex < end; this.#aheadIndex += 1) {
        const entry = this.#queue[this.#aheadIndex];
        if (entry?.kind !== 'command') continue;
        try {
          this.#processor.prepareAhead(entry.command);
        } catch {
          // Its round works it out again, and answers for it there.
        }
      }
      this.#prepareAhead();
    });
  }
}
