/** A work order's milestones (test/reference-backoffice/work-order-timeline.ts) from its two reservations' timelines. */
import t from 'tap';
import { workOrderTimelines } from '../reference-backoffice/work-order-timeline.js';

const at = (minute: number) => `2026-11-28T08:${String(minute).padStart(2, '0')}:00.000Z`;

t.test('the whole journey of a work order, drop-off to pickup', async (t) => {
  const timelines = workOrderTimelines([
    { id: 'd', kind: 'dropoff', workOrder: 'WO-1', createdAt: at(0), timeline: [
      { at: at(1), event: 'created', detail: {} },
      { at: at(5), event: 'key.deposited', detail: { compartment: 3 } },
      { at: at(20), event: 'key.retrieved', detail: { compartment: 3, by: 'Bay 3' } },
    ] },
    { id: 'p', kind: 'pickup', workOrder: 'WO-1', createdAt: at(2), timeline: [
      { at: at(40), event: 'key.returned', detail: { compartment: 7, by: 'Bay 3' } },
      { at: at(55), event: 'key.collected', detail: { compartment: 7 } },
    ] },
  ]);
  t.same(timelines['WO-1'], [
    { stage: 'in-workshop', at: at(0), detail: null },
    { stage: 'key-dropped', at: at(5), detail: 'compartment 3' },
    { stage: 'collected-by-mechanic', at: at(20), detail: 'Bay 3' },
    { stage: 'returned', at: at(40), detail: 'Bay 3 · compartment 7' },
    { stage: 'collected-by-customer', at: at(55), detail: null },
  ]);
});

t.test('what has not happened yet has no time; work orders are kept apart', async (t) => {
  const timelines = workOrderTimelines([
    { id: 'd1', kind: 'dropoff', workOrder: 'WO-1', createdAt: at(0), timeline: [{ at: at(5), event: 'key.deposited', detail: { compartment: 1 } }] },
    { id: 'd2', kind: 'dropoff', workOrder: 'WO-2', createdAt: at(1), timeline: [] },
  ]);
  t.same(timelines['WO-1']?.map((m) => m.at), [at(0), at(5), null, null, null]);
  t.same(timelines['WO-2']?.map((m) => m.at), [at(1), null, null, null, null]);
});
