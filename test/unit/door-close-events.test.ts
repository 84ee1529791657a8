/**
 * One closing, one `compartment.closed`. The lock bank reads a board from several places at
 * once (the poll, an input-change interrupt, an open's confirm loop); a bus that answers an
 * older query after a newer one (sysfs GPIO reads finish on libuv's thread pool in any order)
 * used to have the older "open" applied over the newer "closed": the door seemed to open again
 * without a command (a false `forced`, quarantining the compartment) and then to close a second
 * time (a second `compartment.closed`). These tests play exactly that bus.
 */
import { EventEmitter } from 'node:events';
import t from 'tap';
import { LockBank } from '../../controller/lock-bank.js';
import type { BoardInputs, ChannelRef, LockBoard, LockBoardEvents, PulseTiming } from '../../controller/lock-board.js';
import { Actuator } from '../../kiosk/core/actuator.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { compartments } from '../../kiosk/store/repositories.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { openTempDb } from '../helpers/store.js';

/**
 * One board, one door on channel 0. Each status query is answered only when the test says so,
 * with the door as it was when the query was asked: `answerNewestFirst` plays a bus that
 * finishes the latest query before the earlier ones.
 */
class OutOfOrderBoard implements LockBoard {
  readonly kind = 'sim' as const;
  readonly events = new EventEmitter<LockBoardEvents>();
  doorOpen = true;
  readonly #queries: { doorOpen: boolean; answer: (inputs: BoardInputs) => void }[] = [];

  async init(): Promise<void> {}
  async pulse(): Promise<void> {}
  effectivePulse(_lock: ChannelRef, requestedMs: number): PulseTiming {
    return { onMs: requestedMs, totalMs: requestedMs };
  }
  async allOff(): Promise<void> {}
  async close(): Promise<void> {}

  readInputs(): Promise<BoardInputs> {
    const doorOpen = this.doorOpen;
    return new Promise((answer) => this.#queries.push({ doorOpen, answer }));
  }

  get waiting(): number {
    return this.#queries.length;
  }

  /** Answers every query, newest first, until none is left (bounded). */
  async answerNewestFirst(): Promise<void> {
    for (let round = 0; round < 100; round += 1) {
      await flush();
      const query = this.#queries.pop();
      if (!query) return;
      query.answer({ doorOpen: new Map([[0, query.doorOpen]]), itemPresent: new Map() });
    }
    throw new Error('the bank kept asking');
  }
}

/** Lets promise callbacks run (no time passes: the clock is fake). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

async function startedBank(board: OutOfOrderBoard) {
  const clock = createFakeClock(1_000_000);
  const bank = new LockBank({
    board,
    compartments: [{ id: 1, lock: { board: 0, channel: 0 }, door: { board: 0, channel: 0 } }],
    pulseMs: 300,
    doorConfirmTimeoutMs: 2000,
    doorLeftOpenAlarmMs: 600_000,
    pollIntervalMs: 500,
    clock,
    logger: createSilentLogger(),
  });
  const seen: string[] = [];
  bank.events.on('doorOpened', (id, cause) => seen.push(`opened ${id} ${cause}`));
  bank.events.on('doorClosed', (id) => seen.push(`closed ${id}`));
  bank.events.on('forced', (id) => seen.push(`forced ${id}`));
  const started = bank.start();
  await board.answerNewestFirst();
  await started;
  return { bank, seen };
}

t.test('a query answered after a newer one does not reopen a closed door', async (t) => {
  const board = new OutOfOrderBoard();
  const { bank, seen } = await startedBank(board);
  t.same(seen, ['opened 1 found-open'], 'the door was open at start');

  // An interrupt while the door is still open, the door closes, a second interrupt.
  board.events.emit('inputsChanged', 0);
  await flush();
  board.doorOpen = false;
  board.events.emit('inputsChanged', 0);
  await board.answerNewestFirst();

  t.same(seen, ['opened 1 found-open', 'closed 1'], 'closed once; never opened again, never forced');
  t.equal(bank.doorState(1), 'closed');

  // Later reads agree: nothing more happens.
  board.events.emit('inputsChanged', 0);
  await board.answerNewestFirst();
  t.same(seen, ['opened 1 found-open', 'closed 1']);
  const stopping = bank.stop();
  await board.answerNewestFirst();
  await stopping;
});

t.test('through the actuator: one closing is one compartment.closed event and no compartment.forced', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 1, new Date()));
  const store = createJourneyStore(db, { wallClock: () => new Date(), monoClock: () => 0, bootId: 'boot-1' });
  const board = new OutOfOrderBoard();
  const { bank } = await startedBank(board);
  // Wired as kiosk/locker.ts wires them (the door was already open when these were attached).
  const actuator = new Actuator({ store, locks: bank, wallClock: () => new Date(), logger: createSilentLogger() });
  const writes: Promise<void>[] = [];
  bank.events.on('doorOpened', (id) => void actuator.doorOpened(id));
  bank.events.on('doorClosed', (id) => writes.push(actuator.doorClosed(id)));
  bank.events.on('forced', (id) => writes.push(actuator.forced(id)));
  await actuator.doorOpened(1);

  // The door (open since start) closes while reads overlap.
  board.events.emit('inputsChanged', 0);
  await flush();
  board.doorOpen = false;
  board.events.emit('inputsChanged', 0);
  await board.answerNewestFirst();
  board.events.emit('inputsChanged', 0);
  await board.answerNewestFirst();
  await Promise.all(writes);
  const rows = await db.all<{ type: string }>('SELECT type FROM outbox ORDER BY seq');
  t.same(rows.map((row) => row.type), ['compartment.closed'], 'one event; no compartment.forced, no quarantine');
  t.match(await compartments.get(db, 1), { state: 'free' });
  const stopping = bank.stop();
  await board.answerNewestFirst();
  await stopping;
});
