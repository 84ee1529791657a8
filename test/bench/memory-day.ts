/**
 * Bench: the production build's memory over a simulated day, beside a bare express + ws server's
 * and a bare node's RSS measured in the same run.
 *
 * The day: DAY_JOURNEYS (default 500) pickups walked through the session API (start, PIN (one
 * in twenty first typed wrong), door opens, door closed on the simulator, confirm), in blocks of at
 * most 15 (one per compartment; a key whose journey was refused waits for the next block): the back office books a block, then the link drops (the
 * back office goes away) while the block is walked, and comes back before the next, so every
 * block's events wait in the outbox and drain at the reconnect. Meanwhile compartment 16's door
 * is forced and closed again and again, until the outbox has handed out DAY_EVENTS (default
 * 10,000) events. RSS (VmRSS) is read from /proc after every block.
 *
 * The locker runs as the systemd unit launches it (production-launch.ts: its environment, V8's
 * semi-space size, glibc's arenas and mmap threshold, and the node flags of its ExecStart), plus
 * --trace-gc. Reported: RSS at ready, at the half of the day and at its end, the highest, the growth
 * over the last half (end minus half: two points of a sawtooth) and the highest sample of the
 * last half against the first's (peakGrowth: the sawtooth rising); and the V8 heap left after each major collection
 * (liveHeapAfterMajorGcMB), which tells a leak from garbage not yet collected. Target: at most 80 MiB throughout, no growth over the
 * last half.
 *
 * `npm run bench` calls benchMemoryDay() from test/bench/run.ts; `tsx test/bench/memory-day.ts`
 * runs it alone.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { localDate } from '../../kiosk/core/dates.js';
import { hashPin } from '../../kiosk/core/pin.js';
import type { ReservationWire } from '../../kiosk/sync/messages.js';
import { Killed, Visitor } from '../invariants/crash/customer.js';
import { Generation } from '../invariants/crash/generation.js';
import { LockerProcess } from '../invariants/crash/locker-process.js';
import { Random } from '../invariants/crash/random.js';
import { readStore } from '../invariants/crash/store-reader.js';
import { bareReady, ensureBuild, startOnce } from './cold-start.js';
import { productionEnv, productionNodeArgs } from './production-launch.js';
import { round } from './scale.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const MAIN = join(REPO, 'dist', 'kiosk', 'main.js');
const BARE = join(REPO, 'test', 'bench', 'bare-server.mjs');
const JOURNEYS = Number(process.env.DAY_JOURNEYS ?? 500);
const EVENTS = Number(process.env.DAY_EVENTS ?? 10_000);
const JOURNEY_COMPARTMENTS = 15; // 16 is the one whose door is forced
const SLAM_COMPARTMENT = 16;
const PIN_COST = { N: 2 ** 10, r: 1, p: 1 }; // as the crash runs: the lowest cost the locker accepts

function rssMiBOf(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

/** A field of /proc/PID/status in MiB: VmRSS, RssAnon (heaps), RssFile (mapped code and files). */
function statusMiB(pid: number, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * The V8 heap left after each Mark-Compact (--trace-gc: "Mark-Compact 74.8 (78.9) -> 19.3 (52.6)
 * MB", used (committed) before -> after), in MB: flat over the day means no leak in JavaScript,
 * whatever RSS does between collections.
 */
export function liveHeap(lines: readonly string[]): { majorGcs: number; firstMB: number | null; halfMB: number | null; lastMB: number | null; maxMB: number | null; series: number[] } {
  const after = lines.flatMap((line) => {
    const match = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
    return match ? [Number(match[1])] : [];
  });
  return {
    majorGcs: after.length,
    firstMB: after[0] ?? null,
    halfMB: after[Math.floor(after.length / 2)] ?? null,
    lastMB: after.at(-1) ?? null,
    maxMB: after.length > 0 ? Math.max(...after) : null,
    series: after,
  };
}

/**
 * RSS sampled over a day is a sawtooth: garbage builds up, a collection hands it back. The
 * difference of two samples (end minus half) says where on its tooth each fell, by a few MiB
 * either way. A leak shows as the teeth rising: the highest sample of the last half against the
 * highest of the first. `rss` in sample order; both halves need a sample.
 */
export function peakGrowth(rss: readonly number[]): { firstHalfPeak: number; lastHalfPeak: number; growth: number } {
  if (rss.length < 2) throw new Error(`peakGrowth needs two samples or more, got ${rss.length}`);
  const middle = Math.floor(rss.length / 2);
  const firstHalfPeak = Math.max(...rss.slice(0, middle));
  const lastHalfPeak = Math.max(...rss.slice(middle));
  return { firstHalfPeak: round(firstHalfPeak), lastHalfPeak: round(lastHalfPeak), growth: round(lastHalfPeak - firstHalfPeak) };
}

type PickupResult = 'collected' | 'refused';

/**
 * One pickup through the session API, as the bottom screen drives it: start, the PIN (typed
 * wrong first when `typo`), the door opens, the customer takes the key and closes the door,
 * confirms, and confirms the goodbye. A refused step ends the journey; its key waits.
 */
async function walkPickup(visitor: Visitor, pin: string, typo: boolean): Promise<PickupResult> {
  const leave = async (): Promise<PickupResult> => {
    const view = await visitor.view();
    if (view?.step === 'done' || view?.step === 'failed') await visitor.act({ type: 'confirm' });
    else if (view?.sessionId) {
      await visitor.act({ type: 'abandon' });
      await visitor.act({ type: 'abandonConfirm' });
    }
    return 'refused';
  };
  if ((await visitor.act({ type: 'start', journey: 'pickup' })).status !== 200) return leave();
  if (typo) await visitor.act({ type: 'pin', pin: `${pin.slice(0, -1)}${(Number(pin.at(-1)) + 1) % 10}` });
  const opened = await visitor.act({ type: 'pin', pin });
  const compartment = opened.view?.compartment ?? null;
  if (opened.status !== 200 || compartment === null || opened.view?.step === 'failed') return leave();
  await visitor.sim('closeDoor', compartment);
  for (let round = 0; round < 200; round += 1) {
    const view = await visitor.view();
    if (!view?.compartment || view.door === 'closed') break;
    await new Promise((done) => setTimeout(done, 10));
  }
  if ((await visitor.act({ type: 'confirm' })).status !== 200) {
    await visitor.sim('closeDoor', compartment);
    return leave();
  }
  await visitor.act({ type: 'confirm' });
  return 'collected';
}

export async function benchMemoryDay(): Promise<Record<string, unknown>> {
  await ensureBuild();
  const dir = await mkdtemp(join(tmpdir(), 'keylocker-bench-day-'));
  const random = new Random(0xda7);
  const generation = await Generation.create(join(dir, 'locker'), join(dir, 'unit-key'), random.fork(1));
  // A day squeezed into minutes: the per-minute lookup throttle and the locker-wide lockout
  // (made for one customer at a time) are raised as far as the configuration allows.
  const config = JSON.parse(await readFile(generation.configPath, 'utf8')) as Record<string, unknown>;
  await writeFile(generation.configPath, JSON.stringify({ ...config, security: { lookupsPerMinute: 600, lockout: { lockerFreeFailures: 100 } } }));
  // --trace-gc: one stdout line per collection, so the heap left after each major GC (what the
  // locker really holds) can be told apart from garbage awaiting collection, which RSS includes.
  const proc = new LockerProcess(MAIN, generation.configPath, productionEnv(), ['--trace-gc', ...productionNodeArgs()]);
  try {
    const info = await proc.ready;
    if (!info || proc.pid === undefined) throw new Error(`the locker did not start: ${proc.stderr.slice(0, 2000)}`);
    const pid = proc.pid;
    const samples: { journeys: number; events: number; rssMiB: number }[] = [{ journeys: 0, events: 0, rssMiB: rssMiBOf(pid) }];
    const results: Partial<Record<PickupResult, number>> = {};
    const slamming = new AbortController();
    const visitor = new Visitor(info.server, new AbortController().signal);
    const slammer = new Visitor(info.server, slamming.signal);
    let lastSeq = 0;
    const slam = (async () => {
      for (let round = 0; round < 200_000 && lastSeq < EVENTS; round += 1) {
        await slammer.sim(round % 2 === 0 ? 'forceDoor' : 'closeDoor', SLAM_COMPARTMENT);
      }
    })().catch((error: unknown) => {
      if (!(error instanceof Killed)) throw error;
    });

    let walked = 0;
    let booked = 0;
    const pins = new Map<string, string>();
    const today = localDate(new Date(), 'Europe/Oslo');
    for (let block = 0; walked < JOURNEYS && block < JOURNEYS * 2; block += 1) {
      // Book a pickup in every free compartment (the mechanic put the keys in), link up.
      await generation.backOffice.up();
      const view = await readStore(generation.dbPath);
      // Keys still waiting (a journey refused, e.g. by the lookup throttle) are walked again.
      const tickets = view.reservations.filter((r) => r.status === 'ready' && pins.has(r.id)).map((r) => ({ reservationId: r.id, pin: pins.get(r.id)! }));
      const free = view.compartments.filter((c) => c.id <= JOURNEY_COMPARTMENTS && c.state === 'free').map((c) => c.id);
      for (const compartmentId of free.slice(0, Math.max(0, JOURNEYS - walked - tickets.length))) {
        booked += 1;
        // Six digits, never two alike in a day (7919 is prime to 900,000).
        const pin = String(100000 + ((booked * 7919) % 900_000));
        const wire: ReservationWire = {
          id: `day-${booked}`, code: `D${String(booked).padStart(5, '0')}`, kind: 'pickup', workOrder: `WO-${booked}`,
          plate: `EL ${String(10000 + booked)}`, driverName: `Driver ${booked}`, phones: ['+4791234567'], email: null,
          appointmentDate: today, appointmentTime: '08:30', pinHash: await hashPin(pin, PIN_COST), compartmentId, paymentRequired: false,
        };
        generation.backOffice.issue('reservation.upsert', { reservation: wire, version: 1 });
        pins.set(wire.id, pin);
        tickets.push({ reservationId: wire.id, pin });
      }
      if (!(await generation.backOffice.allAnswered(30_000))) throw new Error('the locker did not answer the bookings');
      if (tickets.length === 0) throw new Error('nothing to walk: no key waiting and no free compartment');
      // The link drops while the block is walked: events wait in the outbox.
      await generation.backOffice.down();
      for (const ticket of tickets.slice(0, JOURNEYS - walked)) {
        const result = await walkPickup(visitor, ticket.pin, random.chance(0.05));
        results[result] = (results[result] ?? 0) + 1;
        if (result === 'collected') walked += 1;
      }
      lastSeq = (await readStore(generation.dbPath)).lastSeq;
      samples.push({ journeys: walked, events: lastSeq, rssMiB: rssMiBOf(pid) });
    }
    // The rest of the events, link up (they drain as they come).
    await generation.backOffice.up();
    for (let round = 0; round < 1000 && lastSeq < EVENTS; round += 1) {
      await new Promise((done) => setTimeout(done, 200));
      lastSeq = (await readStore(generation.dbPath)).lastSeq;
      if (round % 10 === 9) samples.push({ journeys: walked, events: lastSeq, rssMiB: rssMiBOf(pid) });
    }
    slamming.abort();
    await slam;
    samples.push({ journeys: walked, events: lastSeq, rssMiB: rssMiBOf(pid) });

    const bareServer = await startOnce([BARE], bareReady);
    const bareNode = await startOnce(['-e', 'console.log(JSON.stringify({ msg: "ready" })); setInterval(() => {}, 1000)'], bareReady);
    const half = samples[Math.floor(samples.length / 2)]!;
    const end = samples[samples.length - 1]!;
    const peak = Math.max(...samples.map((s) => s.rssMiB));
    return {
      journeys: walked,
      results,
      events: lastSeq,
      linkDrops: samples.length - 1,
      rssMiB: {
        atReady: round(samples[0]!.rssMiB),
        atHalf: round(half.rssMiB),
        atEnd: round(end.rssMiB),
        peak: round(peak),
        growthOverLastHalf: round(end.rssMiB - half.rssMiB),
        // What "no growth over the last half" means for a sawtooth (peakGrowth).
        peaks: peakGrowth(samples.map((s) => s.rssMiB)),
      },
      launchEnv: productionEnv(),
      launchNodeArgs: productionNodeArgs(),
      bareExpressWsRssMiB: round(bareServer.rssMiB),
      bareNodeRssMiB: round(bareNode.rssMiB),
      liveHeapAfterMajorGcMB: liveHeap(proc.otherLines),
      atEndAnonMiB: round(statusMiB(pid, 'RssAnon')),
      atEndFileMiB: round(statusMiB(pid, 'RssFile')),
      samples: samples.map((s) => [s.journeys, s.events, round(s.rssMiB)]),
      target: 'RSS at most 80 MiB at ready and throughout the day, no growth over the last half',
      pi4Estimate: 'RSS is about the same on a 64-bit Pi OS (the same V8 heap and native modules; arm64 code is a little larger), so no factor: 80 MiB of a Pi 4 2 GB is 4 %',
    };
  } finally {
    await proc.stop();
    await generation.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchMemoryDay(), null, 2));
}
