/**
 * The admin socket: a Unix socket owned by the running service, for lockerctl. Mode 0660,
 * group `admin.group` (keylocker-admin, created by install.sh) when that group exists, so a
 * technician in that group needs no sudo; nobody else can connect.
 *
 * Protocol: kiosk/admin/protocol.ts. Every request is checked before anything happens; a bad
 * one gets BAD_REQUEST and changes nothing; an error inside an operation is answered, logged
 * without the request's content, and never reaches the service.
 */
import { chmod, chown, lstat, readFile, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { AdminRefusal, type AdminOperations } from './operations.js';
import { MAX_REQUEST_BYTES, parseAdminRequest, REQUEST_TIMEOUT_MS, type AdminReply } from './protocol.js';

export interface AdminSocketOptions {
  path: string;
  /** The group that may connect; ignored (the service's own group stays) when it does not exist. */
  group: string;
  operations: AdminOperations;
  logger: Logger;
  /** /etc/group, read for the group's id (tests pass their own). */
  groupFile?: string;
}

export interface AdminSocket {
  path: string;
  /** The group the socket was given, or null when that group does not exist here. */
  group: string | null;
  close(): Promise<void>;
}

const SOCKET_MODE = 0o660;

export async function startAdminSocket(options: AdminSocketOptions): Promise<AdminSocket | null> {
  const { path, logger } = options;
  try {
    await lstat(dirname(path));
  } catch {
    // systemd's RuntimeDirectory makes it; a developer's machine (npm start) has none.
    logger.warn({ socket: path }, 'no admin socket: its directory does not exist (lockerctl status, open and selftest need it)');
    return null;
  }
  await removeStaleSocket(path);
  const connections = new Set<Socket>();
  const work = new Set<Promise<void>>();
  // Half-open: a client may end its side after the request and still read the reply.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    // A client gone mid-reply (EPIPE, ECONNRESET) ends that connection, never the service.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      logger.debug({ code: error.code }, 'admin client went away');
      socket.destroy();
    });
    const done = serve(socket, options).catch((error: unknown) => {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'admin request failed');
    });
    work.add(done);
    void done.finally(() => work.delete(done));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error.message }, 'admin socket error'));
  const gid = await groupId(options.group, options.groupFile ?? '/etc/group');
  if (gid !== null) await chown(path, -1, gid);
  await chmod(path, SOCKET_MODE);
  logger.info({ socket: path, group: gid === null ? null : options.group }, 'admin socket listening');
  if (gid === null) logger.warn({ group: options.group }, 'admin socket: the group does not exist, so only the service user (and root) can use it');
  return {
    path,
    group: gid === null ? null : options.group,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      });
      await Promise.allSettled([...work]);
      await unlink(path).catch(() => undefined);
    },
  };
}

/** Reads one request line, runs it, writes progress lines and one reply, closes. */
async function serve(socket: Socket, options: AdminSocketOptions): Promise<void> {
  const write = (value: object): void => {
    if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(value)}\n`);
  };
  const reply = (value: AdminReply): void => {
    write(value);
    socket.end();
  };
  const line = await readLine(socket);
  if (line === null) {
    socket.end(); // the client went away, said nothing, or was too slow: nothing to answer
    return;
  }
  if ('error' in line) return reply({ ok: false, error: { code: 'BAD_REQUEST', message: line.error } });
  const request = parseAdminRequest(line.text);
  if ('error' in request) return reply({ ok: false, error: { code: 'BAD_REQUEST', message: request.error } });
  try {
    const result = await options.operations.run(request, (progress) => write({ progress }));
    reply({ ok: true, result });
  } catch (error) {
    if (error instanceof AdminRefusal) return reply({ ok: false, error: { code: error.code, message: error.message } });
    options.logger.error({ op: request.op, err: error instanceof Error ? error.message : String(error) }, 'admin operation failed');
    reply({ ok: false, error: { code: 'FAILED', message: `${request.op} failed inside the service: see lockerctl logs` } });
  }
}

function readLine(socket: Socket): Promise<{ text: string } | { error: string } | null> {
  return new Promise((resolve) => {
    let buffered = '';
    const finish = (value: { text: string } | { error: string } | null): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) finish({ text: buffered.slice(0, newline) });
      else if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) finish({ error: `the request is longer than ${MAX_REQUEST_BYTES} bytes` });
    };
    // A request without its newline is still one request when the client half-closes.
    const onEnd = (): void => finish(buffered.length > 0 ? { text: buffered } : null);
    const timer = setTimeout(() => {
      finish(null);
      socket.destroy();
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  });
}

/** A socket file left by a killed service is removed; one that answers belongs to a running service. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket = false;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`admin socket ${path} exists and is not a socket: remove it`);
  const answers = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answers) throw new Error(`admin socket ${path} is in use by another running service`);
  await unlink(path);
}

/** The gid of a group named in /etc/group, or null. */
export async function groupId(name: string, groupFile: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(groupFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}
