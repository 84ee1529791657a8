/**
 * The conformance kit (docs/protocol.md, "Conformance kit"): plays a locker against a back
 * office and judges each rule of docs/protocol.md that a back office must keep (rules.ts), with
 * the evidence. Four stages, each on its own connections:
 *   1. the upgrade: refusals (P-AUTH-2..7), a token once and one connection (P-AUTH-8, 9), and
 *      the clock (P-CLOCK-1, 2);
 *   2. a first session: welcome (P-AUTH-1, P-SESS-1, P-CLOCK-3), inventory paging (P-INV-1);
 *   3. a second session: lost events (P-SESS-5), events, gaps, repeats, unknown fields and
 *      types, a nack, an urgent help call (P-SESS-3, P-EVT-1..6, P-HELP-1, 2), whose received
 *      command the kit leaves unanswered;
 *   4. a third session: the position kept (P-SESS-4), the command sent again (P-CMD-2), no
 *      paging of a known inventory (P-INV-2), the staff's remote-open events (P-STAFF-1), and
 *      the customer's side of a paid pickup (kit-customer.ts: P-PAY-1, P-RCPT-1, P-OPEN-1);
 * then what was watched throughout (P-SESS-2, P-EVT-4, P-CMD-1, P-HELP-2).
 * A silent back office fails the rule being waited for after `timeoutMs`; the kit never hangs.
 */
import type { KeyObject } from 'node:crypto';
import { RULES } from './rules.js';
import { KitSocket, type Frame, type OpenResult } from './kit-socket.js';
import { KitUnit } from './kit-unit.js';
import { customerStage, type KitCustomer } from './kit-customer.js';

export interface KitOptions {
  /** The back office's locker endpoint: wss://... (ws:// for a back office on this machine). */
  url: string;
  unitId: string;
  /** The unit's Ed25519 private key (enrolled with the back office). */
  privateKey: KeyObject;
  audience: string;
  /** A CA to trust for wss:// (PEM). */
  ca?: Buffer;
  /** How long to wait for each answer; default 10 s. */
  timeoutMs?: number;
  /** The customer's part at this back office (pay at its provider, press its phone link): without it, P-PAY-1, P-RCPT-1 and P-OPEN-1 are partly not checked. */
  customer?: KitCustomer;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

export type Verdict = 'pass' | 'fail' | 'skip';

export interface RuleResult {
  id: string;
  title: string;
  section: string;
  verdict: Verdict;
  detail: string;
}

export interface Report {
  url: string;
  unitId: string;
  results: RuleResult[];
  passed: number;
  failed: number;
  skipped: number;
}

const DAY_S = 24 * 60 * 60;

/** One open connection of a session, with what the kit sent on it. */
interface Session {
  socket: KitSocket;
  sent: Set<number>;
  floor: number;
}

export async function runConformance(options: KitOptions): Promise<Report> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const log = options.progress ?? (() => undefined);
  const unit = new KitUnit(options.unitId, options.privateKey, options.audience);
  const verdicts = new Map<string, { verdict: Verdict; detail: string }>();
  /** The first failure of a rule stands; a pass never overwrites it. */
  const judge = (id: string, ok: boolean, detail: string): boolean => {
    const current = verdicts.get(id);
    if (!ok) {
      if (current?.verdict !== 'fail') verdicts.set(id, { verdict: 'fail', detail });
    } else if (current === undefined || current.verdict === 'skip') {
      verdicts.set(id, { verdict: 'pass', detail });
    } else if (current.verdict === 'pass') {
      current.detail = `${current.detail}; ${detail}`;
    }
    return ok;
  };
  const skip = (ids: readonly string[], why: string): void => {
    for (const id of ids) if (!verdicts.has(id)) verdicts.set(id, { verdict: 'skip', detail: `not checked: ${why}` });
  };
  const sockets: KitSocket[] = [];
  const open = async (bearer: string | null, subprotocol = true): Promise<OpenResult> => {
    const result = await KitSocket.open(options.url, { bearer, subprotocol, timeoutMs, ...(options.ca ? { ca: options.ca } : {}) });
    if (result.ok) sockets.push(result.socket);
    return result;
  };
  const session = async (): Promise<Session | null> => {
    const state: Session = { socket: null as unknown as KitSocket, sent: new Set(), floor: 0 };
    const result = await KitSocket.open(
      options.url,
      { bearer: await unit.token(), timeoutMs, ...(options.ca ? { ca: options.ca } : {}) },
      (frame, socket) => unit.onFrame(frame, socket, state),
    );
    if (!result.ok) return null;
    sockets.push(result.socket);
    state.socket = result.socket;
    return state;
  };
  const send = (s: Session, event: Record<string, unknown>): void => {
    s.sent.add(Number(event['seq']));
    s.socket.send(event);
  };
  const ackAtLeast = (seq: number) => (frame: Frame): boolean => frame.type === 'ack' && Number(frame['seq']) >= seq;

  try {
    // --- 1. the upgrade ------------------------------------------------------------------
    log('the upgrade: refusals and the clock');
    const refused = async (id: string, what: string, bearer: string | null, subprotocol = true): Promise<void> => {
      const result = await open(bearer, subprotocol);
      if (result.ok) {
        judge(id, false, `${what}: upgraded`);
        await result.socket.close();
        return;
      }
      const status = result.refusal?.status ?? 0;
      if (id === 'P-AUTH-7') judge(id, true, `${what}: ${result.reason}`);
      else judge(id, status === 401, `${what}: ${status === 0 ? result.reason : `HTTP ${status}`}`);
    };
    await refused('P-AUTH-2', 'no Authorization header', null);
    await refused('P-AUTH-2', 'a bearer that is not a JWT', 'not-a-jwt');
    await refused('P-AUTH-3', "another key, the unit's kid", await unit.token({ key: KitUnit.strangerKey() }));
    await refused('P-AUTH-4', 'another audience', await unit.token({ audience: `${options.audience}-not-this-one` }));
    await refused('P-AUTH-5', 'valid for an hour', await unit.token({ ttlS: 3600 }));
    await refused('P-AUTH-6', 'no kid', await unit.token({ kid: null }));
    const otherKid = new KitUnit(options.unitId, KitUnit.strangerKey(), options.audience).kid;
    await refused('P-AUTH-6', "another key's kid", await unit.token({ kid: otherKid }));
    await refused('P-AUTH-7', 'no subprotocol', await unit.token(), false);

    const skewed = await open(await unit.token({ skewS: -3 * DAY_S }));
    if (skewed.ok) {
      judge('P-CLOCK-1', false, 'a token three days old was upgraded');
      await skewed.socket.close();
      skip(['P-CLOCK-2'], 'P-CLOCK-1 failed');
    } else {
      const error = skewed.refusal?.body?.error;
      const serverTime = typeof error?.serverTime === 'string' ? Date.parse(error.serverTime) : Number.NaN;
      const date = Date.parse(String(skewed.refusal?.headers.date ?? ''));
      const clockOk = skewed.refusal?.status === 401 && error?.code === 'CLOCK_SKEW' && Number.isFinite(serverTime) && Number.isFinite(date);
      judge('P-CLOCK-1', clockOk, `HTTP ${skewed.refusal?.status ?? '?'}, error.code ${String(error?.code)}, error.serverTime ${String(error?.serverTime)}, Date ${String(skewed.refusal?.headers.date)}`);
      const told = Number.isFinite(serverTime) ? serverTime : date;
      if (Number.isFinite(told)) {
        const corrected = await open(await unit.token({ at: new Date(told) }));
        judge('P-CLOCK-2', corrected.ok, corrected.ok ? 'upgraded' : `refused: ${corrected.reason}`);
        if (corrected.ok) await corrected.socket.close();
      } else skip(['P-CLOCK-2'], 'the refusal told no time');
    }

    // A token connects once (P-AUTH-8); a newer connection of the unit replaces the older (P-AUTH-9).
    const once = await unit.token();
    const used = await open(once);
    if (!used.ok) {
      skip(['P-AUTH-8', 'P-AUTH-9'], `a valid token was refused: ${used.reason}`);
    } else {
      const replay = await open(once);
      judge('P-AUTH-8', !replay.ok && replay.refusal?.status === 401, replay.ok ? 'the same token connected a second time' : `the same token again: ${replay.refusal ? `HTTP ${replay.refusal.status}` : replay.reason}`);
      if (replay.ok) await replay.socket.close();
      judge('P-AUTH-8', !used.socket.closed, 'the replay left the real connection open');
      const newer = await open(await unit.token());
      if (!newer.ok) {
        skip(['P-AUTH-9'], `a fresh token was refused: ${newer.reason}`);
      } else {
        const code = await used.socket.closedWithin(timeoutMs);
        judge('P-AUTH-9', code === 4000, code === null ? `the older connection stayed open for ${timeoutMs} ms` : `the older connection closed with ${code}`);
        await newer.socket.close();
      }
      await used.socket.close();
    }

    // --- 2. a first session ----------------------------------------------------------------
    log('first session: welcome and the inventory');
    const first = await session();
    if (!judge('P-AUTH-1', first !== null && first.socket.ws.protocol === 'keylocker.v1', first ? `subprotocol "${first.socket.ws.protocol}"` : 'refused') || !first) {
      throw new Stop('a valid token was not upgraded');
    }
    first.socket.send(unit.hello({ firstUnacked: null, firstHeld: null, nextSeq: 1 }));
    const welcome1 = await first.socket.waitFor((f) => f.type === 'welcome', timeoutMs);
    if (!judge('P-SESS-1', welcome1 !== null, welcome1 ? `ackedSeq ${String(welcome1['ackedSeq'])}` : `no welcome within ${timeoutMs} ms`) || !welcome1) {
      throw new Stop('no welcome');
    }
    const serverTime = Date.parse(String(welcome1['serverTime']));
    judge('P-CLOCK-3', Math.abs(serverTime - Date.now()) <= 60_000, `serverTime ${String(welcome1['serverTime'])}`);
    const base = Number(welcome1['ackedSeq']);
    first.floor = base;
    const lastPage = await first.socket.waitFor((f) => f.type === 'command' && f['name'] === 'inventory.page' && pageIsLast(f, unit), timeoutMs);
    const firstPage = first.socket.frames.find((f) => f.type === 'command' && f['name'] === 'inventory.page');
    judge(
      'P-INV-1',
      firstPage !== undefined && (firstPage['args'] as { after?: unknown }).after === null && lastPage !== null,
      firstPage ? `paged from after: ${JSON.stringify((firstPage['args'] as { after?: unknown }).after)}${lastPage ? ' to the end' : ', not to the end'}` : `no inventory.page within ${timeoutMs} ms for a digest it cannot know`,
    );
    await first.socket.close();

    // --- 3. a second session: events -------------------------------------------------------
    log('second session: events, gaps, repeats, a nack, a help call');
    const s = base + 11; // seqs base+1 .. base+10 are "gone for good"
    const second = await session();
    if (!second) throw new Stop('the second connection was refused');
    unit.holdCommand = (f) => f['name'] === 'help.update';
    second.socket.send(unit.hello({ firstUnacked: s, firstHeld: s, nextSeq: s + 7 }, { kitRun: unit.run, features: { probe: true } }));
    const welcome2 = await second.socket.waitFor((f) => f.type === 'welcome', timeoutMs);
    if (!welcome2) throw new Stop('no welcome on the second connection');
    judge('P-SESS-5', Number(welcome2['ackedSeq']) === s - 1, `hello.outbox.firstHeld ${s}: welcome.ackedSeq ${String(welcome2['ackedSeq'])} (expected ${s - 1})`);
    second.floor = Number(welcome2['ackedSeq']);
    const from = (): number => second.socket.frames.length;

    let mark = from();
    send(second, unit.event(s, 'compartment.closed', { compartment: 1 }));
    const ack1 = await second.socket.waitFor(ackAtLeast(s), timeoutMs, mark);
    judge('P-EVT-1', ack1 !== null && Number(ack1['seq']) === s, ack1 ? `ack ${String(ack1['seq'])} for seq ${s}` : `no ack within ${timeoutMs} ms`);

    mark = from();
    send(second, unit.event(s + 1, 'kit.probe-event', { note: 'an event type v1 does not have', nested: { deep: [1, 2] } }, { hint: 'extra top-level field' }));
    const ack2 = await second.socket.waitFor(ackAtLeast(s + 1), timeoutMs, mark);
    judge('P-EVT-5', ack2 !== null, ack2 ? `unknown type acked (${String(ack2['seq'])})` : `not acked within ${timeoutMs} ms`);
    judge('P-SESS-3', welcome2 !== null && ack2 !== null, 'a hello and an event with fields v1 does not have were answered as usual');

    mark = from();
    send(second, unit.event(s + 1, 'kit.probe-event', { note: 'again' }));
    const again = await second.socket.waitFor((f) => f.type === 'ack' || f.type === 'error', timeoutMs, mark);
    judge('P-EVT-2', again?.type === 'ack' && Number(again['seq']) >= s + 1, again ? `${String(again.type)} ${String(again['seq'] ?? again['code'])}` : `no answer within ${timeoutMs} ms`);

    // A gap: s+3 before s+2. A repeat of s+1 then makes any ack that follows say where it stands.
    mark = from();
    send(second, unit.event(s + 3, 'compartment.closed', { compartment: 3 }));
    send(second, unit.event(s + 1, 'kit.probe-event', { note: 'a third time' }));
    const during = await second.socket.waitFor((f) => f.type === 'ack', timeoutMs, mark);
    const pastGap = second.socket.frames.slice(mark).find((f) => f.type === 'ack' && Number(f['seq']) >= s + 2);
    mark = from();
    send(second, unit.event(s + 2, 'compartment.closed', { compartment: 2 }));
    const filled = await second.socket.waitFor(ackAtLeast(s + 3), timeoutMs, mark);
    judge('P-EVT-3', during !== null && pastGap === undefined && filled !== null, `with ${s + 2} missing: ${pastGap ? `ack ${String(pastGap['seq'])}` : during ? `ack ${String(during['seq'])}` : 'no ack'}; once filled: ${filled ? `ack ${String(filled['seq'])}` : 'no ack'}`);

    mark = from();
    send(second, unit.event(s + 4, 'key.deposited', { reservationId: `kit-${unit.run}-1` }));
    const nack = await second.socket.waitFor((f) => f.type === 'nack' && Number(f['seq']) === s + 4, timeoutMs, mark);
    const past = await second.socket.waitFor(ackAtLeast(s + 4), timeoutMs, mark);
    judge('P-EVT-6', nack !== null && typeof nack['reason'] === 'string' && past !== null, nack ? `nack ${String(nack['code'])} "${String(nack['reason'])}"; ${past ? `ack ${String(past['seq'])}` : 'the acks did not move past it'}` : `no nack within ${timeoutMs} ms for a key.deposited without its fields`);

    // A help call at s+6, sent urgent while s+5 is still missing.
    const callId = `kit-call-${unit.run}`;
    const help = (urgent: boolean) => unit.event(s + 6, 'help.requested', { callId, step: 'place-key', journey: 'dropoff', compartment: 2 }, urgent ? { urgent: true } : {});
    mark = from();
    send(second, help(true));
    const received = await second.socket.waitFor((f) => f.type === 'command' && f['name'] === 'help.update' && (f['args'] as { callId?: unknown; state?: unknown }).callId === callId && (f['args'] as { state?: unknown }).state === 'received', timeoutMs, mark);
    judge('P-HELP-1', received !== null, received ? `received (command ${String(received['id'])}) for an urgent copy ahead of a gap` : `no help.update received within ${timeoutMs} ms`);
    const jumped = second.socket.frames.slice(mark).find((f) => f.type === 'ack' && Number(f['seq']) >= s + 5);
    judge('P-HELP-2', jumped === undefined, jumped ? `ack ${String(jumped['seq'])} while ${s + 5} was missing` : 'the urgent copy did not move the ack');
    mark = from();
    send(second, unit.event(s + 5, 'compartment.closed', { compartment: 4 }));
    send(second, help(false));
    const all = await second.socket.waitFor(ackAtLeast(s + 6), timeoutMs, mark);
    judge('P-HELP-2', all !== null, all ? `ack ${String(all['seq'])} once the stream caught up` : `no ack of ${s + 6} within ${timeoutMs} ms`);
    await second.socket.close();

    // --- 4. a third session: what was kept --------------------------------------------------
    log('third session: the position, the unanswered command, the known inventory');
    unit.holdCommand = null;
    const third = await session();
    if (!third) throw new Stop('the third connection was refused');
    third.socket.send(unit.hello({ firstUnacked: null, firstHeld: s, nextSeq: s + 8 }));
    const welcome3 = await third.socket.waitFor((f) => f.type === 'welcome', timeoutMs);
    if (!welcome3) throw new Stop('no welcome on the third connection');
    third.floor = Number(welcome3['ackedSeq']);
    judge('P-SESS-4', Number(welcome3['ackedSeq']) === s + 6, `welcome.ackedSeq ${String(welcome3['ackedSeq'])} (acknowledged before: ${s + 6})`);
    const heldCommand = unit.held[0];
    if (heldCommand) {
      const resent = await third.socket.waitFor((f) => f.type === 'command' && f['id'] === heldCommand['id'], timeoutMs);
      const same = resent !== null && JSON.stringify(resent['args']) === JSON.stringify(heldCommand['args']) && resent['name'] === heldCommand['name'];
      judge('P-CMD-2', same, resent ? `command ${String(heldCommand['id'])} sent again${same ? ', same content' : ', with other content'}` : `command ${String(heldCommand['id'])} not sent again within ${timeoutMs} ms`);
    } else skip(['P-CMD-2'], 'no command was left unanswered (P-HELP-1)');
    // One more event: a back office that handles a connection in order has sent whatever it
    // meant to after this hello by the time this ack comes.
    const mark3 = third.socket.frames.length;
    send(third, unit.event(s + 7, 'compartment.closed', { compartment: 1 }));
    const last = await third.socket.waitFor(ackAtLeast(s + 7), timeoutMs, mark3);
    const repaged = third.socket.frames.some((f) => f.type === 'command' && f['name'] === 'inventory.page');
    judge('P-INV-2', !repaged && last !== null, repaged ? 'paged again although the digest was the one it had paged' : last ? 'not paged again' : `no ack of ${s + 7}`);

    // The staff side (issue 10): a remote open asked, done, refused by the throttle, its alarm.
    const staffEvents: [string, Record<string, unknown>][] = [
      ['compartment.remote-open-requested', { compartment: 5, by: 'kit', reason: 'conformance check' }],
      ['compartment.remote-open-done', { compartment: 5, by: 'kit', opened: true, result: 'confirmed', pulses: 1 }],
      ['compartment.remote-open-refused', { compartment: 6, by: 'kit', reason: 'THROTTLED', retryAfterS: 30 }],
      ['alarm.remote-open-throttled', { compartment: 6, by: 'kit', limit: 4, windowS: 60, retryAfterS: 30 }],
    ];
    const mark4 = third.socket.frames.length;
    staffEvents.forEach(([type, payload], index) => send(third, unit.event(s + 8 + index, type, payload)));
    const staffAck = await third.socket.waitFor(ackAtLeast(s + 8 + staffEvents.length - 1), timeoutMs, mark4);
    const staffNack = third.socket.frames.slice(mark4).find((f) => f.type === 'nack');
    judge(
      'P-STAFF-1',
      staffAck !== null && staffNack === undefined,
      staffNack ? `seq ${String(staffNack['seq'])} refused: ${String(staffNack['reason'])}` : staffAck ? `acked up to ${String(staffAck['seq'])}` : `no ack of ${s + 8 + staffEvents.length - 1} within ${timeoutMs} ms`,
    );

    // The customer's side (issue 12): paying, a receipt, the phone link, on a pickup of the back office's.
    log('the customer: payment check, receipt, phone link');
    let next = s + 8 + staffEvents.length;
    await customerStage({
      socket: third.socket,
      unit,
      event: (type, payload) => {
        const seq = next;
        next += 1;
        send(third, unit.event(seq, type, payload));
        return seq;
      },
      acked: async (seq) => (await third.socket.waitFor(ackAtLeast(seq), timeoutMs)) !== null,
      customer: options.customer,
      timeoutMs,
      judge,
      skip,
    });
    await third.socket.close();
  } catch (error) {
    const why = error instanceof Stop ? error.message : `the kit stopped: ${(error as Error).message}`;
    log(why);
    skip(RULES.map((r) => r.id).filter((id) => !['P-SESS-2', 'P-EVT-4', 'P-CMD-1'].includes(id)), why);
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }

  // --- what was watched throughout ---------------------------------------------------------
  const invalid = sockets.flatMap((socket) => socket.invalid);
  judge('P-SESS-2', invalid.length === 0, invalid.length === 0 ? `${sockets.reduce((n, socket) => n + socket.frames.length, 0)} frames, all valid` : invalid.slice(0, 3).join('; '));
  judge('P-EVT-4', unit.ackViolations.length === 0, unit.ackViolations.length === 0 ? 'every ack and nack named a seq sent' : unit.ackViolations.slice(0, 3).join('; '));
  judge('P-CMD-1', unit.idConflicts.length === 0, unit.idConflicts.length === 0 ? 'every command id kept its content' : unit.idConflicts.slice(0, 3).join('; '));
  const receivedTwice = [...unit.receivedPerCall].filter(([, n]) => n > 1);
  judge('P-HELP-2', receivedTwice.length === 0, receivedTwice.length === 0 ? 'one received per call' : `${receivedTwice[0]?.[1]} received commands for one call`);

  const results = RULES.map((rule) => ({ ...rule, ...(verdicts.get(rule.id) ?? { verdict: 'skip' as const, detail: 'not checked' }) }));
  return {
    url: options.url,
    unitId: options.unitId,
    results,
    passed: results.filter((r) => r.verdict === 'pass').length,
    failed: results.filter((r) => r.verdict === 'fail').length,
    skipped: results.filter((r) => r.verdict === 'skip').length,
  };
}

/** An inventory.page whose answer is the kit's last page. */
function pageIsLast(frame: Frame, unit: KitUnit): boolean {
  const after = (frame['args'] as { after?: unknown }).after;
  const limit = Number((frame['args'] as { limit?: unknown }).limit);
  const ids = unit.inventory.map((item) => item.id).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const rest = after === null ? ids : ids.filter((id) => Buffer.compare(Buffer.from(id), Buffer.from(String(after))) > 0);
  return rest.length <= limit;
}

/** The kit cannot go on (a connection refused, no welcome): the rest is not checked. */
class Stop extends Error {}

/** The report as text: one line per rule. */
export function formatReport(report: Report): string {
  const lines = [`conformance of ${report.url} (unit ${report.unitId}): ${report.passed} passed, ${report.failed} failed, ${report.skipped} not checked`];
  for (const r of report.results) lines.push(`${r.verdict === 'pass' ? 'PASS' : r.verdict === 'fail' ? 'FAIL' : 'SKIP'}  ${r.id.padEnd(10)} ${r.title}\n        ${r.detail}`);
  return lines.join('\n');
}
