/**
 * The locker's Prometheus metrics (prom-client, its own registry: no global state). Counters
 * follow what happens (opens by outcome, door events, PIN failures, lockouts, link changes);
 * gauges that the store or the hardware know are read when scraped (outbox depth and lag,
 * board health, link state). prom-client's default metrics add the event-loop lag
 * (`nodejs_eventloop_lag_seconds`) and the resident memory (`process_resident_memory_bytes`).
 *
 * The counts are kept here, from start; prom-client (about 90 modules with its OpenTelemetry
 * dependency, about 100 ms of CPU) is loaded at the first scrape, which only formats them. The
 * default metrics that observe over time (event-loop delay percentiles, GC durations) start at
 * that first scrape.
 *
 * No label carries a reservation, a PIN or a person: only outcomes, boards and states.
 */
import type { EventEmitter } from 'node:events';
import type { Counter, Registry } from 'prom-client';
import type { LockBankEvents, OpenOutcome } from '../../controller/lock-bank.js';
import type { BoardStatus } from '../../controller/board-monitor.js';
import type { FailureResult, JourneyTx, PinGuard } from '../core/ports.js';
import type { LinkState } from '../sync/link.js';

export interface MetricsSources {
  bank: { events: EventEmitter<LockBankEvents>; boardStatus(): BoardStatus[] };
  /** Outbox depth and the age of its oldest event (s), read at scrape time. */
  outbox: () => Promise<{ pending: number; lagS: number | null }>;
  /** The back-office link's state now; null while unprovisioned. */
  linkState: () => LinkState | null;
  /** The locker-wide PIN lockout: ms left, or null when PIN entry is allowed. */
  lockedFor: () => Promise<number | null>;
  /** Whether the watchdog is being fed (watchdog.ts). */
  watchdogHealthy?: () => boolean;
}

export interface LockerMetrics {
  /** Prometheus text format, and its content type. */
  render(): Promise<{ contentType: string; text: string }>;
  /** Wraps the PIN guard the journeys use, to count failures and lockouts. */
  countPins(guard: PinGuard): PinGuard;
  /** Follows a link's state changes (connections, disconnects). */
  followLink(events: LinkStateEvents): void;
  stop(): void;
}

/** The part of the sync's events metrics follow. */
export interface LinkStateEvents {
  on(event: 'state', listener: (state: LinkState) => void): unknown;
  off(event: 'state', listener: (state: LinkState) => void): unknown;
}

const LINK_STATES: readonly LinkState[] = ['connecting', 'online', 'offline'];

/** A count per label value ('' for a counter without labels), kept from start. */
class Tally {
  readonly #counts = new Map<string, number>();
  inc(label = ''): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + 1);
  }
  /** Copies the counts into a prom-client counter at scrape time. */
  copyTo(counter: Counter<string>, labelName: string | null): void {
    counter.reset();
    for (const [label, count] of this.#counts) {
      if (labelName === null) counter.inc(count);
      else counter.inc({ [labelName]: label }, count);
    }
  }
}

interface Counted {
  name: string;
  help: string;
  label: string | null;
  tally: Tally;
}

type PromClient = typeof import('prom-client');

/** `loadPromClient`: how prom-client is loaded at the first scrape (a test counts the loads). */
export function createMetrics(sources: MetricsSources, loadPromClient: () => Promise<PromClient> = () => import('prom-client')): LockerMetrics {
  const counted = (name: string, help: string, label: string | null = null): Counted => ({ name, help, label, tally: new Tally() });
  const opens = counted('keylocker_opens_total', 'Compartment opens by outcome (opened, JAMMED, BOARD_OFFLINE, BOARD_ERROR, ...)', 'outcome');
  const doorEvents = counted('keylocker_door_events_total', 'Door events: opened (by cause), closed, forced, left_open, unknown', 'event');
  const pulses = counted('keylocker_lock_pulses_total', 'Pulses sent to locks');
  const boardChanges = counted('keylocker_board_transitions_total', 'Lock boards going offline or coming back', 'to');
  const pinFailures = counted('keylocker_pin_failures_total', 'Wrong PINs (and PINs for a reservation that cannot be used now)');
  const lockouts = counted('keylocker_pin_lockouts_total', 'PIN lockouts by scope: locker, a back-off started; reservation, a wrong PIN left (or found) its reservation locked until staff lift it', 'scope');
  const connections = counted('keylocker_backoffice_connections_total', 'Times the back-office link came online');
  const disconnects = counted('keylocker_backoffice_disconnects_total', 'Times the back-office link went from online to offline (a reconnect follows)');
  const counters = [opens, doorEvents, pulses, boardChanges, pinFailures, lockouts, connections, disconnects];

  /** The registry, made at the first scrape; its counters copy the tallies when collected. */
  const build = async (): Promise<{ registry: Registry; outboxDepth: { set(value: number): void }; outboxLag: { set(value: number): void } }> => {
    const { collectDefaultMetrics, Counter, Gauge, Registry } = await loadPromClient();
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
    for (const { name, help, label, tally } of counters) {
      new Counter({
        name,
        help,
        labelNames: label === null ? [] : [label],
        registers: [registry],
        collect() {
          tally.copyTo(this, label);
        },
      });
    }
    new Gauge({
      name: 'keylocker_board_online',
      help: 'Whether each lock board answers its polls (1) or not (0)',
      labelNames: ['board'],
      registers: [registry],
      collect() {
        this.reset();
        for (const board of sources.bank.boardStatus()) this.set({ board: String(board.board) }, board.online ? 1 : 0);
      },
    });
    const outboxDepth = new Gauge({ name: 'keylocker_outbox_pending', help: 'Events not yet acknowledged by the back office', registers: [registry] });
    const outboxLag = new Gauge({ name: 'keylocker_outbox_lag_seconds', help: 'Age of the oldest event not yet acknowledged (0 when none)', registers: [registry] });
    new Gauge({
      name: 'keylocker_backoffice_link_state',
      help: 'The back-office link: 1 for its current state (unprovisioned when no back office is configured)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const state = sources.linkState();
        for (const candidate of [...LINK_STATES, 'unprovisioned']) this.set({ state: candidate }, (state ?? 'unprovisioned') === candidate ? 1 : 0);
      },
    });
    new Gauge({
      name: 'keylocker_pin_lockout_seconds',
      help: 'Seconds left of the locker-wide PIN back-off (0: PIN entry allowed)',
      registers: [registry],
      async collect() {
        const ms = await sources.lockedFor();
        this.set(ms === null ? 0 : Math.ceil(ms / 1000));
      },
    });
    if (sources.watchdogHealthy) {
      const healthy = sources.watchdogHealthy;
      new Gauge({
        name: 'keylocker_watchdog_healthy',
        help: 'Whether the event loop and the board poll are healthy, so the systemd watchdog is fed (1)',
        registers: [registry],
        collect() {
          this.set(healthy() ? 1 : 0);
        },
      });
    }
    return { registry, outboxDepth, outboxLag };
  };
  let built: ReturnType<typeof build> | null = null;
  let stopped = false;

  const bank = sources.bank.events;
  const onOutcome = (outcome: OpenOutcome): void => opens.tally.inc(outcome.ok ? 'opened' : outcome.error);
  const onOpened = (_id: number, cause: string): void => doorEvents.tally.inc(`opened_${cause.replace('-', '_')}`);
  const onClosed = (): void => doorEvents.tally.inc('closed');
  const onForced = (): void => doorEvents.tally.inc('forced');
  const onLeftOpen = (): void => doorEvents.tally.inc('left_open');
  const onUnknown = (): void => doorEvents.tally.inc('unknown');
  const onPulse = (): void => pulses.tally.inc();
  const onOffline = (): void => boardChanges.tally.inc('offline');
  const onOnline = (): void => boardChanges.tally.inc('online');
  bank.on('openOutcome', onOutcome);
  bank.on('doorOpened', onOpened);
  bank.on('doorClosed', onClosed);
  bank.on('forced', onForced);
  bank.on('leftOpen', onLeftOpen);
  bank.on('doorUnknown', onUnknown);
  bank.on('pulseStarted', onPulse);
  bank.on('boardOffline', onOffline);
  bank.on('boardOnline', onOnline);
  const unfollow: (() => void)[] = [];

  return {
    async render() {
      if (stopped) throw new Error('metrics stopped');
      built ??= build().catch((error: unknown) => {
        built = null; // a failed load is tried again at the next scrape
        throw error;
      });
      const [{ registry, outboxDepth, outboxLag }, { pending, lagS }] = await Promise.all([built, sources.outbox()]);
      outboxDepth.set(pending);
      outboxLag.set(lagS ?? 0);
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
    countPins(guard) {
      return {
        lockedFor: (now) => guard.lockedFor(now),
        doorOpened: (tx, reservationId, now) => guard.doorOpened(tx, reservationId, now),
        async recordFailure(tx: JourneyTx, bound: string | null, now: Date): Promise<FailureResult> {
          const result = await guard.recordFailure(tx, bound, now);
          pinFailures.tally.inc();
          if (result.lockerLockedForMs !== null) lockouts.tally.inc('locker');
          if (result.reservationLocked) lockouts.tally.inc('reservation');
          return result;
        },
      };
    },
    followLink(events) {
      let previous: LinkState | null = null;
      const onState = (state: LinkState): void => {
        if (state === 'online' && previous !== 'online') connections.tally.inc();
        if (previous === 'online' && state !== 'online') disconnects.tally.inc();
        previous = state;
      };
      events.on('state', onState);
      unfollow.push(() => events.off('state', onState));
    },
    stop() {
      stopped = true;
      bank.off('openOutcome', onOutcome);
      bank.off('doorOpened', onOpened);
      bank.off('doorClosed', onClosed);
      bank.off('forced', onForced);
      bank.off('leftOpen', onLeftOpen);
      bank.off('doorUnknown', onUnknown);
      bank.off('pulseStarted', onPulse);
      bank.off('boardOffline', onOffline);
      bank.off('boardOnline', onOnline);
      for (const off of unfollow) off();
      void built?.then(({ registry }) => registry.clear(), () => undefined);
    },
  };
}
