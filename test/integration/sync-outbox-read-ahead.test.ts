/**
 * The outbox sender reads events in batches ahead of its window (kiosk/sync/outbox-sender.ts):
 * once the window is full, each ack frees a place or two, and reading only those would cost a
 * query per event (what a drain of 10,000 paid; the time is test/bench/outbox-drain.ts's). The
 * events still go out once each, in order, and a new connection starts from its welcome's
 * ackedSeq, not from what was read ahead for the old one.
 */
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import type { EventMessage } from '../../kiosk/sync/messages.js';
import { OutboxSender } from '../../kiosk/sync/outbox-sender.js';
import { openTempDb } from '../helpers/store.js';

const EVENTS = 300;
const WINDOW = 10;
const BATCH = 200;

async function outboxWith(t: Parameters<typeof openTempDb>[0]): Promise<{ db: Db; reads: () => number }> {
  const { db } = await openTempDb(t);
  const store = createJourneyStore(db, { wallClock: () => new Date(), monoClock: () => 1, bootId: 'boot' });
  await store.transaction(async (tx) => {
    for (let i = 1; i <= EVENTS; i += 1) await tx.event('compartment.opened', { compartment: (i % 4) + 1, reservationId: `r-${i}`, purpose: 'dropoff', confirmed: true });
  });
  let reads = 0;
  const counted: Db = {
    path: db.path,
    heldForMs: () => db.heldForMs(),
    run: (sql, params) => db.run(sql, params),
    get: (sql, params) => db.get(sql, params),
    all: (sql, params) => {
      if (/FROM outbox WHERE seq > \? ORDER BY seq LIMIT/.test(sql)) reads += 1;
      return db.all(sql, params);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    backup: (path) => db.backup(path),
    close: () => db.close(),
  };
  return { db: counted, reads: () => reads };
}

/** Seqs per corked burst (outbox-sender sends each burst inside `corked`), and any sent outside one. */
interface Bursts {
  corked: number[][];
  outside: number[];
}

function sender(db: Db, sent: EventMessage[], connected: () => boolean, bursts: Bursts = { corked: [], outside: [] }): OutboxSender {
  let inBurst = false;
  return new OutboxSender({
    db,
    send: (message) => {
      if (!connected()) return false;
      sent.push(message);
      if (inBurst) bursts.corked.at(-1)?.push(message.seq);
      else bursts.outside.push(message.seq);
      return true;
    },
    corked: (sends) => {
      bursts.corked.push([]);
      inBurst = true;
      try {
        return sends();
      } finally {
        inBurst = false;
      }
    },
    complain: () => undefined,
    maxInFlight: WINDOW,
    stampTrusted: () => true,
    logger: createSilentLogger(),
    batchSize: BATCH,
  });
}

t.test('a drain through a small window acked one event at a time reads the outbox once per batch, not once per ack', async (t) => {
  const { db, reads } = await outboxWith(t);
  const sent: EventMessage[] = [];
  const s = sender(db, sent, () => true);
  await s.onWelcome(0);
  await s.idle();
  // Bounded: one ack per event.
  for (let acked = 0; acked < EVENTS && acked < sent.length; ) {
    acked += 1;
    await s.onAck(acked);
    await s.idle();
  }
  t.same(sent.map((m) => m.seq), Array.from({ length: EVENTS }, (_, i) => i + 1), 'every event once, in order');
  t.ok(reads() <= Math.ceil(EVENTS / BATCH) + 2, `${reads()} outbox reads for ${EVENTS} events (one per ack would be ~${EVENTS - WINDOW})`);
});

t.test('what was read ahead for a connection is dropped with it: the next starts from its welcome', async (t) => {
  const { db } = await outboxWith(t);
  const sent: EventMessage[] = [];
  let up = true;
  const bursts: Bursts = { corked: [], outside: [] };
  const s = sender(db, sent, () => up, bursts);
  await s.onWelcome(0);
  await s.idle();
  t.same(sent.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'a window full; the rest of the batch waits');
  t.same(bursts.corked, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], 'the window went out as one corked burst (one write)');
  await s.onAck(3);
  await s.idle();
  t.equal(sent.length, 13);
  t.same(bursts.corked.at(-1), [11, 12, 13], 'the places an ack freed, as one burst');
  t.same(bursts.outside, [], 'no event sent outside a burst');
  up = false;
  s.onDisconnected();
  sent.length = 0;
  up = true;
  // The back office got 1..5 (its ack of 4 and 5 was lost with the connection).
  await s.onWelcome(5);
  await s.idle();
  t.same(sent.map((m) => m.seq), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 'again from ackedSeq + 1, not from what was read for the old connection');
});

t.test('the connection goes in the middle of a burst: only what went out waits for an ack, and the next connection sends the rest, once each', async (t) => {
  const { db } = await outboxWith(t);
  const sent: EventMessage[] = [];
  let frames = 4; // the socket takes four frames of the first burst, then it is gone
  const s = sender(db, sent, () => frames-- > 0);
  await s.onWelcome(0);
  await s.idle();
  t.same(sent.map((m) => m.seq), [1, 2, 3, 4], 'the burst stopped at the first frame the socket refused');
  t.equal(s.inFlight, 4, 'only those four wait for an ack');
  s.onDisconnected();
  sent.length = 0;
  frames = Number.POSITIVE_INFINITY;
  // The back office got 1 and 2; 3 and 4 were still in the corked write when the socket went.
  await s.onWelcome(2);
  await s.idle();
  t.same(sent.map((m) => m.seq), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'from ackedSeq + 1: nothing skipped, nothing twice');
});

t.test('acks read together free their places for one refill, sent as one burst', async (t) => {
  const { db } = await outboxWith(t);
  const sent: EventMessage[] = [];
  const bursts: Bursts = { corked: [], outside: [] };
  const s = sender(db, sent, () => true, bursts);
  await s.onWelcome(0);
  await s.idle();
  // ws hands over the frames of one TCP read in one synchronous loop: three acks, no await between.
  const taken = [s.onAck(1), s.onAck(2), s.onAck(3)];
  t.equal(sent.length, 10, 'nothing refilled while the acks are still being taken');
  await Promise.all(taken);
  await s.idle();
  t.same(bursts.corked, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11, 12, 13]], 'one refill of three, not three of one');
  t.same(bursts.outside, []);
});
