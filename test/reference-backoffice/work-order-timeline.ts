/**
 * A work order's journey through the workshop, as staff and mechanics follow it (issue 10):
 * car in the workshop (its drop-off booked), key dropped at the locker, collected by the
 * mechanic, returned to the locker for pickup, collected by the customer. A work order's
 * drop-off and pickup are two reservations; each milestone comes from their timelines (the
 * locker's events, applied in apply-event.ts). Pure: the same rows give the same milestones.
 */
import type { MasterReservation, TimelineEntry } from './store.js';

export type MilestoneStage = 'in-workshop' | 'key-dropped' | 'collected-by-mechanic' | 'returned' | 'collected-by-customer';

export interface Milestone {
  stage: MilestoneStage;
  /** When it happened (the locker's time when synchronised), or null: not yet. */
  at: string | null;
  /** Who or where, for people: "Bay 3", "compartment 4". */
  detail: string | null;
}

export const STAGES: readonly MilestoneStage[] = ['in-workshop', 'key-dropped', 'collected-by-mechanic', 'returned', 'collected-by-customer'];

type Reservation = Pick<MasterReservation, 'id' | 'kind' | 'workOrder' | 'createdAt'> & { timeline: readonly TimelineEntry[] };

/** Milestones of every work order among `reservations`, keyed by work order, in STAGES order. */
export function workOrderTimelines(reservations: readonly Reservation[]): Record<string, Milestone[]> {
  const byOrder = new Map<string, Reservation[]>();
  for (const r of reservations) byOrder.set(r.workOrder, [...(byOrder.get(r.workOrder) ?? []), r]);
  const out: Record<string, Milestone[]> = {};
  for (const [workOrder, list] of byOrder) {
    const dropoff = list.find((r) => r.kind === 'dropoff') ?? null;
    const pickup = list.find((r) => r.kind === 'pickup') ?? null;
    const first = (r: Reservation | null, event: string) => r?.timeline.find((entry) => entry.event === event) ?? null;
    const last = (r: Reservation | null, event: string) => [...(r?.timeline ?? [])].reverse().find((entry) => entry.event === event) ?? null;
    const dropped = first(dropoff, 'key.deposited');
    const retrieved = first(dropoff, 'key.retrieved');
    const returned = last(pickup, 'key.returned') ?? (first(pickup, 'key.deposited') as TimelineEntry | null);
    const collected = first(pickup, 'key.collected');
    const where = (entry: TimelineEntry | null) => (typeof entry?.detail.compartment === 'number' ? `compartment ${entry.detail.compartment}` : null);
    const who = (entry: TimelineEntry | null) => (typeof entry?.detail.by === 'string' ? entry.detail.by : null);
    out[workOrder] = [
      { stage: 'in-workshop', at: dropoff?.createdAt ?? pickup?.createdAt ?? null, detail: null },
      { stage: 'key-dropped', at: dropped?.at ?? null, detail: where(dropped) },
      { stage: 'collected-by-mechanic', at: retrieved?.at ?? null, detail: who(retrieved) },
      { stage: 'returned', at: returned?.at ?? null, detail: [who(returned), where(returned)].filter(Boolean).join(' · ') || null },
      { stage: 'collected-by-customer', at: collected?.at ?? null, detail: null },
    ];
  }
  return out;
}
