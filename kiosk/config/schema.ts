import { z } from 'zod';

/**
 * The one configuration schema. Every key has a type and a default, so an empty file (or no
 * file) gives a working locker on the simulator. Unknown keys are refused: a typo such as
 * `pulseMS` must stop start-up, not be ignored.
 */

import { PULSE_HARD_CAP_MS } from '../../controller/lock-bank.js';

const channelRef = z.strictObject({
  board: z.number().int().min(0).max(255),
  channel: z.number().int().min(0).max(63),
});

const compartment = z.strictObject({
  id: z.number().int().min(1).max(16),
  lock: channelRef,
  /** null: this compartment has no door switch (the self-test reports "no door signal"). */
  door: channelRef.nullable(),
});

const timeZone = z.string().refine(
  (value) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone such as "Europe/Oslo"' },
);

/** 127.0.0.0/8, ::1 and localhost: reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const LANGUAGES = ['nb', 'sv', 'fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export const COUNTRIES = ['NO', 'SE', 'DK', 'FR', 'DE', 'GB'] as const;
export type Country = (typeof COUNTRIES)[number];

export const configSchema = z.strictObject({
  /** This locker's id, as the back office knows it. */
  unitId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1-64)').default('locker-demo'),
  /** Where the database and keys live (systemd's StateDirectory in production). */
  dataDir: z.string().min(1).default('var'),
  timeZone: timeZone.default('Europe/Oslo'),
  /** Country assumed for phone numbers typed without a +country prefix. */
  defaultCountry: z.enum(COUNTRIES).default('NO'),
  defaultLanguage: z.enum(LANGUAGES).default('nb'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
  server: z
    .strictObject({
      /** Loopback by default: the screens are on the same Pi. Anything else needs allowNonLoopback and screenSecret. */
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Must be true to bind `host` to a non-loopback address: any LAN host could then reach the keypad. */
      allowNonLoopback: z.boolean().default(false),
      /**
       * What the screens present when the server is reachable beyond loopback: open them as
       * `http://<host>:<port>/bottom/?screenKey=<secret>` once (a cookie keeps it). At least 32
       * characters; required with allowNonLoopback.
       */
      screenSecret: z.string().min(32, 'at least 32 characters').max(256).nullable().default(null),
      /** Host names, besides loopback and `host`, that requests may name (a DNS name of the Pi). */
      allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name')).max(16).default([]),
    })
    .default({ host: '127.0.0.1', port: 8080, allowNonLoopback: false, screenSecret: null, allowedHosts: [] })
    .superRefine((server, context) => {
      if (isLoopbackHost(server.host)) return;
      if (!server.allowNonLoopback) {
        context.addIssue({ code: 'custom', path: ['allowNonLoopback'], message: `must be true to serve the screens on the non-loopback address "${server.host}" (set it, and server.screenSecret)` });
      } else if (server.screenSecret === null) {
        context.addIssue({ code: 'custom', path: ['screenSecret'], message: `is required when the screens are served on the non-loopback address "${server.host}"` });
      }
    }),
  security: z
    .strictObject({
      /** Plate/phone lookups per rolling minute at this locker. */
      lookupsPerMinute: z.number().int().min(1).max(600).default(6),
      /** One PIN delivery per reservation per this long. */
      pinDeliveryIntervalMs: z.number().int().min(0).max(86_400_000).default(600_000),
      /** Doors opened from the back office (compartment.remote-open) per rolling minute at this locker; one more is refused with an alarm. */
      remoteOpensPerMinute: z.number().int().min(1).max(60).default(4),
      /** PIN lockout (kiosk/core/lockout.ts). */
      lockout: z
        .strictObject({
          reservationMaxFailures: z.number().int().min(1).max(100).default(5),
          lockerFreeFailures: z.number().int().min(1).max(100).default(5),
          lockerBaseBackoffMs: z.number().int().min(1).max(3_600_000).default(30_000),
          /** What a customer after an attacker waits at most. */
          lockerMaxBackoffMs: z.number().int().min(1).max(3_600_000).default(120_000),
          lockerDecayMs: z.number().int().min(1000).max(86_400_000).default(600_000),
        })
        .default({ reservationMaxFailures: 5, lockerFreeFailures: 5, lockerBaseBackoffMs: 30_000, lockerMaxBackoffMs: 120_000, lockerDecayMs: 600_000 }),
    })
    .default({
      lookupsPerMinute: 6,
      pinDeliveryIntervalMs: 600_000,
      remoteOpensPerMinute: 4,
      lockout: { reservationMaxFailures: 5, lockerFreeFailures: 5, lockerBaseBackoffMs: 30_000, lockerMaxBackoffMs: 120_000, lockerDecayMs: 600_000 },
    }),
  retention: z
    .strictObject({
      /** Names, phones, e-mails, plates and remarks are removed this many days after a reservation ended. */
      personalDataDays: z.number().int().min(1).max(365).default(7),
      /** Events the back office acknowledged are deleted this many days later. */
      ackedEventsDays: z.number().int().min(0).max(365).default(1),
      /** How often the sweep runs. */
      sweepIntervalMs: z.number().int().min(60_000).max(86_400_000).default(3_600_000),
    })
    .default({ personalDataDays: 7, ackedEventsDays: 1, sweepIntervalMs: 3_600_000 }),
  hardware: z
    .strictObject({
      kind: z.enum(['sim', 'kerong', 'mcp23017', 'gpio']).default('sim'),
      /**
       * Compartments 1..N (N <= 16) and where each lock and door switch is wired. Omitted:
       * the default wiring for the hardware kind (see defaultCompartments).
       */
      compartments: z.array(compartment).min(1).max(16).optional(),
      /**
       * Each compartment has an item sensor the board reports (Kerong infrared bits, read on
       * the door's channel; the simulator's item switch). Leave false unless every compartment
       * has one fitted: a Kerong board without sensors reads "empty" everywhere.
       */
      itemSensors: z.boolean().default(false),
      kerong: z
        .strictObject({
          path: z.string().min(1).default('/dev/ttyUSB0'),
          baudRate: z.number().int().positive().default(19200),
          /** Lock-status bit polarity: implementations disagree, so it is calibrated on site. */
          lockedBit: z.union([z.literal(0), z.literal(1)]).default(1),
          /**
           * How long to wait for a status reply. Shorter than locks.pollIntervalMs (checked), so a
           * query to a silent board ends before the next poll is due.
           */
          replyTimeoutMs: z.number().int().min(50).max(10_000).default(250),
          /**
           * How long the board keeps a lock energised after an unlock: its firmware's setting,
           * measured on the bench (README). The board applies it whatever locks.pulseMs says,
           * and the rest after each pulse is computed from it.
           */
          boardPulseMs: z.number().int().min(50).max(PULSE_HARD_CAP_MS).default(500),
        })
        .default({ path: '/dev/ttyUSB0', baudRate: 19200, lockedBit: 1, replyTimeoutMs: 250, boardPulseMs: 500 }),
      mcp23017: z
        .strictObject({
          /** I2C bus number: 1 is the Pi header's /dev/i2c-1. */
          bus: z.number().int().min(0).max(255).default(1),
        })
        .default({ bus: 1 }),
      gpio: z
        .strictObject({
          /** Door switch to ground with pull-up: 1 (high) means open. */
          doorOpenLevel: z.union([z.literal(0), z.literal(1)]).default(1),
          debounceMs: z.number().int().min(0).max(1000).default(20),
          sysfsRoot: z.string().min(1).default('/sys/class/gpio'),
        })
        .default({ doorOpenLevel: 1, debounceMs: 20, sysfsRoot: '/sys/class/gpio' }),
    })
    .default({
      kind: 'sim',
      itemSensors: false,
      kerong: { path: '/dev/ttyUSB0', baudRate: 19200, lockedBit: 1, replyTimeoutMs: 250, boardPulseMs: 500 },
      mcp23017: { bus: 1 },
      gpio: { doorOpenLevel: 1, debounceMs: 20, sysfsRoot: '/sys/class/gpio' },
    }),
  session: z
    .strictObject({
      /**
       * A customer session with no touch for this long ends (back to welcome), on the steps
       * where the customer types or chooses (PIN, plate, details, ...). The steps below have
       * their own limits: each ends as its idle warning says.
       */
      idleTimeoutMs: z.number().int().min(2000).max(600_000).default(60_000),
      /** At an open compartment (place the key, take the key, close the door). */
      doorIdleMs: z.number().int().min(2000).max(1_800_000).default(180_000),
      /** Waiting for a payment made on the customer's phone. */
      paymentIdleMs: z.number().int().min(2000).max(1_800_000).default(300_000),
      /** "The PIN is on its way": it can take a minute or two to arrive. */
      pinWaitIdleMs: z.number().int().min(2000).max(1_800_000).default(180_000),
      /** The "are you still there?" warning shows this long before. */
      idleWarningMs: z.number().int().min(1000).max(60_000).default(10_000),
      /** How long "thank you" stays up. */
      doneMs: z.number().int().min(1000).max(60_000).default(8000),
    })
    .default({ idleTimeoutMs: 60_000, doorIdleMs: 180_000, paymentIdleMs: 300_000, pinWaitIdleMs: 180_000, idleWarningMs: 10_000, doneMs: 8000 }),
  backOffice: z
    .strictObject({
      /** wss://… of the workshop's back office; null: the unit is unprovisioned (no link; events wait in the outbox). */
      url: z.string().regex(/^wss?:\/\/[^\s]+$/, 'a ws:// or wss:// URL').nullable().default(null),
      /** The JWT audience the back office expects. */
      audience: z.string().min(1).max(200).default('keylocker-backoffice'),
      /** A CA certificate (PEM file) to pin for wss://; null trusts the system's CAs. */
      caFile: z.string().min(1).nullable().default(null),
      pingIntervalMs: z.number().int().min(1000).max(300_000).default(15_000),
      reconnectInitialMs: z.number().int().min(100).max(60_000).default(1000),
      reconnectMaxMs: z.number().int().min(1000).max(3_600_000).default(60_000),
      /** Events sent but not yet acknowledged, at most. */
      maxInFlight: z.number().int().min(1).max(10_000).default(500),
    })
    .default({
      url: null,
      audience: 'keylocker-backoffice',
      caFile: null,
      pingIntervalMs: 15_000,
      reconnectInitialMs: 1000,
      reconnectMaxMs: 60_000,
      maxInFlight: 500,
    }),
  admin: z
    .strictObject({
      /**
       * The admin socket lockerctl talks to (kiosk/admin/): a Unix socket, mode 0660, group
       * `group` when that group exists. Its directory must exist (systemd's RuntimeDirectory);
       * without it the service runs with no admin socket and says so. null: none.
       */
      socketPath: z.string().regex(/^\/[^\0]{1,100}$/, 'an absolute path of at most 100 characters').nullable().default('/run/keylocker/admin.sock'),
      /** The group that may use the socket (install.sh creates it; add technicians to it). */
      group: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a group name').default('keylocker-admin'),
    })
    .default({ socketPath: '/run/keylocker/admin.sock', group: 'keylocker-admin' }),
  metrics: z
    .strictObject({
      /** Prometheus text format at http://host:port/metrics; null: not served. 0: any free port (tests). */
      port: z.number().int().min(0).max(65535).nullable().default(9464),
      /** Loopback only: the metrics say how the locker is used and are for this machine's agent. */
      host: z.string().refine(isLoopbackHost, 'a loopback address (127.0.0.1, ::1 or localhost): metrics are never served beyond this machine').default('127.0.0.1'),
    })
    .default({ port: 9464, host: '127.0.0.1' }),
  locks: z
    .strictObject({
      /**
       * How long a lock is energised by direct drive (sim, mcp23017, gpio). Capped by
       * PULSE_HARD_CAP_MS whatever is written here. A Kerong board applies its own
       * hardware.kerong.boardPulseMs instead.
       */
      pulseMs: z.number().int().min(50).max(PULSE_HARD_CAP_MS).default(300),
      /**
       * How long after a pulse is sent the door switch may take to show the door open. At least
       * the pulse plus one poll interval (checked). An open's outcome is known within twice this
       * plus one poll interval.
       */
      doorConfirmTimeoutMs: z.number().int().min(100).max(30_000).default(2000),
      /** A door open longer than this raises the left-open alarm. */
      doorLeftOpenAlarmMs: z.number().int().min(5_000).max(3_600_000).default(120_000),
      /**
       * How often every board is read, answering or not; a pulse goes only to a board that
       * answered within this long.
       */
      pollIntervalMs: z.number().int().min(50).max(60_000).default(500),
      /**
       * Rest after each pulse before the same lock is pulsed again. null: three times the pulse
       * the board applies (25 % duty). A value below that is refused (checked).
       */
      restMs: z.number().int().min(0).max(600_000).nullable().default(null),
    })
    .default({ pulseMs: 300, doorConfirmTimeoutMs: 2000, doorLeftOpenAlarmMs: 120_000, pollIntervalMs: 500, restMs: null }),
});

export type Config = z.infer<typeof configSchema>;
export type CompartmentWiring = z.infer<typeof compartment>;
export type HardwareKind = Config['hardware']['kind'];
