/**
 * `npm run soak`: the long crash run, never part of `npm test`. Builds the locker, kills it
 * KILLS times (default 2,000) at random instants over LANES lanes (default 2), then runs the
 * outbox storm (STORM_KILLS kills while thousands of events are written with the back office
 * down), and prints one JSON report. The seed is printed first: `SEED=... npm run soak`
 * replays the same choices.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLocker, crashDataRoot, REPO_ROOT } from './build.js';
import { runCampaign } from './campaign.js';
import { seedFrom } from './random.js';
import { runStorm } from './storm.js';

function intFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
  return value;
}

async function main(): Promise<number> {
  const seed = seedFrom(process.env);
  const kills = intFrom('KILLS', 2000);
  const lanes = Math.max(1, intFrom('LANES', 2));
  const stormKills = intFrom('STORM_KILLS', 20);
  process.stderr.write(`soak: SEED=${seed} KILLS=${kills} LANES=${lanes} STORM_KILLS=${stormKills}\n`);
  const workDir = await mkdtemp(join(REPO_ROOT, '.tap', 'soak-'));
  const dataDir = await mkdtemp(join(crashDataRoot(), 'keylocker-soak-'));
  try {
    const built = performance.now();
    const main = await buildLocker(join(workDir, 'build'));
    const buildMs = Math.round(performance.now() - built);
    const log = (line: string): void => void process.stderr.write(`soak: ${line}\n`);
    const campaign = await runCampaign({ main, workDir: join(dataDir, 'campaign'), seed, kills, lanes, log });
    const storm = campaign.violations.length === 0 && stormKills > 0 ? await runStorm({ main, workDir: join(dataDir, 'storm'), seed, kills: stormKills, log }) : null;
    const cpu = process.cpuUsage();
    const harnessCpuS = Math.round((cpu.user + cpu.system) / 1e4) / 100;
    process.stdout.write(`${JSON.stringify({ seed, buildMs, harnessCpuS, campaign, storm }, null, 2)}\n`);
    const violations = [...campaign.violations, ...(storm?.violations ?? [])];
    if (violations.length > 0) {
      process.stderr.write(`soak: FAILED (replay with SEED=${seed} npm run soak)\n${violations.join('\n')}\n`);
      return 1;
    }
    process.stderr.write(`soak: ${campaign.kills + (storm?.kills ?? 0)} kills, every invariant held (SEED=${seed})\n`);
    return 0;
  } finally {
    if (!process.env.KEEP) {
      await rm(workDir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
