/**
 * The one configuration schema. Every key has a type and a default, so an empty file (or no
 * file) gives a working locker on the simulator. Unknown keys are refused: a typo such as
 * `pulseMS` must stop start-up, not be ignored.
 */

import { PULSE_HARD_CAP_MS } from '../../controller/lock-bank.js';
import { isTimeZone } from '../core/dates.js';
import { array, boolean, integer, nullable, object, oneOf, optional, string, withDefault, type CrossCheckProblem, type Infer, type Shape, type ShapeIn, type ShapeOut } from '../lib/decode.js';

const channelRef = object({
  board: integer({ min: 0, max: 255 }),
  channel: integer({ min: 0, max: 63 }),
});

const compartment = object({
  id: integer({ min: 1, max: 16 }),
  lock: channelRef,
  /** null: this compartment has no door switch (the self-test reports "no door signal"). */
  door: nullable(channelRef),
});

/** A group of settings that may be left out whole: each of its keys then takes its default. */
function section<S extends Shape>(shape: S, crossCheck?: (value: ShapeOut<S>) => CrossCheckProblem | null) {
  return withDefault(object(shape, crossCheck), {} as ShapeIn<S>);
}

const timeZone = string({ check: [isTimeZone, 'not an IANA time zone such as "Europe/Oslo"'] });

/** 127.0.0.0/8, ::1 and localhost: reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const LANGUAGES = ['nb', 'sv', 'fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export const COUNTRIES = ['NO', 'SE', 'DK', 'FR', 'DE', 'GB'] as const;
export type Country = (typeof COUNTRIES)[number];

/** The screens served beyond loopback need both the explicit flag and a screen secret. */
function screensBeyondLoopback(server: { host: string; allowNonLoopback: boolean; screenSecret: string | null }): CrossCheckProblem | null {
  if (isLoopbackHost(server.host)) return null;
  if (!server.allowNonLoopback) {
    return { key: 'allowNonLoopback', problem: `must be true to serve the screens on the non-loopback address "${server.host}" (set it, and server.screenSecret)` };
  }
  if (server.screenSecret === null) {
    return { key: 'screenSecret', problem: `is required when the screens are served on the non-loopback address "${server.host}"` };
  }
  return null;
}

export const configSchema = object({
  /** This locker's id, as the back office knows it. */
  unitId: withDefault(string({ pattern: [/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1-64 of them)'] }), 'locker-demo'),
  /** Where the database and keys live (systemd's StateDirectory in production). */
  dataDir: withDefault(string({ min: 1 }), 'var'),
  timeZone: withDefault(timeZone, 'Europe/Oslo'),
  /** Country assumed for phone numbers typed without a +country prefix. */
  defaultCountry: withDefault(oneOf(COUNTRIES), 'NO'),
  defaultLanguage: withDefault(oneOf(LANGUAGES), 'nb'),
  log: section({
    level: withDefault(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  }),
  server: section({
    /** Loopback by default: the screens are on the same Pi. Anything else needs allowNonLoopback and screenSecret. */
    host: withDefault(string({ min: 1 }), '127.0.0.1'),
    port: withDefault(integer({ min: 0, max: 65535 }), 8080),
    /** Must be true to bind `host` to a non-loopback address: any LAN host could then reach the keypad. */
    allowNonLoopback: withDefault(boolean(), false),
    /**
     * What the screens present when the server is reachable beyond loopback: open them as
     * `http://<host>:<port>/bottom/?screenKey=<secret>` once (a cookie keeps it). At least 32
     * characters; required with allowNonLoopback.
     */
    screenSecret: withDefault(nullable(string({ min: 32, max: 256 })), null),
    /** Host names, besides loopback and `host`, that requests may name (a DNS name of the Pi). */
    allowedHosts: withDefault(array(string({ pattern: [/^[A-Za-z0-9.-]{1,253}$/, 'a host name'] }), { max: 16 }), []),
  }, screensBeyondLoopback),
  security: section({
    /** Plate/phone lookups per rolling minute at this locker. */
    lookupsPerMinute: withDefault(integer({ min: 1, max: 600 }), 6),
    /** One PIN delivery per reservation per this long. */
    pinDeliveryIntervalMs: withDefault(integer({ min: 0, max: 86_400_000 }), 600_000),
    /** Doors opened from the back office (compartment.remote-open) per rolling minute at this locker; one more is refused with an alarm. */
    remoteOpensPerMinute: withDefault(integer({ min: 1, max: 60 }), 4),
    /** PIN lockout (kiosk/core/lockout.ts). */
    lockout: section({
      reservationMaxFailures: withDefault(integer({ min: 1, max: 100 }), 5),
      lockerFreeFailures: withDefault(integer({ min: 1, max: 100 }), 5),
      lockerBaseBackoffMs: withDefault(integer({ min: 1, max: 3_600_000 }), 30_000),
      /** What a customer after an attacker waits at most. */
      lockerMaxBackoffMs: withDefault(integer({ min: 1, max: 3_600_000 }), 120_000),
      lockerDecayMs: withDefault(integer({ min: 1000, max: 86_400_000 }), 600_000),
    }),
  }),
  retention: section({
    /** Names, phones, e-mails, plates and remarks are removed this many days after a reservation ended. */
    personalDataDays: withDefault(integer({ min: 1, max: 365 }), 7),
    /** Events the back office acknowledged are deleted this many days later. */
    ackedEventsDays: withDefault(integer({ min: 0, max: 365 }), 1),
    /** How often the sweep runs. */
    sweepIntervalMs: withDefault(integer({ min: 60_000, max: 86_400_000 }), 3_600_000),
  }),
  hardware: section({
    kind: withDefault(oneOf(['sim', 'kerong', 'mcp23017', 'gpio']), 'sim'),
    /**
     * Compartments 1..N (N <= 16) and where each lock and door switch is wired. Omitted:
     * the default wiring for the hardware kind (see defaultCompartments).
     */
    compartments: optional(array(compartment, { min: 1, max: 16 })),
    /**
     * Each compartment has an item sensor the board reports (Kerong infrared bits, read on
     * the door's channel; the simulator's item switch). Leave false unless every compartment
     * has one fitted: a Kerong board without sensors reads "empty" everywhere.
     */
    itemSensors: withDefault(boolean(), false),
    kerong: section({
      path: withDefault(string({ min: 1 }), '/dev/ttyUSB0'),
      baudRate: withDefault(integer({ min: 1 }), 19200),
      /** Lock-status bit polarity: implementations disagree, so it is calibrated on site. */
      lockedBit: withDefault(oneOf([0, 1]), 1),
      /**
       * How long to wait for a status reply. Shorter than locks.pollIntervalMs (checked), so a
       * query to a silent board ends before the next poll is due.
       */
      replyTimeoutMs: withDefault(integer({ min: 50, max: 10_000 }), 250),
      /**
       * How long the board keeps a lock energised after an unlock: its firmware's setting,
       * measured on the bench (README). The board applies it whatever locks.pulseMs says,
       * and the rest after each pulse is computed from it.
       */
      boardPulseMs: withDefault(integer({ min: 50, max: PULSE_HARD_CAP_MS }), 500),
    }),
    mcp23017: section({
      /** I2C bus number: 1 is the Pi header's /dev/i2c-1. */
      bus: withDefault(integer({ min: 0, max: 255 }), 1),
    }),
    gpio: section({
      /** Door switch to ground with pull-up: 1 (high) means open. */
      doorOpenLevel: withDefault(oneOf([0, 1]), 1),
      debounceMs: withDefault(integer({ min: 0, max: 1000 }), 20),
      sysfsRoot: withDefault(string({ min: 1 }), '/sys/class/gpio'),
    }),
  }),
  session: section({
    /**
     * A customer session with no touch for this long ends (back to welcome), on the steps
     * where the customer types or chooses (PIN, plate, details, ...). The steps below have
     * their own limits: each ends as its idle warning says.
     */
    idleTimeoutMs: withDefault(integer({ min: 2000, max: 600_000 }), 60_000),
    /** At an open compartment (place the key, take the key, close the door). */
    doorIdleMs: withDefault(integer({ min: 2000, max: 1_800_000 }), 180_000),
    /** Waiting for a payment made on the customer's phone. */
    paymentIdleMs: withDefault(integer({ min: 2000, max: 1_800_000 }), 300_000),
    /** "The PIN is on its way": it can take a minute or two to arrive. */
    pinWaitIdleMs: withDefault(integer({ min: 2000, max: 1_800_000 }), 180_000),
    /** The "are you still there?" warning shows this long before. */
    idleWarningMs: withDefault(integer({ min: 1000, max: 60_000 }), 10_000),
    /** How long "thank you" stays up. */
    doneMs: withDefault(integer({ min: 1000, max: 60_000 }), 8000),
  }),
  backOffice: section({
    /** wss://… of the workshop's back office; null: the unit is unprovisioned (no link; events wait in the outbox). */
    url: withDefault(nullable(string({ pattern: [/^wss?:\/\/[^\s]+$/, 'a ws:// or wss:// URL'] })), null),
    /** The JWT audience the back office expects. */
    audience: withDefault(string({ min: 1, max: 200 }), 'keylocker-backoffice'),
    /** A CA certificate (PEM file) to pin for wss://; null trusts the system's CAs. */
    caFile: withDefault(nullable(string({ min: 1 })), null),
    pingIntervalMs: withDefault(integer({ min: 1000, max: 300_000 }), 15_000),
    reconnectInitialMs: withDefault(integer({ min: 100, max: 60_000 }), 1000),
    reconnectMaxMs: withDefault(integer({ min: 1000, max: 3_600_000 }), 60_000),
    /** Events sent but not yet acknowledged, at most. */
    maxInFlight: withDefault(integer({ min: 1, max: 10_000 }), 500),
  }),
  admin: section({
    /**
     * The admin socket lockerctl talks to (kiosk/admin/): a Unix socket, mode 0660, group
     * `group` when that group exists. Its directory must exist (systemd's RuntimeDirectory);
     * without it the service runs with no admin socket and says so. null: none.
     */
    socketPath: withDefault(nullable(string({ pattern: [/^\/[^\0]{1,100}$/, 'an absolute path of at most 100 characters'] })), '/run/keylocker/admin.sock'),
    /** The group that may use the socket (install.sh creates it; add technicians to it). */
    group: withDefault(string({ pattern: [/^[a-z_][a-z0-9_-]{0,31}$/, 'a group name'] }), 'keylocker-admin'),
  }),
  metrics: section({
    /** Prometheus text format at http://host:port/metrics; null: not served. 0: any free port (tests). */
    port: withDefault(nullable(integer({ min: 0, max: 65535 })), 9464),
    /** Loopback only: the metrics say how the locker is used and are for this machine's agent. */
    host: withDefault(string({ check: [isLoopbackHost, 'must be a loopback address (127.0.0.1, ::1 or localhost): metrics are never served beyond this machine'] }), '127.0.0.1'),
  }),
  locks: section({
    /**
     * How long a lock is energised by direct drive (sim, mcp23017, gpio). Capped by
     * PULSE_HARD_CAP_MS whatever is written here. A Kerong board applies its own
     * hardware.kerong.boardPulseMs instead.
     */
    pulseMs: withDefault(integer({ min: 50, max: PULSE_HARD_CAP_MS }), 300),
    /**
     * How long after a pulse is sent the door switch may take to show the door open. At least
     * the pulse plus one poll interval (checked). An open's outcome is known within twice this
     * plus one poll interval.
     */
    doorConfirmTimeoutMs: withDefault(integer({ min: 100, max: 30_000 }), 2000),
    /** A door open longer than this raises the left-open alarm. */
    doorLeftOpenAlarmMs: withDefault(integer({ min: 5_000, max: 3_600_000 }), 120_000),
    /**
     * How often every board is read, answering or not; a pulse goes only to a board that
     * answered within this long.
     */
    pollIntervalMs: withDefault(integer({ min: 50, max: 60_000 }), 500),
    /**
     * Rest after each pulse before the same lock is pulsed again. null: three times the pulse
     * the board applies (25 % duty). A value below that is refused (checked).
     */
    restMs: withDefault(nullable(integer({ min: 0, max: 600_000 })), null),
  }),
});

export type Config = Infer<typeof configSchema>;
export type CompartmentWiring = Infer<typeof compartment>;
export type HardwareKind = Config['hardware']['kind'];
