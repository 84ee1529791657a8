/**
 * lockerctl logs and diagnostics.
 *
 * logs: the service's journal (`journalctl -u keylocker -o cat`: the JSON lines pino wrote,
 * personal data already redacted by the service's logger, kiosk/logging.ts), shown one line
 * per entry. `--file` reads a JSON-lines file instead (a locker started with `npm start` logs to
 * var/locker.log; a machine without journald). KEYLOCKER_JOURNALCTL names another journalctl.
 *
 * diagnostics: a tarball for support: the config without secrets, versions, status, recent
 * logs, and the database's integrity_check on a copy (store-copy.ts).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { callAdmin } from '../../admin/client.js';
import { OpsError } from '../../errors.js';
import { softwareVersion } from '../../version.js';
import { loadOpsConfig, type OpsContext } from '../context.js';
import { EXIT, report } from '../output.js';
import type { CommandKit } from '../program.js';
import { currentVersion, installedVersions } from '../release/releases.js';
import { offlineStatus } from '../technician/offline-status.js';
import { withStoreCopy } from '../technician/store-copy.js';
import { socketPathFor } from './technician.js';

const UNIT = 'keylocker';

function parseLines(value: string): number {
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a number of lines, 1 or more');
  return Number(value);
}

export function registerSupportCommands(program: Command, kit: CommandKit): void {
  program
    .command('logs')
    .description("the service's log (journald, personal data already redacted by the service), one line per entry")
    .option('-n, --lines <n>', 'how many of the latest entries', parseLines, 100)
    .option('--since <time>', 'journalctl --since (e.g. "1 hour ago", "2026-11-28 08:00")')
    .option('--file <path>', 'read a JSON-lines log file instead of journald (npm start: var/locker.log)')
    .option('--json', 'print the entries as they were written (JSON lines)')
    .addHelpText('after', '\nExit codes: 0 shown, 3 no such file, 1 journalctl failed.')
    .action(async (options: { lines: number; since?: string; file?: string; json?: boolean }) => {
      try {
        const lines = await readLogLines(options, kit.deps.env);
        for (const line of lines) kit.deps.io.stdout(`${options.json ? line : formatLogLine(line)}\n`);
        kit.setExit(EXIT.OK);
      } catch (error) {
        kit.deps.io.stderr(`lockerctl logs: ${(error as Error).message}\n`);
        kit.setExit(error instanceof OpsError ? EXIT.REFUSED : EXIT.FAILED);
      }
    });

  program
    .command('diagnostics')
    .description('write a tarball for support: the config without secrets, versions, status, recent logs and a database integrity check (on a copy)')
    .option('--out <file>', 'where to write it', `keylocker-diagnostics-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '')}.tar.gz`)
    .option('--log-file <path>', 'take the logs from this JSON-lines file instead of journald')
    .option('-n, --lines <n>', 'how many log entries', parseLines, 2000)
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExit codes: 0 written, 7 written but the database failed its integrity check, 1 other failure.')
    .action(async (options: { out: string; logFile?: string; lines: number; json?: boolean }, command: Command) => {
      const ctx = kit.context(command);
      let integrityOk = true;
      const code = await report(
        kit.deps.io,
        'diagnostics',
        options,
        async () => {
          const result = await writeDiagnostics(ctx, command, options, kit.deps.env);
          integrityOk = result.integrity === 'ok';
          return result;
        },
        (r) => `wrote ${r.file}: ${r.files.join(', ')}; database integrity ${r.integrity}`,
      );
      kit.setExit(code === EXIT.OK && !integrityOk ? EXIT.FAULTS_FOUND : code);
    });
}

async function readLogLines(options: { lines: number; since?: string; file?: string }, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (options.file) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch {
      throw new OpsError('BAD_INPUT', `no log file ${options.file}`);
    }
    return text.split('\n').filter((line) => line.trim() !== '').slice(-options.lines);
  }
  const args = ['-u', UNIT, '-o', 'cat', '--no-pager', '-n', String(options.lines), ...(options.since ? ['--since', options.since] : [])];
  const output = await run(env.KEYLOCKER_JOURNALCTL ?? 'journalctl', args);
  return output.split('\n').filter((line) => line.trim() !== '');
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'svc', 'module', 'msg']);

/** One pino JSON line as `time LEVEL [module] message key=value ...`; anything else as it is. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null) return line;
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const level = LEVELS[Number(entry.level)] ?? String(entry.level ?? '');
  return [String(entry.time ?? ''), level.padEnd(5), entry.module ? `[${String(entry.module)}]` : '', String(entry.msg ?? ''), ...fields].filter(Boolean).join(' ');
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new Error(`${command}: ${error.message} (no journald here? lockerctl logs --file PATH)`)));
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${command} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim().slice(0, 500)}`));
    });
  });
}

/** Keys whose values never leave the machine. */
const SECRET_KEYS = new Set(['screenSecret']);

export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEYS.has(key) && inner !== null ? '(removed)' : withoutSecrets(inner)]));
}

async function writeDiagnostics(
  ctx: OpsContext,
  command: Command,
  options: { out: string; logFile?: string; lines: number },
  env: NodeJS.ProcessEnv,
): Promise<{ file: string; files: string[]; integrity: string }> {
  const config = await loadOpsConfig(ctx);
  const dir = await mkdtemp(join(tmpdir(), 'lockerctl-diagnostics-'));
  try {
    const files: Record<string, string> = {};
    const { source: _source, ...shown } = config;
    files['config.json'] = JSON.stringify(withoutSecrets(shown), null, 2);
    files['versions.json'] = JSON.stringify(
      {
        lockerctl: softwareVersion(),
        node: process.version,
        platform: `${platform()}-${arch()}`,
        currentRelease: await currentVersion(ctx.layout).catch(() => null),
        installedReleases: await installedVersions(ctx.layout).catch(() => []),
      },
      null,
      2,
    );
    let status: Record<string, unknown>;
    try {
      status = { service: 'running', ...(await callAdmin({ op: 'status' }, { socketPath: await socketPathFor(ctx, command), timeoutMs: 10_000 })) };
    } catch (error) {
      status = error instanceof OpsError && error.code === 'NOT_RUNNING' ? await offlineStatus(config, new Date()).catch((e: unknown) => ({ error: String(e) })) : { error: (error as Error).message };
    }
    files['status.json'] = JSON.stringify(status, null, 2);
    files['logs.txt'] = await readLogLines({ lines: options.lines, ...(options.logFile ? { file: options.logFile } : {}) }, env).then(
      (lines) => `${lines.join('\n')}\n`,
      (error: unknown) => `logs could not be read: ${(error as Error).message}\n`,
    );
    let integrity: string;
    try {
      integrity = await withStoreCopy(config.dataDir, async (db) => {
        const rows = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
        return rows.map((row) => row.integrity_check).join('; ');
      });
    } catch (error) {
      integrity = `FAILED: ${(error as Error).message}`;
    }
    files['integrity.txt'] = `${integrity}\n`;
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o600 });
    const out = resolve(options.out);
    await run('tar', ['-czf', out, '-C', dir, ...Object.keys(files)]);
    await chmod(out, 0o600);
    ctx.progress(`diagnostics in ${out}`);
    return { file: out, files: Object.keys(files), integrity };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

