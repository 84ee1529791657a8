/**
 * systemd readiness and watchdog, sent by the service's main process itself.
 *
 * The unit says `NotifyAccess=main`: systemd accepts a notification only when the kernel's
 * SCM_CREDENTIALS on the datagram name the main PID. Spawning `systemd-notify` (what this file
 * used to do) sends from a child, which only `NotifyAccess=all` accepts, and `--pid=` does not
 * help: it sets MAINPID= in the message, and forging the credentials' pid needs CAP_SYS_ADMIN,
 * which the unit drops. Node has no unix datagram sockets of its own, so the datagram goes
 * through `unix-dgram`, a small native addon built with the release (allowlisted in
 * package.json), from this process: the kernel stamps our own PID on it.
 *
 * The watchdog is pinged from the event loop, and only while kiosk/watchdog.ts finds the event
 * loop and the board poll healthy: a blocked loop or a stalled poll misses pings and systemd
 * restarts the service, which drives every output off at start.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

export interface Notifier {
  /**
   * READY=1, with a one-line STATUS= for `systemctl status`; starts the watchdog pings.
   * `watchdogCheck` (kiosk/watchdog.ts) is asked before each ping: null feeds the watchdog,
   * a reason withholds the ping (logged once per episode) so systemd restarts a stuck service.
   */
  ready(status?: string, watchdogCheck?: () => string | null): void;
  stopping(): void;
  stop(): void;
}

/** One unix datagram socket that sends to $NOTIFY_SOCKET. */
export interface NotifySocket {
  send(message: string, onError: (error: Error) => void): void;
  close(): void;
}

export type OpenNotifySocket = (path: string) => NotifySocket;

/** The timers the watchdog uses; tests pass fake ones. */
export interface IntervalTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_TIMERS: IntervalTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export function createNotifier(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  open: OpenNotifySocket = openUnixDgramSocket,
  timers: IntervalTimers = NODE_TIMERS,
): Notifier {
  const path = env.NOTIFY_SOCKET;
  if (!path) return { ready() {}, stopping() {}, stop() {} };
  if (!path.startsWith('/')) {
    // systemd's own manager always gives a path; an abstract "@name" socket cannot be reached
    // through unix-dgram, and a vsock address is for VMs.
    logger.warn({ notifySocket: path }, 'NOTIFY_SOCKET is not a filesystem path: systemd notifications disabled');
    return { ready() {}, stopping() {}, stop() {} };
  }
  let socket: NotifySocket | null = null;
  const send = (message: string): void => {
    try {
      socket ??= open(path);
      socket.send(message, (error) => logger.warn({ err: error.message }, 'systemd notification failed'));
    } catch (error) {
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'systemd notification failed');
    }
  };
  // WATCHDOG_PID names the process the watchdog is meant for (sd_watchdog_enabled).
  const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
  const watchdogUs = watchdogPid === process.pid ? Number(env.WATCHDOG_USEC) : 0;
  let timer: unknown = null;
  return {
    ready(status, watchdogCheck) {
      send(status ? `READY=1\nSTATUS=${oneLine(status)}` : 'READY=1');
      if (watchdogUs > 0 && timer === null) {
        let withheld: string | null = null;
        const ping = (): void => {
          const problem = watchdogCheck?.() ?? null;
          if (problem === null) {
            if (withheld !== null) logger.info('watchdog fed again: the service is healthy');
            withheld = null;
            send('WATCHDOG=1');
            return;
          }
          if (withheld === null) logger.error({ problem }, 'watchdog not fed: systemd will restart the service unless this clears');
          withheld = problem;
        };
        timer = timers.setInterval(ping, Math.max(1000, watchdogUs / 1000 / 3));
      }
    },
    stopping() {
      send('STOPPING=1');
    },
    stop() {
      if (timer !== null) timers.clearInterval(timer);
      timer = null;
      socket?.close();
      socket = null;
    },
  };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

interface UnixDgramSocket {
  send(buffer: Buffer, offset: number, length: number, path: string, callback?: (error?: Error) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
}

/** The real socket. The addon is loaded on first use, so nothing native loads on import. */
export function openUnixDgramSocket(path: string): NotifySocket {
  const require = createRequire(import.meta.url);
  const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
  const socket = unixDgram.createSocket('unix_dgram');
  let lastError: ((error: Error) => void) | null = null;
  socket.on('error', (error) => lastError?.(error));
  return {
    send(message, onError) {
      lastError = onError;
      const buffer = Buffer.from(message, 'utf8');
      socket.send(buffer, 0, buffer.length, path, (error) => {
        if (error) onError(error);
      });
    },
    close() {
      socket.close();
    },
  };
}
