/**
 * `npm run bench`: every figure beside a baseline measured in the same run, as JSON.
 * Never part of `npm test`: timings belong here, not in assertions.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchColdStart, ensureBuild } from './cold-start.js';
import { benchInventory } from './inventory.js';
import { benchMemoryDay } from './memory-day.js';
import { benchOutboxDrain } from './outbox-drain.js';
import { benchPinCheck } from './pin-check.js';
import { productionEnv, productionNodeArgs } from './production-launch.js';
import { benchTapToOpen } from './tap-to-open.js';

/**
 * The drain, snapshot, inventory, PIN and tap benches run the locker's code in this process,
 * with their baselines. So this process runs as systemd runs the locker: it builds the locker
 * (`npm run build`, as a release does) and starts itself again with the unit's node flags and
 * environment (production-launch.ts) and with the locker's modules loaded from that build
 * (use-build.mjs), so the figures are those of the code production executes, as it executes
 * it (tsc's output, no optimising compiler, the unit's heap settings), baselines included.
 */
const AS_THE_UNIT = 'KEYLOCKER_BENCH_AS_UNIT';
if (process.env[AS_THE_UNIT] !== '1') {
  await ensureBuild();
  const useBuild = pathToFileURL(join(import.meta.dirname, 'use-build.mjs')).href;
  const args = [...productionNodeArgs(), ...process.execArgv, '--import', useBuild, ...process.argv.slice(1)];
  const child = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...productionEnv(), [AS_THE_UNIT]: '1' } });
  process.exit(child.status ?? 1);
}

/** The flags this process runs with, without the loaders (tsx, use-build.mjs) and their values. */
function v8AndNodeFlags(execArgv: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const arg = execArgv[i] as string;
    if (arg === '--require' || arg === '--import' || arg === '--loader') i += 1; // and its value
    else if (!/^--(require|import|loader)=/.test(arg)) flags.push(arg);
  }
  return flags;
}

const results = {
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  benchProcess: {
    nodeArgs: v8AndNodeFlags(process.execArgv),
    nodeOptions: process.env.NODE_OPTIONS ?? null,
    // Where the locker's code came from: dist/ (the build), not the TypeScript source.
    lockerCodeFrom: relative(resolve(import.meta.dirname, '..', '..'), fileURLToPath(import.meta.resolve('../../kiosk/sync/commands.js'))),
  },
  coldStart: await benchColdStart(),
  memoryDay: await benchMemoryDay(),
  outboxAndSnapshot: await benchOutboxDrain(),
  inventory: await benchInventory(),
  pinCheck: await benchPinCheck(),
  tapToOpen: await benchTapToOpen(),
};
console.log(JSON.stringify(results, null, 2));
