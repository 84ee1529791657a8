/**
 * Personal data is minimal and purged when no longer needed (DESIGN.md): a sweep, at start and
 * then on a schedule, removes
 * - from reservations that ended `personalDataDays` ago (collected, retrieved, cancelled, or a
 *   booking whose day passed without a visit): the driver's name, phones, e-mail, plate,
 *   remark and PIN hash; the row keeps its id, code, kind, work order, status and dates;
 * - their timelines, whole;
 * - from their events still waiting for the back office: the added phone and the remark;
 * - from the audit trail: which reservation an actuation was for and its detail, so the trail
 *   keeps compartment, time, actor and what the lock did;
 * and deletes events the back office acknowledged `ackedEventsDays` ago, and the mechanic
 * journey's one-time QR tokens a day after they were made (each lives 60 s; a nonce no longer
 * on file is refused like a used one, so forgetting it opens nothing).
 *
 * A reservation whose key may still be in a compartment (a compartment names it, or a journey
 * on it is in flight) is kept until a person has resolved it. The sweep trusts the wall clock
 * only when told it may (`clockTrusted`): a Pi without a real-time clock can boot in the
 * future, and purging by a wrong date loses what the back office has not yet received.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../logging.js';
import type { Db, Tx } from './db.js';
import * as outbox from './outbox.js';

export interface RetentionSettings {
  personalDataDays: number;
  ackedEventsDays: number;
  sweepIntervalMs: number;
}

export interface SweepResult {
  reservations: number;
  timelineRows: number;
  eventsRedacted: number;
  auditRows: number;
  ackedEventsDeleted: number;
  mechanicTokensDeleted: number;
}

/** Mechanic QR tokens are kept this long after they were made (they are valid for 60 s). */
export const MECHANIC_TOKEN_KEEP_MS = 24 * 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Fields of event payloads that may hold personal data (docs/protocol.md, "Events"). */
const PERSONAL_PAYLOAD_FIELDS = ['addedPhone', 'remark'] as const;

/** Ids of reservations that ended before `endedBefore` and still hold personal data. */
async function endedReservations(tx: Tx, endedBefore: Date): Promise<string[]> {
  const before = endedBefore.toISOString();
  const rows = await tx.all<{ id: string }>(
    `SELECT id FROM reservations r
     WHERE r.purged_at IS NULL
       AND ((r.status IN ('collected', 'retrieved', 'cancelled') AND r.updated_at < ?)
         OR (r.status = 'booked' AND r.appointment_date < ?))
       AND NOT EXISTS (SELECT 1 FROM compartments c WHERE c.reservation_id = r.id)
       AND NOT EXISTS (SELECT 1 FROM inflight i WHERE i.reservation_id = r.id)
     ORDER BY r.id`,
    [before, before.slice(0, 10)],
  );
  return rows.map((row) => row.id);
}

/** Removes the personal data of reservations that ended before `endedBefore` (one transaction). */
export async function purgePersonalData(tx: Tx, endedBefore: Date, now: Date): Promise<Omit<SweepResult, 'ackedEventsDeleted' | 'mechanicTokensDeleted'>> {
  const ids = await endedReservations(tx, endedBefore);
  const result = { reservations: 0, timelineRows: 0, eventsRedacted: 0, auditRows: 0 };
  // In slices: SQLite binds at most a few hundred parameters comfortably.
  for (let start = 0; start < ids.length; start += 200) {
    const slice = ids.slice(start, start + 200);
    const marks = slice.map(() => '?').join(', ');
    const reservations = await tx.run(
      `UPDATE reservations SET driver_name = '', phones = '[]', email = NULL, plate = '', plate_display = '',
         remark = NULL, pin_hash = '', pin_index = NULL, purged_at = ?
       WHERE id IN (${marks})`,
      [now.toISOString(), ...slice],
    );
    const timeline = await tx.run(`DELETE FROM reservation_timeline WHERE reservation_id IN (${marks})`, slice);
    const redact = PERSONAL_PAYLOAD_FIELDS.map((field) => `'$.${field}', NULL`).join(', ');
    const holds = PERSONAL_PAYLOAD_FIELDS.map((field) => `json_extract(payload, '$.${field}') IS NOT NULL`).join(' OR ');
    const events = await tx.run(
      `UPDATE outbox SET payload = json_set(json_replace(payload, ${redact}), '$.redacted', json('true'))
       WHERE acked_at IS NULL AND json_extract(payload, '$.reservationId') IN (${marks}) AND (${holds})`,
      slice,
    );
    const audit = await tx.run(`UPDATE audit_log SET reservation_id = NULL, detail = '{}' WHERE reservation_id IN (${marks})`, slice);
    result.reservations += reservations.changes;
    result.timelineRows += timeline.changes;
    result.eventsRedacted += events.changes;
    result.auditRows += audit.changes;
  }
  return result;
}

/** One sweep at `now`. */
export async function sweep(db: Db, now: Date, settings: Pick<RetentionSettings, 'personalDataDays' | 'ackedEventsDays'>): Promise<SweepResult> {
  return db.transaction(async (tx) => {
    const personal = await purgePersonalData(tx, new Date(now.getTime() - settings.personalDataDays * DAY_MS), now);
    const ackedEventsDeleted = await outbox.purgeAcked(tx, new Date(now.getTime() - settings.ackedEventsDays * DAY_MS));
    const tokens = await tx.run('DELETE FROM mechanic_tokens WHERE issued_at < ?', [new Date(now.getTime() - MECHANIC_TOKEN_KEEP_MS).toISOString()]);
    return { ...personal, ackedEventsDeleted, mechanicTokensDeleted: tokens.changes };
  });
}

export interface RetentionOptions {
  db: Db;
  clock: Clock;
  wallClock: () => Date;
  settings: RetentionSettings;
  logger: Logger;
  /** False while the wall clock cannot be trusted (not synchronised): the sweep waits. Default: always trusted. */
  clockTrusted?: () => boolean;
  /** Delay before the first sweep (default 10 s: start-up first). */
  firstSweepMs?: number;
}

export interface RunningRetention {
  /** One sweep now (also what the schedule runs); null when the clock is not trusted. */
  sweepNow(): Promise<SweepResult | null>;
  /** Resolves when the scheduled sweep running now (if any) has finished (tests, shutdown). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export function startRetention(options: RetentionOptions): RunningRetention {
  const { clock, logger } = options;
  let timer: unknown = null;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const sweepNow = async (): Promise<SweepResult | null> => {
    if (options.clockTrusted && !options.clockTrusted()) {
      logger.info('retention sweep skipped: the wall clock is not synchronised');
      return null;
    }
    const result = await sweep(options.db, options.wallClock(), options.settings);
    if (Object.values(result).some((n) => n > 0)) logger.info(result, 'retention sweep: personal data removed, acknowledged events deleted');
    return result;
  };
  const arm = (ms: number): void => {
    timer = clock.setTimeout(() => {
      timer = null;
      if (stopped) return;
      running = sweepNow()
        .catch((error: unknown) => logger.error({ err: String(error) }, 'retention sweep failed'))
        .finally(() => {
          if (!stopped) arm(options.settings.sweepIntervalMs);
        });
    }, ms);
  };
  arm(options.firstSweepMs ?? 10_000);

  return {
    sweepNow,
    settled: async () => {
      await running;
    },
    stop: async () => {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      await running;
    },
  };
}
