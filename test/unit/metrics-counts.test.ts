/**
 * The metrics keep their counts from start and load prom-client only to format them at a scrape
 * (kiosk/metrics/metrics.ts): what happened before the first scrape is in it, a scrape does not
 * add to the counts it copies, and a stopped instance refuses to render.
 */
import { EventEmitter } from 'node:events';
import t from 'tap';
import type { LockBankEvents } from '../../controller/lock-bank.js';
import { createMetrics } from '../../kiosk/metrics/metrics.js';

function metrics() {
  const events = new EventEmitter<LockBankEvents>();
  const m = createMetrics({
    bank: { events, boardStatus: () => [] },
    outbox: async () => ({ pending: 3, lagS: null }),
    linkState: () => null,
    lockedFor: async () => null,
  });
  t.teardown(() => m.stop());
  return { events, m };
}

const value = (text: string, series: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
};

t.test('counts made before the first scrape are in it, and scrapes do not add to them', async (t) => {
  const { events, m } = metrics();
  events.emit('pulseStarted', 4, 300);
  events.emit('pulseStarted', 5, 300);
  events.emit('openOutcome', { ok: true, compartment: 4 } as never);
  const first = await m.render();
  t.match(first.contentType, /^text\/plain/);
  t.equal(value(first.text, 'keylocker_lock_pulses_total'), 2, 'two pulses before prom-client was loaded');
  t.equal(value(first.text, 'keylocker_opens_total{outcome="opened"}'), 1);
  t.equal(value(first.text, 'keylocker_pin_failures_total'), 0, 'a counter without labels shows 0 before its first count');
  t.equal(value(first.text, 'keylocker_outbox_pending'), 3);
  t.equal(value((await m.render()).text, 'keylocker_lock_pulses_total'), 2, 'a second scrape copies the counts again, it does not add them');
  events.emit('pulseStarted', 6, 300);
  t.equal(value((await m.render()).text, 'keylocker_lock_pulses_total'), 3, 'and follows what happens after');
});

t.test('a stopped instance counts nothing more and refuses to render', async (t) => {
  const { events, m } = metrics();
  await m.render();
  m.stop();
  t.equal(events.listenerCount('pulseStarted'), 0, 'its listeners are gone');
  await t.rejects(m.render(), /metrics stopped/);
});

t.test('scrapes that arrive together share one load of prom-client; a failed load is tried again at the next', async (t) => {
  const events = new EventEmitter<LockBankEvents>();
  let loads = 0;
  let failNext = true;
  const m = createMetrics({ bank: { events, boardStatus: () => [] }, outbox: async () => ({ pending: 0, lagS: null }), linkState: () => null, lockedFor: async () => null }, async () => {
    loads += 1;
    if (failNext) {
      failNext = false;
      throw new Error('cannot load prom-client');
    }
    return import('prom-client');
  });
  t.teardown(() => m.stop());
  events.emit('pulseStarted', 4, 300);
  await t.rejects(m.render(), /cannot load prom-client/, 'the scrape fails plainly');
  const texts = (await Promise.all(Array.from({ length: 5 }, () => m.render()))).map((r) => r.text);
  t.equal(loads, 2, 'one failed load, then one load for five scrapes arriving together');
  for (const text of texts) t.equal(value(text, 'keylocker_lock_pulses_total'), 1, 'and each shows the one pulse');
});
