/**
 * Delivery of the outbox to the back office (docs/protocol.md, "Session" and "Events"):
 * after each `welcome {ackedSeq}` everything up to ackedSeq is marked delivered and every later
 * event is sent in seq order, at most `maxInFlight` unacknowledged; each `ack {seq}` releases
 * the window and marks events delivered; newly committed events are sent as they come.
 *
 * At least once, never out of order, never a seq skipped: each connection starts again from
 * the back office's own ackedSeq, and events are read from the outbox table, the one truth.
 * The back office drops repeats by (unitId, seq).
 *
 * Acks are written in a coalescing loop: while one ackUpTo transaction commits, later acks
 * only raise the target, and the next transaction covers them all. One fsync per ack would
 * cap delivery at the disk's commit rate (tens per second on an SD card); losing the last few
 * acks in a power cut only means those events are sent again.
 */
import type { Logger } from '../logging.js';
import type { Db } from '../store/db.js';
import { outbox } from '../store/repositories.js';
import type { OutboxEvent } from '../core/types.js';
import { PROTOCOL_VERSION, type EventMessage } from './messages.js';

export interface OutboxSenderOptions {
  db: Db;
  /** Puts one message on the wire; false when the connection is gone. */
  send: (message: EventMessage) => boolean;
  /** At most this many events sent and not yet acknowledged. */
  maxInFlight: number;
  /** Whether an event's wall time can be trusted (clock-status.ts). */
  stampTrusted: (bootId: string, mono: number) => boolean;
  wallClock?: () => Date;
  logger: Logger;
  /** Rows read per query; default 200. */
  batchSize?: number;
  /** Called when an ack up to `seq` has been written (events up to it are marked delivered). */
  onAckRecorded?: (seq: number) => void;
}

export class OutboxSender {
  readonly #o: Required<Omit<OutboxSenderOptions, 'wallClock' | 'onAckRecorded'>> & Pick<OutboxSenderOptions, 'onAckRecorded'> & { wallClock: () => Date };
  readonly #log: Logger;
  /** Bumped at every welcome and disconnect: work of an older connection stops. */
  #generation = 0;
  #active = false;
  /** Highest seq sent on this connection (starts at the welcome's ackedSeq). */
  #sentUpTo = 0;
  /** Seqs sent and not yet acknowledged, ascending. */
  #inFlight: number[] = [];
  #pumping: Promise<void> | null = null;
  #pumpAgain = false;
  /** Highest seq the back office acknowledged (any connection) and the highest written so far. */
  #ackTarget = 0;
  #ackWritten = 0;
  #ackWriting: Promise<void> | null = null;
  #sentTotal = 0;

  constructor(options: OutboxSenderOptions) {
    this.#o = { batchSize: 200, wallClock: () => new Date(), ...options };
    this.#log = options.logger;
  }

  /** Events put on the wire since start (repeats included): for tests and the bench. */
  get sentTotal(): number {
    return this.#sentTotal;
  }

  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** A new session: the back office holds everything up to `ackedSeq`. */
  async onWelcome(ackedSeq: number): Promise<void> {
    this.#generation += 1;
    this.#active = true;
    this.#inFlight = [];
    this.#sentUpTo = ackedSeq;
    await this.#recordAck(ackedSeq);
    this.#pump();
  }

  /** The back office holds everything up to `seq`. */
  async onAck(seq: number): Promise<void> {
    if (!this.#active) return;
    if (seq > this.#sentUpTo) {
      // Acknowledging what we never sent on this connection: the back office knows more than
      // we think (e.g. it received them on an earlier connection). Continue after it.
      this.#log.debug({ seq, sentUpTo: this.#sentUpTo }, 'ack beyond what was sent on this connection');
      this.#sentUpTo = seq;
    }
    let released = 0;
    while (released < this.#inFlight.length && (this.#inFlight[released] ?? Infinity) <= seq) released += 1;
    if (released > 0) this.#inFlight.splice(0, released);
    const written = this.#recordAck(seq);
    this.#pump();
    await written;
  }

  /** New events were committed to the outbox. */
  onEventsCommitted(): void {
    if (this.#active) this.#pump();
  }

  /** The connection is gone: stop sending; the next welcome starts over from its ackedSeq. */
  onDisconnected(): void {
    this.#generation += 1;
    this.#active = false;
    this.#inFlight = [];
  }

  /** Resolves when the sending loop and ack writes in progress have finished (for stop()). */
  async idle(): Promise<void> {
    for (let i = 0; i < 100 && (this.#pumping || this.#ackWriting); i += 1) {
      await Promise.allSettled([this.#pumping, this.#ackWriting]);
    }
  }

  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = this.#pumpLoop()
      .catch((error: unknown) => this.#log.error({ err: String(error) }, 'sending outbox events failed'))
      .finally(() => {
        this.#pumping = null;
        if (this.#pumpAgain && this.#active) {
          this.#pumpAgain = false;
          this.#pump();
        }
      });
  }

  async #pumpLoop(): Promise<void> {
    const generation = this.#generation;
    // Bounded: each round sends at least one event or stops; the window caps a round.
    for (let round = 0; round < 1_000_000; round += 1) {
      this.#pumpAgain = false;
      if (!this.#active || generation !== this.#generation) return;
      const room = this.#o.maxInFlight - this.#inFlight.length;
      if (room <= 0) return; // an ack will pump again
      const rows = await outbox.listAfter(this.#o.db, this.#sentUpTo, Math.min(room, this.#o.batchSize));
      if (generation !== this.#generation || !this.#active) return;
      if (rows.length === 0) return;
      for (const row of rows) {
        if (row.seq <= this.#sentUpTo) continue; // an ack overtook this read
        if (row.seq !== this.#sentUpTo + 1 && this.#sentUpTo !== 0) {
          // Unacknowledged events are contiguous; a hole means rows were removed by hand.
          this.#log.warn({ after: this.#sentUpTo, next: row.seq }, 'gap in the outbox: the back office will wait for the missing seqs');
        }
        const message = toEventMessage(row, this.#o.stampTrusted(row.bootId, row.monoTime));
        if (!this.#o.send(message)) return; // connection gone: the next welcome resends
        this.#sentUpTo = row.seq;
        this.#inFlight.push(row.seq);
        this.#sentTotal += 1;
      }
    }
  }

  /** Raises the ack target and makes sure a write covers it. Resolves when it is durable. */
  #recordAck(seq: number): Promise<void> {
    if (seq > this.#ackTarget) this.#ackTarget = seq;
    if (!this.#ackWriting) {
      this.#ackWriting = this.#ackLoop().finally(() => {
        this.#ackWriting = null;
      });
    }
    return this.#ackWriting;
  }

  async #ackLoop(): Promise<void> {
    // Bounded: each round either writes a higher target or ends.
    for (let round = 0; round < 1_000_000 && this.#ackWritten < this.#ackTarget; round += 1) {
      const target = this.#ackTarget;
      try {
        await this.#o.db.transaction((tx) => outbox.ackUpTo(tx, target, this.#o.wallClock()));
        this.#ackWritten = target;
        this.#o.onAckRecorded?.(target);
      } catch (error) {
        // Not fatal: the events stay pending and are sent again on the next connection.
        this.#log.error({ err: String(error), seq: target }, 'recording an ack failed');
        return;
      }
    }
  }
}

/** The wire form of an outbox row, stamped with whether its wall time can be trusted. */
export function toEventMessage(row: OutboxEvent, clockSynchronised: boolean): EventMessage {
  const message: EventMessage = {
    v: PROTOCOL_VERSION,
    type: 'event',
    seq: row.seq,
    event: row.type,
    at: { wall: row.wallTime, mono: Math.max(0, Math.round(row.monoTime)), bootId: row.bootId, clockSynchronised },
    payload: row.payload,
  };
  return message;
}
