import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { ClockStatus } from '../../kiosk/sync/clock-status.js';

function recordingLogger(): { logger: pino.Logger; lines: { msg: string }[] } {
  const lines: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as { msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

t.test('the timesyncd flag file makes the clock trusted; its absence does not', async (t) => {
  const dir = t.testdir();
  const flag = join(dir, 'synchronized');
  let mono = 0;
  const { logger, lines } = recordingLogger();
  const status = new ClockStatus({ logger, monoClock: () => mono, bootId: 'b1', flagPath: flag });
  t.equal(status.synchronised, false);
  t.equal(status.synchronised, false);
  await writeFile(flag, '');
  t.equal(status.synchronised, false, 'the file is looked at no more than once a second');
  mono += 1000;
  t.equal(status.synchronised, true);
  mono += 1000;
  t.equal(status.synchronised, true);
  await rm(flag);
  mono += 1000;
  t.equal(status.synchronised, false);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(
    lines.map((l) => l.msg),
    ['wall clock not synchronised yet', 'wall clock synchronised', 'wall clock no longer synchronised'],
    'logged once per change',
  );
});

t.test("the back office's time within 5 s makes the clock trusted; stamps count only from then, in this boot", async (t) => {
  let mono = 100;
  let wall = new Date('2025-03-14T08:00:00.000Z');
  const { logger } = recordingLogger();
  const status = new ClockStatus({ logger, monoClock: () => mono, wallClock: () => wall, bootId: 'b1', flagPath: null });
  t.equal(status.synchronised, false);
  status.observeServerTime('2025-03-14T09:00:00.000Z');
  t.equal(status.synchronised, false, 'an hour off');
  t.equal(status.serverOffsetMs, -3_600_000);
  t.equal(status.bestWallTime().toISOString(), '2025-03-14T09:00:00.000Z', 'corrected by the offset while untrusted');
  t.equal(status.stampTrusted('b1', 50), false);

  mono = 200;
  wall = new Date('2025-03-14T09:00:01.000Z');
  status.observeServerTime('2025-03-14T09:00:04.500Z');
  t.equal(status.synchronised, true, '3.5 s off is close enough');
  t.equal(status.stampTrusted('b1', 150), false, 'stamped before the clock was trusted');
  t.equal(status.stampTrusted('b1', 250), true);
  t.equal(status.stampTrusted('b0', 250), false, 'another start of the service');
  t.equal(status.bestWallTime().getTime(), wall.getTime(), 'our own time once trusted');
  status.observeServerTime('not a date');
  t.equal(status.synchronised, true, 'a garbled time changes nothing');
});

t.test('trusted from the start: every stamp of this boot is trusted', async (t) => {
  const dir = t.testdir();
  const flag = join(dir, 'synchronized');
  await writeFile(flag, '');
  const status = new ClockStatus({ logger: recordingLogger().logger, monoClock: () => 5000, bootId: 'b1', flagPath: flag });
  t.equal(status.stampTrusted('b1', 0), true);
});
