/**
 * The back office of a crash run: it outlives every kill of the locker, so it sees the history
 * from outside. A thin wrapper over MiniBackOffice (test/helpers/mini-back-office.ts): that
 * takes the connection and acknowledges events; this keeps what was received across
 * connections, sends commands and sends again those whose result a kill swallowed, and can go
 * down and come back on the same port.
 *
 * History rules it checks (docs/invariants.md, "Histories the crash tests check"):
 * - a seq received twice carries the same event both times;
 * - every event received matches the store's row of that seq (checked against a database);
 * - every result received for one command id is the same.
 */
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { CommandArgs, CommandMessage, CommandName, EventMessage, ResultMessage } from '../../../kiosk/sync/messages.js';
import { MiniBackOffice } from '../../helpers/mini-back-office.js';

export interface HistoryViolation {
  rule: 'seq-reused' | 'delivered-matches-store' | 'command-answered-differently' | 'delivery-gap';
  detail: string;
}

interface Received {
  event: string;
  payload: string;
}

export class CrashBackOffice {
  readonly received = new Map<number, Received>();
  readonly commands = new Map<string, CommandMessage>();
  readonly results = new Map<string, ResultMessage>();
  readonly violations: HistoryViolation[] = [];
  #office: MiniBackOffice | null = null;
  #port = 0;
  #resultWaiters: (() => void)[] = [];

  constructor(
    readonly unitId: string,
    readonly publicKeyJwk: JWK,
  ) {}

  /** ws://127.0.0.1:PORT/locker: the same across down() and up(). */
  url = '';

  async up(): Promise<void> {
    if (this.#office) return;
    const office = new MiniBackOffice({ publicKeyJwk: this.publicKeyJwk, unitId: this.unitId, ackedSeq: this.contiguous() });
    office.events.on('message', (connection, message) => {
      if (message.type === 'hello') {
        // welcome has gone out: send again every command still without its result.
        for (const [id, command] of this.commands) if (!this.results.has(id)) office.send(command, connection);
      } else if (message.type === 'event') this.#event(message);
      else if (message.type === 'result') this.#result(message);
    });
    this.url = await office.listen(this.#port);
    this.#port = Number(new URL(this.url).port);
    this.#office = office;
  }

  /** The back office goes away: connections cut, the port refuses. */
  async down(): Promise<void> {
    const office = this.#office;
    this.#office = null;
    await office?.close();
  }

  get isUp(): boolean {
    return this.#office !== null;
  }

  /** Sends a command now if a locker is connected; otherwise at its next hello. */
  issue<N extends CommandName>(name: N, args: CommandArgs[N]): string {
    const id = randomUUID();
    const command = { v: 1, type: 'command', id, name, args } as CommandMessage;
    this.commands.set(id, command);
    const connection = this.#office?.current;
    if (connection) this.#office?.send(command, connection);
    return id;
  }

  /** Commands still without a result. */
  unanswered(): number {
    return [...this.commands.keys()].filter((id) => !this.results.has(id)).length;
  }

  /** Resolves once every command issued so far has its result (bounded by timeoutMs). */
  async allAnswered(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.unanswered() > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#resultWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Highest seq such that 1..seq were all received. */
  contiguous(): number {
    let seq = 0;
    while (this.received.has(seq + 1)) seq += 1;
    return seq;
  }

  /**
   * Every event received must be the store's event of that seq. `rows` are the store's outbox
   * rows (seq, type, payload) in seq order; `lastAssigned` the last seq the store ever handed
   * out. A seq below the lowest row was purged after its acknowledgement.
   */
  compareWithStore(rows: readonly { seq: number; type: string; payload: string }[], lastAssigned: number): void {
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    const lowest = rows[0]?.seq ?? lastAssigned + 1;
    for (const [seq, got] of this.received) {
      const row = bySeq.get(seq);
      if (!row) {
        if (seq >= lowest) this.violations.push({ rule: 'delivered-matches-store', detail: `seq ${seq} (${got.event}) was delivered but the store has no such event (it holds up to ${lastAssigned})` });
        continue;
      }
      if (row.type !== got.event || canonical(row.payload) !== got.payload) {
        this.violations.push({ rule: 'delivered-matches-store', detail: `seq ${seq}: delivered ${got.event} ${got.payload}, store holds ${row.type} ${row.payload}` });
      }
    }
  }

  /** Every seq from 1 to `upTo` was received. */
  checkNoGap(upTo: number): void {
    const have = this.contiguous();
    if (have < upTo) this.violations.push({ rule: 'delivery-gap', detail: `received 1..${have} contiguously, the store has events up to ${upTo}` });
  }

  async close(): Promise<void> {
    await this.down();
  }

  #event(message: EventMessage): void {
    const got: Received = { event: message.event, payload: canonical(JSON.stringify(message.payload)) };
    const previous = this.received.get(message.seq);
    if (!previous) this.received.set(message.seq, got);
    else if (previous.event !== got.event || previous.payload !== got.payload) {
      this.violations.push({ rule: 'seq-reused', detail: `seq ${message.seq} came as ${previous.event} ${previous.payload}, then as ${got.event} ${got.payload}` });
    }
  }

  #result(message: ResultMessage): void {
    const previous = this.results.get(message.commandId);
    if (!previous) this.results.set(message.commandId, message);
    else if (JSON.stringify(previous) !== JSON.stringify(message)) {
      this.violations.push({ rule: 'command-answered-differently', detail: `command ${message.commandId}: ${JSON.stringify(previous)} then ${JSON.stringify(message)}` });
    }
    const waiters = this.#resultWaiters;
    this.#resultWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** JSON with keys sorted, so the same object compares equal whatever its key order. */
function canonical(json: string): string {
  const sort = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sort);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value as Record<string, unknown>).sort().map((key) => [key, sort((value as Record<string, unknown>)[key])]));
    }
    return value;
  };
  return JSON.stringify(sort(JSON.parse(json)));
}
