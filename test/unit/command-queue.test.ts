/**
 * CommandQueue: batches of what is queued, results in arrival order, and the commands queued
 * behind a batch prepared (CommandProcessor.prepareAhead: their hashes...) while that batch
 * waits on the store. "Hashed" below is "prepared".
 */
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { CommandQueue } from '../../kiosk/sync/command-queue.js';
import type { CommandMessage, ResultMessage } from '../../kiosk/sync/messages.js';

function command(i: number): CommandMessage {
  return { v: 1, type: 'command', id: `c-${i}`, name: 'reservation.cancel', args: { reservationId: `r-${i}`, version: 2 } };
}

/** A processor whose batches finish when the test says so; it notes what was prepared (hashed) when each batch began. */
function gatedProcessor() {
  const gates: (() => void)[] = [];
  const batches: { ids: string[]; hashedBefore: Set<string> }[] = [];
  const hashed = new Set<string>();
  return {
    hashed,
    batches,
    gates,
    processor: {
      prepareAhead: (c: CommandMessage): void => {
        hashed.add(c.id);
      },
      applyMany: async (commands: readonly CommandMessage[]): Promise<ResultMessage[]> => {
        batches.push({ ids: commands.map((c) => c.id), hashedBefore: new Set(hashed) });
        await new Promise<void>((resolve) => gates.push(resolve));
        return commands.map((c) => ({ v: 1, type: 'result', commandId: c.id, ok: true, result: {} }) as ResultMessage);
      },
    },
  };
}

/** Lets the event loop turn `turns` times (setImmediate: the turns the queue hashes in). */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

t.test('the commands queued behind a batch are hashed while it is applied, in arrival order, two batches at most', async (t) => {
  const fake = gatedProcessor();
  const sent: string[] = [];
  const queue = new CommandQueue(fake.processor, (r) => sent.push(r.commandId), createSilentLogger());
  queue.push(command(0)); // applied at once, alone
  for (let i = 1; i <= 600; i += 1) queue.push(command(i));
  t.equal(fake.batches.length, 1, 'the first command is being applied');
  t.equal(fake.hashed.size, 0, 'nothing hashed in the same turn as the pushes');

  await turns(5);
  t.equal(fake.hashed.size, 5 * 16, '16 a turn of the event loop');
  t.same([...fake.hashed].slice(0, 3), ['c-1', 'c-2', 'c-3'], 'from the front of the queue');
  await turns(100);
  t.equal(fake.hashed.size, 512, 'two batches ahead, no more');
  t.notOk(fake.hashed.has('c-513'), 'the 513th queued is left for later');

  fake.gates.shift()?.();
  await turns(3);
  t.equal(fake.batches.length, 2, 'the next batch began');
  const second = fake.batches[1]!;
  t.equal(second.ids.length, 256);
  t.ok(second.ids.every((id) => second.hashedBefore.has(id)), 'all of it hashed before it began');
  await turns(100);
  t.ok(fake.hashed.has('c-600'), 'the window moved on: the rest hashed while the second batch is applied');

  for (let round = 0; round < 10 && fake.gates.length > 0; round += 1) {
    fake.gates.shift()?.();
    await turns(3);
  }
  await queue.idle();
  t.same(sent, Array.from({ length: 601 }, (_, i) => `c-${i}`), 'every result, in arrival order');
});

t.test('a command whose hashing ahead throws is still applied (its round hashes it and answers)', async (t) => {
  const fake = gatedProcessor();
  const sent: string[] = [];
  const processor = {
    applyMany: fake.processor.applyMany,
    prepareAhead: (c: CommandMessage) => {
      if (c.id === 'c-2') throw new Error('cannot hash');
      fake.processor.prepareAhead(c);
    },
  };
  const queue = new CommandQueue(processor, (r) => sent.push(r.commandId), createSilentLogger());
  for (let i = 0; i <= 3; i += 1) queue.push(command(i));
  queue.pushInvalid('bad-1', 'args.x is required');
  queue.push(command(4));
  await turns(3);
  t.same([...fake.hashed], ['c-1', 'c-3', 'c-4'], 'the others hashed; an invalid entry skipped');
  for (let round = 0; round < 10 && (fake.gates.length > 0 || sent.length < 6); round += 1) {
    fake.gates.shift()?.();
    await turns(3);
  }
  await queue.idle();
  t.same(sent, ['c-0', 'c-1', 'c-2', 'c-3', 'bad-1', 'c-4'], 'all answered in order, the invalid one in its place');
});

t.test('an invalid entry answered at the front does not make the hashing ahead skip a command', async (t) => {
  const fake = gatedProcessor();
  const sent: string[] = [];
  const queue = new CommandQueue(fake.processor, (r) => sent.push(r.commandId), createSilentLogger());
  queue.push(command(0)); // applied alone; the rest waits behind it
  queue.pushInvalid('bad-1', 'args.x is required');
  for (let i = 1; i <= 600; i += 1) queue.push(command(i));
  await turns(100);
  t.equal(fake.hashed.size, 511, 'the window, less the invalid entry in it');
  for (let round = 0; round < 20 && sent.length < 602; round += 1) {
    fake.gates.shift()?.();
    await turns(60);
  }
  await queue.idle();
  const missed = Array.from({ length: 600 }, (_, i) => `c-${i + 1}`).filter((id) => !fake.hashed.has(id));
  t.same(missed, [], 'every command behind the first was hashed ahead');
  t.equal(sent.length, 602, 'and everything answered');
});

/** A processor that takes every further round `more` offers (nobody else waits), and notes each transaction's rounds. */
function greedyProcessor() {
  const transactions: string[][][] = [];
  return {
    transactions,
    processor: {
      prepareAhead: (): void => undefined,
      applyMany: async (commands: readonly CommandMessage[], more?: () => readonly CommandMessage[]): Promise<ResultMessage[]> => {
        await turns(1);
        const rounds = [commands.map((c) => c.id)];
        const all = commands.slice();
        for (let next = more?.() ?? []; next.length > 0; next = more?.() ?? []) {
          rounds.push(next.map((c) => c.id));
          all.push(...next);
        }
        transactions.push(rounds);
        return all.map((c) => ({ v: 1, type: 'result', commandId: c.id, ok: true, result: {} }) as ResultMessage);
      },
    },
  };
}

t.test('a snapshot: rounds of 256 join one transaction up to 1,024 commands; results in arrival order', async (t) => {
  const fake = greedyProcessor();
  const sent: string[] = [];
  const queue = new CommandQueue(fake.processor, (r) => sent.push(r.commandId), createSilentLogger());
  for (let i = 0; i < 2_500; i += 1) queue.push(command(i));
  await queue.idle();
  t.same(
    fake.transactions.map((rounds) => rounds.map((ids) => ids.length)),
    // The first push starts a round at once, alone; the others join its transaction.
    [[1, 256, 256, 256, 255], [256, 256, 256, 256], [256, 196]],
    '1,024 commands a transaction, in rounds of 256 at most, then the rest',
  );
  t.same(sent, Array.from({ length: 2_500 }, (_, i) => `c-${i}`), 'every result, in arrival order');
});

t.test('an invalid entry ends the transaction before it: its SCHEMA answer keeps its place', async (t) => {
  const fake = greedyProcessor();
  const sent: string[] = [];
  const queue = new CommandQueue(fake.processor, (r) => sent.push(r.commandId), createSilentLogger());
  for (let i = 0; i < 300; i += 1) queue.push(command(i));
  queue.pushInvalid('bad-1', 'args.x is required');
  for (let i = 300; i < 310; i += 1) queue.push(command(i));
  await queue.idle();
  t.same(
    fake.transactions.map((rounds) => rounds.map((ids) => ids.length)),
    [[1, 256, 43], [10]],
    'the second round stops before the invalid entry; the commands after it are a transaction of their own',
  );
  t.same(sent, [...Array.from({ length: 300 }, (_, i) => `c-${i}`), 'bad-1', ...Array.from({ length: 10 }, (_, i) => `c-${300 + i}`)]);
});

t.test('commandsPerCommit bounds the commands of one transaction, never below one round (256)', async (t) => {
  for (const commandsPerCommit of [256, 1, 600]) {
    const fake = greedyProcessor();
    const queue = new CommandQueue(fake.processor, () => undefined, createSilentLogger(), { commandsPerCommit });
    for (let i = 0; i < 700; i += 1) queue.push(command(i));
    await queue.idle();
    t.same(
      fake.transactions.map((rounds) => rounds.map((ids) => ids.length)),
      commandsPerCommit === 600 ? [[1, 256, 256, 87], [100]] : [[1, 255], [256], [188]],
      `${commandsPerCommit} per commit`,
    );
  }
});
