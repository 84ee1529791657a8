/**
 * What a command handler gets: the transaction it runs in, the time, its command id, and the
 * ports it may use. Effects outside the database (the help-call banner, telling the journey that
 * a reservation changed) are queued with `afterCommit` and run only once the transaction has
 * committed, so a rolled-back command leaves no trace anywhere.
 */
import type { MechanicCommandPort } from './mechanic.js';
import type { PinCommands } from './pins.js';
import type { QuarantineCommands } from './quarantine.js';
import type { LinkOpenCommandPort, RemoteOpenCommandPort } from './remote-open.js';
import type { plateText } from '../../core/normalise.js';
import type { Reservation } from '../../core/types.js';
import type { Tx } from '../../store/db.js';
import type { StoreStamps } from '../../store/journey-store.js';
import type { CommandArgs, CommandName, ErrorCode } from '../messages.js';

export type ReservationChange = 'updated' | 'cancelled' | 'payment' | 'reset';

/** The screens' help-call banner (Journeys.setHelpCall). */
export interface HelpCallPort {
  setHelpCall(state: 'none' | 'requested' | 'taken'): void;
}

/** What handlers may reach beyond the database. */
export interface CommandPorts {
  /** PIN hashes and lockouts (commands/pins.ts). */
  pins: PinCommands;
  /** Clearing a quarantine (commands/quarantine.ts). */
  quarantine: QuarantineCommands;
  help: HelpCallPort | undefined;
  /** The mechanic journey (QR tokens, doors for tablets); absent: requests are only recorded. */
  mechanic?: MechanicCommandPort | undefined;
  /** Staff opening a compartment from the back office; absent: refused (commands/remote-open.ts). */
  remoteOpen?: RemoteOpenCommandPort | undefined;
  /** The customer opening from the phone link; absent: refused (commands/remote-open.ts). */
  linkOpen?: LinkOpenCommandPort | undefined;
  /** After the commit: a reservation was changed by the back office. */
  reservationChanged(reservationId: string, change: ReservationChange): void;
  /** How events written by commands are stamped (payment.refused). */
  stamps: StoreStamps;
  /** The receipt QR on the top screen (receipt.link); absent: never shown. */
  receipts?: ReceiptLinkPort | undefined;
}

/** The top screen's receipt QR (Journeys): only for the customer who asked for it just now. */
export interface ReceiptLinkPort {
  /** Whether that reservation's customer asked for a QR receipt and is still to be shown it. */
  accepts(reservationId: string): boolean;
  /** Show it (after the commit). */
  show(reservationId: string, link: string): void;
}

export interface CommandContext {
  tx: Tx;
  now: Date;
  commandId: string;
  ports: CommandPorts;
  /** Runs `effect` after the command's transaction commits (never if it is rolled back). */
  afterCommit(effect: () => void): void;
  /** What the batch read ahead for this command (absent: read it yourself). */
  readAhead?: ReadAhead | undefined;
  /** What was worked out for this command before its round (commands/batch.ts, prepareAhead). */
  prepared?: Prepared | undefined;
}

/**
 * A command's content hash, and what its handler would otherwise work out first without the
 * database; each part absent when not prepared (the handler works it out then).
 */
export interface Prepared {
  /** sha-256 of the canonical JSON of { name, args } (commands/content-hash.ts). */
  hash: string;
  /** reservation.upsert: plateText of its plate. */
  plate?: ReturnType<typeof plateText>;
  /** reservation.upsert: its PIN hash's index (PinCommands.indexAhead); absent when that could not say. */
  pinIndex?: string | null;
}

/**
 * Rows read for a whole batch of commands in one query before it ran, each valid for the first
 * command of the batch that asks for it (the only one that changes it: commands/batch.ts).
 */
export interface ReadAhead {
  /** The reservation as it was before the batch, null if none; undefined: not read ahead, query it. */
  takeReservation(id: string): Reservation | null | undefined;
  /**
   * Inserts a reservation that takeReservation said did not exist, together with the batch's
   * other new ones when the batch ends (a clash, such as a code already held, then fails the
   * batch, and each command is applied again alone). False: not batched, insert it now.
   */
  insertLater(reservation: Reservation): boolean;
}

/** Thrown inside a handler: the command's changes are rolled back and this is its answer. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL'>,
    message: string,
    /** Written after the command's changes were rolled back, in the same transaction as its result (an alarm event). */
    readonly afterRollback?: (tx: Tx) => Promise<void>,
  ) {
    super(message);
  }
}

/** One command's behaviour: its args are already checked against docs/schemas/command.json. */
export type CommandHandler<N extends CommandName> = (ctx: CommandContext, args: CommandArgs[N]) => Promise<Record<string, unknown>>;

/** A family of commands (one file each): name -> handler. */
export type CommandFamily<N extends CommandName> = { readonly [K in N]: CommandHandler<K> };
