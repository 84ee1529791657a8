/**
 * The pickup message's "open from your phone" link (docs/protocol.md, "Open from the phone
 * link"): one link token per order, 32 random bytes, stored only as its SHA-256, expiring after
 * 24 h. Its page `/open/<token>` shows "Open compartment N" once the order is paid (or needs no
 * payment); pressing it queues `reservation.remote-open { reservationId, compartment, nonce }`
 * for the locker, with the link's nonce (its id, never the token). The locker decides: it opens
 * each nonce once, so pressing again is sent and refused there (NONCE_USED).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable, Tx } from '../../kiosk/store/db.js';
import type { CommandArgs } from '../../kiosk/sync/messages.js';
import { BackOfficeError } from './errors.js';
import { commands, reservations, type MasterReservation } from './store.js';

const LINK_TTL_MS = 24 * 3600_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS open_links (
  token_hash     TEXT PRIMARY KEY,
  nonce          TEXT NOT NULL UNIQUE,
  reservation_id TEXT NOT NULL,
  expires_at     TEXT NOT NULL,
  command_id     TEXT,
  created_at     TEXT NOT NULL
);`;

export interface OpenLinksOptions {
  db: Db;
  now: () => Date;
  queue: (tx: Tx, command: { unitId: string; name: 'reservation.remote-open'; args: CommandArgs['reservation.remote-open']; reservationId: string | null }, now: Date) => Promise<string>;
  committed: (unitId: string) => void;
}

/** What the phone page shows. */
export interface OpenLinkView {
  workOrder: string;
  compartment: number | null;
  /** pay: a payment is due first; ready: the button; opening: sent, no answer yet; opened; refused (reason); collected: the key was taken. */
  state: 'pay' | 'ready' | 'opening' | 'opened' | 'refused' | 'collected' | 'unavailable';
  reason: string | null;
}

interface LinkRow {
  nonce: string;
  reservation_id: string;
  expires_at: string;
  command_id: string | null;
}

const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

export class OpenLinks {
  readonly #o: OpenLinksOptions;
  #publicUrl = 'http://127.0.0.1';
  #ready: Promise<void> | null = null;

  constructor(options: OpenLinksOptions) {
    this.#o = options;
  }

  setPublicUrl(url: string): void {
    this.#publicUrl = url.replace(/\/$/, '');
  }

  #schema(): Promise<void> {
    this.#ready ??= this.#o.db.exec(SCHEMA);
    return this.#ready;
  }

  /** A new link for a pickup (an older one stays valid until it expires). The token is returned once, never stored. */
  async issue(reservationId: string): Promise<{ url: string; expiresAt: string }> {
    await this.#schema();
    const r = await reservations.get(this.#o.db, reservationId);
    if (!r) throw new BackOfficeError('NOT_FOUND', 'no such reservation');
    return this.#make(this.#o.db, r);
  }

  /** The same, inside the caller's transaction (the pickup message made when the order becomes ready). */
  async issueIn(tx: Tx, r: MasterReservation): Promise<{ url: string; expiresAt: string }> {
    // The table is made here when no request has made it yet (inside the transaction).
    await tx.exec(SCHEMA);
    return this.#make(tx, r);
  }

  async #make(q: Queryable, r: MasterReservation): Promise<{ url: string; expiresAt: string }> {
    if (r.kind !== 'pickup') throw new BackOfficeError('CONFLICT', 'only a pickup has an open link');
    const token = randomBytes(32).toString('base64url');
    const nonce = `lnk_${randomBytes(16).toString('base64url')}`;
    const now = this.#o.now();
    const expiresAt = new Date(now.getTime() + LINK_TTL_MS).toISOString();
    await q.run('INSERT INTO open_links (token_hash, nonce, reservation_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?)', [hashOf(token), nonce, r.id, expiresAt, now.toISOString()]);
    return { url: `${this.#publicUrl}/open/${token}`, expiresAt };
  }

  async #row(token: string): Promise<LinkRow> {
    await this.#schema();
    const row = TOKEN.test(token) ? await this.#o.db.get<LinkRow>('SELECT nonce, reservation_id, expires_at, command_id FROM open_links WHERE token_hash = ?', [hashOf(token)]) : undefined;
    if (!row || Date.parse(row.expires_at) <= this.#o.now().getTime()) throw new BackOfficeError('NOT_FOUND', 'this link is not valid (or has expired)');
    return row;
  }

  async view(token: string): Promise<OpenLinkView> {
    const row = await this.#row(token);
    const r = await reservations.get(this.#o.db, row.reservation_id);
    if (!r) throw new BackOfficeError('NOT_FOUND', 'this link is not valid (or has expired)');
    const base = { workOrder: r.workOrder, compartment: r.compartmentId };
    if (r.status === 'collected') return { ...base, state: 'collected', reason: null };
    if (row.command_id) {
      const sent = await commands.get(this.#o.db, row.command_id);
      if (sent && sent.answeredAt === null) return { ...base, state: 'opening', reason: null };
      const result = (sent?.result ?? {}) as { accepted?: boolean; reason?: string };
      if (sent?.ok && result.accepted === true) return { ...base, state: 'opened', reason: null };
      return { ...base, state: 'refused', reason: typeof result.reason === 'string' ? result.reason : 'ERROR' };
    }
    if (r.status !== 'ready' || r.compartmentId === null) return { ...base, state: 'unavailable', reason: null };
    if (r.paymentRequired && r.paymentStatus !== 'paid') return { ...base, state: 'pay', reason: null };
    return { ...base, state: 'ready', reason: null };
  }

  /** The customer pressed "Open compartment N": the command goes to the locker, which decides. */
  async open(token: string): Promise<{ commandId: string }> {
    const row = await this.#row(token);
    const r = await reservations.get(this.#o.db, row.reservation_id);
    if (!r || r.compartmentId === null || r.status !== 'ready') throw new BackOfficeError('CONFLICT', 'the key is not in a compartment');
    if (r.paymentRequired && r.paymentStatus !== 'paid') throw new BackOfficeError('CONFLICT', 'pay first');
    const compartment = r.compartmentId;
    const now = this.#o.now();
    const commandId = await this.#o.db.transaction(async (tx) => {
      const id = await this.#o.queue(tx, { unitId: r.unitId, name: 'reservation.remote-open', args: { reservationId: r.id, compartment, nonce: row.nonce }, reservationId: r.id }, now);
      await tx.run('UPDATE open_links SET command_id = ? WHERE token_hash = ?', [id, hashOf(token)]);
      return id;
    });
    this.#o.committed(r.unitId);
    return { commandId };
  }
}
