/**
 * The wrong key is never handed out (issue 15): one random case is a reservation set given to
 * the real locker by back-office commands, then customers at the screen (the holder of one of
 * them, or a stranger) typing right, wrong, old and shared PINs, looking up plates, switching
 * journeys, paying, walking away, while the back office cancels, re-issues PINs, sends stale
 * versions and payment changes mid-journey.
 *
 * The property, checked at the instant of every pulse the core asks of the lock bank:
 * - the session's reservation (the one the core names) is one the PIN typed in this session
 *   belonged to when it was typed, of the session's journey, not cancelled, not finished, and
 *   (after a plate lookup) of that plate;
 * - pickup: the compartment physically holds THAT reservation's key, and its payment, when one
 *   is required, was confirmed paid by the back office;
 * - drop-off: the compartment is physically empty (no one else's key is shown), the booking is
 *   for today or tomorrow;
 * - a PIN shared by two reservations no session has touched yet (both plainly usable) opens
 *   nothing unless a plate lookup told them apart.
 * Stale back-office versions must be answered "stale" and change nothing.
 *
 * "Holder" means whoever holds the reservation's credentials (its PIN, its plate): the locker
 * cannot tell two people apart otherwise; two usable reservations sharing a PIN must open neither.
 */
import { addDays } from '../../../kiosk/core/dates.js';
import type { SessionAction } from '../../../kiosk/core/session-view.js';
import type { JourneyStore } from '../../../kiosk/core/ports.js';
import { Random } from '../crash/random.js';
import type { Db } from '../../../kiosk/store/db.js';
import { act as actOn, type ActResult } from '../session-act.js';
import { createWorld, type World } from './world.js';
import { dateChoice, PLATES, plateKey, PinHasher, randomPin, seededUnitHashing, TODAY, AMOUNT, toWire, type ModelReservation } from './model.js';

export interface CaseOptions {
  /** Replaces the store the core identifies through (the deliberately broken identification). */
  wrapStore?: (store: JourneyStore, reservationIds: () => string[]) => JourneyStore;
  /** Stop after this many customers (a failing case is shrunk by replaying fewer). */
  maxCustomers?: number;
  /** A database to reuse (emptied first). */
  db?: Db;
}

export interface CaseResult {
  seed: number;
  violations: string[];
  trace: string[];
  pulses: number;
  customers: number;
  /** What the case went through: pulses by journey, refusals by code, stale updates refused. */
  stats: Record<string, number>;
}

interface SessionContext {
  /** Ids of the reservations whose PIN was the typed one, when it was typed. */
  pinMatches: Set<string>;
  /** Of those, the ones plainly usable when it was typed (two of them: nothing may open). */
  usableAtPin: Set<string>;
  typed: string | null;
  /** The plate of the last lookup that matched, and the reservations it listed then (the core keeps that list). */
  plate: string | null;
  lookupListed: Set<string> | null;
}

const VALID_DROPOFF_DATES = new Set([TODAY, addDays(TODAY, 1)]);

export async function runCase(seed: number, options: CaseOptions = {}): Promise<CaseResult> {
  const random = new Random(seed);
  const trace: string[] = [];
  const violations: string[] = [];
  const note = (line: string) => trace.push(line);
  const stats: Record<string, number> = {};
  const count = (what: string) => (stats[what] = (stats[what] ?? 0) + 1);
  const fail = (line: string) => {
    violations.push(line);
    note(`VIOLATION ${line}`);
  };

  const compartmentCount = random.int(3, 8);
  const itemSensors = random.chance(0.5);
  const unit = random.chance(0.6) ? seededUnitHashing(random) : null;
  const hasher = new PinHasher(unit);
  const pool = Array.from({ length: random.int(1, 4) }, () => randomPin(random));
  const model: ModelReservation[] = [];
  const byId = new Map<string, ModelReservation>();
  const world: World = await createWorld({
    compartments: compartmentCount,
    itemSensors,
    pinHashing: unit,
    ...(options.db ? { db: options.db } : {}),
    ...(options.wrapStore ? { wrapStore: (store: JourneyStore) => options.wrapStore!(store, () => model.map((m) => m.id)) } : {}),
  });
  note(`case seed=${seed} compartments=${compartmentCount} itemSensors=${itemSensors} hashing=${unit ? 'unit' : 'legacy'} pins=${pool.join(',')}`);
  const { locks, journeys } = world;
  let session: SessionContext = { pinMatches: new Set(), usableAtPin: new Set(), typed: null, plate: null, lookupListed: null };
  /** The payment.status being applied now, if any. */
  let paying: { id: string; status: string; version: number } | null = null;
  const pendingAmbiguity: { compartment: number; opened: string; other: string }[] = [];

  const emptyCompartments = () => Array.from({ length: compartmentCount }, (_, i) => i + 1).filter((c) => !locks.contents.has(c) && locks.doorState(c) === 'closed');

  // --- the property, at each pulse --------------------------------------------------------------
  locks.onPulse = (compartment) => {
    const view = journeys.view();
    const key = locks.contents.get(compartment);
    const claimed = model.find((m) => view.reservation !== null && `WO-${m.id}` === view.reservation.workOrder);
    const where = `pulse ${compartment} (key inside: ${key ?? 'none'}) in a ${view.journey ?? 'undecided'} session after PIN ${session.typed ?? '-'}`;
    if (!claimed || view.journey === null) return fail(`${where}: no reservation identified`);
    claimed.touched = true;
    count(`pulse:${view.journey}`);
    if (paying) count('pulse:on-payment');
    if (session.plate !== null) count('pulse:after-lookup');
    if (claimed.pins.length > 1) count('pulse:pin-changed');
    if (!session.pinMatches.has(claimed.id)) fail(`${where}: for ${claimed.id}, whose PIN was not the one typed`);
    if (claimed.kind !== view.journey) fail(`${where}: for ${claimed.id}, a ${claimed.kind}`);
    if (claimed.cancelled) fail(`${where}: for ${claimed.id}, cancelled`);
    if (claimed.finished) fail(`${where}: for ${claimed.id}, already finished`);
    if (session.plate !== null && plateKey(claimed.plateDisplay) !== plateKey(session.plate)) fail(`${where}: for ${claimed.id}, not of the plate looked up`);
    if (view.journey === 'pickup') {
      if (key !== claimed.id) fail(`${where}: a pickup for ${claimed.id} shown ${key === undefined ? 'an empty compartment' : `the key of ${key}`}`);
      // A payment confirmed by the command being applied right now opens the door before it returns.
      const paidNow = paying !== null && paying.id === claimed.id && paying.status === 'paid' && paying.version > claimed.paymentVersion;
      if (claimed.paymentRequired && !claimed.paid && !paidNow) fail(`${where}: pickup ${claimed.id} not paid`);
    } else {
      if (key !== undefined) fail(`${where}: a drop-off shown the key of ${key}`);
      if (!VALID_DROPOFF_DATES.has(claimed.appointmentDate)) fail(`${where}: drop-off ${claimed.id} booked for ${claimed.appointmentDate}`);
    }
    for (const other of session.usableAtPin) {
      if (other !== claimed.id) pendingAmbiguity.push({ compartment, opened: claimed.id, other });
    }
  };

  /** Untouched by any session, so the locker holds it exactly as the back office set it up. */
  function plainlyUsable(m: ModelReservation): boolean {
    if (m.touched || m.cancelled || m.finished) return false;
    if (session.lookupListed !== null && !session.lookupListed.has(m.id)) return false;
    if (m.kind === 'dropoff') return VALID_DROPOFF_DATES.has(m.appointmentDate);
    return m.compartment !== null && locks.contents.get(m.compartment) === m.id;
  }

  async function settleAmbiguity(): Promise<void> {
    for (const suspicion of pendingAmbiguity.splice(0)) {
      // A reservation locked after too many wrong PINs is not usable: that is not an ambiguity.
      const row = await world.db.get<{ pin_locked_at: string | null }>('SELECT pin_locked_at FROM reservations WHERE id = ?', [suspicion.other]);
      if (row?.pin_locked_at === null) fail(`pulse ${suspicion.compartment} for ${suspicion.opened} while ${suspicion.other} shares the PIN and is usable too`);
    }
  }

  async function act(action: SessionAction): Promise<ActResult> {
    const { error } = await actOn(journeys, action);
    await settleAmbiguity();
    if (error) count(`refused:${error}`);
    const view = journeys.view();
    const identified = model.find((m) => view.reservation !== null && `WO-${m.id}` === view.reservation.workOrder);
    if (identified) identified.touched = true;
    if (view.error?.code === 'SERVER') fail(`${action.type}: the core failed (SERVER)`);
    note(`  ${describe(action)} -> ${view.step}${error ? ` (${error})` : ''}${view.compartment ? ` door ${view.compartment}` : ''}`);
    return { view, error };
  }

  // --- the back office --------------------------------------------------------------------------
  async function upsert(m: ModelReservation, version: number, pin: string, compartmentId: number | null) {
    return world.command('reservation.upsert', { reservation: await toWire(m, pin, hasher, compartmentId), version });
  }

  /** A pickup's key arrives (the mechanic puts it in an empty compartment and the back office names it). */
  async function keyArrives(m: ModelReservation, version: number): Promise<void> {
    const free = emptyCompartments();
    if (free.length === 0) return;
    const compartment = random.pick(free);
    const result = await upsert(m, version, m.pin, compartment);
    const applied = result.ok && result.result?.applied === true && result.result.status === 'ready';
    note(`  back office: ${m.id} key in ${compartment} (v${version}) -> ${applied ? 'ready' : (result.error?.code ?? JSON.stringify(result.result))}`);
    if (applied) {
      locks.contents.set(compartment, m.id);
      m.compartment = compartment;
      m.version = version;
    }
  }

  async function backOffice(focus: ModelReservation | null): Promise<void> {
    if (model.length === 0) return;
    const m = focus && random.chance(0.6) ? focus : random.pick(model);
    const roll = random.next();
    if (roll < 0.2) {
      const stale = random.chance(0.3);
      const version = stale ? random.int(1, m.version) : m.version + 1;
      const inSession = holderInSession(m);
      const result = await world.command('reservation.cancel', { reservationId: m.id, version });
      const applied = result.ok && (result.result?.applied === true || result.result?.reason === 'already-cancelled');
      note(`  back office: cancel ${m.id} v${version}${stale ? ' (stale)' : ''} -> ${result.ok ? JSON.stringify(result.result) : result.error?.code}`);
      if (applied && !stale && inSession) count('cancelled-mid-journey');
      if (stale && applied) fail(`stale cancel v${version} of ${m.id} (at v${m.version}) was applied`);
      if (applied && !stale) {
        m.cancelled = true;
        m.version = version;
      }
    } else if (roll < 0.45) {
      // A stale version carrying another PIN: it must change nothing.
      const version = random.int(1, m.version);
      const pin = random.chance(0.5) ? random.pick(pool) : randomPin(random);
      const result = await upsert(m, version, pin, m.kind === 'pickup' ? m.compartment : null);
      note(`  back office: stale upsert ${m.id} v${version} PIN ${pin} -> ${result.ok ? JSON.stringify(result.result) : result.error?.code}`);
      if (result.ok && result.result?.applied === false) count('stale-refused');
      if (!result.ok || result.result?.applied !== false) fail(`stale upsert v${version} of ${m.id} (at v${m.version}) was not refused as stale`);
      else if (pin !== m.pin) m.pins.push(pin); // a customer may have been told it (an old mail)
    } else if (roll < 0.7) {
      if (m.kind === 'pickup' && m.compartment === null && random.chance(0.5)) return keyArrives(m, m.version + 1);
      const version = m.version + random.int(1, 2);
      const pin = random.chance(0.6) ? random.pick(pool) : randomPin(random);
      const result = await upsert(m, version, pin, m.kind === 'pickup' ? m.compartment : null);
      const applied = result.ok && result.result?.applied === true;
      note(`  back office: upsert ${m.id} v${version} PIN ${pin} -> ${result.ok ? JSON.stringify(result.result) : result.error?.code}`);
      if (applied) {
        m.version = version;
        m.pin = pin;
        m.pins.push(pin);
      }
    } else if (m.paymentRequired) {
      const stale = random.chance(0.2);
      const version = stale ? random.int(0, m.paymentVersion) : m.paymentVersion + 1;
      const status = random.pick(['paid', 'paid', 'pending', 'cancelled'] as const);
      paying = { id: m.id, status, version };
      const result = await world.command('payment.status', { reservationId: m.id, status, ...AMOUNT, version }).finally(() => (paying = null));
      const applied = result.ok && result.result?.applied === true;
      note(`  back office: payment ${m.id} ${status} v${version} -> ${result.ok ? JSON.stringify(result.result) : result.error?.code}`);
      if (stale && applied) fail(`stale payment v${version} of ${m.id} (at v${m.paymentVersion}) was applied`);
      if (applied) {
        m.paid = status === 'paid';
        m.paymentVersion = version;
      }
    }
  }

  // --- the reservation set ---------------------------------------------------------------------
  const reservationCount = random.int(1, 6);
  for (let i = 0; i < reservationCount; i += 1) {
    const kind = random.chance(0.5) ? 'dropoff' : 'pickup';
    const pin = random.pick(pool);
    const m: ModelReservation = {
      id: `r${i}`,
      code: `C-${i}`,
      kind,
      plateDisplay: random.pick(PLATES),
      phone: `+479${String(1_000_000 + i).padStart(7, '0')}`,
      appointmentDate: dateChoice(random),
      pin,
      pins: [pin],
      legacy: unit === null || random.chance(0.2),
      version: random.int(1, 3),
      paymentRequired: kind === 'pickup' && random.chance(0.3),
      paid: false,
      paymentVersion: 0,
      cancelled: false,
      finished: false,
      touched: false,
      compartment: null,
    };
    model.push(m);
    byId.set(m.id, m);
    const result = await upsert(m, m.version, pin, null);
    note(`reservation ${m.id} ${kind} plate ${m.plateDisplay} date ${m.appointmentDate} PIN ${pin}${m.legacy ? ' (legacy hash)' : ''} v${m.version}${m.paymentRequired ? ' payment required' : ''} -> ${result.ok ? 'ok' : result.error?.code}`);
    if (!result.ok) throw new Error(`setting up ${m.id} failed: ${result.error?.message}`);
    if (kind === 'pickup' && random.chance(0.7)) await keyArrives(m, m.version + 1);
    if (m.paymentRequired && random.chance(0.3)) {
      const paid = await world.command('payment.status', { reservationId: m.id, status: 'paid', ...AMOUNT, version: 1 });
      if (paid.ok && paid.result?.applied === true) {
        m.paid = true;
        m.paymentVersion = 1;
      }
    }
  }

  // --- the customers -----------------------------------------------------------------------------
  const customers = Math.min(random.int(1, 4), options.maxCustomers ?? Infinity);
  for (let c = 0; c < customers; c += 1) {
    // A minute apart: the lookup throttle (6 a minute) and lockouts run on this clock.
    await world.clock.fake.tickAsync(61_000);
    await journeys.settled();
    await settleAmbiguity();
    const holder = random.chance(0.85) ? random.pick(model) : null;
    session = { pinMatches: new Set(), usableAtPin: new Set(), typed: null, plate: null, lookupListed: null };
    note(`customer ${c}: ${holder ? `holder of ${holder.id}` : 'a stranger'}`);
    await customer(holder);
    await endSession(holder);
  }

  async function choosePin(holder: ModelReservation | null): Promise<string> {
    const roll = random.next();
    if (holder && roll < 0.6) return holder.pin;
    if (holder && roll < 0.7) return random.pick(holder.pins);
    if (roll < 0.8) return random.pick(pool);
    return randomPin(random);
  }

  async function lookup(plate: string): Promise<void> {
    const { view, error } = await act({ type: 'lookup', by: 'plate', value: plate });
    if (error === null && view.step === 'lookup-result') {
      // A lookup that found nothing narrows nothing (the core keeps no empty list): only one that
      // matched (it shows where the PIN would go) binds the next PIN to its plate.
      if (view.destinations.length > 0) {
        session.plate = plate;
        // What the lookup listed: today's, of the session's journey, a drop-off still to do or a
        // pickup whose key is in. A key arriving later is not on the list the PIN is checked against.
        session.lookupListed = new Set(
          model
            .filter((m) => plateKey(m.plateDisplay) === plateKey(plate) && m.appointmentDate === TODAY && (view.journey === null || view.journey === m.kind))
            .filter((m) => !m.cancelled && !m.finished && (m.kind === 'dropoff' || m.compartment !== null))
            .map((m) => m.id),
        );
      }
      await act({ type: 'back' });
    }
  }

  async function customer(holder: ModelReservation | null): Promise<void> {
    const journey = random.pick([null, holder?.kind ?? null, random.chance(0.5) ? 'dropoff' : 'pickup'] as const);
    await act({ type: 'start', journey });
    if (random.chance(0.25)) await lookup(holder && random.chance(0.8) ? holder.plateDisplay : random.pick(PLATES));
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (random.chance(0.2)) await backOffice(holder);
      if (journeys.view().step !== 'identify') break;
      const pin = await choosePin(holder);
      session.typed = pin;
      session.pinMatches = new Set(model.filter((m) => m.pin === pin).map((m) => m.id));
      session.usableAtPin = new Set(model.filter((m) => session.pinMatches.has(m.id) && plainlyUsable(m)).map((m) => m.id));
      const { error } = await act({ type: 'pin', pin });
      if (error === 'PIN_AMBIGUOUS' && holder) {
        await lookup(holder.plateDisplay);
        continue;
      }
      if (error === 'PIN_OTHER_JOURNEY' && random.chance(0.7)) await act({ type: 'switchJourney' });
      if (journeys.view().step !== 'identify') break;
    }
    let step = journeys.view().step;
    if (step === 'details') {
      if (random.chance(0.3)) await backOffice(holder);
      if (journeys.view().step === 'details') await act({ type: 'details', phone: null, remark: null });
      if (random.chance(0.3)) await backOffice(holder);
      if (random.chance(0.15)) locks.failNext = random.chance(0.5) ? 'jam' : 'offline';
      if (journeys.view().step === 'details') await act({ type: 'confirm' });
    }
    step = journeys.view().step;
    for (let tries = 0; tries < 3 && journeys.view().step === 'payment'; tries += 1) {
      if (random.chance(0.7)) await backOffice(holder);
      if (journeys.view().step === 'payment') await act({ type: 'confirm' });
    }
    await atTheDoor();
  }

  /** What the customer does with an open door: the physical world moves, the screens follow. */
  async function atTheDoor(): Promise<void> {
    const view = journeys.view();
    if ((view.step !== 'place-key' && view.step !== 'take-key') || view.compartment === null) return;
    const compartment = view.compartment;
    const claimed = model.find((m) => view.reservation !== null && `WO-${m.id}` === view.reservation.workOrder);
    const hands = claimed?.id ?? 'unknown';
    const roll = random.next();
    if (view.step === 'place-key') locks.contents.set(compartment, hands);
    else locks.contents.delete(compartment);
    note(`  customer ${view.step === 'place-key' ? 'places the key of' : 'takes the key of'} ${hands} in ${compartment}`);
    if (roll < 0.55) {
      locks.close(compartment);
      const done = await act({ type: 'confirm' });
      if (done.view.step === 'done' && claimed) claimed.finished = true;
    } else if (roll < 0.75) {
      // Abandon: the screen asks to undo (take the key back / put it back) and close the door.
      await act({ type: 'abandon' });
      const { view: asked } = await act({ type: 'abandonConfirm' });
      if (asked.step === 'close-door') {
        if (view.step === 'place-key') locks.contents.delete(compartment);
        else locks.contents.set(compartment, hands);
        note(`  customer undoes it in ${compartment}`);
        locks.close(compartment);
        await journeys.settled();
      }
    } else if (roll < 0.9) {
      locks.close(compartment);
      note(`  customer closes ${compartment} and walks away`);
    } else {
      note(`  customer walks away, door ${compartment} open`);
    }
  }

  /** Walk away: the session ends on its idle timer; a door left open is closed by staff later. */
  async function endSession(holder: ModelReservation | null): Promise<void> {
    for (let i = 0; i < 5 && journeys.view().sessionId !== null; i += 1) {
      await world.clock.fake.tickAsync(5 * 60_000);
      await journeys.settled();
    }
    if (journeys.view().sessionId !== null) fail(`the session did not end (step ${journeys.view().step})`);
    if (holder) holder.touched = holder.touched || session.pinMatches.has(holder.id);
    await settleAmbiguity();
    for (const door of locks.openDoors()) locks.close(door);
    await journeys.settled();
  }

  function holderInSession(m: ModelReservation): boolean {
    const view = journeys.view();
    return view.reservation !== null && view.reservation.workOrder === `WO-${m.id}`;
  }

  const pulses = locks.pulses.length;
  await world.close();
  return { seed, violations, trace, pulses, customers, stats };
}

function describe(action: SessionAction): string {
  switch (action.type) {
    case 'pin':
      return `pin ${action.pin}`;
    case 'lookup':
      return `lookup ${action.by} ${action.value}`;
    case 'start':
      return `start ${action.journey ?? 'undecided'}`;
    default:
      return action.type;
  }
}
