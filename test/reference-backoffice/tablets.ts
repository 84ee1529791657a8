/**
 * Mechanic tablets as known devices. Staff make a one-time enrolment code on the staff page
 * (valid 10 minutes); the tablet types it once and gets a device credential (32 random bytes),
 * which it presents on every request (`Authorization: Bearer <credential>`). Only a SHA-256 of
 * the credential is stored (it is random, so no slow hash is needed); staff can revoke a tablet,
 * after which its credential opens nothing. The tablet id the locker is told (`tabletId` in
 * mechanic.request and mechanic.open) is the one found here, never one the tablet claims.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Db, Queryable } from '../../kiosk/store/db.js';
import { BackOfficeError } from './errors.js';

const CODE_TTL_MS = 10 * 60_000;
const hash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export interface TabletView {
  tabletId: string;
  name: string;
  enrolledAt: string;
  revokedAt: string | null;
}

export class TabletRegistry {
  readonly #db: Db;
  readonly #now: () => Date;

  constructor(db: Db, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  /** Staff: a code to type on a new tablet (8 digits, once, 10 minutes). */
  async enrolmentCode(): Promise<{ code: string; expiresAt: string }> {
    const code = String(randomInt(0, 100_000_000)).padStart(8, '0');
    const expiresAt = new Date(this.#now().getTime() + CODE_TTL_MS).toISOString();
    await this.#db.transaction((tx) => tx.run('INSERT INTO tablet_enrolment_codes (code_hash, expires_at) VALUES (?, ?)', [hash(code), expiresAt]));
    return { code, expiresAt };
  }

  /** The tablet: trades a code for its credential (shown once, kept on the tablet). */
  async enrol(input: unknown): Promise<{ tabletId: string; name: string; credential: string }> {
    const body = (input ?? {}) as { code?: unknown; name?: unknown };
    const code = typeof body.code === 'string' ? body.code.replace(/\s/g, '') : '';
    const name = typeof body.name === 'string' ? body.name.trim().slice(0, 40) : '';
    if (!/^\d{8}$/.test(code)) throw new BackOfficeError('BAD_INPUT', 'the enrolment code is 8 digits', 'code');
    if (name.length === 0) throw new BackOfficeError('BAD_INPUT', 'give the tablet a name', 'name');
    const now = this.#now();
    const tabletId = `tablet-${randomBytes(4).toString('hex')}`;
    const credential = `kt1.${randomBytes(32).toString('base64url')}`;
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run('UPDATE tablet_enrolment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?', [
        now.toISOString(),
        hash(code),
        now.toISOString(),
      ]);
      if (changes !== 1) throw new BackOfficeError('FORBIDDEN', 'this enrolment code is unknown, used or expired: ask staff for a new one', 'code');
      await tx.run('INSERT INTO tablets (tablet_id, name, credential_hash, enrolled_at) VALUES (?, ?, ?, ?)', [tabletId, name, hash(credential), now.toISOString()]);
    });
    return { tabletId, name, credential };
  }

  /** The tablet a request comes from, or 401. */
  async authenticate(authorization: string | undefined): Promise<TabletView> {
    const credential = /^Bearer (kt1\.[A-Za-z0-9_-]{43})$/.exec(authorization ?? '')?.[1];
    const row = credential
      ? await this.#db.get<{ tablet_id: string; name: string; enrolled_at: string; revoked_at: string | null }>('SELECT * FROM tablets WHERE credential_hash = ?', [hash(credential)])
      : undefined;
    if (!row || row.revoked_at !== null) throw new BackOfficeError('UNAUTHENTICATED', 'this tablet is not enrolled (or was revoked): enrol it with a code from the staff page', null);
    return { tabletId: row.tablet_id, name: row.name, enrolledAt: row.enrolled_at, revokedAt: null };
  }

  async revoke(tabletId: string): Promise<void> {
    const { changes } = await this.#db.transaction((tx) => tx.run('UPDATE tablets SET revoked_at = COALESCE(revoked_at, ?) WHERE tablet_id = ?', [this.#now().toISOString(), tabletId]));
    if (changes !== 1) throw new BackOfficeError('NOT_FOUND', 'no such tablet', null);
  }

  async list(q: Queryable = this.#db): Promise<TabletView[]> {
    const rows = await q.all<{ tablet_id: string; name: string; enrolled_at: string; revoked_at: string | null }>('SELECT * FROM tablets ORDER BY enrolled_at');
    return rows.map((r) => ({ tabletId: r.tablet_id, name: r.name, enrolledAt: r.enrolled_at, revokedAt: r.revoked_at }));
  }
}
