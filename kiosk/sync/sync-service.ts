/**
 * The locker's side of the back-office protocol, assembled: the link (one WebSocket), the
 * outbox sender (events out, exactly once as the back office sees it), the command queue
 * (commands in, applied once, one result each), the clock status and the `hello`.
 *
 *   open -> hello -> welcome {ackedSeq} -> events after ackedSeq, then as they are committed
 *                                       <- ack {seq} | nack {seq}, command -> result
 *
 * The back office's clock corrects ours twice: a refused upgrade that says the server's time
 * (HTTP 401 with `error.serverTime` or a `Date` header) lets the next token be stamped with it,
 * and every `welcome.serverTime` feeds the clock status (clock-status.ts).
 */
import { EventEmitter } from 'node:events';
import { createSystemClock, type Clock } from '../lib/clock.js';
import type { LockoutService } from '../core/lockout.js';
import type { UnitPinHashing } from '../core/pin.js';
import type { Logger } from '../logging.js';
import type { Db } from '../store/db.js';
import * as pinHashingSettings from '../store/pin-hashing.js';
import { outbox } from '../store/repositories.js';
import { ClockStatus, MAX_SERVER_SKEW_MS } from './clock-status.js';
import { CommandQueue } from './command-queue.js';
import type { MechanicDesk } from '../core/mechanic-desk.js';
import type { LinkOpener } from '../core/link-open.js';
import type { RemoteOpener } from '../core/remote-open.js';
import { CommandProcessor, type HelpCallPort, type ReceiptLinkPort, type ReservationChange } from './commands.js';
import { buildHello } from './hello.js';
import { CommandHousekeeping } from './housekeeping.js';
import type { UnitIdentity } from './identity.js';
import { BackOfficeLink, type LinkState, type UpgradeRefusal } from './link.js';
import type { BackOfficeMessage, DoorStateWire, ErrorCode, EventMessage, HelloMessage } from './messages.js';
import { OutboxSender } from './outbox-sender.js';
import { refusedSummary, type RefusedEvent } from './stream-store.js';
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
  /** The locker's IANA time zone (told in the hello: appointment dates are dates there). */
  timeZone: string;
  backOffice: BackOfficeSettings;
  identity: UnitIdentity;
  /** The lock bank's view of a door. */
  doorState: (compartmentId: number) => DoorStateWire;
  lockouts: LockoutService;
  /** The unit's PIN salt and cost, published in the hello; default: read from the database. */
  pinHashing?: UnitPinHashing | null;
  /** The screens' help-call banner (Journeys); optional so the service can run without screens. */
  help?: HelpCallPort;
  /** The receipt QR on the top screen (Journeys); optional like help. */
  receipts?: ReceiptLinkPort;
  /** The mechanic journey's desk; absent: mechanic requests are recorded and tokens refused. */
  mechanic?: MechanicDesk;
  /** Staff opening compartments from the back office; absent: compartment.remote-open is refused. */
  remoteOpen?: RemoteOpener;
  /** The customer opening from the phone link; absent: reservation.remote-open is refused. */
  linkOpen?: LinkOpener;
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
  /** Our clock minus the back office's (ms) when it last said its time, or null. */
  clockOffsetMs: number | null;
  /** Events the back office refused for good (nack): how many, and the latest few. */
  refusedEvents: { count: number; latest: RefusedEvent[] };
}

export interface SyncEvents {
  state: [LinkState];
  /** Events up to this seq are now marked delivered (after the write). */
  acked: [seq: number];
  /** The back office refused this event (recorded). */
  refused: [seq: number];
  reservationChanged: [reservationId: string, change: ReservationChange];
}

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
  readonly #queue: CommandQueue;
  readonly #housekeeping: CommandHousekeeping;
  readonly #validator: ProtocolValidator;
  /** Seqs of events already reported as not matching the schema (bounded). */
  readonly #badEvents = new Set<number>();
  #lastConnectedAt: string | null = null;
  /** A welcome arrived on the current connection. */
  #welcomed = false;
  /** A token was re-stamped with the back office's time since the last welcome (once is enough). */
  #clockRetried = false;
  #pollTimer: unknown = null;
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
      doorState: options.doorState,
      ...(options.pinHashing !== undefined ? { pinHashing: options.pinHashing } : {}),
      ...(options.help ? { help: options.help } : {}),
      ...(options.receipts ? { receipts: options.receipts } : {}),
      ...(options.mechanic ? { mechanic: options.mechanic } : {}),
      ...(options.remoteOpen ? { remoteOpen: options.remoteOpen } : {}),
      ...(options.linkOpen ? { linkOpen: options.linkOpen } : {}),
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
      onRefused: (refusal) => this.#onRefused(refusal),
      ...(options.random ? { random: options.random } : {}),
      ...(options.welcomeTimeoutMs !== undefined ? { welcomeTimeoutMs: options.welcomeTimeoutMs } : {}),
    });
    this.#sender = new OutboxSender({
      db: options.db,
      send: (message) => {
        this.#checkOutgoing(message);
        return this.#link.send(message);
      },
      corked: (sends) => this.#link.corked(sends),
      complain: (code, message, ref) => this.#complain(code, message, ref),
      maxInFlight: bo.maxInFlight,
      stampTrusted: (bootId, mono) => this.clockStatus.stampTrusted(bootId, mono),
      wallClock: this.#wall,
      logger: this.#log,
      onAckRecorded: (seq) => this.events.emit('acked', seq),
      onRefused: (seq) => this.events.emit('refused', seq),
    });
    // Commands may write events (a lockout lifted): they are sent at once, not at the next poll.
    this.#queue = new CommandQueue(this.commands, (result) => void this.#link.send(result), this.#log, { onApplied: () => this.#sender.onEventsCommitted() });

    this.#housekeeping = new CommandHousekeeping({
      db: options.db,
      clock: this.#clock,
      wallClock: this.#wall,
      clockSynchronised: () => this.clockStatus.synchronised,
      logger: this.#log,
      track: (work) => this.#track(work),
      ...(options.appliedCommandsRetentionMs !== undefined ? { retentionMs: options.appliedCommandsRetentionMs } : {}),
    });

    this.#link.events.on('open', () => {
      this.#welcomed = false;
      this.#sender.onDisconnected(); // nothing is in flight on a new connection
      this.#track(this.#sendHello());
    });
    this.#link.events.on('message', (message) => this.#onMessage(message));
    this.#link.events.on('invalidCommand', (commandId, problem) => this.#queue.pushInvalid(commandId, problem));
    this.#link.events.on('state', (state) => {
      if (state !== 'online') {
        this.#welcomed = false;
        this.#sender.onDisconnected();
      }
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
    await this.#housekeeping.start();
    this.#link.start();
    this.#armPoll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#pollTimer !== null) this.#clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
    this.#housekeeping.stop();
    await this.#link.stop();
    this.#sender.onDisconnected();
    // Bounded: each round waits for what was pending when it began.
    for (let round = 0; round < 10 && this.#pending.size > 0; round += 1) await Promise.allSettled([...this.#pending]);
    await this.#queue.idle();
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
    const db = this.#o.db;
    const [pending, oldest, refused] = await Promise.all([outbox.pendingCount(db), outbox.oldestPending(db), refusedSummary(db, 5)]);
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
      clockOffsetMs: this.clockStatus.serverOffsetMs,
      refusedEvents: refused,
    };
  }

  /** The hello for a new connection (exported for tests through the service). */
  async buildHello(): Promise<HelloMessage> {
    const bo = this.#o.backOffice;
    const pinHashing = this.#o.pinHashing === undefined ? await pinHashingSettings.get(this.#o.db) : this.#o.pinHashing;
    return buildHello({
      db: this.#o.db,
      unitId: this.#o.unitId,
      softwareVersion: this.#o.softwareVersion,
      bootId: this.#o.bootId,
      timeZone: this.#o.timeZone,
      pingIntervalMs: bo.pingIntervalMs,
      maxInFlight: bo.maxInFlight,
      wallClock: this.#wall,
      clockSynchronised: () => this.clockStatus.synchronised,
      doorState: this.#o.doorState,
      pinHashing,
    });
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
   * The back office refused the upgrade and said its time. If our clock is off by more than the
   * skew we tolerate, the offset goes to the clock status (so the next token is stamped with the
   * back office's time) and the link tries again at once, once per failure streak.
   */
  #onRefused(refusal: UpgradeRefusal): boolean {
    if (refusal.serverTime === null) return false;
    const offset = this.#wall().getTime() - refusal.serverTime.getTime();
    if (Math.abs(offset) <= MAX_SERVER_SKEW_MS || this.#clockRetried) return false;
    this.#clockRetried = true;
    this.clockStatus.observeServerTime(refusal.serverTime.toISOString());
    this.#log.warn({ status: refusal.status, code: refusal.code, offsetS: Math.round(offset / 1000) }, "refused with our clock off: the next token is stamped with the back office's time");
    return true;
  }

  /**
   * An event the back office will refuse (SCHEMA) gets a nack, is recorded and the stream goes
   * on; it still means a fault in this software: say so loudly, once per seq.
   */
  #checkOutgoing(message: EventMessage): void {
    if (this.#badEvents.has(message.seq)) return;
    const checked = this.#validator.validateLockerMessage(message);
    if (checked.ok) return;
    if (this.#badEvents.size >= 100) this.#badEvents.clear();
    this.#badEvents.add(message.seq);
    this.#log.error({ seq: message.seq, event: message.event, problem: checked.message }, 'outbox event does not match the protocol schema: the back office will refuse it');
  }

  #complain(code: ErrorCode, message: string, ref: string | null): void {
    this.#link.send({ v: 1, type: 'error', code, message, ref });
  }

  #onMessage(message: BackOfficeMessage): void {
    switch (message.type) {
      case 'welcome':
        if (this.#welcomed) {
          this.#log.warn('a second welcome on one connection: ignored');
          this.#complain('CONFLICT', 'a second welcome on one connection is ignored', null);
          return;
        }
        this.#welcomed = true;
        this.#clockRetried = false;
        this.#lastConnectedAt = this.#wall().toISOString();
        this.clockStatus.observeServerTime(message.serverTime);
        this.#track(this.#sender.onWelcome(message.ackedSeq));
        return;
      case 'ack':
        this.#track(this.#sender.onAck(message.seq));
        return;
      case 'nack':
        this.#track(this.#sender.onNack(message.seq, message.code, message.reason));
        return;
      case 'command':
        this.#queue.push(message);
        return;
      case 'error':
        this.#log.warn({ code: message.code, ref: message.ref }, 'the back office reported an error');
        return;
    }
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
}
