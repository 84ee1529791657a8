/**
 * People at the locker, over its HTTP API as the screens and the simulator page use it: a
 * customer walking a drop-off or a pickup (sometimes typing a wrong PIN first, taking their
 * time at the open door, walking away), and someone forcing doors. Any failed request ends
 * the walk quietly: the process was killed under it, which is the point.
 */
import type { SessionAction, SessionView } from '../../../kiosk/core/session-view.js';
import type { Random } from './random.js';
import { Agent, request as httpRequest } from 'node:http';

export interface Reply {
  status: number;
  view?: SessionView;
  error?: { code: string };
}

/** The request that was in flight, for classifying where a kill landed. */
export type Step = 'idle' | 'start' | 'pin' | 'details' | 'open' | 'door-wait' | 'finish' | 'abandon' | 'end';

export class Killed extends Error {}

export class Visitor {
  step: Step = 'idle';
  /**
   * Pulses this visitor's commands may cause at most: a pickup's PIN opens one compartment
   * (a pulse and one retry), a drop-off's confirm may try two (journeys' second try after a
   * failed open), each with one retry.
   */
  pulseBudget = 0;

  /** Connections kept open between requests, as fetch keeps them; this visitor's own. */
  readonly #agent = new Agent({ keepAlive: true });

  constructor(
    readonly server: string,
    readonly signal: AbortSignal,
  ) {}

  async act(action: SessionAction): Promise<Reply> {
    const response = await this.#fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(action) });
    const body = (await response.json().catch(() => ({}))) as { view?: SessionView; error?: { code: string } };
    return { status: response.status, ...body };
  }

  async view(): Promise<SessionView | null> {
    const response = await this.#fetch('/api/session');
    const body = await response.json().catch(() => {
      throw new Killed('the locker is gone');
    });
    return (body as { view?: SessionView }).view ?? null;
  }

  async sim(action: string, compartment?: number): Promise<void> {
    await this.#fetch('/api/sim', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action, compartment }) });
  }

  async simState(): Promise<{ compartments: { id: number; energised: boolean; doorOpen: boolean }[] }> {
    const response = await this.#fetch('/api/sim');
    return (await response.json()) as { compartments: { id: number; energised: boolean; doorOpen: boolean }[] };
  }

  /**
   * One request with node's http client rather than fetch: a crash run makes tens of thousands
   * of these, and fetch (undici, web streams, an abort listener per request) cost the test
   * process about a fifth of its CPU. The answer's status once its head arrives; its body read
   * by json(), which fails, as fetch's does, when the locker dies before the body is whole.
   */
  async #fetch(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    if (this.signal.aborted) throw new Killed('the locker is gone');
    const url = new URL(path, this.server);
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    const headers = { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    // A signal of its own per request, tied to the visitor's while the request is under way, so
    // that a visitor living for hundreds of journeys keeps no listener per request.
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    this.signal.addEventListener('abort', abort, { once: true });
    try {
      return await new Promise<Answer>((resolve, reject) => {
        const request = httpRequest(url, { method: init.method ?? 'GET', headers, agent: this.#agent, signal: controller.signal }, (response) => {
          const chunks: Buffer[] = [];
          const text = new Promise<string>((ok, fail) => {
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
            response.on('error', fail);
            response.on('close', () => {
              if (!response.complete) fail(new Error('the answer was cut'));
            });
          });
          text.catch(() => undefined); // read by json() or not at all
          resolve({ status: response.statusCode ?? 0, json: async () => JSON.parse(await text) as unknown });
        });
        request.on('error', reject);
        request.end(body);
      });
    } catch {
      throw new Killed('the locker is gone');
    } finally {
      this.signal.removeEventListener('abort', abort);
    }
  }
}

/** What a request answered: its status, and its body as JSON when asked for. */
interface Answer {
  status: number;
  json(): Promise<unknown>;
}

export interface DropoffTicket {
  kind: 'dropoff' | 'pickup';
  reservationId: string;
  pin: string;
}

/** What one walk did, for the run's statistics. */
export type WalkResult = 'finished' | 'abandoned' | 'refused' | 'failed';

/**
 * One customer journey from the welcome screen to the end; now and then someone forces the
 * door after the customer closed it (a forced door on a compartment in use).
 */
export async function walk(visitor: Visitor, ticket: DropoffTicket, random: Random): Promise<WalkResult> {
  visitor.step = 'start';
  let reply = await visitor.act({ type: 'start', journey: ticket.kind });
  if (reply.status !== 200) return leave(visitor, 'refused');
  if (random.chance(0.1)) {
    visitor.step = 'pin';
    await visitor.act({ type: 'pin', pin: wrongPin(ticket.pin) });
  }
  visitor.step = ticket.kind === 'pickup' ? 'open' : 'pin';
  if (ticket.kind === 'pickup') visitor.pulseBudget += 2;
  reply = await visitor.act({ type: 'pin', pin: ticket.pin });
  if (reply.status !== 200 || !reply.view) return leave(visitor, 'refused');
  if (ticket.kind === 'dropoff') {
    visitor.step = 'details';
    reply = await visitor.act({ type: 'details', phone: random.chance(0.3) ? '+4798765432' : null, remark: random.chance(0.5) ? 'spare key in the glovebox' : null });
    if (reply.status !== 200) return leave(visitor, 'refused');
    visitor.step = 'open';
    visitor.pulseBudget += 4;
    reply = await visitor.act({ type: 'confirm' });
    if (reply.status !== 200 || !reply.view) return leave(visitor, 'refused');
  }
  const compartment = reply.view?.compartment ?? null;
  if (reply.view?.step === 'failed' || compartment === null) return leave(visitor, 'failed');

  visitor.step = 'door-wait';
  await pause(random.int(0, 120), visitor.signal);
  if (random.chance(0.15)) {
    await visitor.act({ type: 'abandon' });
    await visitor.act({ type: 'abandonConfirm' });
    await visitor.sim('closeDoor', compartment);
    return 'abandoned';
  }
  await visitor.sim('closeDoor', compartment);
  if (random.chance(0.12)) {
    // Someone pulls the closed door open again (a forced door on a compartment in use).
    await doorShown(visitor, 'closed');
    await visitor.sim('forceDoor', compartment);
    await pause(random.int(0, 60), visitor.signal);
    await visitor.sim('closeDoor', compartment);
  }
  await doorShown(visitor, 'closed');
  visitor.step = 'finish';
  reply = await visitor.act({ type: 'confirm' });
  if (reply.status !== 200) {
    await visitor.sim('closeDoor', compartment);
    return leave(visitor, 'refused');
  }
  visitor.step = 'end';
  await visitor.act({ type: 'confirm' });
  visitor.step = 'idle';
  return 'finished';
}

/** Walk away from whatever is on screen: abandon if a session runs. */
async function leave(visitor: Visitor, result: WalkResult): Promise<WalkResult> {
  visitor.step = 'abandon';
  const view = await visitor.view();
  if (view?.step === 'done' || view?.step === 'failed') await visitor.act({ type: 'confirm' });
  else if (view?.sessionId) {
    await visitor.act({ type: 'abandon' });
    await visitor.act({ type: 'abandonConfirm' });
  }
  visitor.step = 'idle';
  return result;
}

/** Waits (bounded) until the screen shows the door in this state. */
async function doorShown(visitor: Visitor, door: 'open' | 'closed'): Promise<void> {
  for (let round = 0; round < 100; round += 1) {
    const view = await visitor.view();
    if (!view?.compartment || view.door === door) return;
    await pause(10, visitor.signal);
  }
}

function wrongPin(pin: string): string {
  const last = Number(pin.at(-1));
  return `${pin.slice(0, -1)}${(last + 1) % 10}`;
}

export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Killed('the locker is gone'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Killed('the locker is gone'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
