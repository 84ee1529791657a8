/**
 * Serves /metrics (Prometheus text format) on loopback only: the config refuses any other
 * host, and each request's peer is checked again. A port that cannot be bound is logged and
 * the locker goes on serving customers without metrics.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { LockerMetrics } from './metrics.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK_PEERS = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export async function startMetricsServer(metrics: LockerMetrics, listen: { host: string; port: number }, logger: Logger): Promise<MetricsServer | null> {
  const server: Server = createServer((req, res) => {
    if (!LOOPBACK_PEERS.test(req.socket.remoteAddress ?? '')) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('metrics are for this machine only\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    metrics.render().then(
      ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'metrics could not be collected');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    logger.error({ err: error instanceof Error ? error.message : String(error), port: listen.port }, 'metrics not served: the port could not be bound');
    return null;
  }
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
