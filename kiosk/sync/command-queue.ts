/**
 * Commands from the back office, applied one batch at a time in arrival order (everything queued
 * while the previous batch committed forms the next, up to MAX_COMMAND_BATCH per transaction),
 * so results leave in the order the commands came. A command that failed its schema keeps its
 * place in that order: it is answered with a SCHEMA result between the others.
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

/** Most commands applied in one transaction. */
const MAX_COMMAND_BATCH = 256;

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

  /** `onApplied`: after each batch's results are sent (its commands may have written events). */
  constructor(processor: Pick<CommandProcessor, 'applyMany' | 'prepareAhead'>, send: (result: ResultMessage) => void, logger: Logger, options: { onApplied?: () => void } = {}) {
    this.#processor = processor;
    this.#send = send;
    this.#log = logger;
    this.#onApplied = options.onApplied ?? null;
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
        const end = this.#queue.findIndex((entry, index) => index >= MAX_COMMAND_BATCH || entry.kind === 'invalid');
        const taken = this.#queue.splice(0, end === -1 ? this.#queue.length : end);
        this.#aheadIndex = Math.max(0, this.#aheadIndex - taken.length);
        this.#prepareAhead();
        const batch = taken.flatMap((entry) => (entry.kind === 'command' ? [entry.command] : []));
        const results = await this.#processor.applyMany(batch);
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
