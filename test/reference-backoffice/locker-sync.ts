/**
 * The reference back office's side of a locker's session (docs/protocol.md), apart from the
 * wire: what a hello, an event, a refused event and a result do to its database. Each runs in
 * one transaction, with the commands it decides to send (through `queue`), so a command exists
 * if and only if the change that called for it does.
 *
 * - hello: the unit is online; the ackedSeq for the welcome skips events the locker no longer
 *   holds (below its firstHeld); the inventory is trusted when it was paged completely and its
 *   digest is the hello's, else it is paged again (inventory.page) before reconciling.
 * - event: stored once per (unit, seq); effects applied as it joins the contiguous prefix; an
 *   urgent copy (a help call ahead of a backlog) is acted on at once.
 * - refused event: held as refused (a nack was sent), so the prefix moves past it.
 * - result: stored against its command; the results of reservation, payment and inventory
 *   commands keep the unit's inventory current; the last inventory page triggers the reconcile.
 */
import type { Logger } from '../../kiosk/logging.js';
import type { Db, Tx } from '../../kiosk/store/db.js';
import { localDate } from '../../kiosk/core/dates.js';
import { INVENTORY_PAGE_MAX, type CommandArgs, type CommandName, type EventMessage, type HelloMessage, type InventoryItem, type ResultMessage } from '../../kiosk/sync/messages.js';
import { applyEvent, type EventEffects } from './apply-event.js';
import { BackOfficeError } from './errors.js';
import { inventory } from './inventory-store.js';
import { commands, events, reservations, timeline, units, type MasterReservation, type StoredCommand, type StoredEvent } from './store.js';
import { paymentWire, toWire } from './views.js';

export interface QueuedCommand<N extends CommandName = CommandName> {
  unitId: string;
  name: N;
  args: CommandArgs[N];
  reservationId: string | null;
}

export interface LockerSyncOptions {
  db: Db;
  logger: Logger;
  timeZone: string;
  now: () => Date;
  /** Stores a command for the unit (checked against the schema), inside the caller's transaction. */
  queue: <N extends CommandName>(tx: Tx, command: QueuedCommand<N>, now: Date) => Promise<string>;
  /** After a commit that stored commands for the unit (the protocol server sends them). */
  committed: (unitId: string) => void;
  /** After any change (the staff page redraws). */
  changed: () => void;
  /** Live reservations rehashed with the salt the unit's hello publishes; returns commands queued. */
  rehash?: (tx: Tx, unitId: string, hello: HelloMessage, now: Date) => Promise<number>;
  /** A payment or receipt event (payments.ts); returns commands queued. */
  payment?: (tx: Tx, event: StoredEvent, r: MasterReservation) => Promise<number>;
  /** An order became ready for pickup at the locker: the pickup message (pickup-message.ts). */
  pickupReady?: (tx: Tx, r: MasterReservation, compartment: number, at: Date) => Promise<unknown>;
}

export class LockerSync {
  readonly #o: LockerSyncOptions;
  readonly #log: Logger;

  constructor(options: LockerSyncOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  async hello(unitId: string, hello: HelloMessage): Promise<{ ackedSeq: number; queued: number }> {
    const now = this.#o.now();
    const out = await this.#o.db.transaction(async (tx) => {
      const unit = await units.get(tx, unitId);
      if (!unit) throw new BackOfficeError('NOT_FOUND', 'unit is not registered');
      await units.markOnline(tx, unitId, hello, now);
      let ackedSeq = unit.ackedSeq;
      // Events below the oldest the locker still holds were acknowledged elsewhere (an earlier
      // database of this back office) and deleted: waiting for them would stall the unit forever.
      const held = (hello.outbox.firstHeld ?? hello.outbox.nextSeq) - 1;
      if (held > ackedSeq) {
        this.#log.warn({ unitId, from: ackedSeq + 1, to: held }, 'events the locker no longer holds: recorded as lost, skipped');
        ackedSeq = held;
      }
      if (hello.outbox.nextSeq - 1 < ackedSeq) {
        this.#log.warn({ unitId, nextSeq: hello.outbox.nextSeq, ackedSeq }, "the locker's outbox is behind this back office (was its database replaced?): it will renumber");
      }
      let queued = 0;
      ackedSeq = await this.#advance(tx, unitId, ackedSeq, now, this.#effects(now, () => (queued += 1)));
      if (this.#o.rehash) queued += await this.#o.rehash(tx, unitId, hello, now);
      const known = (await inventory.isKnown(tx, unitId)) && (await inventory.digest(tx, unitId)) === hello.inventory.digest;
      if (known) queued += await this.#reconcile(tx, unitId, now);
      else queued += await this.#startPaging(tx, unitId, now);
      return { ackedSeq, queued };
    });
    this.#log.info({ unitId, ackedSeq: out.ackedSeq, queued: out.queued, softwareVersion: hello.softwareVersion }, 'unit said hello');
    if (out.queued > 0) this.#o.committed(unitId);
    this.#o.changed();
    return out;
  }

  /** Stores the event (a repeat is dropped) and returns the highest contiguous seq now held. */
  async event(unitId: string, message: EventMessage): Promise<{ ackedSeq: number; duplicate: boolean }> {
    const now = this.#o.now();
    const receivedAt = now.toISOString();
    let queued = 0;
    const effects = this.#effects(now, () => (queued += 1));
    const out = await this.#o.db.transaction(async (tx) => {
      const unit = await units.get(tx, unitId);
      if (!unit) throw new BackOfficeError('NOT_FOUND', 'unit is not registered');
      const stored = { unitId, seq: message.seq, type: message.event, at: message.at, payload: message.payload, receivedAt };
      const inserted = await events.insert(tx, stored);
      await units.touch(tx, unitId, now);
      // A help call sent ahead of the stream is acted on now; its place in the stream applies it again (a no-op).
      if (inserted && message.urgent && message.event === 'help.requested' && message.seq > unit.ackedSeq + 1) await applyEvent(tx, stored, effects);
      const ackedSeq = inserted ? await this.#advance(tx, unitId, unit.ackedSeq, now, effects) : unit.ackedSeq;
      return { ackedSeq, duplicate: !inserted };
    });
    if (out.duplicate) this.#log.debug({ unitId, seq: message.seq }, 'repeated event dropped');
    else this.#o.changed();
    if (queued > 0) this.#o.committed(unitId);
    return out;
  }

  /** An event that cannot be taken (it fails its schema): held as refused; the caller sends the nack. */
  async refusedEvent(unitId: string, seq: number, type: string, reason: string): Promise<{ ackedSeq: number; duplicate: boolean }> {
    const now = this.#o.now();
    const out = await this.#o.db.transaction(async (tx) => {
      const unit = await units.get(tx, unitId);
      if (!unit) throw new BackOfficeError('NOT_FOUND', 'unit is not registered');
      const at = { wall: now.toISOString(), mono: 0, bootId: 'unknown', clockSynchronised: false };
      const inserted = await events.insert(tx, { unitId, seq, type, at, payload: {}, receivedAt: now.toISOString(), refused: { code: 'SCHEMA', reason } });
      const ackedSeq = inserted ? await this.#advance(tx, unitId, unit.ackedSeq, now) : unit.ackedSeq;
      return { ackedSeq, duplicate: !inserted };
    });
    this.#log.warn({ unitId, seq, type, reason }, 'event refused for good (nack)');
    this.#o.changed();
    return out;
  }

  /** Records a command's result; false if the command is unknown for this unit or was already answered. */
  async result(unitId: string, message: ResultMessage): Promise<boolean> {
    const now = this.#o.now();
    let queued = 0;
    const answered = await this.#o.db.transaction(async (tx) => {
      const command = await commands.get(tx, message.commandId);
      if (!command || command.unitId !== unitId) return false;
      const body = message.ok ? (message.result ?? {}) : { error: message.error ?? { code: 'INTERNAL', message: 'no error given' } };
      if (!(await commands.answer(tx, unitId, command.id, message.ok, body, now))) return false;
      if (message.ok) queued += await this.#learn(tx, unitId, command, message.result ?? {}, now);
      if (command.reservationId !== null) await this.#noteAnswer(tx, command, message, now);
      return true;
    });
    if (answered) this.#o.changed();
    // A command re-sent after a reconnect may be answered twice: the first answer counts.
    else this.#log.debug({ unitId, commandId: message.commandId }, 'result for an unknown or already answered command ignored');
    if (queued > 0) this.#o.committed(unitId);
    return answered;
  }

  #effects(now: Date, onQueued: () => void): EventEffects {
    return {
      helpCallOpened: async (tx, unitId, callId) => {
        await this.#o.queue(tx, { unitId, name: 'help.update', args: { callId, state: 'received', by: null }, reservationId: null }, now);
        onQueued();
      },
      payment: async (tx, event, r) => {
        if (((await this.#o.payment?.(tx, event, r)) ?? 0) > 0) onQueued();
      },
      ...(this.#o.pickupReady ? { pickupReady: this.#o.pickupReady } : {}),
    };
  }

  /** What a result tells about the unit's inventory; the last inventory page reconciles. Returns commands queued. */
  async #learn(tx: Tx, unitId: string, command: StoredCommand, result: Record<string, unknown>, now: Date): Promise<number> {
    const args = command.args as Record<string, unknown>;
    // The version the locker now holds: the result says it; an applied result without it holds the one sent.
    const sent = typeof args['version'] === 'number' ? args['version'] : undefined;
    const version = typeof result['version'] === 'number' ? result['version'] : result['applied'] === true ? sent : undefined;
    switch (command.name) {
      case 'reservation.upsert': {
        const id = String((args['reservation'] as { id?: unknown } | undefined)?.id ?? '');
        const status = typeof result['status'] === 'string' ? (result['status'] as InventoryItem['status']) : undefined;
        if (id !== '' && version !== undefined) await inventory.note(tx, unitId, id, { version, ...(status ? { status } : {}) });
        return 0;
      }
      case 'reservation.cancel':
        if (version !== undefined) await inventory.note(tx, unitId, String(args['reservationId']), { version, ...(result['applied'] === true ? { status: 'cancelled' as const } : {}) });
        return 0;
      case 'payment.status':
        if (version !== undefined) await inventory.note(tx, unitId, String(args['reservationId']), { paymentVersion: version });
        return 0;
      case 'inventory.page':
        return this.#page(tx, unitId, result, now);
      default:
        return 0;
    }
  }

  async #page(tx: Tx, unitId: string, result: Record<string, unknown>, now: Date): Promise<number> {
    const items = Array.isArray(result['items']) ? (result['items'] as InventoryItem[]) : [];
    await inventory.put(tx, unitId, items);
    const next = typeof result['next'] === 'string' ? result['next'] : null;
    if (next !== null) {
      await this.#o.queue(tx, { unitId, name: 'inventory.page', args: { after: next, limit: INVENTORY_PAGE_MAX }, reservationId: null }, now);
      return 1;
    }
    if ((await inventory.digest(tx, unitId)) !== result['digest']) {
      // Something changed while paging: page again from the start.
      this.#log.info({ unitId }, 'inventory changed while it was paged: paging again');
      return this.#startPaging(tx, unitId, now);
    }
    await inventory.setKnown(tx, unitId, true);
    this.#log.info({ unitId, count: result['count'] }, 'inventory paged');
    return this.#reconcile(tx, unitId, now);
  }

  async #startPaging(tx: Tx, unitId: string, now: Date): Promise<number> {
    const pending = await commands.pending(tx, unitId);
    if (pending.some((c) => c.name === 'inventory.page')) return 0;
    await inventory.clear(tx, unitId);
    await this.#o.queue(tx, { unitId, name: 'inventory.page', args: { after: null, limit: INVENTORY_PAGE_MAX }, reservationId: null }, now);
    return 1;
  }

  async #noteAnswer(tx: Tx, command: StoredCommand, message: ResultMessage, now: Date): Promise<void> {
    const r = command.reservationId === null ? null : await reservations.get(tx, command.reservationId);
    if (!r) return;
    const code = message.ok ? null : (message.error?.code ?? null);
    const applied = message.ok ? (message.result?.['applied'] ?? null) : null;
    await timeline.add(tx, r.id, 'locker.answered', { command: command.name, ok: message.ok, ...(code ? { code } : {}), ...(applied !== null ? { applied } : {}) }, now);
    if (command.name === 'reservation.reset' && message.ok && r.pinLocked) {
      await reservations.update(tx, { ...r, pinLocked: false, updatedAt: now.toISOString() });
    }
  }

  /** Moves ackedSeq over the stored events that follow it without a gap, applying each one's effect in order. */
  async #advance(tx: Tx, unitId: string, from: number, now: Date, effects?: EventEffects): Promise<number> {
    const run = await events.contiguousAfter(tx, unitId, from);
    const apply = effects ?? this.#effects(now, () => undefined);
    for (const event of run) await applyEvent(tx, event, apply);
    const ackedSeq = run.at(-1)?.seq ?? from;
    await units.setAckedSeq(tx, unitId, ackedSeq);
    return ackedSeq;
  }

  /** Fresh commands for what the unit holds at an older version than the master copy (its inventory is trusted). */
  async #reconcile(tx: Tx, unitId: string, now: Date): Promise<number> {
    const pending = await commands.pending(tx, unitId);
    const pendingFor = (id: string, names: readonly CommandName[]): boolean => pending.some((c) => c.reservationId === id && names.includes(c.name));
    const held = new Map((await inventory.list(tx, unitId)).map((item) => [item.id, item]));
    let queued = 0;
    for (const r of await reservations.listLive(tx, unitId, localDate(now, this.#o.timeZone))) {
      const item = held.get(r.id);
      if ((item?.version ?? 0) < r.version && !pendingFor(r.id, ['reservation.upsert', 'reservation.cancel'])) {
        await this.#o.queue(tx, { unitId, name: 'reservation.upsert', args: { reservation: toWire(r), version: r.version }, reservationId: r.id }, now);
        queued += 1;
      }
      if (r.paymentRequired && r.paymentVersion > 0 && (item?.paymentVersion ?? 0) < r.paymentVersion && !pendingFor(r.id, ['payment.status'])) {
        await this.#o.queue(tx, { unitId, name: 'payment.status', args: paymentWire(r), reservationId: r.id }, now);
        queued += 1;
      }
    }
    // Cancellations the locker missed (it still holds an older version of a cancelled reservation).
    const cancelled = await tx.all<{ id: string; version: number }>("SELECT id, version FROM reservations WHERE unit_id = ? AND status = 'cancelled'", [unitId]);
    for (const r of cancelled) {
      const item = held.get(r.id);
      if (item && item.version < r.version && !pendingFor(r.id, ['reservation.cancel'])) {
        await this.#o.queue(tx, { unitId, name: 'reservation.cancel', args: { reservationId: r.id, version: r.version }, reservationId: r.id }, now);
        queued += 1;
      }
    }
    return queued;
  }
}
