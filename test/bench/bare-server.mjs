// The cold-start bench's baseline: a bare express + ws server on 127.0.0.1:0, as little as a
// locker's screens' server could be. Plain JavaScript run by node (no loader), like dist/.
// Prints one JSON line with msg "ready" once it listens; stops on SIGTERM.
import { createServer } from 'node:http';
import express from 'express';
import { WebSocketServer } from 'ws';

const app = express();
app.get('/health', (_req, res) => res.json({ ok: true }));
const http = createServer(app);
const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'ready', port: http.address().port })}\n`);
});
process.once('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  http.close(() => process.exit(0));
});
