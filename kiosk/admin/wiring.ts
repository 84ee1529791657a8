/**
 * How the composition root (kiosk/locker.ts) plugs in what the technician sees: metrics and
 * the watchdog's health (made early, so the PIN guard can be counted), then, once the locker
 * is up, the admin socket and the loopback /metrics listener.
 */
import type { LockBank } from '../../controller/lock-bank.js';
import type { ResolvedConfig } from '../config/load.js';
import type { LockoutService } from '../core/lockout.js';
import type { Db } from '../store/db.js';
import { outbox } from '../store/repositories.js';
import type { LinkState } from '../sync/link.js';
import { createMetrics, type LockerMetrics } from '../metrics/metrics.js';
import { startMetricsServer } from '../metrics/server.js';
import { createWatchdogHealth, loopLagProbe, maxPollAgeMs, type WatchdogHealth } from '../watchdog.js';
import { AdminOperations, type AdminPorts } from './operations.js';
import { startAdminSocket } from './socket-server.js';

export interface Observability {
  metrics: LockerMetrics;
  watchdog: WatchdogHealth;
  stop(): void;
}

export function createObservability(options: {
  config: ResolvedConfig;
  bank: LockBank;
  db: Db;
  lockouts: LockoutService;
  wallClock: () => Date;
  linkState: () => LinkState | null;
}): Observability {
  const probe = loopLagProbe();
  const watchdog = createWatchdogHealth(
    {
      pollAgeMs: () => options.bank.pollAgeMs(),
      maxPollAgeMs: maxPollAgeMs(options.config.locks.pollIntervalMs),
      loopLagMs: probe.read,
      dbHeldMs: () => options.db.heldForMs(),
    },
    probe.stop,
  );
  const metrics = createMetrics({
    bank: options.bank,
    outbox: async () => {
      const [pending, oldest] = await Promise.all([outbox.pendingCount(options.db), outbox.oldestPending(options.db)]);
      const lagS = oldest ? Math.max(0, (options.wallClock().getTime() - Date.parse(oldest.wallTime)) / 1000) : null;
      return { pending, lagS };
    },
    linkState: options.linkState,
    lockedFor: () => options.lockouts.lockedFor(options.wallClock()),
    watchdogHealthy: () => watchdog.healthy(),
  });
  return {
    metrics,
    watchdog,
    stop() {
      metrics.stop();
      watchdog.stop();
    },
  };
}

export interface TechnicianAccess {
  /** The admin socket's path, or null when there is none (no directory for it, or admin.socketPath null). */
  adminSocket: string | null;
  /** http://127.0.0.1:<port>/metrics, or null when not served. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export async function startTechnicianAccess(ports: AdminPorts, metrics: LockerMetrics): Promise<TechnicianAccess> {
  const { config, logger } = ports;
  const stops: (() => Promise<void>)[] = [];
  try {
    const metricsServer = config.metrics.port === null ? null : await startMetricsServer(metrics, { host: config.metrics.host, port: config.metrics.port }, logger);
    if (metricsServer) stops.push(() => metricsServer.close());
    const socket =
      config.admin.socketPath === null
        ? null
        : await startAdminSocket({ path: config.admin.socketPath, group: config.admin.group, operations: new AdminOperations(ports), logger });
    if (socket) stops.push(() => socket.close());
    return {
      adminSocket: socket?.path ?? null,
      metricsUrl: metricsServer?.url ?? null,
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop();
    throw error;
  }
}
