/**
 * SMS, e-mail and Vipps push requests leave the reference back office through a `Messenger`:
 * a real one would call an SMS gateway, an SMTP relay or the Vipps API. The simulated one keeps
 * an outbox, shown on the staff page as "what would have been sent", masked there (the full
 * address stays in memory only, for tests that play the phone).
 */
import { maskEmail, maskPhone } from '../../kiosk/core/mask.js';

export type Channel = 'sms' | 'email' | 'vipps';

export interface OutgoingMessage {
  channel: Channel;
  /** E.164 phone (sms, vipps) or e-mail address. */
  to: string;
  subject: string;
  body: string;
  /** A link the message carries (payment page, receipt), for the phone that opens it. */
  link: string | null;
  reservationId: string | null;
}

export interface Messenger {
  send(message: OutgoingMessage): Promise<void>;
}

export interface SentMessage extends OutgoingMessage {
  id: number;
  at: string;
}

/** What the staff page shows: the destination masked. */
export interface OutboxView {
  id: number;
  at: string;
  channel: Channel;
  toMasked: string;
  subject: string;
  body: string;
  link: string | null;
  reservationId: string | null;
}

const MAX_KEPT = 500;

export class OutboxMessenger implements Messenger {
  readonly #sent: SentMessage[] = [];
  readonly #now: () => Date;
  #nextId = 1;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  async send(message: OutgoingMessage): Promise<void> {
    this.#sent.push({ ...message, id: this.#nextId++, at: this.#now().toISOString() });
    // Bounded: a demo left running for weeks keeps the latest only.
    if (this.#sent.length > MAX_KEPT) this.#sent.splice(0, this.#sent.length - MAX_KEPT);
  }

  /** Newest first, masked. */
  view(): OutboxView[] {
    return this.#sent
      .slice()
      .reverse()
      .map(({ to, ...rest }) => ({ ...rest, toMasked: rest.channel === 'email' ? maskEmail(to) : maskPhone(to) }));
  }

  /** Everything, unmasked: for tests playing the customer's phone. */
  all(): readonly SentMessage[] {
    return this.#sent.slice();
  }
}
