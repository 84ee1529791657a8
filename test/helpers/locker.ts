import type { Test } from 'tap';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { decodeConfig } from '../../kiosk/config/load.js';
import type { SessionAction, SessionView } from '../../kiosk/core/session-view.js';
import { startLocker, type Locker } from '../../kiosk/locker.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { loadOrCreateIdentity } from '../../kiosk/sync/identity.js';
import { startReferenceBackOffice, type ReferenceBackOffice } from '../reference-backoffice/start.js';
import { scratchDir } from './scratch.js';

/** Cheap scrypt for the demo PINs: tests hash many. */
export const TEST_PIN_COST = { N: 2 ** 10, r: 8, p: 1 };

/**
 * Lock timings for test lockers on a real clock: a short pulse, and the poll interval of a real
 * board. A pulse must follow the board's last answer within one poll interval (never pulse
 * blind); at 50 ms a busy machine's event-loop stall refused opens as BOARD_OFFLINE.
 */
export const TEST_LOCKS = { pulseMs: 50, doorConfirmTimeoutMs: 400, pollIntervalMs: 200 };

/**
 * TEST_LOCKS for a test that counts the pulses of a jammed lock. The bank pulses it again only
 * if the retry fits before the open's deadline (2 x doorConfirmTimeoutMs + pollIntervalMs); at
 * 400 ms that left about 350 ms, and an event-loop stall that long during the first attempt made
 * it one pulse, not two (seen with injected stalls). At 2 s the margin is about 2 s; a jammed
 * open takes about 4 s.
 */
export const JAM_TEST_LOCKS = { ...TEST_LOCKS, doorConfirmTimeoutMs: 2000 };

/** A locker and, beside it (a separate program, started here in the test's process), the reference back office. */
export interface TestLocker extends Locker {
  sync: NonNullable<Locker['sync']>;
  backOffice: ReferenceBackOffice;
  urls: Locker['urls'] & { backOffice: string; tablet: string };
}

export interface TestLockerOptions {
  logger?: Logger;
  /** Port of the reference back office (0: any free port). */
  backOfficePort?: number;
}

/**
 * A whole locker on the simulator in `dir`, on 127.0.0.1 port 0, provisioned against a
 * reference back office (its store in `<dir>/backoffice`) that holds the demo reservations.
 * stop() stops both.
 */
export async function startTestLocker(dir: string, overrides: Record<string, unknown> = {}, options: TestLockerOptions = {}): Promise<TestLocker> {
  const logger = options.logger ?? createSilentLogger();
  const draft = decodeConfig({ dataDir: dir, ...overrides }, null);
  const backOffice = await startReferenceBackOffice({
    dataDir: `${dir}/backoffice`,
    port: options.backOfficePort ?? 0,
    audience: draft.backOffice.audience,
    logger,
    timeZone: draft.timeZone,
    defaultCountry: draft.defaultCountry,
    demo: true,
    pinCost: TEST_PIN_COST,
  });
  let locker: Locker;
  try {
    await backOffice.registerUnit(draft.unitId, (await loadOrCreateIdentity(dir, draft.unitId)).publicKeyJwk);
    const overridden = (overrides.backOffice ?? {}) as Record<string, unknown>;
    const config = decodeConfig(
      {
        dataDir: dir,
        server: { host: '127.0.0.1', port: 0 },
        locks: TEST_LOCKS,
        // Many test lockers run at once: no shared admin socket path, no fixed metrics port.
        admin: { socketPath: null },
        metrics: { port: 0 },
        ...overrides,
        backOffice: { pingIntervalMs: 2000, ...overridden, url: backOffice.lockerUrl },
      },
      null,
    );
    locker = await startLocker({ config, logger });
  } catch (error) {
    await backOffice.stop();
    throw error;
  }
  const stopLocker = locker.stop;
  const both: TestLocker = Object.assign(locker, {
    sync: locker.sync as NonNullable<Locker['sync']>,
    backOffice,
    urls: { ...locker.urls, backOffice: backOffice.url, tablet: `${backOffice.url}tablet/` },
    stop: async () => {
      await stopLocker();
      await backOffice.stop();
    },
  });
  // The demo appointments come from the reference back office over the link: wait for them.
  await until(async () => {
    const unpaid = await locker.store.reservation('demo-pickup-unpaid');
    const paid = await locker.store.reservation('demo-pickup-paid');
    const all = await Promise.all(DEMO_IDS.map((id) => locker.store.reservation(id)));
    return all.every(Boolean) && unpaid?.paymentVersion === 1 && paid?.paymentStatus === 'paid';
  }, 'the demo reservations from the back office', 60_000).catch(async (error: unknown) => {
    await both.stop();
    throw error;
  });
  return both;
}

const DEMO_IDS = ['demo-dropoff-1', 'demo-dropoff-2', 'demo-pickup-paid', 'demo-pickup-unpaid', 'demo-pickup-not-ready'];

/** Every event the locker has recorded for the back office, delivered or not, in order. */
export async function recordedEvents(locker: Locker): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const rows = await locker.db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq');
  return rows.map((row) => ({ type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown> }));
}

export async function withLocker(t: Test, overrides: Record<string, unknown> = {}, options: TestLockerOptions = {}): Promise<TestLocker> {
  const locker = await startTestLocker(scratchDir(t), overrides, options);
  t.teardown(() => locker.stop());
  return locker;
}

export interface ActionReply {
  status: number;
  view?: SessionView;
  error?: { code: string; message: string };
}

/** POST an action the way the bottom screen does. */
export async function act(locker: Locker, action: SessionAction | Record<string, unknown>): Promise<ActionReply> {
  const response = await fetch(`${locker.server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(action),
  });
  const body = (await response.json()) as { view?: SessionView; error?: { code: string; message: string } };
  return { status: response.status, ...body };
}

/** Like act(), but the action must succeed; returns the view. */
export async function ok(t: Test, locker: Locker, action: SessionAction): Promise<SessionView> {
  const reply = await act(locker, action);
  if (reply.status !== 200 || !reply.view) {
    t.fail(`${action.type} failed: ${reply.status} ${JSON.stringify(reply.error)}`);
    throw new Error(`${action.type} failed`);
  }
  return reply.view;
}

/**
 * A customer drops the key of WO-1001 off through the session API (PIN 123456, the test back
 * office's first drop-off; no phone, no remark), closes door 1 and presses Confirm: compartment
 * 1 holds the key. The set-up of the tests that need a key in the locker.
 */
export async function dropOffFirstKey(t: Test, locker: TestLocker): Promise<void> {
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: null, remark: null });
  await ok(t, locker, { type: 'confirm' });
  sim.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'door 1 closed');
  await ok(t, locker, { type: 'confirm' });
}

/**
 * Leave the "done" screen with its button. Its own timer (session.doneMs, 8 s) may have ended
 * the session first on a loaded machine; the press then finds no session, which is the same end.
 * Either way the locker must be back at the welcome screen.
 */
export async function leaveDone(t: Test, locker: Locker): Promise<void> {
  const before = locker.journeys.view().step;
  if (before !== 'done' && before !== 'welcome') t.fail(`expected the done screen, found ${before}`);
  const reply = await act(locker, { type: 'confirm' });
  const endedByTimer = reply.status === 400 && reply.error?.code === 'BAD_ACTION' && locker.journeys.view().step === 'welcome';
  if (reply.status !== 200 && !endedByTimer) t.fail(`leaving done failed: ${reply.status} ${JSON.stringify(reply.error)}`);
  t.equal(locker.journeys.view().step, 'welcome', 'back at the welcome screen');
}

/**
 * Wait (bounded) until `check` holds, polling every 10 ms. The bound is a safety limit for a
 * broken build, never a measurement: generous, so a loaded machine only makes a test slower.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A screen's WebSocket: collects every message pushed to it. */
export async function screenSocket(t: Test, locker: Locker, screen: 'bottom' | 'top' | 'sim') {
  const socket = new WebSocket(`${locker.server.url.replace('http', 'ws')}/ws?screen=${screen}`);
  const messages: Record<string, unknown>[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  t.teardown(() => socket.terminate());
  return { socket, messages, last: () => messages.at(-1) };
}
