/**
 * The locker's Prometheus metrics (prom-client, its own registry: no global state). Counters
 * follow what happens (opens by outcome, door events, PIN failures, lockouts, link changes);
 * gauges that the store or the hardware know are read when scraped (outbox depth and lag,
 * board health, link state). prom-client's default metrics add the event-loop lag
 * (`nodejs_eventloop_lag_seconds`) and the resident memory (`process_resident_memory_bytes`).
 *
 * No label carries a reservation, a PIN or a person: only outcomes, boards and states.
 */
import type { EventEmitter } from 'node:events';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
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
  registry: Registry;
  /** Prometheus text format. */
  render(): Promise<string>;
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

export function createMetrics(sources: MetricsSources): LockerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const opens = new Counter({ name: 'keylocker_opens_total', help: 'Compartment opens by outcome (opened, JAMMED, BOARD_OFFLINE, BOARD_ERROR, ...)', labelNames: ['outcome'], registers: [registry] });
  const doorEvents = new Counter({ name: 'keylocker_door_events_total', help: 'Door events: opened (by cause), closed, forced, left_open, unknown', labelNames: ['event'], registers: [registry] });
  const pulses = new Counter({ name: 'keylocker_lock_pulses_total', help: 'Pulses sent to locks', registers: [registry] });
  const boardChanges = new Counter({ name: 'keylocker_board_transitions_total', help: 'Lock boards going offline or coming back', labelNames: ['to'], registers: [registry] });
  const pinFailures = new Counter({ name: 'keylocker_pin_failures_total', help: 'Wrong PINs (and PINs for a reservation that cannot be used now)', registers: [registry] });
  const lockouts = new Counter({ name: 'keylocker_pin_lockouts_total', help: 'PIN lockouts by scope: locker, a back-off started; reservation, a wrong PIN left (or found) its reservation locked until staff lift it', labelNames: ['scope'], registers: [registry] });
  const connections = new Counter({ name: 'keylocker_backoffice_connections_total', help: 'Times the back-office link came online', registers: [registry] });
  const disconnects = new Counter({ name: 'keylocker_backoffice_disconnects_total', help: 'Times the back-office link went from online to offline (a reconnect follows)', registers: [registry] });

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

  const bank = sources.bank.events;
  const onOutcome = (outcome: OpenOutcome): void => opens.inc({ outcome: outcome.ok ? 'opened' : outcome.error });
  const onOpened = (_id: number, cause: string): void => doorEvents.inc({ event: `opened_${cause.replace('-', '_')}` });
  const onClosed = (): void => doorEvents.inc({ event: 'closed' });
  const onForced = (): void => doorEvents.inc({ event: 'forced' });
  const onLeftOpen = (): void => doorEvents.inc({ event: 'left_open' });
  const onUnknown = (): void => doorEvents.inc({ event: 'unknown' });
  const onPulse = (): void => pulses.inc();
  const onOffline = (): void => boardChanges.inc({ to: 'offline' });
  const onOnline = (): void => boardChanges.inc({ to: 'online' });
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
    registry,
    async render() {
      const { pending, lagS } = await sources.outbox();
      outboxDepth.set(pending);
      outboxLag.set(lagS ?? 0);
      return registry.metrics();
    },
    countPins(guard) {
      return {
        lockedFor: (now) => guard.lockedFor(now),
        doorOpened: (tx, reservationId, now) => guard.doorOpened(tx, reservationId, now),
        async recordFailure(tx: JourneyTx, bound: string | null, now: Date): Promise<FailureResult> {
          const result = await guard.recordFailure(tx, bound, now);
          pinFailures.inc();
          if (result.lockerLockedForMs !== null) lockouts.inc({ scope: 'locker' });
          if (result.reservationLocked) lockouts.inc({ scope: 'reservation' });
          return result;
        },
      };
    },
    followLink(events) {
      let previous: LinkState | null = null;
      const onState = (state: LinkState): void => {
        if (state === 'online' && previous !== 'online') connections.inc();
        if (previous === 'online' && state !== 'online') disconnects.inc();
        previous = state;
      };
      events.on('state', onState);
      unfollow.push(() => events.off('state', onState));
    },
    stop() {
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
      registry.clear();
    },
  };
}
