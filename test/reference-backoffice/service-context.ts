/**
 * What the back office's operations share (service.ts is the facade; pins.ts,
 * reservation-ops.ts, demo-seed.ts, mechanic-ops.ts and read-models.ts act on this): the
 * database, the clock and place, the one command queue (checked against the protocol, stored
 * in the caller's transaction) and what to do after a commit.
 */
import type { Country } from '../../kiosk/config/schema.js';
import type { ScryptCost } from '../../kiosk/core/pin.js';
import type { Logger } from '../../kiosk/logging.js';
import type { Db, Tx } from '../../kiosk/store/db.js';
import type { PickupMessageDeps } from './pickup-message.js';
import type { NewCommand } from './service.js';

export interface ServiceContext {
  db: Db;
  log: Logger;
  timeZone: string;
  /** Country for plates and phone numbers typed without a prefix. */
  country: Country;
  now: () => Date;
  /** Tests lower the scrypt cost; undefined is the default. */
  pinCost: ScryptCost | undefined;
  drawPin: () => string;
  /** Stores a command in `tx` after checking it against the protocol schema; returns its id. */
  queue: (tx: Tx, command: NewCommand, now: Date) => Promise<string>;
  /** After the commit: send to the unit and push the pages. */
  committed: (unitId: string) => void;
  /** After a change that sends nothing: push the pages. */
  changed: () => void;
  /** What the pickup message needs (its phone link and the messenger). */
  pickup: PickupMessageDeps;
}
