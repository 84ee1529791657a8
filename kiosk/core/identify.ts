/**
 * Who is at the screen: the PIN check and the plate/phone lookup that tells a customer where
 * their PIN would go. It decides and records; the journey service (journeys.ts) moves the
 * session and renders the result.
 *
 * A typed PIN costs one scrypt whatever the number of reservations: it is hashed with the
 * unit's salt (core/pin.ts) and looked up by index. Only reservations whose back office sent a
 * legacy hash (salted per reservation) are verified one by one, and only those a PIN could
 * open now. Reads only, up to the verdict: a right PIN writes nothing before the door's intent
 * (one commit before the pulse); a wrong one is counted in one transaction with its events.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Country } from '../config/schema.js';
import { DomainError, type DomainErrorCode } from '../errors.js';
import { addDays, localDate } from './dates.js';
import { maskEmail, maskPhone } from './mask.js';
import { normalisePhone, normalisePlate } from './normalise.js';
import { isWellFormedPin, pinIndex, verifyPin, type UnitPinHashing } from './pin.js';
import type { JourneyStore, PinGuard } from './ports.js';
import type { Session } from './session.js';
import type { PinCandidate, Reservation } from './types.js';

export interface IdentifyThrottles {
  /** Plate/phone lookups at this locker per rolling minute. */
  lookupsPerMinute: number;
  /** One PIN delivery per reservation per this long. */
  pinDeliveryIntervalMs: number;
}

export const DEFAULT_IDENTIFY_THROTTLES: IdentifyThrottles = { lookupsPerMinute: 6, pinDeliveryIntervalMs: 10 * 60_000 };

export interface IdentifyOptions {
  store: JourneyStore;
  pins: PinGuard;
  /** The unit's PIN salt and cost (null: only legacy hashes are known). */
  pinHashing?: UnitPinHashing | null;
  throttles?: IdentifyThrottles;
  wallClock: () => Date;
  /** Monotonic: for the lookup throttle. */
  clock: Clock;
  logger: Logger;
  timeZone: string;
  defaultCountry: Country;
}

/** The outcome of a PIN that was not refused outright. */
export type PinVerdict =
  | { kind: 'locked'; lockedForMs: number }
  | { kind: 'identified'; reservation: Reservation }
  /** A right PIN for the other journey: offered as a switch, not counted as wrong. */
  | { kind: 'otherJourney'; reservation: Reservation };

/** Why a reservation a PIN matched can or cannot be used now. */
export type Usability = 'usable' | 'used' | 'cancelled' | 'not-ready' | 'locked' | 'other-day';

/** Tries left are shown from this many on (before the last two). */
export const ATTEMPTS_WARNING_FROM = 2;

/** The error each unusable kind of match gets; the failure is counted all the same. */
const UNUSABLE: Record<Exclude<Usability, 'usable'>, { code: DomainErrorCode; message: string; rank: number }> = {
  locked: { code: 'RESERVATION_LOCKED', message: 'this reservation is locked after too many wrong PINs', rank: 0 },
  'not-ready': { code: 'NOT_READY', message: 'the key is not in the locker yet', rank: 1 },
  cancelled: { code: 'RESERVATION_CANCELLED', message: 'this reservation was cancelled', rank: 2 },
  used: { code: 'ALREADY_USED', message: 'this PIN was already used', rank: 3 },
  'other-day': { code: 'PIN_WRONG', message: 'wrong PIN', rank: 4 },
};

/** Pure: whether a matched reservation can be used now (drop-offs: booked for one of `dropoffDates`). */
export function usabilityOf(candidate: PinCandidate, dropoffDates: readonly string[]): Usability {
  const r = candidate.reservation;
  if (r.status === 'cancelled') return 'cancelled';
  if (r.pinLockedAt !== null) return 'locked';
  if (r.kind === 'dropoff') {
    if (r.status !== 'booked') return 'used';
    return dropoffDates.includes(r.appointmentDate) ? 'usable' : 'other-day';
  }
  if (r.status === 'booked') return 'not-ready';
  if (r.status !== 'ready') return 'used';
  return candidate.keyInLocker ? 'usable' : 'not-ready';
}

export class Identify {
  readonly #o: IdentifyOptions;
  readonly #throttles: IdentifyThrottles;
  /** Monotonic times of recent lookups, oldest first (at most lookupsPerMinute). */
  #lookups: number[] = [];

  constructor(options: IdentifyOptions) {
    this.#o = options;
    this.#throttles = options.throttles ?? DEFAULT_IDENTIFY_THROTTLES;
  }

  /**
   * Check a typed PIN. Resolves with the reservation it opens, one of the other journey, or a
   * lockout; throws a DomainError the screen shows for anything else (wrong, used, cancelled,
   * not ready, locked, ambiguous).
   */
  async checkPin(s: Session, pin: string): Promise<PinVerdict> {
    const now = this.#o.wallClock();
    const lockedFor = await this.#o.pins.lockedFor(now);
    if (lockedFor !== null) return { kind: 'locked', lockedForMs: lockedFor };
    if (!isWellFormedPin(pin)) throw new DomainError('PIN_FORMAT', 'a PIN is 6 digits');

    const dates = this.#dropoffDates(now);
    let matches = await this.#matches(s, pin, dates);
    if (s.lookupMatches.length > 0) matches = matches.filter((m) => s.lookupMatches.includes(m.reservation.id));
    const usable = matches.filter((m) => usabilityOf(m, dates) === 'usable').map((m) => m.reservation);

    if (usable.length > 1) {
      // The back office must keep PINs unique among a unit's active reservations; one that did
      // not is told, and nothing opens: the plate decides.
      const reservationIds = usable.map((r) => r.id);
      await this.#o.store.transaction((tx) => tx.event('pin.ambiguous', { reservationIds, session: s.id }));
      this.#o.logger.warn({ session: s.id, reservations: reservationIds.length }, 'a PIN matches more than one reservation');
      throw new DomainError('PIN_AMBIGUOUS', 'this PIN matches more than one booking: type the licence plate');
    }
    const [match] = usable;
    if (match) return s.journey !== null && match.kind !== s.journey ? { kind: 'otherJourney', reservation: match } : { kind: 'identified', reservation: match };

    // A wrong PIN, or a right one for a reservation that cannot be used now: both count.
    const unusable = matches
      .map((m) => UNUSABLE[usabilityOf(m, dates) as Exclude<Usability, 'usable'>])
      .sort((a, b) => a.rank - b.rank)[0];
    const bound = !unusable && s.lookupMatches.length === 1 ? (s.lookupMatches[0] ?? null) : null;
    const result = await this.#o.store.transaction((tx) => this.#o.pins.recordFailure(tx, bound, now));
    this.#o.logger.info({ session: s.id, boundToLookup: bound !== null, reason: unusable?.code ?? 'PIN_WRONG' }, 'PIN refused');
    if (result.lockerLockedForMs !== null) return { kind: 'locked', lockedForMs: result.lockerLockedForMs };
    const warn = result.attemptsLeft <= ATTEMPTS_WARNING_FROM ? { attemptsLeft: result.attemptsLeft } : {};
    if (unusable) throw new DomainError(unusable.code, unusable.message, warn);
    if (result.reservationLocked) throw new DomainError('RESERVATION_LOCKED', 'this reservation is locked');
    throw new DomainError('PIN_WRONG', 'wrong PIN', warn);
  }

  /** The switch offer, taken: the reservation if it can still be used now (else the reason). */
  async confirmSwitch(reservationId: string): Promise<Reservation> {
    const dates = this.#dropoffDates(this.#o.wallClock());
    const [candidate] = await this.#o.store.pinCandidatesByIds([reservationId]);
    if (!candidate) throw new DomainError('NOT_FOUND', 'the reservation is no longer valid');
    const usability = usabilityOf(candidate, dates);
    if (usability !== 'usable') {
      const { code, message } = UNUSABLE[usability];
      throw new DomainError(code, message);
    }
    return candidate.reservation;
  }

  /**
   * A plate or phone lookup: the matching reservations of today for this journey (both
   * journeys while undecided), and where their PIN would go (masked; nothing about whose plate
   * it is). At most `lookupsPerMinute` per locker.
   */
  async lookup(s: Session, by: 'plate' | 'phone', value: string): Promise<{ matches: string[]; destinations: string[] }> {
    const today = localDate(this.#o.wallClock(), this.#o.timeZone);
    let matches: Reservation[];
    if (by === 'plate') {
      const plate = normalisePlate(value);
      if (!plate.ok) throw new DomainError('PLATE_INVALID', 'that does not look like a licence plate');
      this.#countLookup();
      matches = await this.#o.store.findByPlate(plate.plate, today);
    } else {
      const phone = normalisePhone(value, this.#o.defaultCountry);
      if (!phone.ok) throw new DomainError('PHONE_INVALID', 'that does not look like a mobile number');
      this.#countLookup();
      matches = await this.#o.store.findByPhone(phone.e164, today);
    }
    matches = matches.filter(
      (r) => (s.journey === null || r.kind === s.journey) && (r.kind === 'dropoff' ? r.status === 'booked' : r.status === 'ready'),
    );
    const destinations = [...new Set(matches.flatMap((r) => [...(r.email ? [maskEmail(r.email)] : []), ...r.phones.slice(0, 1).map(maskPhone)]))];
    this.#o.logger.info({ session: s.id, by, matched: matches.length }, 'lookup');
    return { matches: matches.map((r) => r.id), destinations };
  }

  /**
   * "Send": ask the back office to send the PIN of each reservation the lookup matched, at most
   * once per reservation per `pinDeliveryIntervalMs`. PIN_ALREADY_SENT when none may be sent.
   */
  async requestPinDelivery(s: Session): Promise<{ sent: number }> {
    const ids = s.lookupMatches;
    if (ids.length === 0) return { sent: 0 };
    const now = this.#o.wallClock().getTime();
    const interval = this.#throttles.pinDeliveryIntervalMs;
    const due: string[] = [];
    let waitMs = Infinity;
    for (const id of ids) {
      const last = await this.#o.store.lastTimelineAt(id, 'pin-delivery-requested');
      const elapsed = last === null ? Infinity : now - Date.parse(last);
      // A clock that stepped back (elapsed < 0) must not hold a customer's PIN back for long.
      if (elapsed >= 0 && elapsed < interval) waitMs = Math.min(waitMs, interval - elapsed);
      else due.push(id);
    }
    if (due.length === 0) {
      this.#o.logger.info({ session: s.id }, 'PIN delivery refused: sent recently');
      throw new DomainError('PIN_ALREADY_SENT', 'the PIN was sent a few minutes ago', { retryAfterS: Math.ceil(waitMs / 1000) });
    }
    await this.#o.store.transaction(async (tx) => {
      for (const id of due) {
        await tx.event('pin.delivery-requested', { reservationId: id, session: s.id });
        await tx.timeline(id, 'pin-delivery-requested', { session: s.id });
      }
    });
    return { sent: due.length };
  }

  #countLookup(): void {
    const now = this.#o.clock.now();
    this.#lookups = this.#lookups.filter((at) => now - at < 60_000);
    if (this.#lookups.length >= this.#throttles.lookupsPerMinute) {
      const retryAfterS = Math.max(1, Math.ceil((60_000 - (now - (this.#lookups[0] ?? now))) / 1000));
      this.#o.logger.warn({ lookupsPerMinute: this.#throttles.lookupsPerMinute }, 'lookup refused: too many at this locker');
      throw new DomainError('LOOKUP_THROTTLED', 'too many lookups just now', { retryAfterS });
    }
    this.#lookups.push(now);
  }

  /** Drop-offs before opening hours: today's appointments, and tomorrow's (the evening before). */
  #dropoffDates(now: Date): string[] {
    const today = localDate(now, this.#o.timeZone);
    return [today, addDays(today, 1)];
  }

  /** Reservations this PIN belongs to: by index (one scrypt), then the legacy hashes one by one. */
  async #matches(s: Session, pin: string, dates: readonly string[]): Promise<PinCandidate[]> {
    const unit = this.#o.pinHashing ?? null;
    const index = unit ? await pinIndex(pin, unit) : null;
    // One read: two (index, then legacy) could both miss a reservation the back office
    // re-hashed between them, and refuse its right PIN.
    const candidates = await this.#o.store.pinCandidates({ index, dropoffDates: dates, ...(s.lookupMatches.length > 0 ? { ids: s.lookupMatches } : {}) });
    const indexed = candidates.filter((c) => c.reservation.pinIndex !== null);
    const legacy = candidates.filter((c) => c.reservation.pinIndex === null);
    if (legacy.length === 0) return indexed;
    // In parallel on libuv's thread pool; a hash the store holds but cannot check is no match.
    const verdicts = await Promise.all(legacy.map((c) => verifyPin(pin, c.reservation.pinHash).catch(() => false)));
    return [...indexed, ...legacy.filter((_, i) => verdicts[i])];
  }
}
