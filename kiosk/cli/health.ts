/**
 * "Healthy" for lockerctl: the service manager says the service is up (systemd: active and
 * running, which a Type=notify unit reaches only after READY=1) and `GET /health` answers 200
 * with the expected version, so an old process still answering cannot pass for the new one.
 */
import { OpsError } from '../errors.js';
import type { ResolvedConfig } from '../config/load.js';
import type { ServiceManager } from './service/service-manager.js';

export interface HealthWait {
  service: ServiceManager;
  config: ResolvedConfig;
  version: string;
  timeoutMs: number;
  /** How often to ask; default 250 ms. */
  intervalMs?: number;
}

export interface Healthy {
  url: string;
  waitedMs: number;
}

/** The /health address from the config: the screens' server, on loopback when it listens on all. */
export function healthUrlFromConfig(config: ResolvedConfig): string {
  const host = ['0.0.0.0', '::', ''].includes(config.server.host) ? '127.0.0.1' : config.server.host;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `http://${hostPart}:${config.server.port}/health`;
}

export async function waitHealthy(wait: HealthWait): Promise<Healthy> {
  const started = Date.now();
  const deadline = started + wait.timeoutMs;
  let problem = 'the service did not start';
  // Bounded: one round per interval until the deadline.
  for (;;) {
    const state = await wait.service.state();
    if (state.active === 'active' && state.sub === 'running') {
      const url = wait.service.healthUrl() ?? healthUrlFromConfig(wait.config);
      const verdict = await askHealth(url, wait.version);
      if (verdict === null) return { url, waitedMs: Date.now() - started };
      problem = verdict;
    } else {
      problem = `the service is ${state.active}/${state.sub}`;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait.intervalMs ?? 250, Math.max(0, deadline - Date.now()))));
  }
  throw new OpsError('UNHEALTHY', `release ${wait.version} did not become healthy within ${Math.round(wait.timeoutMs / 1000)} s: ${problem}`, { version: wait.version });
}

/** null when healthy, else what was wrong. */
async function askHealth(url: string, version: string): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (response.status !== 200) return `GET ${url} answered ${response.status}`;
    const body = (await response.json()) as { status?: unknown; version?: unknown };
    if (body.status !== 'ok') return `GET ${url} says status ${JSON.stringify(body.status)}`;
    if (body.version !== version) return `GET ${url} reports version ${JSON.stringify(body.version)}, expected ${version}`;
    return null;
  } catch (error) {
    return `GET ${url} failed: ${(error as Error).message}`;
  }
}
