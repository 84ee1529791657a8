/**
 * The README's demo appointments (demo.ts) put into the master copy, dated today, for one unit,
 * as staff would make them: each with its hash for the unit, its upsert and payment status.
 */
import { localDate } from '../../kiosk/core/dates.js';
import { normalisePlate } from '../../kiosk/core/normalise.js';
import { DEMO_APPOINTMENTS } from './demo.js';
import { bad } from './errors.js';
import { hashFor } from './pins.js';
import { insertNew } from './reservation-ops.js';
import type { ServiceContext } from './service-context.js';
import { reservations, units } from './store.js';

/** Seeds the demo appointments for `unitId`; those that already exist are left alone. Returns how many were added. */
export async function seedDemo(ctx: ServiceContext, unitId: string): Promise<number> {
  const today = localDate(ctx.now(), ctx.timeZone);
  const now = ctx.now();
  const inserted = await ctx.db.transaction(async (tx) => {
    if (!(await units.get(tx, unitId))) throw bad('unitId', 'is not a registered unit');
    let count = 0;
    for (const demo of DEMO_APPOINTMENTS) {
      if (await reservations.get(tx, demo.id)) continue;
      const pinHash = await hashFor(ctx, tx, unitId, demo.pin);
      const plate = normalisePlate(demo.plateDisplay, ctx.country);
      const fields = { ...demo, unitId, plate: plate.ok ? plate.plate : demo.plateDisplay.replace(/\s/g, ''), appointmentDate: today, pinHash };
      await insertNew(ctx, tx, fields, now, { version: 1, demo: true });
      count += 1;
    }
    return count;
  });
  if (inserted > 0) {
    ctx.log.info({ unitId, inserted }, 'demo reservations seeded');
    ctx.committed(unitId);
  }
  return inserted;
}
