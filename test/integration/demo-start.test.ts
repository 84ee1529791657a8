/**
 * `npm start` as a newcomer runs it: two programs (the locker, and the reference back office
 * beside it), a short banner with every address and every demo PIN, the JSON logs in files.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEMO_APPOINTMENTS } from '../reference-backoffice/demo.js';

const ROOT = join(import.meta.dirname, '..', '..');

t.test('the demo starts both programs, prints a calm banner, and stops on Ctrl-C', async (t) => {
  const dir = t.testdir();
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/demo/run.ts', '--data-dir', dir, '--port', '0', '--back-office-port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  const banner = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (stderr.includes('Ctrl-C stops both')) resolve(stderr);
    });
    child.once('exit', (code) => reject(new Error(`the demo exited (${code}) before its banner: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  for (const demo of DEMO_APPOINTMENTS) t.match(banner, demo.pin, `the banner lists demo PIN ${demo.pin}`);
  const url = (label: string): string => {
    const found = new RegExp(`${label}\\s+(http://\\S+)`).exec(banner)?.[1];
    if (!found) throw new Error(`no ${label} in the banner`);
    return found;
  };
  t.ok(banner.trim().split('\n').length <= 22, 'the banner is short');
  t.notMatch(banner, /"level":/, 'no JSON log lines on the terminal');
  t.equal(stdout, '', 'nothing else on stdout');

  const health = (await (await fetch(url('customer screen \\(bottom\\)').replace('/bottom/', '/health'))).json()) as { backOffice: { provisioned: boolean } };
  t.equal(health.backOffice.provisioned, true, 'the locker is provisioned against the demo back office');
  const staff = await fetch(url('staff page \\(back office\\)'));
  t.equal(staff.status, 200, 'the staff page answers');

  child.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C stops both cleanly');
  clearTimeout(killer);
  t.match(readFileSync(join(dir, 'locker.log'), 'utf8'), /stopping: driving every output off/, 'the locker log is in the data folder');
});
