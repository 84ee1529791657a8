/**
 * Errors raised by the hardware layer. Every error carries a stable `code` so that callers
 * (the lock bank, the kiosk, the CLI) can decide without parsing messages, and a message that
 * names the board, the channel and the command involved.
 */

export type HardwareErrorCode =
  | 'BOARD_TIMEOUT' // the board did not answer within the reply timeout
  | 'BAD_FRAME' // a reply arrived but failed its checksum or shape
  | 'BUS_ERROR' // the transport (serial port, I2C bus, GPIO line) failed
  | 'BOARD_OFFLINE' // the board is not known to be answering; we refuse instead of guessing
  | 'PULSE_CANCELLED' // a pulse dropped before it was sent (aborted, or allOff/init ran first)
  | 'INVALID_CHANNEL' // a board or channel outside what the driver supports
  | 'DRIVER_UNAVAILABLE' // the driver cannot run on this machine (no sysfs GPIO, no port)
  | 'NOT_INITIALISED' // a command before init()
  | 'CLOSED'; // a command after close()

export class HardwareError extends Error {
  override readonly name = 'HardwareError';
  constructor(
    readonly code: HardwareErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isHardwareError(value: unknown): value is HardwareError {
  return value instanceof HardwareError;
}

/** A readable one-line description of anything thrown, for logs and results. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
