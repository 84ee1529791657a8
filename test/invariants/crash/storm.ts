/**
 * Kills while thousands of outbox events are being written: the back office is down, doors
 * are forced and closed as fast as the simulator's API takes it (each a transaction with its
 * event), and the locker is killed in the middle, again and again. Then the back office comes
 * back: every event must arrive, in order, with no gap, each the one the store holds.
 */
import { join } from 'node:path';
import { checkInvariantsReport, describeViolations } from '../check.js';
import { Killed, Visitor, pause } from './customer.js';
import { Generation } from './generation.js';
import { LockerProcess } from './locker-process.js';
import { Random } from './random.js';
import { readStore } from './store-reader.js';

export interface StormOptions {
  main: string;
  workDir: string;
  seed: number;
  kills: number;
  /** Events to write over the whole storm (default 2,000): each life is killed at a random point of its share. */
  events?: number;
  log?: (line: string) => void;
}

export interface StormReport {
  seed: number;
  kills: number;
  /** Outbox events written over the storm. */
  events: number;
  /** Events the back office held, in order, at the end. */
  delivered: number;
  databaseChecks: number;
  rulesPassed: number;
  otherChecksPassed: number;
  ms: number;
  violations: string[];
}

const DOOR_LOOPS = 4;

export async function runStorm(options: StormOptions): Promise<StormReport> {
  const started = performance.now();
  const random = new Random(options.seed).fork(0x5707);
  const report: StormReport = { seed: options.seed, kills: 0, events: 0, delivered: 0, databaseChecks: 0, rulesPassed: 0, otherChecksPassed: 0, ms: 0, violations: [] };
  const generation = await Generation.create(join(options.workDir, 'locker'), join(options.workDir, 'unit-key'), random.fork(1));
  const fail = (what: string): void => void report.violations.push(`seed ${options.seed}, storm, life ${generation.lives}: ${what}`);
  const check = async (atRest: boolean, when: string): Promise<void> => {
    const result = await checkInvariantsReport(generation.dbPath, { atRest });
    report.databaseChecks += 1;
    if (result.violations.length > 0) fail(`${when}: ${describeViolations(result.violations)}`);
    else report.rulesPassed += result.checked;
  };
  try {
    await generation.book(4);
    for (let kill = 0; kill < options.kills && report.violations.length === 0; kill += 1) {
      const proc = new LockerProcess(options.main, generation.configPath);
      generation.lives += 1;
      const info = await proc.ready;
      if (!info) {
        fail(`the locker did not start: ${proc.stderr.slice(0, 2000)}`);
        break;
      }
      await check(true, 'after restart');
      // The first life takes the reservations; then the back office is gone for the storm.
      if (kill === 0) {
        await generation.backOffice.allAnswered(10_000);
        await generation.backOffice.down();
      }
      const controller = new AbortController();
      const visitor = new Visitor(info.server, controller.signal);
      const doors = random.fork(kill);
      const loops = Array.from({ length: DOOR_LOOPS }, (_, loop) => slamDoors(visitor, doors.fork(loop)).catch((error: unknown) => {
        if (!(error instanceof Killed)) throw error;
      }));
      // Killed at a random point of this life's share of the events: by count, not by time,
      // so a slow machine writes as many as a fast one.
      const from = (await readStore(generation.dbPath)).lastSeq;
      const share = Math.round(random.between(0.5, 1.5) * ((options.events ?? 2000) / options.kills));
      for (let round = 0; round < 6000 && (await readStore(generation.dbPath)).lastSeq - from < share; round += 1) {
        await pause(20, new AbortController().signal);
      }
      await proc.kill();
      controller.abort();
      await Promise.all(loops);
      report.kills += 1;
      await check(false, 'after the kill');
      if (kill % 5 === 4) options.log?.(`storm: ${report.kills} kills, ${(await readStore(generation.dbPath)).lastSeq} events`);
    }

    // The back office comes back: everything arrives, in order, once, as the store holds it.
    await generation.backOffice.up();
    const proc = new LockerProcess(options.main, generation.configPath);
    generation.lives += 1;
    const info = await proc.ready;
    if (!info) fail(`the locker did not start: ${proc.stderr.slice(0, 2000)}`);
    await check(true, 'after the last restart');
    const { lastSeq } = await readStore(generation.dbPath);
    report.events = lastSeq;
    const deadline = Date.now() + 60_000;
    while (generation.backOffice.contiguous() < lastSeq && Date.now() < deadline) await pause(50, new AbortController().signal);
    report.delivered = generation.backOffice.contiguous();
    generation.backOffice.checkNoGap(lastSeq);
    const view = await readStore(generation.dbPath, true);
    generation.backOffice.compareWithStore(view.outbox, view.lastSeq);
    await proc.kill();
    for (const v of generation.backOffice.violations) fail(`${v.rule}: ${v.detail}`);
    if (generation.backOffice.violations.length === 0) report.otherChecksPassed += 2;
  } finally {
    await generation.close();
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** Force and close doors at random, each request after the previous answer. Bounded. */
async function slamDoors(visitor: Visitor, random: Random): Promise<void> {
  for (let round = 0; round < 100_000; round += 1) {
    await visitor.sim(random.chance(0.5) ? 'forceDoor' : 'closeDoor', random.int(1, 16));
  }
}
