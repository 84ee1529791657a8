/**
 * `npm run bench`: every figure beside a baseline measured in the same run, as JSON.
 * Never part of `npm test`: timings belong here, not in assertions.
 */
import { cpus } from 'node:os';
import { benchColdStart } from './cold-start.js';
import { benchInventory } from './inventory.js';
import { benchMemoryDay } from './memory-day.js';
import { benchOutboxDrain } from './outbox-drain.js';
import { benchPinCheck } from './pin-check.js';
import { benchTapToOpen } from './tap-to-open.js';

const results = {
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  coldStart: await benchColdStart(),
  memoryDay: await benchMemoryDay(),
  outboxAndSnapshot: await benchOutboxDrain(),
  inventory: await benchInventory(),
  pinCheck: await benchPinCheck(),
  tapToOpen: await benchTapToOpen(),
};
console.log(JSON.stringify(results, null, 2));
