/**
 * Kill the real locker at random instants and check every invariant after each kill and each
 * restart. Lanes run side by side, each on its own data directory and back office; a lane's
 * life is: start the process on the same data, check (recovery done, nothing energised, no
 * pulse at boot), let customers, doors and the back office work, SIGKILL at an instant drawn
 * uniformly over a journey (or, now and then, during start-up), check the file as the kill
 * left it. See docs/invariants.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkInvariantsReport, describeViolations } from '../check.js';
import { Killed, Visitor, pause, walk, type Step, type WalkResult } from './customer.js';
import { Generation } from './generation.js';
import { LockerProcess } from './locker-process.js';
import { Random } from './random.js';
import { readStore, schemaComplete, type StoreView } from './store-reader.js';

export interface CampaignOptions {
  /** The built locker's entry point (build.ts). */
  main: string;
  workDir: string;
  seed: number;
  kills: number;
  lanes: number;
  /** Share of kills during start-up (recovery, migrations) rather than during a journey. */
  startupKillShare?: number;
  /**
   * After `kills`, go on until every kind of landing `landedEverywhere` names has happened, up to
   * this many kills in all. Where kills land follows the machine's load (a pulse is 300 ms of a
   * journey: on a loaded machine more of a kill's time goes to the start), so a fixed number is
   * either long or, now and then, short of a kind.
   */
  untilLandedEverywhere?: number;
  log?: (line: string) => void;
}

export interface CampaignReport {
  seed: number;
  kills: number;
  lives: number;
  startupKills: number;
  generations: number;
  /** Where the kills landed, read from the file they left. */
  landings: Record<string, number>;
  /** What the customer's request in flight was when the kill came. */
  steps: Partial<Record<Step, number>>;
  /** A lock was energised just before the kill. */
  duringPulse: number;
  /** A door was open just before the kill. */
  doorOpen: number;
  journeys: Partial<Record<WalkResult, number>>;
  /** Whole-database checks run, and the rule evaluations in them that passed. */
  databaseChecks: number;
  rulesPassed: number;
  /** Boot and history checks passed. */
  otherChecksPassed: number;
  commands: number;
  events: number;
  /** Mean time from spawn to "running", and mean whole life (spawn to exit after the kill). */
  meanStartMs: number;
  meanLifeMs: number;
  ms: number;
  violations: string[];
}

interface Lane {
  index: number;
  random: Random;
  generation: Generation | null;
  generations: number;
  kills: number;
  quota: number;
  /** The most kills, when the quota is done but some kind of landing has not happened yet. */
  most: number;
}

/** Whether a lane kills again: its quota not done, or some place not landed in yet and its most not reached; never after a violation. */
export function laneGoesOn(lane: { kills: number; quota: number; most: number }, report: CampaignReport): boolean {
  if (report.violations.length > 0) return false;
  return lane.kills < lane.quota || (lane.kills < lane.most && !landedEverywhere(report));
}

/**
 * Whether kills have landed in each of the places a campaign is for: between an intent and its
 * outcome, with a door open mid-journey, during a pulse, during start-up; and journeys finished
 * between them (test/integration/crash-anywhere.test.ts checks each).
 */
export function landedEverywhere(report: CampaignReport): boolean {
  return (
    (report.landings['intent-without-outcome'] ?? 0) > 0 &&
    (report.landings['door-open-in-flight'] ?? 0) > 0 &&
    report.duringPulse > 0 &&
    report.startupKills > 0 &&
    (report.journeys.finished ?? 0) > 0
  );
}

/**
 * How long a start and a whole journey take here, now (shared by lanes). A journey is the
 * first one after a start (the process is cold then, and that is the one the kill cuts); its
 * length is the median of the last measured: the first life of every generation walks its
 * first journey uncut to measure it (and a second uncut, for the state it leaves), so kills
 * stay uniform over a journey on a busy machine too. Kills are drawn over 1.25 times that
 * length, so a slow journey is cut at its end too, and some land just after one.
 */
const timing = {
  startMs: 1500,
  finished: [] as number[],
  get journeyMs(): number {
    const sorted = [...this.finished].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 400;
  },
  record(ms: number): void {
    this.finished.push(ms);
    if (this.finished.length > 15) this.finished.shift();
  },
};
const sums = { start: 0, starts: 0, life: 0 };

/** A start slower than this is a failure (a hang), whatever the machine's load. */
const READY_TIMEOUT_MS = 60_000;
/** Journeys walked to the end before the kill is armed, in a generation's first life. */
const CALIBRATION_WALKS = 2;

/** A campaign's report before its first kill. */
export function emptyReport(seed: number): CampaignReport {
  return {
    seed,
    kills: 0,
    lives: 0,
    startupKills: 0,
    generations: 0,
    landings: {},
    steps: {},
    duringPulse: 0,
    doorOpen: 0,
    journeys: {},
    databaseChecks: 0,
    rulesPassed: 0,
    otherChecksPassed: 0,
    commands: 0,
    events: 0,
    meanStartMs: 0,
    meanLifeMs: 0,
    ms: 0,
    violations: [],
  };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const started = performance.now();
  const report = emptyReport(options.seed);
  const root = new Random(options.seed);
  const lanes: Lane[] = Array.from({ length: options.lanes }, (_, index) => ({
    index,
    random: root.fork(index + 1),
    generation: null,
    generations: 0,
    kills: 0,
    quota: Math.ceil(options.kills / options.lanes),
    most: Math.ceil(Math.max(options.kills, options.untilLandedEverywhere ?? 0) / options.lanes),
  }));
  await Promise.all(lanes.map((lane) => runLane(lane, options, report)));
  report.ms = Math.round(performance.now() - started);
  report.meanStartMs = Math.round(sums.start / Math.max(1, sums.starts));
  report.meanLifeMs = Math.round(sums.life / Math.max(1, report.lives));
  return report;
}

async function runLane(lane: Lane, options: CampaignOptions, report: CampaignReport): Promise<void> {
  try {
    // Bounded: a lane stops at its `most` kills.
    while (laneGoesOn(lane, report)) {
      if (!lane.generation) {
        lane.generations += 1;
        report.generations += 1;
        const dir = join(options.workDir, `lane-${lane.index}`, `gen-${lane.generations}`);
        lane.generation = await Generation.create(dir, join(options.workDir, 'unit-key'), lane.random.fork(lane.generations));
        await lane.generation.book(8);
      }
      await runLife(lane, lane.generation, options, report);
      lane.kills += 1;
      report.kills += 1;
      if (report.kills % 25 === 0) options.log?.(`${report.kills} kills, ${report.rulesPassed} rule checks passed, ${Math.round(performance.now() / 1000)} s`);
      const view = (await schemaComplete(lane.generation.dbPath)) ? await readStore(lane.generation.dbPath) : null;
      if (view && lane.generation.exhausted(view)) {
        report.commands += lane.generation.backOffice.commands.size;
        report.events += view.lastSeq;
        await lane.generation.close();
        lane.generation = null;
      }
    }
  } finally {
    if (lane.generation) {
      report.commands += lane.generation.backOffice.commands.size;
      report.events += (await readStore(lane.generation.dbPath).catch(() => null))?.lastSeq ?? 0;
      await lane.generation.close();
    }
  }
}

async function runLife(lane: Lane, generation: Generation, options: CampaignOptions, report: CampaignReport): Promise<void> {
  const random = lane.random;
  const where = `seed ${report.seed}, lane ${lane.index}, generation ${lane.generations}, life ${generation.lives + 1}`;
  const fail = (what: string): void => {
    report.violations.push(`${where}: ${what}`);
  };
  const proc = new LockerProcess(options.main, generation.configPath);
  generation.lives += 1;
  report.lives += 1;

  // Now and then the kill comes during start-up instead (migrations, recovery, the first
  // connection): a generation's second life always, others by chance.
  const duringStartup = generation.lives === 2 || random.chance(options.startupKillShare ?? 0.1);
  const startupKillAt = duringStartup ? random.between(0, timing.startMs) : null;
  const startupTimer = startupKillAt === null ? null : setTimeout(() => void proc.kill(), startupKillAt);
  let hangTimer: NodeJS.Timeout | undefined;
  const hang = new Promise<null>((resolve) => (hangTimer = setTimeout(() => resolve(null), READY_TIMEOUT_MS)));
  const info = await Promise.race([proc.ready, hang]);
  clearTimeout(hangTimer);
  if (startupTimer) clearTimeout(startupTimer);

  let visitor: Visitor | null = null;
  if (info) {
    const startMs = (proc.readyAt ?? 0) - proc.startedAt;
    timing.startMs = 0.8 * timing.startMs + 0.2 * startMs;
    sums.start += startMs;
    sums.starts += 1;
    await checkDatabase(generation.dbPath, true, 'after restart', report, fail);
    const pulsedAtBoot = info.startup.filter((line) => line.msg === 'pulse').length;
    const energised = (await new Visitor(info.server, new AbortController().signal).simState().catch(() => null))?.compartments.filter((c) => c.energised) ?? [];
    if (pulsedAtBoot > 0) fail(`a lock was pulsed during start-up, before any command (${pulsedAtBoot} pulse lines)`);
    else if (energised.length > 0) fail(`compartments ${energised.map((c) => c.id).join(', ')} energised at boot`);
    else report.otherChecksPassed += 1;
    if (report.violations.length === 0) {
      if (generation.lives === 1) await generation.backOffice.allAnswered(10_000);
      visitor = await work(proc, info.server, generation, random, report, generation.lives === 1 ? CALIBRATION_WALKS : 0);
    }
  } else if (startupKillAt !== null) {
    report.startupKills += 1;
  } else {
    fail(`the locker did not start within ${READY_TIMEOUT_MS} ms: ${proc.stderr.slice(0, 2000)}`);
  }
  await proc.kill();
  const exit = await proc.exited;
  sums.life += performance.now() - proc.startedAt;
  if (exit.signal !== 'SIGKILL') fail(`the locker exited on its own (code ${exit.code}, signal ${exit.signal}): ${proc.stderr.slice(0, 2000)}`);

  const pulses = proc.count('pulse');
  const budget = visitor?.pulseBudget ?? 0;
  if (pulses > budget) fail(`${pulses} pulses in a life whose commanded openings allow ${budget}`);
  else report.otherChecksPassed += 1;

  // The file as the kill left it: none yet if the first start was killed before creating it;
  // empty or migrated part-way if killed during its migrations (only the schema-free rules apply).
  if (!existsSync(generation.dbPath)) return;
  await checkDatabase(generation.dbPath, false, 'after the kill', report, fail);
  if (report.violations.length > 0) return;
  if (!(await schemaComplete(generation.dbPath))) {
    report.landings['during-migrations'] = (report.landings['during-migrations'] ?? 0) + 1;
    return;
  }
  const view = await readStore(generation.dbPath, true);
  report.landings[view.landing] = (report.landings[view.landing] ?? 0) + 1;
  const before = generation.backOffice.violations.length;
  generation.backOffice.compareWithStore(view.outbox, view.lastSeq);
  for (const v of generation.backOffice.violations.slice(before)) fail(`${v.rule}: ${v.detail}`);
  if (generation.backOffice.violations.length === before) report.otherChecksPassed += 1;
}

/** Customers, doors and back-office commands, until the kill (which this schedules). */
async function work(proc: LockerProcess, server: string, generation: Generation, random: Random, report: CampaignReport, uncut: number): Promise<Visitor> {
  const controller = new AbortController();
  const visitor = new Visitor(server, controller.signal);
  let killTimer: NodeJS.Timeout | null = null;
  let resolveKilled: () => void = () => undefined;
  const killed = new Promise<void>((resolve) => (resolveKilled = resolve));
  const kill = async (): Promise<void> => {
    // Look at the cabinet first (a few ms), so the report can say what the kill cut.
    const cabinet = await Promise.race([visitor.simState().catch(() => null), pause(100, controller.signal).then(() => null, () => null)]);
    report.steps[visitor.step] = (report.steps[visitor.step] ?? 0) + 1;
    if (cabinet?.compartments.some((c) => c.energised)) report.duringPulse += 1;
    if (cabinet?.compartments.some((c) => c.doorOpen)) report.doorOpen += 1;
    await proc.kill();
    controller.abort();
    resolveKilled();
  };
  const armKill = (): void => {
    killTimer ??= setTimeout(() => void kill(), killAt * 1.25 * timing.journeyMs);
  };

  // Each loop draws from its own source: they interleave by timing, the seed fixes each one.
  const staff = random.fork(1);
  const customers = random.fork(2);
  const killAt = random.next(); // where in a journey the kill lands, as a fraction of its length
  let view: StoreView | null = null;
  let walking: string | null = null;
  const commands = (async () => {
    // Bounded: a life lasts about a journey; a command every 50-250 ms keeps a few in flight.
    for (let sent = 0; sent < 200 && !controller.signal.aborted; sent += 1) {
      await pause(staff.int(50, 250), controller.signal);
      await generation.randomCommand(view, staff, walking);
    }
  })().catch(ignoreKilled);

  const journeys = (async () => {
    // Bounded: each round is a whole journey or ends with the kill.
    for (let round = 0; round < 1000 && !controller.signal.aborted; round += 1) {
      view = await readStore(generation.dbPath);
      const ticket = generation.ticket(view, customers);
      if (round >= uncut || !ticket) armKill();
      if (!ticket) {
        await pause(50, controller.signal);
        continue;
      }
      const began = performance.now();
      walking = ticket.reservationId;
      const result = await walk(visitor, ticket, customers);
      report.journeys[result] = (report.journeys[result] ?? 0) + 1;
      if (result === 'finished' && round === 0 && uncut > 0) timing.record(performance.now() - began);
    }
  })().catch(ignoreKilled);

  await killed;
  await Promise.all([commands, journeys]);
  return visitor;
}

async function checkDatabase(path: string, atRest: boolean, when: string, report: CampaignReport, fail: (what: string) => void): Promise<void> {
  let result;
  try {
    result = await checkInvariantsReport(path, { atRest });
  } catch (error) {
    fail(`${when}: the database could not be checked: ${String(error)}`);
    return;
  }
  report.databaseChecks += 1;
  if (result.violations.length > 0) fail(`${when}: ${describeViolations(result.violations)}`);
  else report.rulesPassed += result.checked;
}

function ignoreKilled(error: unknown): void {
  if (!(error instanceof Killed)) throw error;
}
