/**
 * The byte pipe under the Kerong driver, and its implementation over `serialport`.
 *
 * Contract: `open()` rejects with DRIVER_UNAVAILABLE if the port cannot be opened (missing
 * adapter, no `dialout` group); `write()` resolves once the bytes have left the UART and
 * rejects with BUS_ERROR otherwise; `discardInput()` drops bytes received but not yet read;
 * `close()` is idempotent. `data` carries received bytes in arrival order; `fault` reports
 * the port failing or disappearing (a USB adapter unplugged) while open.
 */
import { EventEmitter } from 'node:events';
import { HardwareError, describeError } from '../../errors.js';

export interface SerialTransportEvents {
  data: [chunk: Buffer];
  fault: [error: Error];
}

export interface SerialTransport {
  readonly path: string;
  readonly isOpen: boolean;
  readonly events: EventEmitter<SerialTransportEvents>;
  open(): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  discardInput(): Promise<void>;
  close(): Promise<void>;
}

type Callback = (error?: Error | null) => void;

/** What we use of a `serialport` stream; `SerialPort` and `SerialPortMock` both fit. */
export interface SerialPortLike {
  readonly path: string;
  readonly isOpen: boolean;
  open(callback: Callback): void;
  close(callback: Callback): void;
  write(data: Buffer, callback: Callback): boolean;
  drain(callback: Callback): void;
  flush(callback: Callback): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error' | 'close', listener: (error?: Error | null) => void): unknown;
}

export type SerialPortTransportOptions =
  /** Open a real port: 8N1, no flow control (HARDWARE.md section 1). */
  | { path: string; baudRate: number }
  /** Use a port built by the caller with `autoOpen: false`, e.g. a `SerialPortMock` in tests. */
  | { port: SerialPortLike };

function callbackPromise(start: (callback: Callback) => void): Promise<void> {
  return new Promise((resolve, reject) => start((error) => (error ? reject(error) : resolve())));
}

/**
 * A SerialTransport over `serialport`. The real `serialport` module (a native addon) is
 * loaded on the first `open()`, so importing this file never touches the hardware.
 */
export function createSerialPortTransport(options: SerialPortTransportOptions): SerialTransport {
  const events = new EventEmitter<SerialTransportEvents>();
  const path = 'port' in options ? options.port.path : options.path;
  let port: SerialPortLike | undefined;
  const listened = new WeakSet<SerialPortLike>();

  // A real port is rebuilt on every open: a stream that failed may be destroyed for good.
  const makePort = async (): Promise<SerialPortLike> => {
    if ('port' in options) return options.port;
    const { SerialPort } = await import('serialport');
    return new SerialPort({
      path: options.path,
      baudRate: options.baudRate,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      rtscts: false,
      xon: false,
      xoff: false,
      autoOpen: false,
    });
  };

  const listen = (candidate: SerialPortLike): void => {
    candidate.on('data', (chunk) => events.emit('data', chunk));
    candidate.on('error', (error) => events.emit('fault', error ?? new Error('serial port error')));
    // 'close' carries an error only when the port went away under us.
    candidate.on('close', (error) => {
      if (error) events.emit('fault', error);
    });
  };

  const openPort = (): SerialPortLike => {
    if (!port?.isOpen) throw new HardwareError('BUS_ERROR', `serial port ${path} is not open`);
    return port;
  };

  return {
    path,
    events,
    get isOpen() {
      return port?.isOpen ?? false;
    },
    async open() {
      if (port?.isOpen) return;
      try {
        const candidate = await makePort();
        if (!listened.has(candidate)) listen(candidate);
        listened.add(candidate);
        port = candidate;
        await callbackPromise((callback) => candidate.open(callback));
      } catch (error) {
        throw new HardwareError('DRIVER_UNAVAILABLE', `serial port ${path}: cannot open (${describeError(error)})`, {
          cause: error,
        });
      }
    },
    async write(bytes) {
      const target = openPort();
      try {
        await callbackPromise((callback) => target.write(Buffer.from(bytes), callback));
        await callbackPromise((callback) => target.drain(callback));
      } catch (error) {
        throw new HardwareError('BUS_ERROR', `serial port ${path}: write failed (${describeError(error)})`, {
          cause: error,
        });
      }
    },
    async discardInput() {
      const target = openPort();
      try {
        await callbackPromise((callback) => target.flush(callback));
      } catch (error) {
        throw new HardwareError('BUS_ERROR', `serial port ${path}: flush failed (${describeError(error)})`, {
          cause: error,
        });
      }
    },
    async close() {
      if (!port?.isOpen) return;
      const target = port;
      try {
        await callbackPromise((callback) => target.close(callback));
      } catch (error) {
        throw new HardwareError('BUS_ERROR', `serial port ${path}: close failed (${describeError(error)})`, {
          cause: error,
        });
      }
    },
  };
}
