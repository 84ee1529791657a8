/**
 * The locker's side of the back-office protocol, assembled: the link (one WebSocket), the
 * outbox sender (events out, exactly once as the back office sees it), the command processor
 * (commands in, applied once), the clock status and the `hello`.
 *
 *   open -> hello -> welcome {ackedSeq} -> events after ackedSeq, then as they are committed
 *                                       <- ack {seq}, command -> result
 *
 * Commands are applied one batch at a time in arrival order (everything queued while the
 * previous batch committed forms the next), so results leave in the order commands came.
 */
import { EventEmitter } from 'node:events';
import { createSystemClock, type Clock } from '../lib/clock.js';
import type { LockoutService } from '../core/lockout.js';
import type { UnitPinHashing } from '../core/pin.js';
import type { Logger } from '../logging.js';
import type { Db } from '../store/db.js';
import * as pinHashingSettings from '../store/pin-hashing.js';
import { compartments, outbox } from '../store/repositories.js';
import { ClockStatus } from './clock-status.js';
import * as store from './command-store.js';
import { CommandProcessor, type HelpCallPort, type ReservationChange } from './commands.js';
import type { UnitIdentity } from './identity.js';
import { BackOfficeLink, type LinkState } from './link.js';
import {
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type BackOfficeMessage,
  type CommandMessage,
  type DoorStateWire,
  type EventMessage,
  type HelloMessage,
} from './messages.js';
import { OutboxSender } from './outbox-sender.js';
import { createValidator, type ProtocolValidator } from './validate.js';

export interface BackOfficeSettings {
  url: string;
  audience: string;
  caFile: string | null;
  pingIntervalMs: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  maxInFlight: number;
}

export interface SyncServiceOptions {
  db: Db;
  unitId: string;
  softwareVersion: string;
  /** This service start's id: the same one the journey store stamps events with. */
  bootId: string;
  backOffice: BackOfficeSettings;
  identity: UnitIdentity;
  /** The lock bank's view of a door. */
  doorState: (compartmentId: number) => DoorStateWire;
  lockouts: LockoutService;
  /** The unit's PIN salt and cost, published in the hello; default: read from the database. */
  pinHashing?: UnitPinHashing | null;
  /** The screens' help-call banner (Journeys); optional so the service can run without screens. */
  help?: HelpCallPort;
  logger: Logger;
  clock?: Clock;
  wallClock?: () => Date;
  /** Monotonic ms since the service started: the same function the journey store stamps with. */
  monoClock?: () => number;
  /** systemd-timesyncd's flag file; null to ignore it (tests). */
  timesyncFlagPath?: string | null;
  validator?: ProtocolValidator;
  /** For the reconnect jitter (tests). */
  random?: () => number;
  /** A safety net for events appended without the commit hook: look at the outbox this often. Default 5 s. */
  outboxPollMs?: number;
  /** Commands answered longer ago than this are forgotten (housekeeping at start and daily). Default 30 days. */
  appliedCommandsRetentionMs?: number;
  welcomeTimeoutMs?: number;
}

export interface SyncStatus {
  state: LinkState;
  /** When the last welcome arrived (ISO wall time), or null. */
  lastConnectedAt: string | null;
  outboxPending: number;
  /** Age of the oldest event not yet acknowledged, in seconds; null when none is pending. */
  oldestPendingAgeS: number | null;
  clockSynchronised: boolean;
}

export interface SyncEvents {
  state: [LinkState];
  /** Events up to this seq are now marked delivered (after the write). */
  acked: [seq: number];
  reservationChanged: [reservationId: string, change: ReservationChange];
}

/** Most commands applied in one transaction. */
const MAX_COMMAND_BATCH = 256;
/** Reservations listed in the hello at most (the frame must stay under 64 KiB). */
const HELLO_MAX_RESERVATIONS = 600;
/** Reservations of the last days are listed in the hello even when finished. */
const HELLO_RECENT_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

export class SyncService {
  readonly events = new EventEmitter<SyncEvents>();
  readonly clockStatus: ClockStatus;
  readonly commands: CommandProcessor;
  readonly #o: SyncServiceOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #wall: () => Date;
  readonly #mono: () => number;
  readonly #link: BackOfficeLink;
  readonly #sender: OutboxSender;
  readonly #validator: ProtocolValidator;
  /** Seqs of events already reported as not matching the schema (bounded). */
  readonly #badEvents = new Set<number>();
  #commandQueue: CommandMessage[] = [];
  #commandWorker: Promise<void> | null = null;
  #lastConnectedAt: string | null = null;
  #pollTimer: unknown = null;
  #housekeepingTimer: unknown = null;
  #running = false;
  /** Work started by incoming messages, awaited by stop(). */
  #pending = new Set<Promise<unknown>>();

  constructor(options: SyncServiceOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#clock = options.clock ?? createSystemClock();
    this.#wall = options.wallClock ?? (() => new Date());
    const started = performance.now();
    this.#mono = options.monoClock ?? (() => performance.now() - started);
    this.clockStatus = new ClockStatus({
      logger: this.#log,
      wallClock: this.#wall,
      monoClock: this.#mono,
      bootId: options.bootId,
      ...(options.timesyncFlagPath !== undefined ? { flagPath: options.timesyncFlagPath } : {}),
    });
    this.commands = new CommandProcessor({
      db: options.db,
      lockouts: options.lockouts,
      logger: this.#log,
      wallClock: this.#wall,
      stamps: { wallClock: this.#wall, monoClock: this.#mono, bootId: options.bootId },
      ...(options.pinHashing !== undefined ? { pinHashing: options.pinHashing } : {}),
      ...(options.help ? { help: options.help } : {}),
    });
    this.commands.events.on('reservationChanged', (id, change) => this.events.emit('reservationChanged', id, change));

    const bo = options.backOffice;
    this.#validator = options.validator ?? createValidator();
    this.#link = new BackOfficeLink({
      url: bo.url,
      caFile: bo.caFile,
      pingIntervalMs: bo.pingIntervalMs,
      reconnectInitialMs: bo.reconnectInitialMs,
      reconnectMaxMs: bo.reconnectMaxMs,
      token: () => options.identity.signToken({ audience: bo.audience, now: this.clockStatus.bestWallTime() }),
      validator: this.#validator,
      logger: this.#log,
      clock: this.#clock,
      ...(options.random ? { random: options.random } : {}),
      ...(options.welcomeTimeoutMs !== undefined ? { welcomeTimeoutMs: options.welcomeTimeoutMs } : {}),
    });
    this.#sender = new OutboxSender({
      db: options.db,
      send: (message) => {
        this.#checkOutgoing(message);
        return this.#link.send(message);
      },
      maxInFlight: bo.maxInFlight,
      stampTrusted: (bootId, mono) => this.clockStatus.stampTrusted(bootId, mono),
      wallClock: this.#wall,
      logger: this.#log,
      onAckRecorded: (seq) => this.events.emit('acked', seq),
    });

    this.#link.events.on('open', () => {
      this.#sender.onDisconnected(); // nothing is in flight on a new connection
      this.#track(this.#sendHello());
    });
    this.#link.events.on('message', (message) => this.#onMessage(message));
    this.#link.events.on('state', (state) => {
      if (state !== 'online') this.#sender.onDisconnected();
      this.events.emit('state', state);
    });
  }

  get state(): LinkState {
    return this.#link.state;
  }

  /** Events put on the wire since start, repeats included (tests, bench). */
  get eventsSent(): number {
    return this.#sender.sentTotal;
  }

  /** Connects, and keeps connected until stop(). Throws on a configuration error (URL, CA file). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#housekeeping();
    this.#link.start();
    this.#armPoll();
    this.#armHousekeeping();
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of [this.#pollTimer, this.#housekeepingTimer]) if (timer !== null) this.#clock.clearTimeout(timer);
    this.#pollTimer = null;
    this.#housekeepingTimer = null;
    await this.#link.stop();
    this.#sender.onDisconnected();
    // Bounded: each round waits for what was pending when it began.
    for (let round = 0; round < 10 && (this.#pending.size > 0 || this.#commandWorker); round += 1) {
      await Promise.allSettled([...this.#pending, this.#commandWorker]);
    }
    await this.#sender.idle();
  }

  /** For the journey store's onEventsCommitted hook: new events are ready to send. */
  notifyEventsCommitted(): void {
    this.#sender.onEventsCommitted();
  }

  /** Cuts the connection; it is re-established with backoff (service screen, tests). */
  reconnect(reason = 'asked to reconnect'): void {
    this.#link.drop(reason);
  }

  async status(): Promise<SyncStatus> {
    const [pending, oldest] = await Promise.all([outbox.pendingCount(this.#o.db), outbox.oldestPending(this.#o.db)]);
    let oldestPendingAgeS: number | null = null;
    if (oldest) {
      // Within this start the monotonic clock is exact; across a restart only the wall clock is left.
      const ageMs = oldest.bootId === this.#o.bootId ? this.#mono() - oldest.monoTime : this.#wall().getTime() - Date.parse(oldest.wallTime);
      oldestPendingAgeS = Number.isFinite(ageMs) ? Math.max(0, Math.round(ageMs / 1000)) : null;
    }
    return {
      state: this.#link.state,
      lastConnectedAt: this.#lastConnectedAt,
      outboxPending: pending,
      oldestPendingAgeS,
      clockSynchronised: this.clockStatus.synchronised,
    };
  }

  /** The hello for a new connection (exported for tests through the service). */
  async buildHello(): Promise<HelloMessage> {
    const db = this.#o.db;
    const wall = this.#wall();
    const [rows, oldest, nextSeq, storedHashing] = await Promise.all([
      compartments.list(db),
      outbox.oldestPending(db),
      store.nextOutboxSeq(db),
      this.#o.pinHashing === undefined ? pinHashingSettings.get(db) : Promise.resolve(this.#o.pinHashing),
    ]);
    const since = new Date(wall.getTime() - HELLO_RECENT_DAYS * DAY_MS).toISOString().slice(0, 10);
    let versions = await store.appliedVersions(db, since, HELLO_MAX_RESERVATIONS);
    const build = (): HelloMessage => ({
      v: PROTOCOL_VERSION,
      type: 'hello',
      unitId: this.#o.unitId,
      softwareVersion: this.#o.softwareVersion,
      bootId: this.#o.bootId,
      clock: { wall: wall.toISOString(), synchronised: this.clockStatus.synchronised },
      compartments: rows.map((c) => ({ id: c.id, state: c.state, door: this.#door(c.id), reservationId: c.reservationId })),
      applied: {
        reservations: Object.fromEntries(versions.map((r) => [r.id, r.version])),
        payments: Object.fromEntries(versions.filter((r) => r.paymentVersion > 0).map((r) => [r.id, r.paymentVersion])),
      },
      outbox: { firstUnacked: oldest?.seq ?? null, nextSeq },
      ...(storedHashing ? { pinHashing: { salt: storedHashing.salt, N: storedHashing.N, r: storedHashing.r, p: storedHashing.p } } : {}),
    });
    let hello = build();
    // Bounded: each round drops a quarter of the list (the oldest appointments).
    for (let round = 0; round < 40 && Buffer.byteLength(JSON.stringify(hello)) > MAX_FRAME_BYTES - 1024; round += 1) {
      versions = versions.slice(0, Math.floor(versions.length * 0.75));
      hello = build();
      if (round === 0) this.#log.warn('hello too large: older reservation versions left out (the back office may resend them)');
    }
    return hello;
  }

  #door(id: number): DoorStateWire {
    try {
      return this.#o.doorState(id);
    } catch {
      return 'unknown';
    }
  }

  async #sendHello(): Promise<void> {
    try {
      const hello = await this.buildHello();
      if (!this.#link.send(hello)) this.#log.debug('connection gone before the hello');
    } catch (error) {
      this.#log.error({ err: String(error) }, 'could not build the hello');
      this.#link.drop('no hello');
    }
  }

  /**
   * An event the back office will refuse (SCHEMA) is never acknowledged, and since no seq may
   * be skipped, delivery stops there until the software is fixed: say so loudly, once per seq.
   * It is still sent: the back office has the last word.
   */
  #checkOutgoing(message: EventMessage): void {
    if (this.#badEvents.has(message.seq)) return;
    const checked = this.#validator.validateLockerMessage(message);
    if (checked.ok) return;
    if (this.#badEvents.size >= 100) this.#badEvents.clear();
    this.#badEvents.add(message.seq);
    this.#log.error({ seq: message.seq, event: message.event, problem: checked.message }, 'outbox event does not match the protocol schema: the back office will refuse it and delivery will stall');
  }

  #onMessage(message: BackOfficeMessage): void {
    switch (message.type) {
      case 'welcome':
        this.#lastConnectedAt = this.#wall().toISOString();
        this.clockStatus.observeServerTime(message.serverTime);
        this.#track(this.#sender.onWelcome(message.ackedSeq));
        return;
      case 'ack':
        this.#track(this.#sender.onAck(message.seq));
        return;
      case 'command':
        this.#commandQueue.push(message);
        this.#runCommands();
        return;
      case 'error':
        this.#log.warn({ code: message.code, ref: message.ref }, 'the back office reported an error');
        return;
    }
  }

  #runCommands(): void {
    if (this.#commandWorker) return;
    this.#commandWorker = (async () => {
      // Bounded: every round takes at least one command off the queue.
      for (let round = 0; round < 1_000_000 && this.#commandQueue.length > 0; round += 1) {
        const batch = this.#commandQueue.splice(0, MAX_COMMAND_BATCH);
        const results = await this.commands.applyMany(batch);
        // Unsent results are not lost: the back office sends the command again after a
        // reconnect, and its stored result is sent then.
        for (const result of results) this.#link.send(result);
        // Commands may have written events (a lockout lifted): send them now, not at the next poll.
        this.#sender.onEventsCommitted();
      }
    })()
      .catch((error: unknown) => this.#log.error({ err: String(error) }, 'command worker failed'))
      .finally(() => {
        this.#commandWorker = null;
        if (this.#commandQueue.length > 0) this.#runCommands();
      });
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.#log.error({ err: String(error) }, 'sync work failed'));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  #armPoll(): void {
    const every = this.#o.outboxPollMs ?? 5000;
    this.#pollTimer = this.#clock.setTimeout(() => {
      this.#pollTimer = null;
      if (!this.#running) return;
      this.#sender.onEventsCommitted();
      this.#armPoll();
    }, every);
  }

  #armHousekeeping(): void {
    this.#housekeepingTimer = this.#clock.setTimeout(() => {
      this.#housekeepingTimer = null;
      if (!this.#running) return;
      this.#track(this.#housekeeping());
      this.#armHousekeeping();
    }, DAY_MS);
  }

  async #housekeeping(): Promise<void> {
    const retention = this.#o.appliedCommandsRetentionMs ?? 30 * DAY_MS;
    const before = new Date(this.#wall().getTime() - retention);
    // An untrusted clock could lie far ahead and purge what a repeat still needs.
    if (!this.clockStatus.synchronised) return;
    const purged = await this.#o.db.transaction((tx) => store.purgeApplied(tx, before));
    if (purged > 0) this.#log.info({ purged }, 'old command records purged');
  }
}
