/**
 * lockerctl provision: set the unit id, the back office, the time zone and the hardware in the
 * config file, checked with the very schema the service decodes it with (kiosk/config/), and
 * print the enrolment record (the unit's public key as a JWK with its kid) and, for a phone,
 * the same as a QR code in the terminal. A value the schema refuses writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import QRCode from 'qrcode';
import { ConfigError, decodeConfig } from '../../config/load.js';
import { OpsError } from '../../errors.js';
import { enrolmentRecord, loadOrCreateIdentity } from '../../sync/identity.js';
import { report } from '../output.js';
import type { CommandKit } from '../program.js';
import { asOwnerOf } from '../store/as-owner.js';

interface ProvisionFlags {
  unitId?: string;
  backOfficeUrl?: string;
  audience?: string;
  timeZone?: string;
  hardware?: string;
  serialPath?: string;
  lockedBit?: number;
  boardPulseMs?: number;
  i2cBus?: number;
  wiring?: string;
  dataDir?: string;
  qr: boolean;
  json?: boolean;
}

function parseBit(value: string): number {
  if (value !== '0' && value !== '1') throw new InvalidArgumentError('0 or 1');
  return Number(value);
}

function parseInteger(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError('a whole number');
  return Number(value);
}

export function registerProvisionCommand(program: Command, kit: CommandKit): void {
  program
    .command('provision')
    .description(
      'set unit id, back office, time zone and hardware in the config file (checked with the service\'s own schema: a bad value writes nothing), ' +
        'then print the enrolment record to register with the back office, and its QR code',
    )
    .option('--unit-id <id>', "this locker's id, as the back office knows it")
    .option('--back-office-url <url>', 'wss://... of the back office')
    .option('--audience <aud>', 'the JWT audience the back office expects')
    .option('--time-zone <tz>', 'IANA time zone, such as Europe/Oslo')
    .addOption(new Option('--hardware <kind>', 'the lock board').choices(['sim', 'kerong', 'mcp23017', 'gpio']))
    .option('--serial-path <path>', 'Kerong: the RS-485 adapter (prefer /dev/serial/by-id/...)')
    .option('--locked-bit <bit>', 'Kerong: the status bit value that means locked (0 or 1, calibrated by selftest)', parseBit)
    .option('--board-pulse-ms <ms>', "Kerong: the board's own pulse length, measured on the bench", parseInteger)
    .option('--i2c-bus <n>', 'MCP23017: the I2C bus number (1 on the Pi header)', parseInteger)
    .option('--wiring <file>', 'a JSON file with hardware.compartments (required for gpio)')
    .option('--data-dir <dir>', 'where the database and the unit key live (default /var/lib/keylocker)')
    .option('--no-qr', 'do not print the QR code')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 written (or unchanged) and the record printed, 3 refused (a value the config schema refuses: nothing written), 2 bad flags.')
    .action(async (flags: ProvisionFlags, command: Command) => {
      const ctx = kit.context(command);
      kit.setExit(
        await report(
          kit.deps.io,
          'provision',
          flags,
          async () => {
            const file = ctx.layout.configFile;
            const raw = await readRawConfig(file);
            await applyFlags(raw, flags);
            let config;
            try {
              config = decodeConfig(raw, file);
            } catch (error) {
              if (error instanceof ConfigError) throw new OpsError('BAD_INPUT', `${error.message} (nothing written)`);
              throw error;
            }
            const written = await writeConfig(file, raw);
            let enrolment = null;
            let fingerprint: string | null = null;
            let qr: string | null = null;
            if (isAbsolute(config.dataDir) && (await exists(config.dataDir))) {
              const identity = await asOwnerOf(config.dataDir, () => loadOrCreateIdentity(config.dataDir, config.unitId));
              enrolment = enrolmentRecord(identity);
              fingerprint = identity.fingerprint;
              if (flags.qr) qr = await QRCode.toString(JSON.stringify(enrolment.publicJwk), { type: 'terminal', small: true });
            }
            return { config: file, written, unitId: config.unitId, backOffice: config.backOffice.url, hardware: config.hardware.kind, enrolment, fingerprint, ...(qr === null ? {} : { qr }) };
          },
          (r) =>
            [
              `${r.written ? 'wrote' : 'unchanged:'} ${r.config}: unit ${r.unitId}, hardware ${r.hardware}, back office ${r.backOffice ?? 'none (unprovisioned)'}`,
              r.enrolment
                ? ['', 'Register this enrolment record with the back office:', JSON.stringify(r.enrolment, null, 2), `fingerprint: ${r.fingerprint}`, r.qr ? `\nThe public key (JWK) as a QR code:\n${r.qr}` : ''].join('\n')
                : '\nThe unit key is made when the service first starts: start it, then run lockerctl provision again to print the enrolment record.',
              r.written ? 'Then: sudo systemctl restart keylocker' : '',
            ]
              .filter(Boolean)
              .join('\n'),
        ),
      );
    });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readRawConfig(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new OpsError('BAD_INPUT', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('the top level must be a JSON object');
    return raw as Record<string, unknown>;
  } catch (error) {
    throw new OpsError('BAD_INPUT', `${file} is not a JSON object (${(error as Error).message}): fix it by hand first`);
  }
}

function section(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = raw[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  raw[key] = fresh;
  return fresh;
}

async function applyFlags(raw: Record<string, unknown>, flags: ProvisionFlags): Promise<void> {
  if (flags.unitId !== undefined) raw.unitId = flags.unitId;
  if (flags.timeZone !== undefined) raw.timeZone = flags.timeZone;
  if (flags.dataDir !== undefined) raw.dataDir = flags.dataDir;
  if (flags.backOfficeUrl !== undefined) section(raw, 'backOffice').url = flags.backOfficeUrl;
  if (flags.audience !== undefined) section(raw, 'backOffice').audience = flags.audience;
  const hardware = (): Record<string, unknown> => section(raw, 'hardware');
  if (flags.hardware !== undefined) hardware().kind = flags.hardware;
  if (flags.serialPath !== undefined) section(hardware(), 'kerong').path = flags.serialPath;
  if (flags.lockedBit !== undefined) section(hardware(), 'kerong').lockedBit = flags.lockedBit;
  if (flags.boardPulseMs !== undefined) section(hardware(), 'kerong').boardPulseMs = flags.boardPulseMs;
  if (flags.i2cBus !== undefined) section(hardware(), 'mcp23017').bus = flags.i2cBus;
  if (flags.wiring !== undefined) {
    let wiring: unknown;
    try {
      wiring = JSON.parse(await readFile(flags.wiring, 'utf8'));
    } catch (error) {
      throw new OpsError('BAD_INPUT', `--wiring ${flags.wiring}: ${(error as Error).message}`);
    }
    hardware().compartments = wiring;
  }
}

/** Temp file, fsync, rename, fsync of the directory; the old file's mode and owner are kept. True when the content changed. */
async function writeConfig(file: string, raw: Record<string, unknown>): Promise<boolean> {
  const text = `${JSON.stringify(raw, null, 2)}\n`;
  const before = await readFile(file, 'utf8').catch(() => null);
  if (before === text) return false;
  const old = await stat(file).catch(() => null);
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o640);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (old) {
      await chmod(temp, old.mode & 0o777);
      if (process.geteuid?.() === 0) await chown(temp, old.uid, old.gid);
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new OpsError('BAD_INPUT', `${dirname(file)} does not exist: run deploy/install.sh first`);
    throw error;
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return true;
}
