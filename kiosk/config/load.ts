import { readFile } from 'node:fs/promises';
import { DEFAULT_PULSE_SETTLE_MS } from '../../controller/drivers/kerong/kerong-board.js';
import { PULSE_HARD_CAP_MS, minimumRestMs } from '../../controller/lock-bank.js';
import { decode, type DecodeIssue } from '../lib/decode.js';
import { configSchema, type CompartmentWiring, type Config, type HardwareKind } from './schema.js';

/** A configuration that cannot be used. The message names the key and the value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}

export interface ResolvedConfig extends Config {
  /** Always filled: the configured wiring or the default one for the hardware kind. */
  readonly compartmentWiring: readonly CompartmentWiring[];
  /** The file the configuration came from, or null for the built-in defaults. */
  readonly source: string | null;
}

/**
 * Where the configuration file is: `--config PATH` on the command line wins, then the
 * KEYLOCKER_CONFIG environment variable; neither means the simulator defaults.
 */
export function configPathFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string | null {
  const index = argv.indexOf('--config');
  if (index >= 0) {
    const path = argv[index + 1];
    if (!path || path.startsWith('--')) throw new ConfigError('--config needs a file path');
    return path;
  }
  const inline = argv.find((arg) => arg.startsWith('--config='));
  if (inline) return inline.slice('--config='.length);
  return env.KEYLOCKER_CONFIG || null;
}

export async function loadConfig(path: string | null): Promise<ResolvedConfig> {
  if (path === null) return decodeConfig({}, null);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return decodeConfig(raw, path);
}

/** Decode and check a parsed configuration; throws ConfigError naming the first bad key. */
export function decodeConfig(raw: unknown, source: string | null): ResolvedConfig {
  const where = source ? `config file ${source}` : 'config';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: the top level must be a JSON object`);
  }
  const decoded = decode(configSchema, raw);
  if (!decoded.ok) throw new ConfigError(`${where}: ${describeIssue(decoded.issue, raw)}`);
  const config = decoded.value;
  const compartmentWiring = config.hardware.compartments ?? defaultCompartments(config.hardware.kind, where);
  checkWiring(config.hardware.kind, compartmentWiring, where);
  checkLockTiming(config, where);
  return { ...config, compartmentWiring, source };
}

/**
 * The pulse a lock really gets: a Kerong board applies its own boardPulseMs; direct drive the
 * configured pulse, capped. `key` names the setting it comes from, for messages.
 */
export function effectivePulseOf(config: Config): { onMs: number; totalMs: number; key: string } {
  if (config.hardware.kind === 'kerong') {
    const onMs = config.hardware.kerong.boardPulseMs;
    return { onMs, totalMs: onMs + DEFAULT_PULSE_SETTLE_MS, key: 'hardware.kerong.boardPulseMs' };
  }
  const onMs = Math.min(config.locks.pulseMs, PULSE_HARD_CAP_MS);
  return { onMs, totalMs: onMs, key: 'locks.pulseMs' };
}

/** Settings that are each valid alone but not together. */
function checkLockTiming(config: Config, where: string): void {
  const { locks } = config;
  const pulse = effectivePulseOf(config);
  const minimumRest = minimumRestMs(pulse.onMs);
  if (locks.restMs !== null && locks.restMs < minimumRest) {
    throw new ConfigError(
      `${where}: key "locks.restMs" has value ${locks.restMs}: below 3 x the pulse the board applies (${pulse.key} = ${pulse.onMs}); at least ${minimumRest}, or null for exactly that`,
    );
  }
  if (locks.doorConfirmTimeoutMs < pulse.totalMs + locks.pollIntervalMs) {
    throw new ConfigError(
      `${where}: key "locks.doorConfirmTimeoutMs" has value ${locks.doorConfirmTimeoutMs}: shorter than the pulse (${pulse.key} = ${pulse.onMs}, ${pulse.totalMs} ms with its command) plus one poll interval (locks.pollIntervalMs = ${locks.pollIntervalMs}): no door could be confirmed`,
    );
  }
  const kerong = config.hardware.kerong;
  if (config.hardware.kind === 'kerong' && kerong.replyTimeoutMs >= locks.pollIntervalMs) {
    throw new ConfigError(
      `${where}: key "hardware.kerong.replyTimeoutMs" has value ${kerong.replyTimeoutMs}: must be shorter than locks.pollIntervalMs (${locks.pollIntervalMs}), so a query to a silent board ends before the next poll is due`,
    );
  }
}

function describeIssue(issue: DecodeIssue, raw: unknown): string {
  const key = issue.path.join('.') || '(top level)';
  if (issue.kind === 'unknown-key') return `unknown key "${key}"`;
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'nothing' : JSON.stringify(value);
  return `key "${key}" has value ${shown}: ${issue.problem}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = raw;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Default wiring for 16 compartments.
 * - sim and kerong: compartment n is channel n-1 of board 0, for both lock and door (a Kerong
 *   board reports the door through the lock's status bit).
 * - mcp23017: two chips (0x20: compartments 1-8, 0x21: 9-16). On each chip the locks are on
 *   GPA4-7 and GPB4-7 and the doors on GPA0-3 and GPB0-3, so that GPA7/GPB7 are outputs, as
 *   the MCP23017 errata requires.
 * - gpio: no default; too few lines for 16 locks and 16 doors, so the wiring must be written.
 */
export function defaultCompartments(kind: HardwareKind, where = 'config'): CompartmentWiring[] {
  const ids = Array.from({ length: 16 }, (_, index) => index + 1);
  switch (kind) {
    case 'sim':
    case 'kerong':
      return ids.map((id) => ({ id, lock: { board: 0, channel: id - 1 }, door: { board: 0, channel: id - 1 } }));
    case 'mcp23017':
      return ids.map((id) => {
        const chip = id <= 8 ? 0x20 : 0x21;
        const slot = (id - 1) % 8;
        const port = slot < 4 ? 0 : 8;
        const bit = slot % 4;
        return { id, lock: { board: chip, channel: port + 4 + bit }, door: { board: chip, channel: port + bit } };
      });
    case 'gpio':
      throw new ConfigError(`${where}: key "hardware.compartments" is required when hardware.kind is "gpio"`);
  }
}

function checkWiring(kind: HardwareKind, wiring: readonly CompartmentWiring[], where: string): void {
  const ids = new Set<number>();
  const used = new Map<string, string>();
  wiring.forEach((compartment, index) => {
    const key = `hardware.compartments.${index}`;
    if (ids.has(compartment.id)) throw new ConfigError(`${where}: key "${key}.id" has value ${compartment.id}: duplicate compartment id`);
    ids.add(compartment.id);
    const refs = [['lock', compartment.lock] as const, ['door', compartment.door] as const];
    for (const [role, ref] of refs) {
      if (!ref) continue;
      const refKey = `${key}.${role}`;
      const problem = refProblem(kind, role, ref);
      if (problem) throw new ConfigError(`${where}: key "${refKey}" has value ${JSON.stringify(ref)}: ${problem}`);
      // On Kerong a lock and its door share a channel (the status bit); anywhere else a
      // line is either an output or an input.
      const id = `${ref.board}:${ref.channel}`;
      const previous = used.get(id);
      const shareAllowed = (kind === 'kerong' || kind === 'sim') && role === 'door';
      if (previous && !(shareAllowed && previous === `${key}.lock`)) {
        throw new ConfigError(`${where}: key "${refKey}" has value ${JSON.stringify(ref)}: already used by ${previous}`);
      }
      if (!previous) used.set(id, refKey);
    }
  });
  const sorted = [...ids].sort((a, b) => a - b);
  sorted.forEach((id, index) => {
    if (id !== index + 1) throw new ConfigError(`${where}: key "hardware.compartments" has ids ${JSON.stringify(sorted)}: ids must be 1..N without gaps`);
  });
}

function refProblem(kind: HardwareKind, role: 'lock' | 'door', ref: { board: number; channel: number }): string | null {
  switch (kind) {
    case 'sim':
      return ref.board === 0 && ref.channel <= 15 ? null : 'the simulator has board 0, channels 0-15';
    case 'kerong':
      if (ref.board > 9) return 'Kerong board ids are 0-9';
      return ref.channel <= 15 ? null : 'Kerong channels are 0-15';
    case 'mcp23017':
      if (ref.board < 0x20 || ref.board > 0x27) return 'MCP23017 addresses are 0x20-0x27 (32-39)';
      if (ref.channel > 15) return 'MCP23017 pins are 0-15 (GPA0-7, GPB0-7)';
      if (role === 'door' && (ref.channel === 7 || ref.channel === 15)) {
        return 'GPA7 and GPB7 must be outputs (MCP23017 errata): put a lock there, not a door';
      }
      return null;
    case 'gpio':
      if (ref.board !== 0) return 'GPIO lines are on board 0';
      return ref.channel <= 27 ? null : 'BCM line numbers are 0-27';
  }
}
