/**
 * What the screens are told. The core's session state machine renders itself into these
 * plain objects; the server pushes them over WebSocket; ui/ draws them. Strings are never
 * sent: only keys into ui/i18n/<lang>.json and values to fill in.
 */
import type { Language } from '../config/schema.js';

export type JourneyKind = 'dropoff' | 'pickup';

export type SessionStep =
  | 'welcome' // choose drop-off or pickup, switch language
  | 'identify' // PIN keypad, or plate keyboard, or phone keypad (see identifyMode)
  | 'lookup-result' // after a plate/phone lookup: where the PIN would go, and "Send"
  | 'lookup-sent' // "if it matched, the PIN is on its way"
  | 'details' // drop-off: driver, appointment; add phone and remark; confirm
  | 'opening' // a compartment is being opened
  | 'place-key' // drop-off: put the key in, close the door, press Confirm
  | 'payment' // pickup: payment needed before the door opens
  | 'take-key' // pickup: take the key, close the door
  | 'close-door' // abandoned with the door open: take your key back (drop-off) / leave it in (pickup) and close door N
  | 'receipt' // after a paid pickup: SMS, e-mail or a QR on the top screen; moves on by itself
  | 'done' // thank you; back to welcome by itself
  | 'locked-out' // too many wrong PINs: wait
  | 'failed'; // nothing could be opened: call for help

export type IdentifyMode = 'pin' | 'plate' | 'phone';

/**
 * An error to show on the current step; `code` maps to the catalogue key `error.<code>`, and
 * where the customer can do something about it, to a next step `next.<code>` (ui/i18n).
 * PIN codes: PIN_WRONG, PIN_FORMAT, ALREADY_USED (the key was already dropped off or
 * collected), RESERVATION_CANCELLED, NOT_READY (the key is not in the locker yet),
 * RESERVATION_LOCKED, LOCKED_OUT, PIN_AMBIGUOUS (the PIN matches more than one booking: the
 * screen is on the plate keyboard, identifyMode 'plate'), PIN_OTHER_JOURNEY (see `journey`).
 * Lookups: LOOKUP_THROTTLED, PIN_ALREADY_SENT (with retryAfterS).
 */
export interface ViewError {
  code: string;
  /**
   * Wrong PIN: tries left before the next lockout, this reservation's or the whole locker's
   * (the smaller). Present only when 2 or fewer are left: the screen warns before the last two.
   */
  attemptsLeft?: number;
  /** Locked out, or a throttle: seconds until it may be asked again. */
  retryAfterS?: number;
  /** PIN_OTHER_JOURNEY: the journey this PIN is for; `offer.switchJourney` says the same. */
  journey?: JourneyKind;
}

export interface SessionView {
  /** Changes on every new customer session; null on the welcome screen. */
  sessionId: string | null;
  /** null on the welcome screen, and while "I have a PIN" has not yet decided the journey. */
  journey: JourneyKind | null;
  step: SessionStep;
  lang: Language;
  /** "Step n of m", null where it does not apply (welcome). */
  progress: { index: number; count: number } | null;
  identifyMode: IdentifyMode;
  error: ViewError | null;
  /** lookup-result: masked destinations such as "j***@example.com", "+47 *** ** 123"; empty when nothing matched (the screen is otherwise the same). */
  destinations: string[];
  /** After the PIN is accepted: what the customer may check. Never shown before. */
  reservation: {
    driverName: string;
    plate: string;
    workOrder: string;
    appointmentDate: string;
    appointmentTime: string | null;
    /** Masked phone numbers already on file. */
    phones: string[];
    addedPhone: string | null; // masked
    remark: string | null;
  } | null;
  /** The compartment being opened or open, for "compartment 7". */
  compartment: number | null;
  /** Door of that compartment, so place-key can say "close the door". */
  door: 'open' | 'closed' | 'unknown' | null;
  /**
   * Pickup with an amount due: the amount, the gate status (only paid opens), the provider's
   * state (requested, authorised, failed...), whether the top screen shows the payment QR, the
   * order's phone masked (offered for Vipps), and what this customer asked (Vipps to a masked
   * number, or the payment page).
   */
  payment: {
    amount: number | null;
    currency: string | null;
    status: string;
    state?: string;
    link?: boolean;
    orderPhone?: string | null;
    requested?: { method: 'link' | 'vipps-push'; phoneMasked: string | null } | null;
    /** The customer club's consent given (true), declined (false) at this step, or not answered (null). */
    clubConsent?: boolean | null;
  } | null;
  /**
   * Receipt step: the order's phone and e-mail masked (null: none on file), the channel the
   * customer chose last time (offered first), and the one asked now (qr: on the top screen).
   */
  receipt: { sms: string | null; email: string | null; preferred: 'sms' | 'email' | 'qr' | null; asked: 'sms' | 'email' | 'qr' | null } | null;
  /** Seconds left before the session ends for inactivity; null when no warning is shown. */
  idleWarning: number | null;
  /**
   * What happens if the customer leaves now (ui/i18n `idle.ends.<key>`), said with the idle
   * warning: restart (nothing kept), deposited / collected (recorded unconfirmed), released
   * (the compartment locks empty, the booking stays open), key-kept, staff-check (quarantine).
   * null without a session.
   */
  idleEnds: 'restart' | 'deposited' | 'collected' | 'released' | 'key-kept' | 'staff-check' | null;
  /** The compartment's item sensor (true = something inside); null without one. close-door says "your key is still inside". */
  itemInside: boolean | null;
  /** An "abandon? yes / no" dialog is up. */
  confirmAbandon: boolean;
  /** The help panel is open. */
  helpOpen: boolean;
  /** "Call for help": none, requested (waiting), taken (someone is coming). */
  helpCall: 'none' | 'requested' | 'taken';
  /** Back-office link, shown discreetly. */
  link: 'online' | 'offline';
  /** A lock board is not answering: nothing can be opened, the screens say "out of order". */
  outOfOrder: boolean;
  /**
   * What the screen offers beside the step: `callHelp` on every error, lockout and failure
   * (the "Call for help" button in the body, not only in the corner); `switchJourney` when the
   * customer typed a PIN for the other journey ("This PIN is for picking up" and a button that
   * sends `switchJourney`), else null.
   */
  offer: { callHelp: boolean; switchJourney: JourneyKind | null };
}

/** The top screen follows the bottom screen's session. */
export interface TopView {
  step: SessionStep;
  journey: JourneyKind | null;
  lang: Language;
  compartment: number | null;
  /** "Step n of m" of the journey, for the top screen's step strip; null on welcome. */
  progress: { index: number; count: number } | null;
  /** A QR code to show (as an SVG string), with the catalogue key of its caption. */
  qr: { svg: string; captionKey: string } | null;
  helpCall: 'none' | 'requested' | 'taken';
  link: 'online' | 'offline';
  outOfOrder: boolean;
}

/** What the bottom screen may ask. Everything else is refused with a 400. */
export type SessionAction =
  /** journey null (or absent): "I have a PIN": the PIN decides the journey. */
  | { type: 'start'; journey: JourneyKind | null }
  /** Accept `offer.switchJourney`: go on with the reservation whose PIN was typed. */
  | { type: 'switchJourney' }
  | { type: 'language'; lang: Language }
  | { type: 'identifyMode'; mode: IdentifyMode }
  | { type: 'pin'; pin: string }
  | { type: 'lookup'; by: 'plate' | 'phone'; value: string }
  | { type: 'sendPin' }
  | { type: 'details'; phone: string | null; remark: string | null }
  | { type: 'confirm' } // details confirmed -> open; place-key/take-key: done
  /** Payment step: "Pay with Vipps" to the order's number (phone null) or one the customer typed. */
  | { type: 'payVipps'; phone: string | null }
  /** Payment step: "Check payment": the back office asks its provider again. */
  | { type: 'checkPayment' }
  /** Payment step: join (or not) the workshop's customer club with Vipps: a consent event for the back office. */
  | { type: 'clubConsent'; consent: boolean }
  /** Receipt step: how to get the receipt, or none. */
  /** `to`: a phone number (sms) or e-mail (email) the customer typed instead of the order's own; null or absent: the order's. */
  | { type: 'receipt'; channel: 'sms' | 'email' | 'qr' | 'none'; to?: string | null }
  | { type: 'back' }
  | { type: 'abandon' } // the X: asks for confirmation
  | { type: 'abandonConfirm' }
  | { type: 'abandonCancel' }
  | { type: 'help'; open: boolean }
  | { type: 'callHelp' }
  | { type: 'activity' }; // a touch: postpones the idle timeout
