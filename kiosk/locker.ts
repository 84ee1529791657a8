/**
 * The composition root: builds the whole locker from a configuration. main.ts calls it for
 * the service; integration tests call it with a temporary directory and port 0. Nothing is
 * opened on import.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createSystemClock, type Clock } from './lib/clock.js';
import type { ResolvedConfig } from './config/load.js';
import { Actuator } from './core/actuator.js';
import { Journeys } from './core/journeys.js';
import { LockoutService } from './core/lockout.js';
import { MechanicDesk } from './core/mechanic-desk.js';
import { MechanicTokens } from './core/mechanic-token.js';
import { RollingWindowThrottle } from './core/open-throttle.js';
import { LinkOpener } from './core/link-open.js';
import { awaitingClosePort } from './store/link-open-awaiting.js';
import { RemoteOpener } from './core/remote-open.js';
import type { JourneyStore } from './core/ports.js';
import { createHardware, type Hardware } from './hardware.js';
import { softwareVersion } from './version.js';
import { moduleLogger } from './logging.js';
import { startServer, type RunningServer } from './server/server.js';
import { openDatabase, type Db, type OpenOptions } from './store/db.js';
import { createJourneyStore } from './store/journey-store.js';
import { createMechanicStore } from './store/mechanic-store.js';
import { loadOrCreateTokenKey } from './store/token-key.js';
import * as pinHashingStore from './store/pin-hashing.js';
import { startRetention } from './store/retention.js';
import { enrolmentRecord, loadOrCreateIdentity } from './sync/identity.js';
import type { SyncService } from './sync/sync-service.js';
import { createSync } from './sync/wiring.js';
import { compartments, outbox } from './store/repositories.js';
import { createObservability, startTechnicianAccess } from './admin/wiring.js';
import type { WatchdogHealth } from './watchdog.js';

export const VERSION = softwareVersion();
/** ui/ beside kiosk/ when run from source (tsx), or two levels up when built to dist/kiosk/. */
const HERE = dirname(fileURLToPath(import.meta.url));
const UI_DIR = [resolve(HERE, '..', 'ui'), resolve(HERE, '..', '..', 'ui')].find((dir) => existsSync(join(dir, 'bottom'))) ?? resolve(HERE, '..', 'ui');

export interface LockerOptions {
  config: ResolvedConfig;
  logger: Logger;
  clock?: Clock;
  wallClock?: () => Date;
  /** How the database is opened: by default with the at-once nesting check; the service passes SERVICE_DB (kiosk/store/db.ts). */
  db?: Pick<OpenOptions, 'nestingCheck'>;
}

export interface Locker {
  config: ResolvedConfig;
  db: Db;
  store: JourneyStore;
  hardware: Hardware;
  journeys: Journeys;
  /** The mechanic journey: QR tokens on the top screen, doors for tablets. */
  mechanic: MechanicDesk;
  /** PIN lockouts: what the journeys and staff (lockout.lift) go through. */
  lockouts: LockoutService;
  server: RunningServer;
  /** The back-office link; null while the unit is unprovisioned (no `backOffice.url`). */
  sync: SyncService | null;
  urls: { bottom: string; top: string; sim: string | null; health: string; metrics: string | null };
  /** lockerctl's admin socket (kiosk/admin/), or null when none is listening. */
  adminSocket: string | null;
  /** What the systemd watchdog asks before each ping (main.ts). */
  watchdog: WatchdogHealth;
  stop(): Promise<void>;
}

export async function startLocker(options: LockerOptions): Promise<Locker> {
  const { config, logger } = options;
  const clock = options.clock ?? createSystemClock();
  const wallClock = options.wallClock ?? (() => new Date());
  const bootId = randomUUID();
  const startedAt = clock.now();

  const db = await openDatabase(join(config.dataDir, 'keylocker.db'), logger, options.db ?? {});
  const cleanup: (() => Promise<void>)[] = [() => db.close()];
  try {
    const now = wallClock();
    await db.transaction((tx) => compartments.ensure(tx, config.compartmentWiring.length, now));
    const monoClock = (): number => clock.now() - startedAt;
    let sync: SyncService | null = null;
    const store = createJourneyStore(db, { wallClock, monoClock, bootId }, { onEventsCommitted: () => sync?.notifyEventsCommitted() });

    const hardware = await createHardware(config, clock, logger);
    await hardware.bank.start(); // every output off before anything else
    cleanup.unshift(() => hardware.bank.stop());

    const actuator = new Actuator({ store, locks: hardware.bank, wallClock, logger: moduleLogger(logger, 'kiosk:actuator') });
    const interrupted = await actuator.recover();
    if (interrupted > 0) logger.warn({ interrupted }, 'journeys interrupted by the last stop were quarantined');
    const report = (what: string) => (error: unknown) => logger.error({ err: String(error) }, `could not record ${what}`);
    hardware.bank.events.on('forced', (id) => void actuator.forced(id).catch(report('a forced door')));
    hardware.bank.events.on('leftOpen', (id, ms) => void actuator.leftOpen(id, ms).catch(report('a door left open')));
    hardware.bank.events.on('doorOpened', (id) => void actuator.doorOpened(id));
    hardware.bank.events.on('doorClosed', (id) => void actuator.doorClosed(id).catch(report('a door closing')));
    hardware.bank.events.on('boardOffline', (board, reason) => void actuator.board(false, board, reason).catch(report('a board going offline')));
    hardware.bank.events.on('boardOnline', (board) => void actuator.board(true, board, null).catch(report('a board coming back')));


    // PINs: the unit's salt (published in the hello) and the lockout every PIN goes through.
    const pinHashing = await pinHashingStore.loadOrCreate(db);
    const lockouts = new LockoutService({ store, policy: config.security.lockout, clock, wallClock, logger: moduleLogger(logger, 'kiosk:lockout') });
    await lockouts.resume();
    cleanup.unshift(async () => lockouts.stop());

    // Metrics and the watchdog's health (kiosk/admin/wiring.ts); the journeys' PIN guard is counted.
    const observability = createObservability({ config, bank: hardware.bank, db, lockouts, wallClock, linkState: () => sync?.state ?? null });
    cleanup.unshift(async () => observability.stop());

    const journeys = new Journeys({
      store,
      locks: hardware.bank,
      pins: observability.metrics.countPins(lockouts),
      pinHashing,
      throttles: { lookupsPerMinute: config.security.lookupsPerMinute, pinDeliveryIntervalMs: config.security.pinDeliveryIntervalMs },
      actuator,
      clock,
      wallClock,
      logger: moduleLogger(logger, 'kiosk:journeys'),
      timeZone: config.timeZone,
      defaultCountry: config.defaultCountry,
      defaultLanguage: config.defaultLanguage,
      idleTimeoutMs: config.session.idleTimeoutMs,
      idleWarningMs: config.session.idleWarningMs,
      idleLimits: { doorMs: config.session.doorIdleMs, paymentMs: config.session.paymentIdleMs, pinWaitMs: config.session.pinWaitIdleMs },
      doneMs: config.session.doneMs,
      linkState: () => (sync?.state === 'online' ? 'online' : 'offline'),
      outOfOrder: () => hardware.bank.boardStatus().some((board) => !board.online),
      renderQr: renderQrSvg,
    });
    // A board going down or coming back changes what both screens show ("out of order").
    hardware.bank.events.on('boardOffline', () => journeys.events.emit('changed'));
    hardware.bank.events.on('boardOnline', () => journeys.events.emit('changed'));
    cleanup.unshift(async () => journeys.stop());

    // The mechanic journey: one-time QR tokens signed with a key of this locker's own.
    const stamps = { wallClock, monoClock, bootId };
    const mechanic = new MechanicDesk({
      store: createMechanicStore(db, stamps, () => sync?.notifyEventsCommitted()),
      tokens: new MechanicTokens({ key: await loadOrCreateTokenKey(config.dataDir), unitId: config.unitId, bootId, monoClock }),
      locks: hardware.bank,
      clock,
      wallClock,
      logger: moduleLogger(logger, 'kiosk:mechanic'),
      customerBusy: () => journeys.view().sessionId !== null,
      renderQr: renderQrSvg,
    });
    journeys.events.on('changed', () => mechanic.customerChanged());

    // Staff opening a door from the back office: audited, and at most N a minute (monotonic clock).
    // One throttle for every remote open, staff's and the customers' phone links alike.
    const remoteOpenThrottle = new RollingWindowThrottle({ limit: config.security.remoteOpensPerMinute, windowMs: 60_000, now: () => clock.now() });
    const remoteOpen = new RemoteOpener({
      store,
      locks: hardware.bank,
      throttle: remoteOpenThrottle,
      compartmentIds: () => hardware.bank.compartmentIds,
      boardOnline: (id) => boardOnlineFor(config, hardware, id),
      customerOn: (id) => journeys.view().sessionId !== null && journeys.topView().compartment === id,
      logger: moduleLogger(logger, 'kiosk:remote-open'),
    });
    cleanup.unshift(async () => mechanic.stop());
    // The customer opening from the pickup message's link (core/link-open.ts).
    const linkOpen = new LinkOpener({
      store,
      locks: hardware.bank,
      throttle: remoteOpenThrottle,
      boardOnline: (id) => boardOnlineFor(config, hardware, id),
      customerOn: (id) => journeys.view().sessionId !== null && journeys.topView().compartment === id,
      collected: (compartment, reservationId, how) => actuator.collected(compartment, reservationId, how),
      awaiting: awaitingClosePort(db),
      logger: moduleLogger(logger, 'kiosk:link-open'),
    });
    // A door opened from a link before a restart: its pickup is recorded when it is found closed.
    await linkOpen.recover();

    // The back office. Without one the unit is unprovisioned: it serves the reservations it
    // already holds, keeps every event in the outbox, and says so on /health and the screens.
    const identity = await loadOrCreateIdentity(config.dataDir, config.unitId);
    // The public key is not a secret: a technician enrols the unit with this record (also on /health).
    const enrolment = enrolmentRecord(identity);
    if (identity.created) logger.warn({ enrolment, fingerprint: identity.fingerprint }, 'new unit key made: enrol this public JWK with the back office');
    else logger.info({ kid: identity.kid, fingerprint: identity.fingerprint }, 'unit key loaded');
    const url = config.backOffice.url;
    if (url === null) {
      logger.warn({ unitId: config.unitId }, 'unprovisioned: backOffice.url is not set, so no back office is connected; journeys for reservations already held keep working and events wait in the outbox');
    } else {
      const running = createSync({
        config,
        db,
        url,
        identity,
        softwareVersion: VERSION,
        bootId,
        monoClock,
        doorState: (id) => hardware.bank.doorState(id),
        help: journeys,
        receipts: { accepts: (id) => journeys.receiptLinkAccepted(id), show: (id, link) => journeys.showReceiptLink(id, link) },
        mechanic,
        remoteOpen,
        linkOpen,
        lockouts,
        pinHashing,
        logger,
        clock,
        wallClock,
      });
      sync = running;
      running.events.on('reservationChanged', (id, change) => journeys.reservationChanged(id, change));
      running.events.on('state', () => journeys.events.emit('changed'));
      observability.metrics.followLink(running.events);
      await running.start();
      cleanup.unshift(() => running.stop());
    }
    const link = sync;

    // Personal data leaves N days after a reservation ended; acknowledged events soon after.
    const retention = startRetention({
      db,
      clock,
      wallClock,
      settings: config.retention,
      logger: moduleLogger(logger, 'kiosk:retention'),
      ...(link ? { clockTrusted: () => link.clockStatus.synchronised } : {}),
    });
    cleanup.unshift(() => retention.stop());

    const server = await startServer(
      {
        journeys,
        store,
        topView: () => {
          const view = journeys.topView();
          const qr = mechanic.qr();
          return qr ? { ...view, qr } : view;
        },
        uiDir: UI_DIR,
        logger: moduleLogger(logger, 'kiosk:server'),
        sim: hardware.sim ? { board: hardware.sim, wiring: config.compartmentWiring } : undefined,
        health: async () => ({
          unitId: config.unitId,
          version: VERSION,
          uptimeS: Math.round((clock.now() - startedAt) / 1000),
          hardware: config.hardware.kind,
          boards: hardware.bank.boardStatus(),
          unitKey: { ...enrolment, fingerprint: identity.fingerprint },
          backOffice: link
            ? { provisioned: true, url: config.backOffice.url, ...(await link.status()) }
            : { provisioned: false, state: 'unprovisioned', reason: 'backOffice.url is not set', outboxPending: await outbox.pendingCount(db) },
          outboxPending: await outbox.pendingCount(db),
          compartments: countStates(await store.compartments()),
        }),
      },
      config.server,
    );
    cleanup.unshift(() => server.close());
    // Door changes move what the screens show (the sim page, "close the door").
    hardware.bank.events.on('doorOpened', server.broadcast);
    hardware.bank.events.on('doorClosed', server.broadcast);
    mechanic.events.on('changed', server.broadcast);
    await mechanic.resume();

    // The technician's side: the admin socket for lockerctl and /metrics on loopback.
    const technician = await startTechnicianAccess(
      { config, version: VERSION, db, store, bank: hardware.bank, lockouts, sync: link, screens: journeys.events, clock, wallClock, startedAt, logger: moduleLogger(logger, 'kiosk:admin') },
      observability.metrics,
    );
    cleanup.unshift(() => technician.stop());

    return {
      config,
      db,
      store,
      hardware,
      journeys,
      mechanic,
      lockouts,
      server,
      sync: link,
      urls: {
        bottom: `${server.url}/bottom/`,
        top: `${server.url}/top/`,
        sim: hardware.sim ? `${server.url}/sim/` : null,
        health: `${server.url}/health`,
        metrics: technician.metricsUrl,
      },
      adminSocket: technician.adminSocket,
      watchdog: observability.watchdog,
      stop: () => runAll(cleanup, logger),
    };
  } catch (error) {
    await runAll(cleanup, logger);
    throw error;
  }
}

/** The compartment's lock board answers (a lock on a silent board is never pulsed blind). */
/**
 * A QR code as SVG, for the payment link, the receipt and the mechanic's token. `qrcode` is
 * loaded at the first code, not at start: most starts never draw one before the first customer,
 * and its modules cost about 65 ms of CPU (docs/performance.md, cold start). A failed load is
 * tried again at the next code.
 */
let qrcode: Promise<typeof import('qrcode')> | null = null;
async function renderQrSvg(text: string): Promise<string> {
  qrcode ??= import('qrcode').catch((error: unknown) => {
    qrcode = null;
    throw error;
  });
  return (await qrcode).toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

function boardOnlineFor(config: ResolvedConfig, hardware: Hardware, compartment: number): boolean {
  const wiring = config.compartmentWiring.find((w) => w.id === compartment);
  if (!wiring) return false;
  return hardware.bank.boardStatus().some((board) => board.board === wiring.lock.board && board.online);
}

function countStates(rows: { state: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.state] = (counts[row.state] ?? 0) + 1;
  return counts;
}

async function runAll(steps: (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: String(error) }, 'shutdown step failed');
    }
  }
}
