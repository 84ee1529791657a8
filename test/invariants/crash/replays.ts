/**
 * Findings replayed on the real process, step by step instead of at random: each scenario
 * here is the history a random kill once found, written out so it runs the same every time.
 */
import { checkInvariants, describeViolations } from '../check.js';
import { Visitor } from './customer.js';
import { Generation } from './generation.js';
import { LockerProcess } from './locker-process.js';
import { Random } from './random.js';
import { readStore, type StoreView } from './store-reader.js';
import { join } from 'node:path';

export interface ReplayOptions {
  main: string;
  workDir: string;
}

interface Started {
  proc: LockerProcess;
  visitor: Visitor;
}

async function start(main: string, generation: Generation, violations: string[]): Promise<Started> {
  const proc = new LockerProcess(main, generation.configPath);
  const info = await proc.ready;
  if (!info) throw new Error(`the locker did not start: ${proc.stderr.slice(0, 2000)}`);
  const found = await checkInvariants(generation.dbPath, { atRest: true });
  if (found.length > 0) violations.push(`after a start: ${describeViolations(found)}`);
  await generation.backOffice.allAnswered(10_000);
  return { proc, visitor: new Visitor(info.server, new AbortController().signal) };
}

/**
 * How long a replay waits for the locker process to do what it does in milliseconds when idle.
 * A safety limit for a broken build, never a measurement: 300 rounds of 10 ms (3-5 s with the
 * reads) was short for a child process on a machine under CI's load.
 */
const PROCESS_BOUND_MS = 30_000;

/** Polls (bounded) until the store shows what `check` wants. */
async function storeShows(path: string, check: (view: StoreView) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PROCESS_BOUND_MS;
  while (!check(await readStore(path))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function doorClosed(visitor: Visitor, compartment: number): Promise<void> {
  await visitor.sim('closeDoor', compartment);
  const deadline = Date.now() + PROCESS_BOUND_MS;
  while ((await visitor.view())?.door !== 'closed') {
    if (Date.now() > deadline) throw new Error(`door ${compartment} never showed closed`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function dropoffToOpenDoor(visitor: Visitor, pin: string): Promise<number> {
  await visitor.act({ type: 'start', journey: 'dropoff' });
  await visitor.act({ type: 'pin', pin });
  await visitor.act({ type: 'details', phone: null, remark: null });
  const reply = await visitor.act({ type: 'confirm' });
  const compartment = reply.view?.compartment;
  if (reply.view?.step !== 'place-key' || !compartment) throw new Error(`the drop-off did not open: ${JSON.stringify(reply)}`);
  return compartment;
}

/**
 * Issue 15's second finding: a door forced on the compartment of a drop-off in progress, the
 * process killed, the customer trying again.
 */
export async function replayForcedDropoff(options: ReplayOptions): Promise<{ violations: string[]; events: string[]; compartments: StoreView['compartments']; reservationId: string }> {
  const violations: string[] = [];
  const generation = await Generation.create(join(options.workDir, 'locker'), join(options.workDir, 'unit-key'), new Random(15));
  try {
    await generation.book(1);
    const reservationId = 'd-1';
    const pin = generation.bookings.get(reservationId)?.pin ?? '';
    let { proc, visitor } = await start(options.main, generation, violations);
    const first = await dropoffToOpenDoor(visitor, pin);
    await doorClosed(visitor, first);
    await visitor.sim('forceDoor', first);
    await storeShows(generation.dbPath, (view) => view.compartments.find((c) => c.id === first)?.state === 'quarantined', 'the forced compartment quarantined');
    await proc.kill();

    ({ proc, visitor } = await start(options.main, generation, violations));
    const second = await dropoffToOpenDoor(visitor, pin);
    await doorClosed(visitor, second);
    const done = await visitor.act({ type: 'confirm' });
    if (done.view?.step !== 'done') violations.push(`the retry did not finish: ${JSON.stringify(done)}`);
    await proc.kill();

    const found = await checkInvariants(generation.dbPath, { atRest: true });
    if (found.length > 0) violations.push(`at the end: ${describeViolations(found)}`);
    const view = await readStore(generation.dbPath, true);
    const events = view.outbox
      .filter((row) => row.type !== 'compartment.closed')
      .map((row) => `${row.type}(${String((JSON.parse(row.payload) as { compartment?: number }).compartment ?? '')})`);
    return { violations, events, compartments: view.compartments, reservationId };
  } finally {
    await generation.close();
  }
}

/**
 * Found by the kills (SEED=3): a pickup abandoned after its door opened leaves the compartment
 * quarantined; the same PIN again must not open it.
 */
export async function replayQuarantinedPickup(options: ReplayOptions): Promise<{ violations: string[]; secondTry: { status: number; step: string | null; error: string | null }; pulses: number }> {
  const violations: string[] = [];
  const generation = await Generation.create(join(options.workDir, 'locker'), join(options.workDir, 'unit-key'), new Random(3));
  try {
    await generation.book(0);
    const pin = generation.bookings.get('p-15')?.pin ?? '';
    const { proc, visitor } = await start(options.main, generation, violations);
    await visitor.act({ type: 'start', journey: 'pickup' });
    const opened = await visitor.act({ type: 'pin', pin });
    if (opened.view?.step !== 'take-key') violations.push(`the first pickup did not open: ${JSON.stringify(opened)}`);
    await visitor.act({ type: 'abandon' });
    await visitor.act({ type: 'abandonConfirm' });
    await doorClosedBySim(visitor, 15);

    await visitor.act({ type: 'start', journey: 'pickup' });
    const again = await visitor.act({ type: 'pin', pin });
    await proc.stop();
    const found = await checkInvariants(generation.dbPath, { atRest: true });
    if (found.length > 0) violations.push(`at the end: ${describeViolations(found)}`);
    return { violations, secondTry: { status: again.status, step: again.view?.step ?? null, error: again.view?.error?.code ?? again.error?.code ?? null }, pulses: proc.count('pulse') };
  } finally {
    await generation.close();
  }
}

async function doorClosedBySim(visitor: Visitor, compartment: number): Promise<void> {
  await visitor.sim('closeDoor', compartment);
  const deadline = Date.now() + PROCESS_BOUND_MS;
  while ((await visitor.simState()).compartments.find((c) => c.id === compartment)?.doorOpen) {
    if (Date.now() > deadline) throw new Error(`the simulator never showed door ${compartment} closed`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
