/**
 * How production starts the locker, read from the systemd unit (systemd/keylocker.service), so
 * that the benches measure the process as launched there: its Environment= lines (NODE_OPTIONS
 * with V8's flags, glibc's MALLOC_* tunables), without KEYLOCKER_CONFIG (the benches pass
 * --config), and the node flags of its ExecStart= line (V8 flags that NODE_OPTIONS refuses,
 * such as --optimize-for-size).
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

/**
 * The node flags of the unit's ExecStart= (`/usr/bin/node FLAGS... SCRIPT`): what comes
 * between the node binary and the script. Throws when the line is not of that shape, so that
 * a bench never measures a launch other than production's without saying so.
 */
export function productionNodeArgs(unitPath: string = UNIT): string[] {
  return nodeArgsOf(readFileSync(unitPath, 'utf8'));
}

export function nodeArgsOf(unit: string): string[] {
  const lines = [...unit.matchAll(/^ExecStart=(.*)$/gm)].map((m) => (m[1] ?? '').trim());
  if (lines.length !== 1) throw new Error(`expected one ExecStart= line, found ${lines.length}`);
  const [node, ...rest] = lines[0]!.split(/\s+/);
  const script = rest.findIndex((word) => !word.startsWith('--'));
  if (!node?.endsWith('/node') || script === -1) throw new Error(`ExecStart= is not "node [flags] script": ${lines[0]}`);
  return rest.slice(0, script);
}
