/**
 * A PIN brute force against a running locker, as a stranger at the screen (or anyone who can
 * reach the screens' API) would run it: guesses typed one after another, with PINs known to
 * have been valid once (used, cancelled, not ready) mixed in, the trick that used to reset the
 * locker's back-off. It prints how many guesses got through before each lockout, and how long
 * the locker made it wait.
 *
 *   tsx test/attack/pin-brute-force.ts --url http://127.0.0.1:8080 \
 *     [--guesses 1000] [--every 5] [--used 123456] [--cancelled 234567] [--not-ready 567890] \
 *     [--seed 1] [--max-wait-s 600] [--json]
 *
 * Every `--every`-th guess is one of the known PINs, in turn. Against the default policy a
 * run of 1,000 guesses takes about a day and a half of waiting (2 minutes per guess once the
 * first five are spent): that is the point. `--max-wait-s` stops the run when the locker asks
 * for a longer wait than that. The screens' API is the only thing it uses.
 */
import { pathToFileURL } from 'node:url';

export interface AttackOptions {
  url: string;
  guesses: number;
  every: number;
  known: { used: string | null; cancelled: string | null; notReady: string | null };
  seed: number;
  maxWaitS: number;
  /** Progress lines (the CLI prints them; tests pass nothing). */
  log?: (line: string) => void;
}

export interface AttackReport {
  guesses: number;
  /** Guesses the locker evaluated between lockouts: [5, 1, 1, ...] means 5 got through, then one at a time. */
  throughBeforeLockout: number[];
  lockouts: number;
  /** Guesses that opened something (a door, or the details of a booking). */
  opened: number;
  /** Answers by error code. */
  answers: Record<string, number>;
  /** The longest wait the locker asked for, in seconds. */
  longestWaitS: number;
  elapsedS: number;
  stoppedEarly: string | null;
}

interface View {
  step: string;
  identifyMode: string;
  error: { code: string; retryAfterS?: number } | null;
}

/** mulberry32: the same guesses for the same seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runAttack(options: AttackOptions): Promise<AttackReport> {
  const base = options.url.replace(/\/$/, '');
  const log = options.log ?? (() => undefined);
  const next = random(options.seed);
  const known = [options.known.used, options.known.cancelled, options.known.notReady].filter((pin): pin is string => pin !== null);
  const started = Date.now();
  const report: AttackReport = { guesses: 0, throughBeforeLockout: [], lockouts: 0, opened: 0, answers: {}, longestWaitS: 0, elapsedS: 0, stoppedEarly: null };
  let sinceLockout = 0;

  const post = async (action: Record<string, unknown>): Promise<{ status: number; view?: View; error?: { code: string } }> => {
    const response = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(action) });
    return { status: response.status, ...((await response.json()) as { view?: View; error?: { code: string } }) };
  };
  const view = async (): Promise<View> => ((await (await fetch(`${base}/api/session`)).json()) as { view: View }).view;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * To the keypad from the screen as last seen (`known`, or asked), waiting out a lockout;
   * false when the locker asks for a longer wait than allowed.
   */
  const keypad = async (known: View | null): Promise<boolean> => {
    let current = known ?? (await view());
    let pollMs = 5; // "Try again" is polled quickly at first, then once a second
    for (let round = 0; round < 100_000; round += 1) {
      if (current.step === 'identify' && current.identifyMode === 'pin') return true;
      if (current.step === 'welcome') {
        // "I have a PIN" where the locker has it; a locker before it knows drop-off only.
        if ((await post({ type: 'start', journey: null })).status !== 200) await post({ type: 'start', journey: 'dropoff' });
      }
      else if (current.step === 'locked-out') {
        const reply = await post({ type: 'back' });
        if (reply.view || reply.error?.code !== 'LOCKED_OUT') {
          // Allowed again (or the screen moved on by itself): look at where it is now.
          current = reply.view ?? (await view());
          continue;
        }
        const waitS = current.error?.retryAfterS ?? 1;
        report.longestWaitS = Math.max(report.longestWaitS, waitS);
        if (waitS > options.maxWaitS) return false;
        await sleep(pollMs);
        pollMs = Math.min(1000, pollMs * 2);
        continue;
      } else if (current.step === 'identify' || current.step === 'lookup-result' || current.step === 'lookup-sent') await post({ type: 'back' });
      else {
        await post({ type: 'abandon' });
        await post({ type: 'abandonConfirm' });
      }
      current = await view();
    }
    return false;
  };

  let last: View | null = null;
  for (let i = 0; i < options.guesses; i += 1) {
    if (!(await keypad(last))) {
      report.stoppedEarly = `the locker asked for a wait longer than --max-wait-s ${options.maxWaitS}`;
      break;
    }
    const knownTurn = known.length > 0 && options.every > 0 && i % options.every === options.every - 1;
    const pin = knownTurn ? (known[Math.floor(i / options.every) % known.length] ?? '000000') : String(Math.floor(next() * 1_000_000)).padStart(6, '0');
    const reply = await post({ type: 'pin', pin });
    // A refusal keeps the keypad (the view is the same); anything else, look again.
    last = reply.view ?? (reply.status === 200 ? null : { step: 'identify', identifyMode: 'pin', error: null });
    report.guesses += 1;
    sinceLockout += 1;
    const step = reply.view?.step ?? null;
    if (step === 'locked-out') {
      // We waited the last lockout out before typing: this guess was evaluated and started the next.
      report.lockouts += 1;
      report.throughBeforeLockout.push(sinceLockout);
      log(`lockout ${report.lockouts}: ${sinceLockout} guess(es) got through; wait ${reply.view?.error?.retryAfterS ?? '?'} s`);
      sinceLockout = 0;
      report.answers.LOCKED_OUT = (report.answers.LOCKED_OUT ?? 0) + 1;
    } else if (reply.status === 200) {
      report.opened += 1;
      log(`guess ${i + 1} opened something (step ${step})`);
    } else {
      const code = reply.error?.code ?? `HTTP_${reply.status}`;
      report.answers[code] = (report.answers[code] ?? 0) + 1;
    }
  }
  if (sinceLockout > 0) report.throughBeforeLockout.push(sinceLockout);
  report.elapsedS = Math.round((Date.now() - started) / 100) / 10;
  return report;
}

function flag(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: readonly string[]): Promise<void> {
  const url = flag(args, '--url');
  if (!url) throw new Error('--url of the locker (its screens\u2019 server) is required, e.g. --url http://127.0.0.1:8080');
  const known = (name: string, fallback: string): string | null => {
    const value = flag(args, name) ?? fallback;
    return value === 'none' ? null : value;
  };
  const report = await runAttack({
    url,
    guesses: Number(flag(args, '--guesses') ?? 1000),
    every: Number(flag(args, '--every') ?? 5),
    known: { used: known('--used', '123456'), cancelled: known('--cancelled', '234567'), notReady: known('--not-ready', '567890') },
    seed: Number(flag(args, '--seed') ?? 1),
    maxWaitS: Number(flag(args, '--max-wait-s') ?? 600),
    log: args.includes('--json') ? undefined : (line) => process.stdout.write(`${line}\n`),
  });
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const runs = report.throughBeforeLockout;
  process.stdout.write(
    [
      '',
      `${report.guesses} guesses in ${report.elapsedS} s, ${report.lockouts} lockouts, ${report.opened} opened something`,
      `guesses through before each lockout: ${runs.slice(0, 20).join(', ')}${runs.length > 20 ? `, ... (${runs.length} runs, at most ${Math.max(...runs)})` : ''}`,
      `answers: ${JSON.stringify(report.answers)}`,
      `longest wait asked: ${report.longestWaitS} s${report.stoppedEarly ? `; stopped: ${report.stoppedEarly}` : ''}`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`pin-brute-force: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
