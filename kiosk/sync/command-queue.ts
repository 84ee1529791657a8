/**
 * Commands from the back office, applied one batch at a time in arrival order (everything queued
 * while the previous batch committed forms the next, up to MAX_COMMAND_BATCH per transaction),
 * so results leave in the order the commands came. A command that failed its schema keeps its
 * place in that order: it is answered with a SCHEMA result between the others.
 */
import type { Logger } from '../logging.js';
import { schemaFailure, type CommandProcessor } from './commands.js';
import type { CommandMessage, ResultMessage } from './messages.js';

/** Most commands applied in one transaction. */
const MAX_COMMAND_BATCH = 256;

type Queued = { kind: 'command'; command: CommandMessage } | { kind: 'invalid'; commandId: string; problem: string };

export class CommandQueue {
  readonly #processor: CommandProcessor;
  readonly #send: (result: ResultMessage) => void;
  readonly #log: Logger;
  #queue: Queued[] = [];
  #worker: Promise<void> | null = null;
  readonly #onApplied: (() => void) | null;

  /** `onApplied`: after each batch's results are sent (its commands may have written events). */
  constructor(processor: CommandProcessor, send: (result: ResultMessage) => void, logger: Logger, onApplied?: () => void) {
    this.#processor = processor;
    this.#send = send;
    this.#log = logger;
    this.#onApplied = onApplied ?? null;
  }

  push(command: CommandMessage): void {
    this.#queue.push({ kind: 'command', command });
    this.#run();
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
          this.#send(schemaFailure(first.commandId, first.problem));
          continue;
        }
        const end = this.#queue.findIndex((entry, index) => index >= MAX_COMMAND_BATCH || entry.kind === 'invalid');
        const batch = this.#queue.splice(0, end === -1 ? this.#queue.length : end).flatMap((entry) => (entry.kind === 'command' ? [entry.command] : []));
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
}
