/**
 * Where a crash run's kill goes, and what the bundle saves: `npx tsx test/invariants/crash/kill-cost.ts`.
 * Builds the locker once, bundles it (build.ts), then alternates the two entry points, so both
 * see the same machine load:
 * - starts: spawn to "keylocker running" (wall), and the CPU the process used to get there
 *   (/proc/<pid>/stat utime+stime, read before the SIGKILL);
 * - one life's steps, measured from this side: the check of the file at restart, reading the
 *   store, one journey walked to its end, the SIGKILL until the process is gone, the check of the
 *   file the kill left, the read of its outbox.
 * - CAMPAIGN_KILLS=n (default 0: skipped): then the crash campaign itself (campaign.ts, 2 lanes),
 *   n kills on each build, in two halves alternated (modules, bundle, modules, bundle): its
 *   wall time per kill, and its CPU per kill (this process and every locker it started: what
 *   the campaign costs whatever else runs on the machine).
 * START_ROUNDS (default 6) starts of each. Prints JSON: medians, and every sample.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkInvariantsReport } from '../check.js';
import { buildLocker, bundleLocker, crashDataRoot, REPO_ROOT } from './build.js';
import { runCampaign } from './campaign.js';
import { Visitor, walk } from './customer.js';
import { Generation } from './generation.js';
import { LockerProcess } from './locker-process.js';
import { Random } from './random.js';
import { readStore } from './store-reader.js';

const rounds = Number(process.env.START_ROUNDS ?? 6);
const work = await mkdtemp(join(REPO_ROOT, '.tap', 'kill-cost-'));
const data = await mkdtemp(join(crashDataRoot(), 'keylocker-kill-cost-'));
try {
  let at = performance.now();
  const modules = await buildLocker(join(work, 'build'), { bundle: false });
  const buildMs = performance.now() - at;
  at = performance.now();
  const bundle = await bundleLocker(modules);
  const bundleMs = performance.now() - at;
  const random = new Random(7);
  const generation = await Generation.create(join(data, 'locker'), join(data, 'unit-key'), random);
  await generation.book(8);

  const samples: Record<'modules' | 'bundle', { wallMs: number[]; cpuMs: number[] }> = { modules: { wallMs: [], cpuMs: [] }, bundle: { wallMs: [], cpuMs: [] } };
  const steps: Record<string, number[]> = {};
  const step = (name: string, since: number) => (steps[name] ??= []).push(Math.round(performance.now() - since));
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, main] of [['modules', modules], ['bundle', bundle]] as const) {
      at = performance.now();
      const proc = new LockerProcess(main, generation.configPath);
      const info = await proc.ready;
      if (!info) throw new Error(`the locker did not start: ${proc.stderr}`);
      samples[name].wallMs.push(Math.round(performance.now() - at));
      samples[name].cpuMs.push(cpuMs(proc.pid!));
      if (round === 0 && name === 'modules') await generation.backOffice.allAnswered(10_000);
      if (name === 'bundle') {
        at = performance.now();
        await checkInvariantsReport(generation.dbPath, { atRest: true });
        step('check at restart', at);
        at = performance.now();
        const view = await readStore(generation.dbPath);
        step('read the store', at);
        const ticket = generation.ticket(view, random);
        at = performance.now();
        if (ticket) await walk(new Visitor(info.server, new AbortController().signal), ticket, random);
        step('one journey, start to end', at);
      }
      at = performance.now();
      await proc.kill();
      if (name === 'bundle') {
        step('SIGKILL until gone', at);
        at = performance.now();
        await checkInvariantsReport(generation.dbPath, { atRest: false });
        step('check after the kill', at);
        at = performance.now();
        await readStore(generation.dbPath, true);
        step('read the outbox', at);
      }
    }
  }
  await generation.close();

  const campaignKills = Number(process.env.CAMPAIGN_KILLS ?? 0);
  const campaign: Record<'modules' | 'bundle', { kills: number; ms: number; cpuMs: number; meanStartMs: number[]; violations: number }> = {
    modules: { kills: 0, ms: 0, cpuMs: 0, meanStartMs: [], violations: 0 },
    bundle: { kills: 0, ms: 0, cpuMs: 0, meanStartMs: [], violations: 0 },
  };
  for (let half = 0; campaignKills > 0 && half < 2; half += 1) {
    for (const [name, main] of [['modules', modules], ['bundle', bundle]] as const) {
      const cpuBefore = runCpuMs();
      const report = await runCampaign({ main, workDir: join(data, `campaign-${name}-${half}`), seed: 42 + half, kills: Math.ceil(campaignKills / 2), lanes: 2 });
      campaign[name].kills += report.kills;
      campaign[name].ms += report.ms;
      campaign[name].cpuMs += runCpuMs() - cpuBefore;
      campaign[name].meanStartMs.push(report.meanStartMs);
      campaign[name].violations += report.violations.length;
    }
  }
  const perKill = (c: (typeof campaign)['modules']) => ({ ...c, msPerKill: Math.round(c.ms / Math.max(1, c.kills)), cpuMsPerKill: Math.round(c.cpuMs / Math.max(1, c.kills)) });
  const figures = (values: number[]) => ({ median: median(values), samples: values });
  console.log(JSON.stringify({
    loadAverage: (await import('node:os')).loadavg().map((l) => Math.round(l * 10) / 10),
    buildMs: Math.round(buildMs),
    bundleMs: Math.round(bundleMs),
    startToRunning: {
      modules: { wallMs: figures(samples.modules.wallMs), cpuMs: figures(samples.modules.cpuMs) },
      bundle: { wallMs: figures(samples.bundle.wallMs), cpuMs: figures(samples.bundle.cpuMs) },
    },
    lifeStepsMs: Object.fromEntries(Object.entries(steps).map(([name, values]) => [name, figures(values)])),
    ...(campaignKills > 0 ? { campaign: { modules: perKill(campaign.modules), bundle: perKill(campaign.bundle) } } : {}),
  }, null, 1));
} finally {
  await rm(work, { recursive: true, force: true });
  await rm(data, { recursive: true, force: true });
}

/** CPU (user + system) the process has used so far, in ms (Linux: clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU used so far by this process and by the children it has reaped (every locker it started
 * and killed): the campaign's cost whatever else the machine runs, where wall time is not.
 */
function runCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 10;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}
