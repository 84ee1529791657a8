/**
 * How the composition root (kiosk/locker.ts) plugs the sync in, kept here so that locker.ts
 * needs three lines:
 *
 *   let sync: SyncService | null = null;
 *   const store = createJourneyStore(db, stamps, { onEventsCommitted: () => sync?.notifyEventsCommitted() });
 *   ...
 *   sync = createSync({ config, db, url, identity, bootId, monoClock, doorState: (id) => hardware.bank.doorState(id), journeys, logger, clock, wallClock });
 *   await sync.start();  cleanup.unshift(() => sync.stop());
 *
 * and Journeys' `linkState` becomes `() => (sync?.state === 'online' ? 'online' : 'offline')`.
 */
import type { Clock } from '../lib/clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { LockoutService } from '../core/lockout.js';
import type { MechanicDesk } from '../core/mechanic-desk.js';
import type { LinkOpener } from '../core/link-open.js';
import type { RemoteOpener } from '../core/remote-open.js';
import type { UnitPinHashing } from '../core/pin.js';
import { moduleLogger, type Logger } from '../logging.js';
import type { Db } from '../store/db.js';
import type { HelpCallPort, ReceiptLinkPort } from './commands.js';
import type { UnitIdentity } from './identity.js';
import type { DoorStateWire } from './messages.js';
import { SyncService } from './sync-service.js';

export interface CreateSyncOptions {
  config: ResolvedConfig;
  db: Db;
  /** The back office's URL (`config.backOffice.url`). */
  url: string;
  /** The unit key (loadOrCreateIdentity), made by the composition root at start. */
  identity: UnitIdentity;
  softwareVersion: string;
  bootId: string;
  /** The same monotonic clock the journey store stamps events with. */
  monoClock: () => number;
  doorState: (compartmentId: number) => DoorStateWire;
  /** Journeys (for the help-call banner). */
  help?: HelpCallPort;
  /** Journeys (for the receipt QR). */
  receipts?: ReceiptLinkPort;
  /** The mechanic journey's desk (core/mechanic-desk.ts). */
  mechanic?: MechanicDesk;
  /** Staff opening compartments from the back office (core/remote-open.ts). */
  remoteOpen?: RemoteOpener;
  /** The customer opening from the phone link; absent: reservation.remote-open is refused. */
  linkOpen?: LinkOpener;
  /** The same lockout service the journeys use: staff lift lockouts through it. */
  lockouts: LockoutService;
  /** The unit's PIN salt and cost, published in the hello. */
  pinHashing: UnitPinHashing;
  logger: Logger;
  clock?: Clock;
  wallClock?: () => Date;
}

/** Builds the service; call start() on it. */
export function createSync(options: CreateSyncOptions): SyncService {
  const { config, identity } = options;
  const logger = moduleLogger(options.logger, 'kiosk:sync');
  return new SyncService({
    db: options.db,
    unitId: config.unitId,
    softwareVersion: options.softwareVersion,
    bootId: options.bootId,
    timeZone: config.timeZone,
    backOffice: { ...config.backOffice, url: options.url },
    identity,
    doorState: options.doorState,
    lockouts: options.lockouts,
    pinHashing: options.pinHashing,
    ...(options.help ? { help: options.help } : {}),
    ...(options.receipts ? { receipts: options.receipts } : {}),
    ...(options.mechanic ? { mechanic: options.mechanic } : {}),
    ...(options.remoteOpen ? { remoteOpen: options.remoteOpen } : {}),
    ...(options.linkOpen ? { linkOpen: options.linkOpen } : {}),
    logger,
    monoClock: options.monoClock,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.wallClock ? { wallClock: options.wallClock } : {}),
  });
}
