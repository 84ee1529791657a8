/**
 * A stand-in for systemd's notification socket: a unix datagram socket with SO_PASSCRED that
 * reports, for every datagram, the sender's PID as the kernel stamped it (SCM_CREDENTIALS)
 * and the payload. systemd decides NotifyAccess=main on exactly that PID. Node cannot receive
 * credentials, so the receiver is a few lines of Python (python3 is on every machine we test on).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface Notification {
  pid: number;
  message: string;
}

const RECEIVER = String.raw`
import json, os, socket, struct, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"listening": path}), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, uid, gid = struct.unpack("iII", payload[:12])
    print(json.dumps({"pid": pid, "message": data.decode("utf-8", "replace")}), flush=True)
`;

export interface NotifyReceiver {
  path: string;
  received: Notification[];
  /** Resolves with the first notification (from now on or already received) that matches. */
  waitFor(match: (n: Notification) => boolean): Promise<Notification>;
  close(): Promise<void>;
}

export async function startNotifyReceiver(path: string): Promise<NotifyReceiver> {
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Notification[] = [];
  const waiters: { match: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];
  const lines = createInterface({ input: child.stdout! });
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  lines.on('line', (line) => {
    const parsed = JSON.parse(line) as Notification & { listening?: string };
    if (parsed.listening) return listening();
    received.push(parsed);
    for (const waiter of [...waiters]) {
      if (waiter.match(parsed)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  });
  const exited = once(child, 'exit');
  await Promise.race([ready, exited.then(() => Promise.reject(new Error('python3 notify receiver did not start')))]);
  return {
    path,
    received,
    waitFor(match) {
      const seen = received.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
