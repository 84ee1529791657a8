/**
 * Delivery of the outbox to the back office (docs/protocol.md, "Events"):
 * after each `welcome {ackedSeq}` everything up to ackedSeq is marked delivered and every later
 * event the locker still holds is sent in seq order, at most `maxInFlight` unacknowledged; each
 * `ack {seq}` releases the window and marks events delivered; newly committed events are sent as
 * they come; a `nack {seq}` records that the back office refused that event for good.
 *
 * At least once, never out of order, never a seq skipped: each connection starts again from
 * the back office's own ackedSeq, and events are read from the outbox table, the one truth.
 * The back office drops repeats by (unitId, seq).
 *
 * Urgent events (help calls) do not wait behind a backlog: a copy marked `urgent` is sent as
 * soon as it is committed (and first after a welcome), outside the window, and the event comes
 * again in its place in the stream.
 *
 * What the back office may get wrong, and what the locker does (each answered with an `error`
 * frame, code CONFLICT, and otherwise ignored): an ack or nack of a seq not sent on this
 * connection, an ack or nack before the welcome. A welcome whose ackedSeq is beyond the last seq
 * this unit made (its database was restored or replaced) moves the sequence past it and renumbers
 * what was not yet delivered; one below the oldest event still held (the back office lost events
 * this locker already deleted) is logged, and delivery goes on from what is held.
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
import { PROTOCOL_VERSION, type ErrorCode, type EventMessage } from './messages.js';
import * as stream from './stream-store.js';

/** Event types sent ahead of the stream. */
export const URGENT_EVENT_TYPES: readonly string[] = ['help.requested'];
/** Urgent copies sent per look, at most (the newest calls are what matters). */
const URGENT_BATCH = 20;
/**
 * Outbox rows read per query. Sending stops while a read is out (it waits its turn behind an ack
 * transaction's commit on the one connection, then for the binding's thread), so the fewer reads
 * a drain makes, the less it stalls: a drain of 10,000 through a window of 500 took 2.26x a bare
 * ws client's time at 200 rows, 1.92x at 500, 1.74x at 1,000, 1.83x at 2,000 (medians of 4,
 * test/bench/outbox-drain.ts). 1,000 rows of a few hundred bytes each is well under a megabyte.
 */
const READ_BATCH = 1000;

export interface OutboxSenderOptions {
  db: Db;
  /** Puts one message on the wire; false when the connection is gone. */
  send: (message: EventMessage) => boolean;
  /** Runs a burst of sends so that they leave together (one write), returning what it returns. */
  corked: <T>(sends: () => T) => T;
  /** Tells the back office that something it sent was wrong (an `error` frame). */
  complain: (code: ErrorCode, message: string, ref: string | null) => void;
  /** At most this many events sent and not yet acknowledged. */
  maxInFlight: number;
  /** Whether an event's wall time can be trusted (clock-status.ts). */
  stampTrusted: (bootId: string, mono: number) => boolean;
  wallClock?: () => Date;
  logger: Logger;
  /** Rows read per query; default READ_BATCH. */
  batchSize?: number;
  /** Called when an ack up to `seq` has been written (events up to it are marked delivered). */
  onAckRecorded?: (seq: number) => void;
  /** Called when a refusal (nack) has been recorded. */
  onRefused?: (seq: number) => void;
}

export class OutboxSender {
  readonly #o: Required<Omit<OutboxSenderOptions, 'wallClock' | 'onAckRecorded' | 'onRefused'>> &
    Pick<OutboxSenderOptions, 'onAckRecorded' | 'onRefused'> & { wallClock: () => Date };
  readonly #log: Logger;
  /** Bumped at every welcome and disconnect: work of an older connection stops. */
  #generation = 0;
  /** A welcome arrived on this connection (acks and nacks are taken from then on). */
  #welcomed = false;
  /** The welcome's repairs are done: events may be sent. */
  #active = false;
  /** Highest seq sent in the stream on this connection (starts at the welcome's ackedSeq). */
  #sentUpTo = 0;
  /** Seqs sent in the stream and not yet acknowledged, ascending. */
  #inFlight: number[] = [];
  /**
   * Events read ahead of the window, in seq order, not yet sent (this connection only). Once the
   * window is full, each ack frees one or two places: reading just those from the database would
   * cost a query per event; the next batch is read once and sent from here as places free.
   */
  #readAhead: OutboxEvent[] = [];
  /**
   * The last read found the end of the outbox (fewer rows than asked) and nothing was committed
   * since: the acks of the last events in flight need not read it again each.
   */
  #atEnd = false;
  /** Bumped at each commit of new events (a read that overlapped one cannot say the outbox ended). */
  #commits = 0;
  /** Urgent copies sent on this connection. */
  readonly #urgentSent = new Set<number>();
  /** New events were committed (or a welcome came): look for urgent ones. */
  #lookForUrgent = false;
  #pumping: Promise<void> | null = null;
  #pumpAgain = false;
  /** A pump is queued for when the acks being read now have all been taken (pumpAfterAcks). */
  #pumpQueued = false;
  /** Highest seq the back office acknowledged (any connection) and the highest written so far. */
  #ackTarget = 0;
  #ackWritten = 0;
  #ackWriting: Promise<void> | null = null;
  #sentTotal = 0;

  constructor(options: OutboxSenderOptions) {
    this.#o = { batchSize: READ_BATCH, wallClock: () => new Date(), ...options };
    this.#log = options.logger;
  }

  /** Events put on the wire since start (repeats and urgent copies included): for tests and the bench. */
  get sentTotal(): number {
    return this.#sentTotal;
  }

  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** A new session: the back office holds everything up to `ackedSeq`. */
  async onWelcome(ackedSeq: number): Promise<void> {
    this.#generation += 1;
    this.#welcomed = true;
    this.#active = false;
    this.#sentUpTo = ackedSeq;
    this.#inFlight = [];
    this.#readAhead = [];
    this.#atEnd = false;
    this.#urgentSent.clear();
    const generation = this.#generation;
    const position = await stream.outboxPosition(this.#o.db);
    if (ackedSeq >= position.nextSeq) {
      const renumbered = await this.#o.db.transaction((tx) => stream.moveSequencePast(tx, ackedSeq));
      this.#log.warn(
        { ackedSeq, lastMade: position.nextSeq - 1, renumbered },
        'the back office holds events beyond the last this unit made (was its database restored or replaced?): sequence moved past them, undelivered events renumbered',
      );
    } else if (position.firstHeld !== null && ackedSeq < position.firstHeld - 1) {
      this.#log.warn(
        { from: ackedSeq + 1, to: position.firstHeld - 1 },
        'the back office lacks events this locker no longer holds (they were acknowledged and deleted): delivery goes on from the oldest held',
      );
    }
    if (generation !== this.#generation) return; // disconnected meanwhile
    this.#active = true;
    this.#lookForUrgent = true;
    await this.#recordAck(ackedSeq);
    this.#pump();
  }

  /** The back office holds everything up to `seq`. */
  async onAck(seq: number): Promise<void> {
    if (!this.#welcomed) {
      this.#o.complain('CONFLICT', 'an ack before the welcome is ignored', String(seq));
      return;
    }
    if (seq > this.#sentUpTo) {
      // Acknowledging what was never sent on this connection cannot be true: marking it
      // delivered could lose events the back office never saw.
      this.#log.warn({ seq, sentUpTo: this.#sentUpTo }, 'ack beyond what was sent: ignored');
      this.#o.complain('CONFLICT', `ack of seq ${seq} is beyond the last sent on this connection (${this.#sentUpTo}): ignored`, String(seq));
      return;
    }
    let released = 0;
    while (released < this.#inFlight.length && (this.#inFlight[released] ?? Infinity) <= seq) released += 1;
    if (released > 0) this.#inFlight.splice(0, released);
    const written = this.#recordAck(seq);
    this.#pumpAfterAcks();
    await written;
  }

  /** The back office refuses event `seq` for good; its acks will move past it. */
  async onNack(seq: number, code: ErrorCode, reason: string): Promise<void> {
    if (!this.#welcomed) {
      this.#o.complain('CONFLICT', 'a nack before the welcome is ignored', String(seq));
      return;
    }
    if (seq > this.#sentUpTo && !this.#urgentSent.has(seq)) {
      this.#o.complain('CONFLICT', `nack of seq ${seq}, which was not sent on this connection: ignored`, String(seq));
      return;
    }
    const fresh = await this.#o.db.transaction((tx) => stream.recordRefused(tx, { seq, code, reason, refusedAt: this.#o.wallClock().toISOString() }));
    if (fresh) {
      this.#log.error({ seq, code, reason }, 'the back office refused an event for good');
      this.#o.onRefused?.(seq);
    }
  }

  /** New events were committed to the outbox. */
  onEventsCommitted(): void {
    this.#commits += 1;
    this.#atEnd = false;
    this.#lookForUrgent = true;
    if (this.#active) this.#pump();
  }

  /** The connection is gone: stop sending; the next welcome starts over from its ackedSeq. */
  onDisconnected(): void {
    this.#generation += 1;
    this.#welcomed = false;
    this.#active = false;
    this.#inFlight = [];
    this.#readAhead = [];
    this.#urgentSent.clear();
  }

  /** Resolves when the sending loop and ack writes in progress have finished (for stop()). */
  async idle(): Promise<void> {
    for (let i = 0; i < 100 && (this.#pumping || this.#ackWriting); i += 1) {
      await Promise.allSettled([this.#pumping, this.#ackWriting]);
    }
  }

  /**
   * Pumps once the acks arriving together have all been taken: ws hands over every frame of one
   * TCP read in one synchronous loop, so a microtask runs after the last of them, and the places
   * they freed are refilled in one corked burst rather than one write per ack.
   */
  #pumpAfterAcks(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
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
    const current = (): boolean => this.#active && generation === this.#generation;
    // Bounded: each round sends at least one event or stops; the window caps a round.
    for (let round = 0; round < 1_000_000; round += 1) {
      this.#pumpAgain = false;
      if (!current()) return;
      if (this.#lookForUrgent) {
        this.#lookForUrgent = false;
        if (!(await this.#sendUrgent(current))) return;
      }
      const room = this.#o.maxInFlight - this.#inFlight.length;
      if (room <= 0) return; // an ack will pump again
      if (this.#readAhead.length === 0) {
        if (this.#atEnd) return; // a commit will pump again
        const commits = this.#commits;
        const read = await stream.listHeldAfter(this.#o.db, this.#sentUpTo, this.#o.batchSize);
        if (!current()) return;
        if (read.length < this.#o.batchSize && commits === this.#commits) this.#atEnd = true;
        if (read.length === 0) return;
        this.#readAhead = read;
      }
      const rows = this.#readAhead.splice(0, room);
      if (!this.#o.corked(() => this.#sendRows(rows))) return; // gone: the next welcome resends
    }
  }

  /** Sends `rows` in the stream, in order; false if the connection went. */
  #sendRows(rows: OutboxEvent[]): boolean {
    for (const row of rows) {
      if (row.seq <= this.#sentUpTo) continue; // an ack overtook this read
      if (row.seq !== this.#sentUpTo + 1 && this.#sentUpTo !== 0) {
        // Held events are contiguous; a hole means rows were deleted (purged or by hand).
        this.#log.warn({ after: this.#sentUpTo, next: row.seq }, 'gap in the outbox: those seqs are gone for good');
      }
      if (!this.#o.send(toEventMessage(row, this.#o.stampTrusted(row.bootId, row.monoTime)))) return false;
      this.#sentUpTo = row.seq;
      this.#inFlight.push(row.seq);
      this.#sentTotal += 1;
    }
    return true;
  }

  /** Sends urgent copies of pending urgent events not yet sent in the stream; false if the connection went. */
  async #sendUrgent(current: () => boolean): Promise<boolean> {
    const rows = await stream.listPendingOfTypes(this.#o.db, URGENT_EVENT_TYPES, this.#sentUpTo, URGENT_BATCH);
    for (const row of rows) {
      if (!current()) return false;
      if (row.seq <= this.#sentUpTo || this.#urgentSent.has(row.seq)) continue;
      const message: EventMessage = { ...toEventMessage(row, this.#o.stampTrusted(row.bootId, row.monoTime)), urgent: true };
      if (!this.#o.send(message)) return false;
      this.#urgentSent.add(row.seq);
      this.#sentTotal += 1;
    }
    return current();
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
  return {
    v: PROTOCOL_VERSION,
    type: 'event',
    seq: row.seq,
    event: row.type,
    at: { wall: row.wallTime, mono: Math.max(0, Math.round(row.monoTime)), bootId: row.bootId, clockSynchronised },
    payload: row.payload,
  };
}
