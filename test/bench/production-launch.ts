/**
 * How production starts the locker, read from the systemd unit (systemd/keylocker.service), so
 * that the benches measure the process as launched there: its Environment= lines (NODE_OPTIONS
 * with V8's flags, glibc's MALLOC_* tunables), without KEYLOCKER_CONFIG (the benches pass
 * --config).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const UNIT = join(resolve(import.meta.dirname, '..', '..'), 'systemd', 'keylocker.service');

export function productionEnv(unitPath: string = UNIT): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of readFileSync(unitPath, 'utf8').matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) {
    const [, key, value] = match;
    if (key !== undefined && key !== 'KEYLOCKER_CONFIG') env[key] = (value ?? '').trim();
  }
  return env;
}
