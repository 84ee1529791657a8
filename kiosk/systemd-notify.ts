/**
 * systemd readiness and watchdog. Node cannot write to $NOTIFY_SOCKET (a unix datagram
 * socket) with its own APIs, so we run `systemd-notify` (with NotifyAccess=all in the unit).
 * The watchdog is pinged from the event loop: a blocked loop misses pings and systemd
 * restarts the service, which drives every output off at start.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export interface Notifier {
  ready(): void;
  stopping(): void;
  stop(): void;
}

export function createNotifier(env: NodeJS.ProcessEnv, logger: Logger, run = execFile): Notifier {
  if (!env.NOTIFY_SOCKET) return { ready() {}, stopping() {}, stop() {} };
  const send = (...args: string[]): void => {
    run('systemd-notify', args, (error) => {
      if (error) logger.warn({ err: error.message }, 'systemd-notify failed');
    });
  };
  const watchdogUs = Number(env.WATCHDOG_USEC);
  let timer: NodeJS.Timeout | null = null;
  return {
    ready() {
      send('--ready', `--pid=${process.pid}`);
      if (watchdogUs > 0) {
        timer = setInterval(() => send(`--pid=${process.pid}`, 'WATCHDOG=1'), Math.max(1000, watchdogUs / 1000 / 3));
        timer.unref();
      }
    },
    stopping() {
      send(`--pid=${process.pid}`, 'STOPPING=1');
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
