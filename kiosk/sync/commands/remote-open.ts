/**
 * compartment.remote-open (docs/protocol.md, "Remote open"): staff open a compartment from the
 * back office with a reason. The core decides inside this command's transaction
 * (kiosk/core/remote-open.ts: journey, board, throttle); an accepted open is pulsed after the
 * commit. Answered `{ accepted: true, compartment }`, or `{ accepted: false, reason }` (with a
 * `compartment.remote-open-refused` event, and `alarm.remote-open-throttled` beyond the limit),
 * committed like any result. A locker built without a remote opener refuses every request.
 */
import type { LinkOpener, LinkOpenTx } from '../../core/link-open.js';
import type { RemoteOpener, RemoteOpenTx } from '../../core/remote-open.js';
import { isDomainError } from '../../errors.js';
import type { Tx } from '../../store/db.js';
import { journeyTxOf, type StoreStamps } from '../../store/journey-store.js';
import { awaitClose } from '../../store/link-open-awaiting.js';
import { inflight } from '../../store/repositories.js';
import type { CommandArgs } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';

/** The opener and the stamps its events get inside a command's transaction. */
export interface RemoteOpenCommandPort {
  opener: RemoteOpener;
  stamps: StoreStamps;
}

function remoteOpenTx(tx: Tx, stamps: StoreStamps): RemoteOpenTx {
  return {
    ...journeyTxOf(tx, stamps),
    inflightOn: async (compartment) => (await inflight.list(tx)).some((entry) => entry.compartmentId === compartment),
  };
}

/** The customer's phone-link opener (core/link-open.ts). */
export interface LinkOpenCommandPort {
  opener: LinkOpener;
  stamps: StoreStamps;
}

function linkOpenTx(tx: Tx, stamps: StoreStamps, now: () => Date): LinkOpenTx {
  return {
    ...remoteOpenTx(tx, stamps),
    nonceUsed: async (nonce) => (await tx.get<{ nonce: string }>('SELECT nonce FROM link_open_nonces WHERE nonce = ?', [nonce])) !== undefined,
    useNonce: async (nonce, reservationId) => {
      await tx.run('INSERT INTO link_open_nonces (nonce, reservation_id, used_at) VALUES (?, ?, ?)', [nonce, reservationId, now().toISOString()]);
    },
    awaitClose: (compartment, reservationId) => awaitClose(tx, compartment, reservationId, now()),
  };
}

type OpenDecision = { ok: true; compartment: number } | { ok: false; reason: string; retryAfterS?: number };

/**
 * A remote open's answer, staff's or the phone link's: the opener decides in the command's
 * transaction; an accepted open is pulsed after the commit. `{ accepted: true, compartment }` or
 * `{ accepted: false, reason, retryAfterS? }`; a locker built without that opener refuses.
 */
async function answerOpen<D extends OpenDecision, P extends { opener: { openAfterCommit(decision: Extract<D, { ok: true }>): void } }>(
  port: P | undefined,
  ctx: CommandContext,
  unavailable: string,
  decide: (port: P) => Promise<D>,
): Promise<Record<string, unknown>> {
  if (!port) throw new CommandFailure('CONFLICT', unavailable);
  try {
    const decision = await decide(port);
    if (!decision.ok) return { accepted: false, reason: decision.reason, ...(decision.retryAfterS === undefined ? {} : { retryAfterS: decision.retryAfterS }) };
    ctx.afterCommit(() => port.opener.openAfterCommit(decision as Extract<D, { ok: true }>));
    return { accepted: true, compartment: decision.compartment };
  } catch (error) {
    if (!isDomainError(error)) throw error;
    throw new CommandFailure(error.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'SCHEMA', error.message);
  }
}

/**
 * reservation.remote-open (docs/protocol.md, "Open from the phone link"): the customer pressed
 * "Open compartment N" on the page their pickup message linked to. Same answers as
 * compartment.remote-open; the checks are the locker's own (core/link-open.ts).
 */
function linkOpen(ctx: CommandContext, args: CommandArgs['reservation.remote-open']): Promise<Record<string, unknown>> {
  return answerOpen(ctx.ports.linkOpen, ctx, 'this locker cannot open compartments from a phone link', (port) => port.opener.decide(linkOpenTx(ctx.tx, port.stamps, () => ctx.now), args));
}

function remoteOpen(ctx: CommandContext, args: CommandArgs['compartment.remote-open']): Promise<Record<string, unknown>> {
  return answerOpen(ctx.ports.remoteOpen, ctx, 'this locker cannot open compartments remotely', (port) => port.opener.decide(remoteOpenTx(ctx.tx, port.stamps), args));
}

export const remoteOpenCommands: CommandFamily<'compartment.remote-open' | 'reservation.remote-open'> = {
  'compartment.remote-open': remoteOpen,
  'reservation.remote-open': linkOpen,
};
