/**
 * The simulator page's API (only with the `sim` driver): what the 16 simulated compartments
 * look like, and buttons that play the people and faults around them.
 */
import { Router } from 'express';
import type { SimBoard } from '../../controller/drivers/sim.js';
import type { CompartmentWiring } from '../../controller/lock-bank.js';
import { DomainError } from '../errors.js';
import type { JourneyStore } from '../core/ports.js';

export interface SimCompartment {
  id: number;
  energised: boolean;
  doorOpen: boolean;
  switchReads: boolean;
  jammed: boolean;
  switchStuck: boolean;
  itemPresent: boolean;
  state: string;
  label: string | null;
}

const ACTIONS = ['closeDoor', 'forceDoor', 'jam', 'unjam', 'stickSwitch', 'unstickSwitch', 'setItem', 'clearItem', 'setOffline', 'setOnline'] as const;
type SimAction = (typeof ACTIONS)[number];

export async function simSnapshot(sim: SimBoard, wiring: readonly CompartmentWiring[], store: JourneyStore): Promise<{ compartments: SimCompartment[]; boardOffline: boolean }> {
  const channels = sim.snapshot();
  const rows = new Map((await store.compartments()).map((c) => [c.id, c]));
  const compartments = wiring.map((w) => {
    const channel = channels[w.lock.channel];
    const row = rows.get(w.id);
    return {
      id: w.id,
      energised: channel?.energised ?? false,
      doorOpen: channel?.doorOpen ?? false,
      switchReads: channel?.switchReads ?? false,
      jammed: channel?.jammed ?? false,
      switchStuck: channel?.switchStuck ?? false,
      itemPresent: channel?.itemPresent ?? false,
      state: row?.state ?? 'free',
      label: row?.quarantineReason ?? null,
    };
  });
  return { compartments, boardOffline: sim.offline };
}

export function simRouter(sim: SimBoard, wiring: readonly CompartmentWiring[], store: JourneyStore): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json(await simSnapshot(sim, wiring, store));
  });
  router.post('/', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const action = body.action;
    if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
      throw new DomainError('BAD_ACTION', `action must be one of ${ACTIONS.join(', ')}`);
    }
    applySimAction(sim, wiring, action as SimAction, body.compartment);
    res.json(await simSnapshot(sim, wiring, store));
  });
  return router;
}

function applySimAction(sim: SimBoard, wiring: readonly CompartmentWiring[], action: SimAction, compartment: unknown): void {
  if (action === 'setOffline' || action === 'setOnline') {
    sim.setOffline(action === 'setOffline');
    return;
  }
  const w = wiring.find((c) => c.id === compartment);
  if (!w) throw new DomainError('BAD_ACTION', 'compartment must be the number of a compartment');
  const lock = w.lock.channel;
  const door = w.door?.channel ?? lock;
  switch (action) {
    case 'closeDoor':
      return sim.closeDoor(door);
    case 'forceDoor':
      return sim.forceDoor(door);
    case 'jam':
    case 'unjam':
      return sim.setJammed(lock, action === 'jam');
    case 'stickSwitch':
      return sim.setSwitchStuck(door, sim.snapshot()[door]?.doorOpen ?? false);
    case 'unstickSwitch':
      return sim.setSwitchStuck(door, null);
    case 'setItem':
    case 'clearItem':
      return sim.setItemPresent(door, action === 'setItem');
  }
}
