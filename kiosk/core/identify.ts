/**
 * Who is at the screen: the PIN check (against the reservations a PIN may belong to in this
 * journey, with the lockout counting every wrong one) and the plate/phone lookup that tells a
 * customer where their PIN would go. It decides and records; the journey service
 * (journeys.ts) moves the session and renders the result.
 */
import type { Logger } from 'pino';
import type { Country } from '../config/schema.js';
import { DomainError } from '../errors.js';
import { addDays, localDate } from './dates.js';
import { maskEmail, maskPhone } from './mask.js';
import { normalisePhone, normalisePlate } from './normalise.js';
import { isWellFormedPin, verifyPin } from './pin.js';
import type { JourneyStore, PinGuard } from './ports.js';
import type { Session } from './session.js';
import type { Reservation } from './types.js';

export interface IdentifyOptions {
  store: JourneyStore;
  pins: PinGuard;
  wallClock: () => Date;
  logger: Logger;
  timeZone: string;
  defaultCountry: Country;
}

/** The outcome of a PIN: PIN entry is locked for a while, or the customer is identified. */
export type PinVerdict = { lockedForMs: number } | { reservation: Reservation };

export class Identify {
  readonly #o: IdentifyOptions;

  constructor(options: IdentifyOptions) {
    this.#o = options;
  }

  /**
   * Check a typed PIN. Resolves with the reservation it opens (usable now in this journey) or
   * with a lockout; throws a DomainError the screen shows for anything else (wrong PIN, a
   * locked reservation, a used or not-ready one).
   */
  async checkPin(s: Session, pin: string): Promise<PinVerdict> {
    const now = this.#o.wallClock();
    const lockedFor = await this.#o.pins.lockedFor(now);
    if (lockedFor !== null) return { lockedForMs: lockedFor };
    if (!isWellFormedPin(pin)) throw new DomainError('PIN_FORMAT', 'a PIN is 6 digits');

    const candidates = await this.#candidates(s);
    // Check every candidate, in parallel on libuv's thread pool (scrypt is slow on purpose),
    // so the time taken tells little about how many there were or which one matched.
    const verdicts = await Promise.all(candidates.map((candidate) => verifyPin(pin, candidate.pinHash).catch(() => false)));
    const match = candidates.find((_, index) => verdicts[index]) ?? null;
    if (!match) {
      const bound = s.lookupMatches.length === 1 ? (s.lookupMatches[0] ?? null) : null;
      const result = await this.#o.pins.recordFailure(bound, now);
      this.#o.logger.info({ session: s.id, boundToLookup: bound !== null }, 'wrong PIN');
      if (result.lockerLockedForMs !== null) {
        const lockedForMs = result.lockerLockedForMs;
        await this.#o.store.transaction((tx) => tx.event('lockout.locker', { retryAfterS: Math.ceil(lockedForMs / 1000) }));
        return { lockedForMs };
      }
      if (result.reservationLocked) {
        if (result.attemptsLeft === 0 && bound) await this.#o.store.transaction((tx) => tx.event('lockout.reservation', { reservationId: bound }));
        throw new DomainError('RESERVATION_LOCKED', 'this reservation is locked');
      }
      throw new DomainError('PIN_WRONG', 'wrong PIN', result.attemptsLeft !== null ? { attemptsLeft: result.attemptsLeft } : {});
    }
    if (match.pinLockedAt) throw new DomainError('RESERVATION_LOCKED', 'this reservation is locked after too many wrong PINs');
    await this.#o.pins.recordSuccess(match.id, now);
    assertUsable(match);
    return { reservation: match };
  }

  /**
   * A plate or phone lookup: the matching reservations of today for this journey, and where
   * their PIN would go (masked; nothing about whose plate it is).
   */
  async lookup(s: Session, by: 'plate' | 'phone', value: string): Promise<{ matches: string[]; destinations: string[] }> {
    const today = localDate(this.#o.wallClock(), this.#o.timeZone);
    let matches: Reservation[];
    if (by === 'plate') {
      const plate = normalisePlate(value);
      if (!plate.ok) throw new DomainError('PLATE_INVALID', 'that does not look like a licence plate');
      matches = await this.#o.store.findByPlate(plate.plate, today);
    } else {
      const phone = normalisePhone(value, this.#o.defaultCountry);
      if (!phone.ok) throw new DomainError('PHONE_INVALID', 'that does not look like a mobile number');
      matches = await this.#o.store.findByPhone(phone.e164, today);
    }
    matches = matches.filter((r) => r.kind === s.journey && (r.kind === 'dropoff' ? r.status === 'booked' : r.status === 'ready'));
    const destinations = [...new Set(matches.flatMap((r) => [...(r.email ? [maskEmail(r.email)] : []), ...r.phones.slice(0, 1).map(maskPhone)]))];
    this.#o.logger.info({ session: s.id, by, matched: matches.length }, 'lookup');
    return { matches: matches.map((r) => r.id), destinations };
  }

  /** "Send": ask the back office to send the PIN of each reservation the lookup matched. */
  async requestPinDelivery(s: Session): Promise<void> {
    const ids = s.lookupMatches;
    if (ids.length === 0) return;
    await this.#o.store.transaction(async (tx) => {
      for (const id of ids) {
        await tx.event('pin.delivery-requested', { reservationId: id, session: s.id });
        await tx.timeline(id, 'pin-delivery-requested', { session: s.id });
      }
    });
  }

  /** Reservations a PIN may belong to in this journey. */
  async #candidates(s: Session): Promise<Reservation[]> {
    if (s.lookupMatches.length > 0) {
      const found = await Promise.all(s.lookupMatches.map((id) => this.#o.store.reservation(id)));
      return found.filter((r): r is Reservation => r !== null);
    }
    if (s.journey === 'pickup') return this.#o.store.openPickups();
    // Drop-off before opening hours: today's appointments, and tomorrow's (the evening before).
    const today = localDate(this.#o.wallClock(), this.#o.timeZone);
    const all = await this.#o.store.reservationsOn('dropoff', [today, addDays(today, 1)]);
    return all.filter((r) => r.status !== 'cancelled');
  }
}

/** A reservation the PIN matched may still not be usable now: say why. */
function assertUsable(reservation: Reservation): void {
  if (reservation.kind === 'dropoff' && reservation.status !== 'booked') throw new DomainError('ALREADY_USED', 'the key was already dropped off');
  if (reservation.kind === 'pickup') {
    if (reservation.status === 'booked') throw new DomainError('NOT_READY', 'the key is not in the locker yet');
    if (reservation.status !== 'ready' || reservation.compartmentId === null) throw new DomainError('ALREADY_USED', 'this key was already collected');
  }
}
