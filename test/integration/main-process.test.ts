/**
 * The service as a technician starts it: `node kiosk/main.ts` (through tsx, as `npm start`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const ROOT = join(import.meta.dirname, '..', '..');

function run(args: string[], env: Record<string, string> = {}, onLine?: (line: string, stop: () => void) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'kiosk/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // A hang guard, not a measurement: tsx compiling the service on a machine running two busy
  // loops beside the suite has taken more than 20 s.
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    for (const line of String(chunk).split('\n')) if (line) onLine?.(line, () => child.kill('SIGTERM'));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('a bad config file: one clear line, exit code 2, nothing opened', async (t) => {
  const dir = t.testdir({ 'bad.json': JSON.stringify({ dataDir: 'DATA', locks: { pulseMs: 5000 } }) });
  const result = await run(['--config', join(dir, 'bad.json')]);
  t.equal(result.code, 2);
  t.match(result.stderr, /^keylocker: config file .*bad\.json: key "locks\.pulseMs" has value 5000/);
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  t.equal(result.stdout, '', 'no service log: nothing was started');
  t.notOk(existsSync(join(ROOT, 'DATA')), 'no database was created');
});

t.test('KEYLOCKER_CONFIG names the file when --config is absent', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"hardware": {"kind": "plc"}}' });
  const result = await run([], { KEYLOCKER_CONFIG: join(dir, 'bad.json') });
  t.equal(result.code, 2);
  t.match(result.stderr, /key "hardware\.kind" has value "plc"/);
});

t.test('a good config runs on the simulator and stops cleanly on SIGTERM', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'locker.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'data'), server: { port: 0 } }));
  const result = await run(['--config', config], {}, (line, stop) => {
    if (line.includes('keylocker running on the simulator')) stop();
  });
  t.equal(result.code, 0, 'exit 0 after SIGTERM');
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.ok(lines.some((l) => l.msg === 'keylocker running on the simulator'), 'says it runs on the simulator');
  t.ok(lines.some((l) => l.msg === 'stopping: driving every output off'));
  t.ok(existsSync(join(dir, 'data', 'keylocker.db')));
});

t.test('with no back office configured the locker runs unprovisioned and says why', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'locker.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'data'), server: { port: 0 } }));
  let health: Record<string, unknown> | null = null;
  const result = await run(['--config', config], {}, (line, stop) => {
    const entry = JSON.parse(line) as { msg?: string; urls?: { health: string } };
    if (entry.msg === 'keylocker running on the simulator' && entry.urls) {
      void fetch(entry.urls.health)
        .then((response) => response.json() as Promise<Record<string, unknown>>)
        .then((body) => (health = body))
        .finally(stop);
    }
  });
  t.equal(result.code, 0);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.ok(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('unprovisioned: backOffice.url is not set')), 'the log says why it is not connected');
  t.match(health, { backOffice: { provisioned: false, state: 'unprovisioned' } }, '/health says it is not connected');
  t.notOk(lines.some((l) => typeof l.msg === 'string' && /reference back office/.test(l.msg)), 'no back office is started in the locker');
});
