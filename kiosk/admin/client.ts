/**
 * lockerctl's side of the admin socket (protocol.ts): send one request, pass progress lines to
 * `onProgress`, resolve with the reply. A socket that is missing or refuses the connection is
 * NOT_RUNNING (the service is stopped); no reply within `timeoutMs` is FAILED.
 */
import { createConnection } from 'node:net';
import { OpsError } from '../errors.js';
import type { AdminErrorCode, AdminReply, AdminRequestInput } from './protocol.js';

export interface AdminCallOptions {
  socketPath: string;
  timeoutMs: number;
  onProgress?: (progress: Record<string, unknown>) => void;
}

/** Calls the service; resolves with the result, or throws OpsError (REFUSED, BAD_INPUT, NOT_RUNNING, FAILED). */
export async function callAdmin(request: AdminRequestInput, options: AdminCallOptions): Promise<Record<string, unknown>> {
  const reply = await exchange(request, options);
  if (reply.ok) return reply.result;
  throw new OpsError(opsCodeFor(reply.error.code), reply.error.message, { serviceError: reply.error.code });
}

function opsCodeFor(code: AdminErrorCode): 'BAD_INPUT' | 'REFUSED' | 'SERVICE' {
  if (code === 'BAD_REQUEST') return 'BAD_INPUT';
  if (code === 'FAILED') return 'SERVICE';
  return 'REFUSED';
}

function exchange(request: AdminRequestInput, options: AdminCallOptions): Promise<AdminReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(options.socketPath);
    let buffered = '';
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => reject(new OpsError('SERVICE', `the service did not answer ${request.op} within ${Math.round(options.timeoutMs / 1000)} s`))),
      options.timeoutMs,
    );
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      // Bounded: each round removes one line.
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          return settle(() => reject(new OpsError('SERVICE', 'the service answered something that is not JSON')));
        }
        if (typeof message === 'object' && message !== null && 'progress' in message) {
          options.onProgress?.((message as { progress: Record<string, unknown> }).progress);
          continue;
        }
        return settle(() => resolve(message as AdminReply));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const down = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      settle(() =>
        reject(
          down
            ? new OpsError('NOT_RUNNING', `the locker service is not running (no admin socket at ${options.socketPath}): systemctl start keylocker`, { socket: options.socketPath })
            : error.code === 'EACCES'
              ? new OpsError('BAD_INPUT', `no permission to use ${options.socketPath}: join the keylocker-admin group (sudo usermod -aG keylocker-admin $USER, then log in again) or use sudo`)
              : new OpsError('SERVICE', `admin socket ${options.socketPath}: ${error.message}`),
        ),
      );
    });
    socket.on('close', () => settle(() => reject(new OpsError('SERVICE', 'the service closed the admin socket without an answer'))));
  });
}
