/**
 * What the kit's unit knows of the pickups the back office sent it (upserts, payment.status),
 * as a locker would hold them, and the judge of every reservation.remote-open it receives
 * (P-OPEN-1): only for a pickup the unit holds with its key in that compartment (not reported
 * collected), paid when payment is required (as the unit was told), and a nonce that names one
 * reservation and compartment. Each command is judged by the state when it arrives: a back
 * office sends its commands in the order it made them, so an open pressed before the payment
 * arrives before the `paid` that followed it.
 */
export interface KitPickup {
  id: string;
  compartment: number | null;
  paymentRequired: boolean;
  /** The latest payment.status the unit applied. */
  payment: { status: string; version: number; link: string | null } | null;
  collected: boolean;
}

export class KitPickups {
  readonly #pickups = new Map<string, KitPickup>();
  /** nonce -> "reservationId/compartment" of the first command that carried it. */
  readonly #nonces = new Map<string, string>();
  readonly #openIds = new Set<string>();
  readonly #opened = new Set<string>();
  /** Every remote open the back office should not have sent. */
  readonly openViolations: string[] = [];
  /** Remote opens received (by command id, once each). */
  readonly opens: { reservationId: string; compartment: number; nonce: string }[] = [];

  upserted(reservation: Record<string, unknown> | undefined): void {
    if (!reservation || reservation['kind'] !== 'pickup' || typeof reservation['id'] !== 'string') return;
    const before = this.#pickups.get(reservation['id']);
    this.#pickups.set(reservation['id'], {
      id: reservation['id'],
      compartment: typeof reservation['compartmentId'] === 'number' ? reservation['compartmentId'] : null,
      paymentRequired: reservation['paymentRequired'] === true,
      payment: before?.payment ?? null,
      collected: before?.collected ?? false,
    });
  }

  /** A payment.status the unit applies (its version newer than the one held). */
  paymentStatus(args: Record<string, unknown>): void {
    const pickup = this.#pickups.get(String(args['reservationId']));
    const version = Number(args['version']);
    if (!pickup || (pickup.payment && version <= pickup.payment.version)) return;
    pickup.payment = { status: String(args['status']), version, link: typeof args['link'] === 'string' ? args['link'] : null };
  }

  get(id: string): KitPickup | undefined {
    return this.#pickups.get(id);
  }

  /** A pickup with its key in, a payment due and not paid: what the customer checks cover. */
  toPay(): KitPickup | undefined {
    return [...this.#pickups.values()].find((p) => p.paymentRequired && p.compartment !== null && !p.collected && p.payment?.status !== 'paid');
  }

  /** A paid pickup (for a receipt). */
  paid(): KitPickup | undefined {
    return [...this.#pickups.values()].find((p) => p.paymentRequired && p.payment?.status === 'paid');
  }

  collect(id: string): void {
    const pickup = this.#pickups.get(id);
    if (pickup) pickup.collected = true;
  }

  /** Judges one reservation.remote-open (once per command id) and says how the unit answers it. */
  remoteOpen(commandId: string, args: Record<string, unknown>): { accepted: true; compartment: number } | { accepted: false; reason: string } {
    const reservationId = String(args['reservationId']);
    const compartment = Number(args['compartment']);
    const nonce = String(args['nonce']);
    const pickup = this.#pickups.get(reservationId);
    let reason: string | null = null;
    if (!pickup) reason = 'NOT_FOUND';
    else if (pickup.compartment !== compartment) reason = 'WRONG_COMPARTMENT';
    else if (pickup.collected) reason = 'NOT_READY';
    else if (pickup.paymentRequired && pickup.payment?.status !== 'paid') reason = 'UNPAID';
    const first = !this.#openIds.has(commandId);
    this.#openIds.add(commandId);
    const named = `${reservationId}/${compartment}`;
    const owner = this.#nonces.get(nonce);
    if (first) {
      this.opens.push({ reservationId, compartment, nonce });
      if (reason !== null) this.openViolations.push(`reservation.remote-open for ${reservationId} (compartment ${compartment}) sent while the unit would refuse it: ${reason}`);
      if (owner !== undefined && owner !== named) this.openViolations.push(`nonce ${nonce} sent for ${named}, first for ${owner}`);
    }
    if (owner === undefined) this.#nonces.set(nonce, named);
    // A nonce opens once, as the locker keeps it: a press again is refused here, not a violation.
    // (The same command sent again gets the same answer.)
    if (reason === null && ((owner !== undefined && owner !== named) || (first && this.#opened.has(nonce)))) reason = 'NONCE_USED';
    if (reason === null) this.#opened.add(nonce);
    return reason === null ? { accepted: true, compartment } : { accepted: false, reason };
  }
}
