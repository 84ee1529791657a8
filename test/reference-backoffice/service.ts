/**
 * What the reference back office does, apart from the wire: staff operations that change the
 * master copy and produce commands for the locker, and the effect of the locker's hello,
 * events and results on the master copy. Each operation is one transaction: the change, its
 * timeline line and its command commit together, so a command exists if and only if the
 * change does. The protocol server listens for 'command' and sends what is pending.
 *
 * Staff input is checked in full before anything is written: bad input is a BackOfficeError
 * naming the field, and changes nothing.
 *
 * This class is the facade every caller uses; the parts that stand on their own live beside it
 * and share a ServiceContext (service-context.ts): PINs and codes (pins.ts), reservation
 * changes (reservation-ops.ts), the demo seed (demo-seed.ts), the mechanic's requests
 * (mechanic-ops.ts), the screens' read models (read-models.ts), the locker's side
 * (locker-sync.ts), staff compartments and alarms (staff-ops.ts), payments (payments.ts).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { Country } from '../../kiosk/config/schema.js';
import { localDate } from '../../kiosk/core/dates.js';
import { generatePin, type ScryptCost } from '../../kiosk/core/pin.js';
import type { Logger } from '../../kiosk/logging.js';
import type { Db, Tx } from '../../kiosk/store/db.js';
import { jwkThumbprint } from '../../kiosk/sync/identity.js';
import type { ProtocolValidator } from '../../kiosk/sync/validate.js';
import type { CommandArgs, CommandName, EventMessage, HelloMessage, ResultMessage } from '../../kiosk/sync/messages.js';
import { seedDemo } from './demo-seed.js';
import { LockerSync } from './locker-sync.js';
import { BackOfficeError, bad } from './errors.js';
import { TabletRegistry } from './tablets.js';
import { StaffOps } from './staff-ops.js';
import { OutboxMessenger, type Messenger } from './messenger.js';
import { SimulatedProvider, type PaymentProvider } from './payment-provider.js';
import { OpenLinks } from './open-links.js';
import { sendPickupMessage } from './pickup-message.js';
import { PaymentDesk } from './payments.js';
import { rehashForUnit } from './pins.js';
import type { ServiceContext } from './service-context.js';
import { staffState, tabletState } from './read-models.js';
import { mechanicRequest, mechanicScan } from './mechanic-ops.js';
import { cancelReservation, createReservation, openReservation, resetReservation, setPayment, unitFor, updateReservation } from './reservation-ops.js';
import { clearQuarantineSchema, helpSchema, liftSchema, parse } from './staff-input.js';
import type { StaffState, TabletState } from './views.js';

export { BackOfficeError } from './errors.js';
export type { BackOfficeErrorCode } from './errors.js';
export type { CommandView, EventView, StaffState, TabletState, UnitView } from './views.js';
export { toWire } from './views.js';
import { commands, events, helpCalls, reservations, timeline, tokens, units, type HelpCall, type MasterReservation, type StoredCommand, type Unit } from './store.js';

export interface ServiceOptions {
  db: Db;
  logger: Logger;
  timeZone: string;
  /** Country for plates and phone numbers typed without a prefix. */
  defaultCountry?: Country;
  now?: () => Date;
  /** Tests lower the scrypt cost; production uses the default. */
  pinCost?: ScryptCost;
  /** The protocol schemas: every command is checked before it is stored, so the locker never gets one it must refuse. */
  validator?: ProtocolValidator;
  /** Draws a PIN (tests pass a scripted one); default core/pin.ts generatePin. */
  pinGenerator?: () => string;
  /** The payment provider (default: the simulated one) and SMS/e-mail (default: an outbox). */
  provider?: PaymentProvider;
  messenger?: Messenger;
}

// --- the service ------------------------------------------------------------------------

export interface NewCommand<N extends CommandName = CommandName> {
  unitId: string;
  name: N;
  args: CommandArgs[N];
  reservationId: string | null;
}

export class BackOfficeService extends EventEmitter<{ changed: []; command: [unitId: string] }> {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #timeZone: string;
  readonly #country: Country;
  readonly #now: () => Date;
  readonly #validator: ProtocolValidator | undefined;
  readonly #locker: LockerSync;
  /** What the operations in pins.ts, reservation-ops.ts, demo-seed.ts, mechanic-ops.ts and read-models.ts share. */
  readonly #ctx: ServiceContext;
  /** Mechanic tablets: enrolment, credentials, revocation. */
  readonly tablets: TabletRegistry;
  /** The staff's side of the locker: compartments, remote open, alarms, help calls ignored per person. */
  readonly staff: StaffOps;
  /** Paying at the locker and receipts (payments.ts), its provider and messenger. */
  readonly payments: PaymentDesk;
  /** The pickup message's open-from-the-phone links (open-links.ts). */
  readonly openLinks: OpenLinks;
  readonly provider: PaymentProvider;
  readonly messenger: Messenger;

  constructor(options: ServiceOptions) {
    super();
    this.#db = options.db;
    this.tablets = new TabletRegistry(options.db, options.now ?? (() => new Date()));
    this.#log = options.logger;
    this.#timeZone = options.timeZone;
    this.#country = options.defaultCountry ?? 'NO';
    this.#now = options.now ?? (() => new Date());
    this.#validator = options.validator;
    this.#locker = new LockerSync({
      db: this.#db,
      logger: this.#log,
      timeZone: this.#timeZone,
      now: this.#now,
      queue: (tx, command, now) => this.#command(tx, command, now),
      committed: (unitId) => this.#committed(unitId),
      changed: () => this.#changed(),
      rehash: (tx, unitId, hello, now) => rehashForUnit(this.#ctx, tx, unitId, hello, now),
      payment: (tx, event, r) => this.payments.onEvent(tx, event, r),
      pickupReady: (tx, r, compartment, at) => sendPickupMessage(tx, r, compartment, this.#ctx.pickup, at),
    });
    this.provider = options.provider ?? new SimulatedProvider({ now: this.#now });
    this.messenger = options.messenger ?? new OutboxMessenger(this.#now);
    this.payments = new PaymentDesk({
      db: this.#db,
      provider: this.provider,
      messenger: this.messenger,
      logger: this.#log,
      now: this.#now,
      queue: (tx, command, now) => this.#command(tx, command, now),
      committed: (unitId) => this.#committed(unitId),
    });
    this.openLinks = new OpenLinks({ db: this.#db, now: this.#now, queue: (tx, command, now) => this.#command(tx, command, now), committed: (unitId) => this.#committed(unitId) });
    this.#ctx = {
      db: this.#db,
      log: this.#log,
      timeZone: this.#timeZone,
      country: this.#country,
      now: this.#now,
      pinCost: options.pinCost,
      drawPin: options.pinGenerator ?? (() => generatePin()),
      queue: (tx, command, now) => this.#command(tx, command, now),
      committed: (unitId) => this.#committed(unitId),
      changed: () => this.#changed(),
      pickup: { links: this.openLinks, messenger: this.messenger },
    };
    this.staff = new StaffOps({ db: this.#db, logger: this.#log, now: this.#now, queue: (tx, command, now) => this.#command(tx, command, now), committed: (unitId) => this.#committed(unitId), changed: () => this.#changed() });
  }

  today(): string {
    return localDate(this.#now(), this.#timeZone);
  }

  // --- units ------------------------------------------------------------------------------

  async registerUnit(unitId: string, publicJwk: JWK): Promise<void> {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(unitId)) throw bad('unitId', 'is 1-100 letters, digits, dots, dashes or underscores');
    if (publicJwk.kty !== 'OKP' || publicJwk.crv !== 'Ed25519' || typeof publicJwk.x !== 'string') {
      throw bad('publicJwk', 'must be an Ed25519 public key (kty OKP, crv Ed25519)');
    }
    if ('d' in publicJwk) throw bad('publicJwk', 'is a private key: register the public half only');
    const { kty, crv, x } = publicJwk;
    // An enrolment record names its key by its RFC 7638 thumbprint: a kid that is not this key's is a copying mistake.
    if (publicJwk.kid !== undefined && publicJwk.kid !== jwkThumbprint({ kty, crv, x })) throw bad('publicJwk.kid', "is not this key's RFC 7638 thumbprint");
    await this.#db.transaction((tx) => units.register(tx, unitId, { kty, crv, x }, this.#now()));
    this.#log.info({ unitId }, 'unit registered');
    this.#changed();
  }

  getUnit(unitId: string): Promise<Unit | null> {
    return units.get(this.#db, unitId);
  }

  async markAllOffline(): Promise<void> {
    await units.markAllOffline(this.#db);
  }

  // --- staff operations -------------------------------------------------------------------

  /** A drop-off or pickup: a new PIN (kept for the demo page, only its hash is sent), version 1. */
  createReservation(input: unknown): Promise<MasterReservation> {
    return createReservation(this.#ctx, input);
  }

  /** Changes what staff may change; version + 1, sent as a new upsert. */
  updateReservation(id: string, input: unknown): Promise<MasterReservation> {
    return updateReservation(this.#ctx, id, input);
  }

  cancelReservation(id: string): Promise<MasterReservation> {
    return cancelReservation(this.#ctx, id);
  }

  /** Staff reset after too many wrong PINs: sends the reservation's code, which the locker checks. */
  resetReservation(id: string): Promise<MasterReservation> {
    return resetReservation(this.#ctx, id);
  }

  /** paid / cancelled / refunded, for the amount already on the reservation; payment version + 1. */
  setPayment(id: string, input: unknown): Promise<MasterReservation> {
    return setPayment(this.#ctx, id, input);
  }

  /**
   * Staff end a PIN lockout at a locker: the whole locker's back-off (`{ unitId }`, or the only
   * unit) or, with a reservation id, that reservation's lock. Sends `lockout.lift`; the
   * locker's `lockout.ended` event then clears it here.
   */
  async liftLockout(input: unknown): Promise<{ commandId: string }> {
    const { unitId: given, reservationId } = parse(liftSchema, input);
    const now = this.#now();
    const out = await this.#db.transaction(async (tx) => {
      let unitId: string;
      if (reservationId !== undefined) {
        const r = await openReservation(tx, reservationId);
        unitId = r.unitId;
        await timeline.add(tx, r.id, 'lockout.lift-requested', {}, now);
      } else {
        unitId = await unitFor(tx, given);
      }
      const args = { scope: reservationId === undefined ? ('locker' as const) : ('reservation' as const), reservationId: reservationId ?? null };
      const commandId = await this.#command(tx, { unitId, name: 'lockout.lift', args, reservationId: reservationId ?? null }, now);
      return { unitId, commandId };
    });
    this.#log.info({ unitId: out.unitId, scope: reservationId === undefined ? 'locker' : 'reservation' }, 'lockout lift sent');
    this.#committed(out.unitId);
    return { commandId: out.commandId };
  }

  /**
   * Staff looked into a quarantined compartment at a unit: sends `compartment.clear-quarantine`
   * with what they found; the locker's `compartment.quarantine-cleared` event then shows it back
   * in service here (or its result says why not: a door open, not quarantined).
   */
  async clearQuarantine(unitId: string, compartment: number, input: unknown): Promise<{ commandId: string }> {
    const { reason, by } = parse(clearQuarantineSchema, input);
    if (!Number.isInteger(compartment) || compartment < 1 || compartment > 16) throw bad('compartment', 'is a compartment number 1-16');
    const now = this.#now();
    const commandId = await this.#db.transaction(async (tx) => {
      const unit = await unitFor(tx, unitId);
      return this.#command(tx, { unitId: unit, name: 'compartment.clear-quarantine', args: { compartment, reason, by: by ?? 'staff' }, reservationId: null }, now);
    });
    this.#log.info({ unitId, compartment }, 'quarantine clear sent');
    this.#committed(unitId);
    return { commandId };
  }

  /** What this back office believes is locked at a unit (from the locker's lockout events). */
  async lockoutState(unitId: string): Promise<{ lockerLockedUntil: string | null; lockedReservations: string[] }> {
    const unit = await units.get(this.#db, unitId);
    return { lockerLockedUntil: unit?.lockoutUntil ?? null, lockedReservations: await reservations.pinLocked(this.#db, unitId) };
  }

  /** A token id, once: false for a replay (protocol-server.ts refuses the connection). */
  async useTokenId(unitId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const now = this.#now();
    return this.#db.transaction((tx) => tokens.use(tx, jti, unitId, expiresAt, now));
  }

  /** Staff send the pickup message again, with a new phone link; for a pickup ready in a compartment. */
  async resendPickupMessage(id: string): Promise<{ channel: 'sms' | 'email' | null }> {
    const channel = await this.#db.transaction(async (tx) => {
      const r = await reservations.get(tx, id);
      if (!r) throw new BackOfficeError('NOT_FOUND', 'no such reservation');
      if (r.kind !== 'pickup' || r.status !== 'ready' || r.compartmentId === null) throw new BackOfficeError('CONFLICT', 'only a pickup ready in a compartment has a pickup message');
      return sendPickupMessage(tx, r, r.compartmentId, this.#ctx.pickup, this.#now());
    });
    this.#changed();
    return { channel };
  }

  async takeHelpCall(callId: string, input: unknown): Promise<HelpCall> {
    return this.#helpUpdate(callId, input, 'taken');
  }

  async closeHelpCall(callId: string, input: unknown): Promise<HelpCall> {
    return this.#helpUpdate(callId, input, 'closed');
  }

  async #helpUpdate(callId: string, input: unknown, state: 'taken' | 'closed'): Promise<HelpCall> {
    const { by, unitId } = parse(helpSchema, input);
    const now = this.#now();
    const call = await this.#db.transaction(async (tx) => {
      const call = unitId === undefined ? await helpCalls.findById(tx, callId) : await helpCalls.get(tx, unitId, callId);
      if (!call) throw new BackOfficeError('NOT_FOUND', 'no such help call');
      if (call.state === 'closed') throw new BackOfficeError('CONFLICT', 'the help call is closed');
      if (call.state === state) throw new BackOfficeError('CONFLICT', `the help call is already ${state}`);
      await helpCalls.setState(tx, call.unitId, callId, state, by, now);
      await this.#command(tx, { unitId: call.unitId, name: 'help.update', args: { callId, state, by }, reservationId: null }, now);
      return { ...call, state, takenBy: by ?? call.takenBy, updatedAt: now.toISOString() };
    });
    this.#committed(call.unitId);
    return call;
  }

  /**
   * A mechanic's (authenticated) tablet asks for the key of a work order that is in the locker
   * (retrieve), or for a compartment to return a finished car's key in (deposit, a booked pickup).
   */
  mechanicRequest(input: unknown, tabletId: string): Promise<{ requestId: string; commandId: string }> {
    return mechanicRequest(this.#ctx, input, tabletId);
  }

  /** The tablet scanned the locker's QR: forwarded as mechanic.open with the tablet its credential proved. */
  mechanicScan(input: unknown, tabletId: string): Promise<{ commandId: string }> {
    return mechanicScan(this.#ctx, input, tabletId);
  }

  /** The README's demo appointments, dated today, for `unitId`; those that already exist are left alone. */
  seedDemo(unitId: string): Promise<number> {
    return seedDemo(this.#ctx, unitId);
  }

  // --- the locker's side (locker-sync.ts) -------------------------------------------------

  lockerHello(unitId: string, hello: HelloMessage): Promise<{ ackedSeq: number; queued: number }> {
    return this.#locker.hello(unitId, hello);
  }

  lockerEvent(unitId: string, message: EventMessage): Promise<{ ackedSeq: number; duplicate: boolean }> {
    return this.#locker.event(unitId, message);
  }

  /** An event refused for good (its payload fails the schema): held as refused; send the nack. */
  lockerRefusedEvent(unitId: string, seq: number, type: string, reason: string): Promise<{ ackedSeq: number; duplicate: boolean }> {
    return this.#locker.refusedEvent(unitId, seq, type, reason);
  }

  lockerResult(unitId: string, message: ResultMessage): Promise<boolean> {
    return this.#locker.result(unitId, message);
  }

  async lockerGone(unitId: string): Promise<void> {
    await units.markOffline(this.#db, unitId, this.#now());
    this.#log.info({ unitId }, 'unit offline');
    this.#changed();
  }

  async lockerSeen(unitId: string): Promise<void> {
    await units.touch(this.#db, unitId, this.#now());
  }

  pendingCommands(unitId: string): Promise<StoredCommand[]> {
    return commands.pending(this.#db, unitId);
  }

  async markSent(commandId: string): Promise<void> {
    await commands.markSent(this.#db, commandId, this.#now());
  }

  // --- views ------------------------------------------------------------------------------

  /** What GET /api/state returns (read-models.ts). PINs are in it (demo staff page only); it is never logged. */
  staffState(): Promise<StaffState> {
    return staffState(this.#ctx, this.staff);
  }

  /**
   * What the mechanic's tablet may see: today's work orders (those whose key is in the locker
   * first, with a key icon), the requests and what the locker answered to each scan; no PINs,
   * no contact data.
   */
  tabletState(): Promise<TabletState> {
    return tabletState(this.#ctx);
  }

  // --- inside ---------------------------------------------------------------------------

  async #command<N extends CommandName>(tx: Tx, command: NewCommand<N>, now: Date): Promise<string> {
    const id = randomUUID();
    const checked = this.#validator?.validateBackOfficeMessage({ v: 1, type: 'command', id, name: command.name, args: command.args });
    if (checked && !checked.ok) {
      // Staff input that passed the checks above but not the contract: name the field, store nothing.
      const path = /^(\S+)/.exec(checked.message)?.[1] ?? '';
      const field = path.replace(/^args\.(reservation\.)?/, '').replace(/\//g, '.');
      throw new BackOfficeError('BAD_INPUT', checked.message.replace(/^args\.(reservation\.)?/, ''), field || null);
    }
    await commands.insert(tx, { id, ...command }, now);
    return id;
  }

  #committed(unitId: string): void {
    this.emit('command', unitId);
    this.#changed();
  }

  #changed(): void {
    this.emit('changed');
  }
}
