/**
 * Issue 13: from the PIN to the lock's pulse, one slow hash whatever the number of
 * reservations held, and exactly one durable commit (the intent) before the pulse. Counted,
 * not timed: a store that counts its transactions and a lock port that notes the count when
 * it is asked to open; scrypt calls counted by wrapping the pin index the journey uses.
 */
import builtinCrypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import t, { type Test } from 'tap';
import { hashPin, hashPinForUnit, indexOfHash, newUnitPinHashing } from '../../kiosk/core/pin.js';
import type { JourneyStore, LockPort } from '../../kiosk/core/ports.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { compartments, reservations } from '../../kiosk/store/repositories.js';
import { EventEmitter } from 'node:events';
import type { LockBankEvents } from '../../controller/lock-bank.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import type { Journeys } from '../../kiosk/core/journeys.js';
import { pinJourneys } from '../helpers/pin-journeys.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const WALL = new Date('2025-03-14T06:00:00.000Z'); // 07:00 in Oslo
const UNIT = newUnitPinHashing({ N: 2 ** 10, r: 8, p: 1 });

interface SetupOptions {
  legacy?: number;
  /** The pickup's own hash is legacy (random salt, no index), as before the back office re-hashed it. */
  pickupLegacy?: boolean;
  /** Run once, right after the first read of PIN candidates has answered (whatever it is called). */
  afterFirstCandidateRead?: (db: Awaited<ReturnType<typeof openTempDb>>['db']) => Promise<void>;
}

async function setup(t: Test, held: number, options: SetupOptions = {}) {
  const { db } = await openTempDb(t);
  const clock = createFakeClock(0);
  const wallClock = () => new Date(WALL.getTime() + clock.now());
  const real = createJourneyStore(db, { wallClock, monoClock: () => clock.now(), bootId: 'boot' });
  let commits = 0;
  let candidateReads = 0;
  const hooked = Object.fromEntries(
    Object.entries(real)
      .filter(([name]) => /pincandidates/i.test(name) && name !== 'pinCandidatesByIds')
      .map(([name, read]) => [
        name,
        async (...args: unknown[]) => {
          const answer: unknown = await (read as (...a: unknown[]) => Promise<unknown>)(...args);
          candidateReads += 1;
          if (candidateReads === 1) await options.afterFirstCandidateRead?.(db);
          return answer;
        },
      ]),
  );
  const store: JourneyStore = {
    ...real,
    ...hooked,
    transaction: async (fn) => {
      const result = await real.transaction(fn);
      commits += 1;
      return result;
    },
  };
  // The lock: notes how many commits there were when asked to pulse, and opens at once (the
  // lock bank's own timing is tested with it; here only the order of writes matters).
  const commitsAtPulse: number[] = [];
  const opened = new Set<number>();
  const locks: LockPort = {
    open: async (compartment) => {
      commitsAtPulse.push(commits);
      opened.add(compartment);
      return { ok: true, compartment, pulses: 1, confirmed: true, alreadyOpen: false };
    },
    doorState: (compartment) => (opened.has(compartment) ? 'open' : 'closed'),
    events: new EventEmitter<LockBankEvents>(),
  };
  // The pickup whose PIN is typed, in compartment 3; around it, `held` other reservations of
  // every kind, all with unit hashes of other PINs (and `legacy` with per-reservation salts).
  const now = wallClock();
  const hashOf = (i: number) => hashPinForUnit(String(200_000 + i), UNIT);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 16, now);
    const pinHash = options.pickupLegacy ? await hashPin('482913', { N: 2 ** 10, r: 8, p: 1 }) : await hashPinForUnit('482913', UNIT);
    await reservations.upsert(tx, sampleReservation({ id: 'p', code: 'P', kind: 'pickup', status: 'ready', compartmentId: 3, pinHash, pinIndex: options.pickupLegacy ? null : indexOfHash(pinHash, UNIT) }));
    await compartments.setState(tx, 3, { state: 'occupied', reservationId: 'p' }, now);
    for (let i = 0; i < held; i += 1) {
      const other = await hashOf(i);
      const kind = i % 2 ? 'dropoff' : 'pickup';
      await reservations.upsert(tx, sampleReservation({ id: `r${i}`, code: `C${i}`, kind, status: i % 3 ? 'booked' : 'collected', pinHash: other, pinIndex: indexOfHash(other, UNIT) }));
    }
    for (let i = 0; i < (options.legacy ?? 0); i += 1) {
      await reservations.upsert(tx, sampleReservation({ id: `l${i}`, code: `L${i}`, kind: 'dropoff', appointmentDate: '2025-03-14', pinHash: await hashPin(String(300_000 + i), { N: 2 ** 10, r: 8, p: 1 }), pinIndex: null }));
    }
  });
  const journeys = pinJourneys({ store, locks, pinHashing: UNIT, clock, wallClock, timeZone: 'Europe/Oslo' });
  t.teardown(() => journeys.stop());
  const dispatch = (action: Parameters<Journeys['dispatch']>[0]) => journeys.dispatch(action);
  return { journeys, dispatch, commitsAtPulse, commits: () => commits, db };
}

for (const held of [10, 1000]) {
  t.test(`pickup PIN to pulse with ${held} reservations held: one commit before the pulse`, async (t) => {
    const f = await setup(t, held);
    await f.journeys.dispatch({ type: 'start', journey: 'pickup' });
    const before = f.commits();
    const view = await f.dispatch({ type: 'pin', pin: '482913' });
    t.match(view, { step: 'take-key', compartment: 3 });
    t.same(f.commitsAtPulse.map((n) => n - before), [1], 'exactly one durable commit (the intent) before the pulse');
    t.ok(f.commits() - before >= 3, 'the outcome, the timeline and the end of the PIN streak follow it');
    const timeline = await f.db.all<{ event: string }>("SELECT event FROM reservation_timeline WHERE reservation_id = 'p' ORDER BY id");
    t.same(timeline.map((row) => row.event), ['compartment-opened', 'identified'], 'identified is still recorded, after the pulse');
  });
}

t.test('the typed PIN costs one scrypt whatever is held; only legacy hashes cost one each', async (t) => {
  const { scryptCalls } = await countScrypt(async () => {
    const f = await setup(t, 1000);
    await f.journeys.dispatch({ type: 'start', journey: 'pickup' });
    return f;
  }, async (f) => {
    await f.dispatch({ type: 'pin', pin: '482913' });
  });
  t.equal(scryptCalls, 1, 'one scrypt with 1,000 reservations held');
  const legacy = await countScrypt(async () => {
    const f = await setup(t, 10, { legacy: 4 });
    await f.journeys.dispatch({ type: 'start', journey: 'pickup' });
    return f;
  }, async (f) => {
    await f.dispatch({ type: 'pin', pin: '482913' });
  });
  t.equal(legacy.scryptCalls, 5, 'one for the index, one per legacy drop-off of today');
});

t.test('a PIN typed while the back office re-hashes its reservation (legacy -> unit hash) still opens', async (t) => {
  // Seen under load in the integration suite: the back office re-hashes every live reservation
  // once the unit publishes its salt. Read by index, then re-hashed, then read as legacy, the
  // reservation was on neither side: its right PIN was refused as wrong (and counted against
  // the customer). The candidates are now read in one statement.
  const f = await setup(t, 10, {
    pickupLegacy: true,
    afterFirstCandidateRead: async (db) => {
      const pinHash = await hashPinForUnit('482913', UNIT);
      await db.run('UPDATE reservations SET pin_hash = ?, pin_index = ? WHERE id = ?', [pinHash, indexOfHash(pinHash, UNIT), 'p']);
    },
  });
  await f.journeys.dispatch({ type: 'start', journey: 'pickup' });
  const view = await f.dispatch({ type: 'pin', pin: '482913' });
  t.match(view, { step: 'take-key', compartment: 3 }, 'the right PIN opened its compartment');
  const row = await f.db.get<{ pin_index: string | null }>("SELECT pin_index FROM reservations WHERE id = 'p'");
  t.not(row?.pin_index ?? null, null, 'the re-hash did land during the lookup');
});

/**
 * Counts node:crypto scrypt calls made by `measured` (after `prepare`): the builtin's function
 * is wrapped and the ES module bindings re-synced, so pin.ts's own import sees the wrapper.
 */
async function countScrypt<T>(prepare: () => Promise<T>, measured: (value: T) => Promise<void>): Promise<{ scryptCalls: number }> {
  const value = await prepare();
  const crypto = builtinCrypto as unknown as { scrypt: (...args: unknown[]) => void };
  const original = crypto.scrypt;
  let calls = 0;
  crypto.scrypt = (...args: unknown[]) => {
    calls += 1;
    original(...args);
  };
  syncBuiltinESMExports();
  try {
    await measured(value);
  } finally {
    crypto.scrypt = original;
    syncBuiltinESMExports();
  }
  return { scryptCalls: calls };
}
