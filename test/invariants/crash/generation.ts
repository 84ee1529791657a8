/**
 * One locker's life story in a crash run: its data directory and configuration, its back
 * office (which outlives every kill), the reservations it sent, with their PINs, and the
 * back-office commands it keeps sending while the locker works. Quarantined compartments pile
 * up with every kill mid-journey (that is the point: nobody else may have them), and nothing
 * here plays the technician who clears them, so after a while the next generation starts on a
 * new directory.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localDate } from '../../../kiosk/core/dates.js';
import { hashPin } from '../../../kiosk/core/pin.js';
import type { ReservationWire } from '../../../kiosk/sync/messages.js';
import { KEY_FILE_NAME, loadOrCreateIdentity } from '../../../kiosk/sync/identity.js';
import { CrashBackOffice } from './crash-back-office.js';
import type { DropoffTicket } from './customer.js';
import type { Random } from './random.js';
import type { StoreView } from './store-reader.js';

export const UNIT_ID = 'crash-unit';
const TIME_ZONE = 'Europe/Oslo';
/** The lowest scrypt cost the locker accepts (N 2^10, r 1): a PIN check costs about a millisecond. */
const PIN_COST = { N: 2 ** 10, r: 1, p: 1 };
const PICKUP_COMPARTMENTS = [14, 15, 16];
const MAX_DROPOFFS = 14;

interface Booking {
  wire: ReservationWire;
  version: number;
  pin: string;
  paymentVersion: number;
}

export class Generation {
  readonly bookings = new Map<string, Booking>();
  readonly configPath: string;
  readonly dbPath: string;
  lives = 0;
  #next = 1;

  private constructor(
    readonly dir: string,
    readonly backOffice: CrashBackOffice,
    readonly random: Random,
  ) {
    this.configPath = join(dir, 'locker.json');
    this.dbPath = join(dir, 'keylocker.db');
  }

  /**
   * A new data directory with the unit key from `keySource` (made once per run: the same unit,
   * a new locker), a back office that knows it, and the configuration of a fast simulator.
   */
  static async create(dir: string, keyDir: string, random: Random, options: { logLevel?: string } = {}): Promise<Generation> {
    await mkdir(dir, { recursive: true });
    const identity = await loadOrCreateIdentity(keyDir, UNIT_ID);
    await copyFile(join(keyDir, KEY_FILE_NAME), join(dir, KEY_FILE_NAME));
    const backOffice = new CrashBackOffice(UNIT_ID, identity.publicKeyJwk);
    await backOffice.up();
    const generation = new Generation(dir, backOffice, random);
    await writeFile(
      generation.configPath,
      JSON.stringify({
        unitId: UNIT_ID,
        dataDir: dir,
        timeZone: TIME_ZONE,
        log: { level: options.logLevel ?? 'info' },
        server: { host: '127.0.0.1', port: 0 },
        // Lanes run side by side: no shared metrics port.
        metrics: { port: 0 },
        // A 150 ms pulse (50 ms before): crash-anywhere asserts that some of its kills land while
        // a lock is energised, and a busy machine stretches journeys but not pulses. At load ~19
        // a 50 ms pulse caught 7 kills in 200 (docs/performance.md): none in 100 about 3 % of
        // runs. Three times the window makes that about 1 in 30,000.
        locks: { pulseMs: 150, doorConfirmTimeoutMs: 300, pollIntervalMs: 50, doorLeftOpenAlarmMs: 5000 },
        backOffice: { url: backOffice.url, reconnectInitialMs: 100, reconnectMaxMs: 1000, pingIntervalMs: 5000 },
      }),
    );
    return generation;
  }

  /** The first reservations: drop-offs for today and pickups whose keys a mechanic put in. */
  async book(dropoffs: number): Promise<void> {
    for (let i = 0; i < dropoffs; i += 1) await this.#newDropoff(this.random);
    for (const compartment of PICKUP_COMPARTMENTS) {
      const id = `p-${compartment}`;
      const booking = await this.#booking(id, 'pickup', compartment, compartment === 16, this.random);
      this.#send(booking);
      if (booking.wire.paymentRequired) this.#pay(booking, 'paid');
    }
  }

  /** One back-office command, chosen at random, as staff and the dealer system would send. */
  async randomCommand(view: StoreView | null, r: Random, walking: string | null = null): Promise<void> {
    const ids = [...this.bookings.keys()];
    const roll = r.next();
    if (roll < 0.25 && this.#dropoffCount() < MAX_DROPOFFS) {
      await this.#newDropoff(r);
    } else if (roll < 0.45) {
      const booking = this.bookings.get(r.pick(ids));
      if (!booking) return;
      booking.version += 1;
      booking.wire = { ...booking.wire, appointmentTime: r.pick(['08:00', '09:30', '11:15']) };
      this.#send(booking);
    } else if (roll < 0.55) {
      // Cancel a drop-off, maybe the one a customer is walking now: before its door opens the
      // journey ends politely; after, the locker refuses (CONFLICT).
      const booked = view?.reservations.filter((res) => res.kind === 'dropoff' && res.status === 'booked') ?? [];
      if (booked.length === 0) return;
      const target = walking?.startsWith('d-') && r.chance(0.5) ? walking : r.pick(booked).id;
      const booking = this.bookings.get(target);
      if (!booking) return;
      booking.version += 1;
      this.backOffice.issue('reservation.cancel', { reservationId: booking.wire.id, version: booking.version });
    } else if (roll < 0.7) {
      const pickup = this.bookings.get(r.pick(PICKUP_COMPARTMENTS.map((c) => `p-${c}`)));
      if (pickup?.wire.paymentRequired) this.#pay(pickup, r.pick(['paid', 'paid', 'paid', 'pending', 'refunded'] as const));
    } else if (roll < 0.85) {
      const booking = this.bookings.get(r.pick(ids));
      if (booking) this.backOffice.issue('reservation.reset', { reservationId: booking.wire.id, code: booking.wire.code });
    } else {
      this.backOffice.issue('help.update', { callId: `call-${r.int(1, 5)}`, state: r.chance(0.5) ? 'taken' : 'closed', by: 'staff' });
    }
  }

  /** A reservation a customer could walk now, with its PIN, or null. */
  ticket(view: StoreView, random: Random = this.random): DropoffTicket | null {
    const walkable = view.reservations.filter((res) => this.bookings.has(res.id) && ((res.kind === 'dropoff' && res.status === 'booked') || (res.kind === 'pickup' && res.status === 'ready')));
    if (walkable.length === 0) return null;
    const dropoffs = walkable.filter((res) => res.kind === 'dropoff');
    const chosen = dropoffs.length > 0 && random.chance(0.75) ? random.pick(dropoffs) : random.pick(walkable);
    const booking = this.bookings.get(chosen.id);
    return booking ? { kind: chosen.kind, reservationId: chosen.id, pin: booking.pin } : null;
  }

  /** Too few free compartments or nothing left to walk: time for a new locker. */
  exhausted(view: StoreView): boolean {
    const free = view.compartments.filter((c) => c.state === 'free').length;
    return free < 4 || this.lives >= 16 || this.ticket(view, this.random.fork(0)) === null;
  }

  async close(): Promise<void> {
    await this.backOffice.close();
  }

  #dropoffCount(): number {
    return [...this.bookings.values()].filter((b) => b.wire.kind === 'dropoff').length;
  }

  async #newDropoff(random: Random): Promise<void> {
    const booking = await this.#booking(`d-${this.#next}`, 'dropoff', null, false, random);
    this.#send(booking);
  }

  async #booking(id: string, kind: 'dropoff' | 'pickup', compartmentId: number | null, paymentRequired: boolean, random: Random): Promise<Booking> {
    const n = this.#next;
    this.#next += 1;
    // Unique per generation; never two reservations of one day with the same PIN.
    const pin = String(100000 + n * 7919 + random.int(0, 7918));
    const wire: ReservationWire = {
      id,
      code: `C${String(n).padStart(4, '0')}`,
      kind,
      workOrder: `WO-${n}`,
      plate: `AB ${String(10000 + n)}`,
      driverName: `Driver ${n}`,
      phones: ['+4791234567'],
      email: null,
      appointmentDate: localDate(new Date(), TIME_ZONE),
      appointmentTime: '08:30',
      pinHash: await hashPin(pin, PIN_COST),
      compartmentId,
      paymentRequired,
      // A paid needs an amount the locker holds (docs/protocol.md, "Payments").
      ...(paymentRequired ? { amountDue: { amount: 125000, currency: 'NOK' } } : {}),
    };
    const booking: Booking = { wire, version: 1, pin, paymentVersion: 0 };
    this.bookings.set(id, booking);
    return booking;
  }

  #send(booking: Booking): void {
    this.backOffice.issue('reservation.upsert', { reservation: booking.wire, version: booking.version });
  }

  #pay(booking: Booking, status: 'paid' | 'pending' | 'refunded'): void {
    booking.paymentVersion += 1;
    this.backOffice.issue('payment.status', { reservationId: booking.wire.id, status, amount: 125000, currency: 'NOK', version: booking.paymentVersion });
  }
}
