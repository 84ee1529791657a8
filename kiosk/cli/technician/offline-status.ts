/**
 * `lockerctl status` with the service stopped: what the store says (a copy of it, see
 * store-copy.ts). The boards, doors and the link are unknown: nothing is polling them.
 */
import type { ResolvedConfig } from '../../config/load.js';
import { compartments, outbox } from '../../store/repositories.js';
import { softwareVersion } from '../../version.js';
import { withStoreCopy } from './store-copy.js';

const CONTENT: Record<string, string> = {
  free: 'empty',
  reserved: 'held for a reservation',
  occupied: 'key',
  quarantined: 'uncertain (quarantined)',
  disabled: 'out of service',
};

export async function offlineStatus(config: ResolvedConfig, now: Date): Promise<Record<string, unknown>> {
  return withStoreCopy(config.dataDir, async (db) => {
    const [rows, pending, oldest] = await Promise.all([compartments.list(db), outbox.pendingCount(db), outbox.oldestPending(db)]);
    return {
      service: 'stopped',
      unitId: config.unitId,
      version: softwareVersion(),
      uptimeS: null,
      hardware: config.hardware.kind,
      boards: [],
      compartments: rows.map((c) => ({ id: c.id, state: c.state, door: 'unknown', content: CONTENT[c.state] ?? c.state, reservationId: c.reservationId, quarantineReason: c.quarantineReason, inJourney: false })),
      backOffice: {
        provisioned: config.backOffice.url !== null,
        url: config.backOffice.url,
        state: 'stopped',
        lastConnectedAt: null,
        outboxPending: pending,
        outboxLagS: oldest ? Math.max(0, Math.round((now.getTime() - Date.parse(oldest.wallTime)) / 1000)) : null,
        refusedEvents: null,
      },
      clock: { now: now.toISOString(), timeZone: config.timeZone, synchronised: null, offsetMs: null },
      pinLockout: null,
    };
  });
}
