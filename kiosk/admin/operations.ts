/**
 * What the admin socket can ask of the running service: its status, a technician's open, a
 * self-test at the locker, lifting the PIN lockout. Each operation checks its request against
 * what is true now (the compartment exists, nobody is mid-journey on it) before anything moves;
 * every actuation is audited (intent before the pulse, outcome after, actor `technician`).
 *
 * Nothing here logs a technician's reason (free text may hold anything): it is kept in the
 * audit log only.
 */
import { existsSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { toSelfTestEntry, type LockBank, type OpenOutcome, type SelfTestEntry } from '../../controller/lock-bank.js';
import type { ResolvedConfig } from '../config/load.js';
import { clearQuarantineNow } from '../core/quarantine.js';
import { isDomainError } from '../errors.js';
import type { LockoutService } from '../core/lockout.js';
import type { JourneyStore } from '../core/ports.js';
import type { Compartment } from '../core/types.js';
import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import { outbox } from '../store/repositories.js';
import { TIMESYNC_FLAG_PATH } from '../sync/clock-status.js';
import type { SyncService } from '../sync/sync-service.js';
import type { AdminErrorCode, AdminRequest } from './protocol.js';

export interface AdminPorts {
  config: ResolvedConfig;
  version: string;
  db: Db;
  store: JourneyStore;
  bank: Pick<LockBank, 'open' | 'doorState' | 'boardStatus' | 'compartmentIds' | 'events'>;
  lockouts: LockoutService;
  /** null while the unit is unprovisioned. */
  sync: SyncService | null;
  /** The screens are told to redraw after a lockout is lifted. */
  screens: EventEmitter<{ changed: [] }>;
  clock: Clock;
  wallClock: () => Date;
  /** clock.now() when the service started. */
  startedAt: number;
  logger: Logger;
  /** The systemd-timesyncd flag (clock-status.ts); null: not looked at (tests). */
  timesyncFlagPath?: string | null;
}

/** A refusal: the request named something that cannot be done now; nothing changed. */
export class AdminRefusal extends Error {
  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type SelfTestOutcome = SelfTestEntry['result'] | 'not-closed' | 'skipped';

export interface SelfTestRow {
  compartment: number;
  result: SelfTestOutcome;
  pulses: number;
  detail: string;
}

type Progress = (progress: Record<string, unknown>) => void;

const CONTENT: Record<Compartment['state'], string> = {
  free: 'empty',
  reserved: 'held for a reservation',
  occupied: 'key',
  quarantined: 'uncertain (quarantined)',
  disabled: 'out of service',
};

export class AdminOperations {
  readonly #p: AdminPorts;
  #selfTestRunning = false;

  constructor(ports: AdminPorts) {
    this.#p = ports;
  }

  async run(request: AdminRequest, progress: Progress): Promise<Record<string, unknown>> {
    switch (request.op) {
      case 'status':
        return this.status();
      case 'open':
        return this.open(request.args.compartment, request.args.reason);
      case 'selftest':
        return this.selfTest(request.args, progress);
      case 'quarantine.clear':
        return this.clearQuarantine(request.args.compartment, request.args.reason);
      case 'lockout.clear':
        return this.clearLockout(request.args.reservationId);
    }
  }

  async status(): Promise<Record<string, unknown>> {
    const p = this.#p;
    const now = p.wallClock();
    const [compartments, inflight, lockedFor, lockedReservations] = await Promise.all([
      p.store.compartments(),
      p.store.inflight(),
      p.lockouts.lockedFor(now),
      p.store.lockedReservations(),
    ]);
    const inJourney = new Set(inflight.map((entry) => entry.compartmentId));
    const link = p.sync ? await p.sync.status() : null;
    const oldest = link ? null : await outbox.oldestPending(p.db);
    const flag = p.timesyncFlagPath === undefined ? TIMESYNC_FLAG_PATH : p.timesyncFlagPath;
    return {
      unitId: p.config.unitId,
      version: p.version,
      uptimeS: Math.round((p.clock.now() - p.startedAt) / 1000),
      hardware: p.config.hardware.kind,
      boards: p.bank.boardStatus(),
      compartments: compartments.map((c) => ({
        id: c.id,
        state: c.state,
        door: p.bank.doorState(c.id),
        content: CONTENT[c.state],
        reservationId: c.reservationId,
        quarantineReason: c.quarantineReason,
        inJourney: inJourney.has(c.id),
      })),
      backOffice: link
        ? {
            provisioned: true,
            url: p.config.backOffice.url,
            state: link.state,
            lastConnectedAt: link.lastConnectedAt,
            outboxPending: link.outboxPending,
            outboxLagS: link.oldestPendingAgeS,
            refusedEvents: link.refusedEvents.count,
          }
        : {
            provisioned: false,
            url: null,
            state: 'unprovisioned',
            lastConnectedAt: null,
            outboxPending: await outbox.pendingCount(p.db),
            outboxLagS: oldest ? Math.max(0, Math.round((now.getTime() - Date.parse(oldest.wallTime)) / 1000)) : null,
            refusedEvents: 0,
          },
      clock: {
        now: now.toISOString(),
        timeZone: p.config.timeZone,
        synchronised: link ? link.clockSynchronised : flag !== null && existsSync(flag),
        offsetMs: link?.clockOffsetMs ?? null,
      },
      pinLockout: { lockerLockedForS: lockedFor === null ? 0 : Math.ceil(lockedFor / 1000), reservationsLocked: lockedReservations.length },
    };
  }

  /** A technician's open: refused while a customer is mid-journey on the compartment. */
  async open(id: number, reason: string): Promise<Record<string, unknown>> {
    await this.#requireOpenable(id);
    if (this.#selfTestRunning) throw new AdminRefusal('BUSY', 'a selftest is running: wait for it to finish');
    const outcome = await this.#auditedOpen(id, { purpose: 'service', reason });
    this.#p.logger.info({ compartment: id, result: outcome.ok ? 'opened' : outcome.error }, 'technician opened a compartment');
    const compartment = await this.#p.store.compartment(id);
    return {
      compartment: id,
      opened: outcome.ok,
      result: outcome.ok ? (outcome.alreadyOpen ? 'already-open' : outcome.confirmed ? 'confirmed' : 'no-door-signal') : outcome.error,
      pulses: outcome.pulses,
      detail: outcome.ok ? (outcome.confirmed ? 'the door switch shows the door open' : 'opened') : outcome.detail,
      state: compartment?.state ?? null,
    };
  }

  /**
   * Opens each compartment in turn, waits (bounded) for its door to be closed again, and
   * reports each: confirmed, not-closed, no-door-signal, jammed, board-error, already-open,
   * skipped (holds a key, or is mid-journey).
   */
  async selfTest(args: Extract<AdminRequest, { op: 'selftest' }>['args'], progress: Progress): Promise<Record<string, unknown>> {
    const p = this.#p;
    const known = new Set(p.bank.compartmentIds);
    const unknown = args.compartments.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new AdminRefusal('UNKNOWN_COMPARTMENT', `no compartment ${unknown.join(', ')} (this locker has ${describeIds(p.bank.compartmentIds)})`);
    if (this.#selfTestRunning) throw new AdminRefusal('BUSY', 'a selftest is already running');
    this.#selfTestRunning = true;
    try {
      const named = args.compartments.length > 0;
      const targets = named ? [...new Set(args.compartments)] : p.bank.compartmentIds;
      const rows: SelfTestRow[] = [];
      for (const id of targets) {
        const skip = await this.#skipReason(id, named && args.includeOccupied);
        if (skip !== null) {
          rows.push({ compartment: id, result: 'skipped', pulses: 0, detail: skip });
          progress({ compartment: id, phase: 'skipped', detail: skip });
          continue;
        }
        progress({ compartment: id, phase: 'opening' });
        const outcome = await this.#auditedOpen(id, { purpose: 'selftest' });
        const entry = toSelfTestEntry(outcome);
        if (entry.result !== 'confirmed') {
          rows.push(entry);
          progress({ compartment: id, phase: 'done', result: entry.result });
          continue;
        }
        progress({ compartment: id, phase: 'open', detail: 'close the door' });
        const closed = await this.#waitClosed(id, args.timeoutMs);
        const row: SelfTestRow = closed
          ? { ...entry, detail: `${entry.detail}; closed again` }
          : { ...entry, result: 'not-closed', detail: `${entry.detail}; not closed within ${Math.round(args.timeoutMs / 1000)} s` };
        rows.push(row);
        progress({ compartment: id, phase: 'done', result: row.result });
      }
      const faults = rows.filter((row) => row.result !== 'confirmed' && row.result !== 'skipped').length;
      p.logger.info({ tested: rows.length, faults }, 'selftest finished');
      return { compartments: rows, confirmed: rows.filter((row) => row.result === 'confirmed').length, faults };
    } finally {
      this.#selfTestRunning = false;
    }
  }

  /**
   * Puts a quarantined compartment back into service after the technician looked (the core's
   * clearQuarantine, as staff do with compartment.clear-quarantine): audited as `technician`,
   * the back office told; refused when not quarantined or its door is not seen closed.
   */
  async clearQuarantine(compartment: number, reason: string): Promise<Record<string, unknown>> {
    const p = this.#p;
    if (!p.bank.compartmentIds.includes(compartment)) {
      throw new AdminRefusal('UNKNOWN_COMPARTMENT', `no compartment ${compartment} (this locker has ${describeIds(p.bank.compartmentIds)})`);
    }
    try {
      const result = await clearQuarantineNow(p.store, p.bank, { compartment, reason, by: 'technician' });
      p.screens.emit('changed');
      p.logger.info({ compartment, state: result.state }, 'technician cleared a quarantine');
      return { ...result };
    } catch (error) {
      if (isDomainError(error)) throw new AdminRefusal(error.code === 'NOT_FOUND' ? 'UNKNOWN_COMPARTMENT' : 'REFUSED', error.message);
      throw error;
    }
  }

  /** Lifts the locker-wide PIN lockout (or one reservation's) the way the back office's lockout.lift does. */
  async clearLockout(reservationId: string | null): Promise<Record<string, unknown>> {
    const p = this.#p;
    const now = p.wallClock();
    const result = await p.store.transaction(async (tx) => {
      if (reservationId === null) return p.lockouts.lift(tx, { scope: 'locker' }, now);
      if (!(await tx.reservation(reservationId))) throw new AdminRefusal('NOT_FOUND', `no reservation ${reservationId}`);
      return p.lockouts.lift(tx, { scope: 'reservation', reservationId }, now);
    });
    p.screens.emit('changed');
    p.logger.info({ scope: reservationId === null ? 'locker' : 'reservation', wasLocked: result.wasLocked }, 'technician lifted a PIN lockout');
    return { scope: reservationId === null ? 'locker' : 'reservation', reservationId, wasLocked: result.wasLocked };
  }

  async #requireOpenable(id: number): Promise<void> {
    const p = this.#p;
    if (!p.bank.compartmentIds.includes(id)) throw new AdminRefusal('UNKNOWN_COMPARTMENT', `no compartment ${id} (this locker has ${describeIds(p.bank.compartmentIds)})`);
    const inflight = await p.store.inflight();
    if (inflight.some((entry) => entry.compartmentId === id)) {
      throw new AdminRefusal('IN_USE', `compartment ${id} is in a customer's journey right now: wait until it is finished`);
    }
  }

  async #skipReason(id: number, includeOccupied: boolean): Promise<string | null> {
    const p = this.#p;
    if ((await p.store.inflight()).some((entry) => entry.compartmentId === id)) return "in a customer's journey";
    const compartment = await p.store.compartment(id);
    if (!compartment || compartment.state === 'free' || includeOccupied) return null;
    return `${compartment.state}: name it with --include-occupied to test it`;
  }

  /** Intent, pulse, outcome: the store knows of the open before the lock moves. */
  async #auditedOpen(id: number, detail: Record<string, unknown>): Promise<OpenOutcome> {
    const p = this.#p;
    const holder = (await p.store.compartment(id))?.reservationId ?? null;
    const intentId = await p.store.transaction((tx) =>
      tx.audit({ compartmentId: id, action: 'open', phase: 'intent', actor: 'technician', reservationId: holder, result: null, detail }),
    );
    const outcome = await p.bank.open(id);
    await p.store.transaction((tx) =>
      tx.audit({
        compartmentId: id,
        action: 'open',
        phase: 'outcome',
        intentId,
        actor: 'technician',
        reservationId: holder,
        result: outcome.ok ? 'opened' : outcome.error,
        detail: outcome.ok ? { pulses: outcome.pulses, confirmed: outcome.confirmed } : { pulses: outcome.pulses, detail: outcome.detail },
      }),
    );
    return outcome;
  }

  /** True once the door reads closed; false after `timeoutMs`. */
  #waitClosed(id: number, timeoutMs: number): Promise<boolean> {
    const { bank, clock } = this.#p;
    if (bank.doorState(id) === 'closed') return Promise.resolve(true);
    return new Promise((resolve) => {
      const onClosed = (closed: number): void => {
        if (closed !== id) return;
        clock.clearTimeout(timer);
        bank.events.off('doorClosed', onClosed);
        resolve(true);
      };
      const timer = clock.setTimeout(() => {
        bank.events.off('doorClosed', onClosed);
        resolve(false);
      }, timeoutMs);
      bank.events.on('doorClosed', onClosed);
    });
  }
}

function describeIds(ids: readonly number[]): string {
  return ids.length === 0 ? 'none' : `${Math.min(...ids)}-${Math.max(...ids)}`;
}
