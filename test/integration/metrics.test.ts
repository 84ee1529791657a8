/**
 * /metrics scraped from a running test locker (simulator + reference back office): Prometheus
 * text format, on loopback only, with opens by outcome, door events, board health, PIN
 * failures and lockouts, outbox depth and lag, link state and reconnects, event-loop lag, RSS.
 */
import t from 'tap';
import { decodeConfig } from '../../kiosk/config/load.js';
import { act, JAM_TEST_LOCKS, leaveDone, ok, until, withLocker } from '../helpers/locker.js';

async function scrape(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one sample (`name{labels} value`), or null when it is not there. */
function sample(text: string, name: string, labels = ''): number | null {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}"\\.]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

t.test('what a scrape shows, and how it follows the locker', async (t) => {
  const locker = await withLocker(t, { locks: JAM_TEST_LOCKS });
  const url = locker.urls.metrics;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'on loopback, port 0 in tests');
  if (!url) return;

  const first = await scrape(url);
  t.equal(first.status, 200);
  t.match(first.type, /^text\/plain; version=0\.0\.4/, 'Prometheus text format');
  t.equal(sample(first.text, 'keylocker_board_online', 'board="0"'), 1, 'board 0 answers');
  t.equal(sample(first.text, 'keylocker_backoffice_link_state', 'state="online"'), 1, 'link online');
  t.equal(sample(first.text, 'keylocker_backoffice_link_state', 'state="offline"'), 0);
  t.equal(sample(first.text, 'keylocker_backoffice_connections_total'), 1, 'one connection since start');
  t.equal(sample(first.text, 'keylocker_outbox_pending'), 0, 'nothing waiting');
  t.equal(sample(first.text, 'keylocker_outbox_lag_seconds'), 0);
  t.equal(sample(first.text, 'keylocker_pin_lockout_seconds'), 0);
  t.type(sample(first.text, 'nodejs_eventloop_lag_seconds'), 'number', 'event-loop lag');
  t.ok((sample(first.text, 'process_resident_memory_bytes') ?? 0) > 10_000_000, 'RSS');
  t.equal(sample(first.text, 'keylocker_watchdog_healthy'), 1);

  // A drop-off: one open, the door opening on command and closing.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: null, remark: null });
  await ok(t, locker, { type: 'confirm' });
  locker.hardware.sim?.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'the door to close');
  await ok(t, locker, { type: 'confirm' });
  await leaveDone(t, locker);
  // A jammed lock, a forced door, a board gone for a moment.
  locker.hardware.sim?.setJammed(1, true);
  t.match(await locker.hardware.bank.open(2), { ok: false, error: 'JAMMED' });
  locker.hardware.sim?.forceDoor(9);
  await until(() => locker.hardware.bank.doorState(10) === 'open', 'the forced door');
  locker.hardware.sim?.setOffline(true);
  await until(() => !locker.hardware.bank.boardStatus()[0]?.online, 'the board offline');
  const offline = await scrape(url);
  t.equal(sample(offline.text, 'keylocker_board_online', 'board="0"'), 0, 'board 0 not answering');
  locker.hardware.sim?.setOffline(false);
  await until(() => Boolean(locker.hardware.bank.boardStatus()[0]?.online), 'the board back');

  // Wrong PINs up to the locker-wide back-off.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  for (const pin of ['900001', '900002', '900003', '900004', '900005']) await act(locker, { type: 'pin', pin });

  const after = (await scrape(url)).text;
  t.equal(sample(after, 'keylocker_opens_total', 'outcome="opened"'), 1, 'the drop-off');
  t.equal(sample(after, 'keylocker_opens_total', 'outcome="JAMMED"'), 1);
  t.equal(sample(after, 'keylocker_door_events_total', 'event="opened_command"'), 1, 'a door opened on command');
  t.ok((sample(after, 'keylocker_door_events_total', 'event="closed"') ?? 0) >= 1);
  t.equal(sample(after, 'keylocker_door_events_total', 'event="forced"'), 1, 'the forced door');
  t.equal(sample(after, 'keylocker_board_transitions_total', 'to="offline"'), 1);
  t.equal(sample(after, 'keylocker_board_transitions_total', 'to="online"'), 1);
  t.equal(sample(after, 'keylocker_pin_failures_total'), 5);
  t.equal(sample(after, 'keylocker_pin_lockouts_total', 'scope="locker"'), 1);
  t.ok((sample(after, 'keylocker_pin_lockout_seconds') ?? 0) > 0, 'the back-off is running');
  t.equal(sample(after, 'keylocker_lock_pulses_total'), 3, 'one pulse for the drop-off, two for the jammed lock');
  t.notMatch(after, /demo-dropoff|123456|AB12345|Nordmann/, 'no reservation, PIN, plate or name in any label');

  // The back office goes away: the link and the outbox show it.
  await locker.backOffice.stop();
  await until(() => locker.sync.state !== 'online', 'the link to drop');
  locker.hardware.sim?.forceDoor(11);
  await until(async () => (await locker.store.compartment(12))?.state === 'quarantined', 'the event to be recorded');
  const down = (await scrape(url)).text;
  t.equal(sample(down, 'keylocker_backoffice_link_state', 'state="online"'), 0);
  t.equal(sample(down, 'keylocker_backoffice_disconnects_total'), 1, 'one disconnect');
  t.ok((sample(down, 'keylocker_outbox_pending') ?? 0) >= 1, 'events waiting');

  const other = await scrape(url.replace('/metrics', '/health'));
  t.equal(other.status, 404, 'only /metrics');
});

t.test('the config keeps metrics on loopback', async (t) => {
  t.throws(() => decodeConfig({ metrics: { host: '0.0.0.0' } }, null), /key "metrics\.host" has value "0\.0\.0\.0": must be a loopback address/);
  t.equal(decodeConfig({}, null).metrics.port, 9464, 'served by default, on 127.0.0.1:9464');
  t.equal(decodeConfig({ metrics: { port: null } }, null).metrics.port, null, 'or not at all');
});

t.test('a port already taken: the locker runs on without metrics', async (t) => {
  const first = await withLocker(t);
  const port = Number(new URL(first.urls.metrics ?? 'http://x:1').port);
  await t.test('a second locker on the same metrics port', async (t) => {
    const second = await withLocker(t, { metrics: { port } });
    t.equal(second.urls.metrics, null, 'no metrics');
    t.equal((await fetch(second.urls.health)).status, 200, 'the locker serves');
  });
});
