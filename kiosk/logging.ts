import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Fields that must never reach a log in clear. pino's redaction replaces them wherever they
 * appear at these paths; code should not log them in the first place, this is the net.
 */
export const REDACTED_PATHS = [
  'pin', '*.pin', 'newPin', '*.newPin',
  'token', '*.token', 'jwt', '*.jwt', 'authorization', '*.authorization', 'headers.authorization',
  'phone', '*.phone', 'phones', '*.phones', 'mobile', '*.mobile',
  'email', '*.email',
  'privateKey', '*.privateKey',
];

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; stdout by default (journald keeps them). */
  destination?: DestinationStream;
}

/** The root logger; modules take a child with their namespace, e.g. `controller:kerong`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { svc: 'keylocker' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that writes nothing: for tests, instead of stubbing globals. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A child logger for one module. */
export function moduleLogger(root: Logger, namespace: string): Logger {
  return root.child({ module: namespace });
}
