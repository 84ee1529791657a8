/**
 * "Healthy" for lockerctl: the service manager says the service is up (systemd: active and
 * running, which a Type=notify unit reaches only after READY=1) and `GET /health` answers 200
 * with the expected version, so an old process still answering cannot pass for the new one.
 *
 * Two limits, as systemd has: starting (until READY) may take up to `startTimeoutMs` (a slow SD
 * card, a loaded machine), and from READY on, /health has `timeoutMs` to say ok.
 */
import { OpsError } from '../errors.js';
import type { ResolvedConfig } from '../config/load.js';
import type { ServiceManager } from './service/service-manager.js';

export interface HealthWait {
  service: ServiceManager;
  config: ResolvedConfig;
  version: string;
  /** From READY (active/running) on: how long /health has to answer ok. */
  timeoutMs: number;
  /** Until READY; default 120 s (systemd's own TimeoutStartSec is 90 s). */
  startTimeoutMs?: number;
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
  const startDeadline = started + (wait.startTimeoutMs ?? 120_000);
  let healthDeadline: number | null = null;
  let problem = 'the service did not start';
  // Bounded: one round per interval until a deadline.
  for (;;) {
    const state = await wait.service.state();
    if (state.active === 'active' && state.sub === 'running') {
      healthDeadline ??= Date.now() + wait.timeoutMs;
      const url = wait.service.healthUrl() ?? healthUrlFromConfig(wait.config);
      const verdict = await askHealth(url, wait.version);
      if (verdict === null) return { url, waitedMs: Date.now() - started };
      problem = verdict;
    } else {
      problem = `the service is ${state.active}/${state.sub}`;
      if (state.active === 'failed') throw unhealthy(wait, 'the service failed before it was ready');
      if (state.sub === 'auto-restart') throw unhealthy(wait, 'the service exited and systemd is restarting it');
    }
    const deadline = healthDeadline ?? startDeadline;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait.intervalMs ?? 250, Math.max(0, deadline - Date.now()))));
  }
  throw unhealthy(
    wait,
    healthDeadline === null
      ? `not ready within ${Math.round((wait.startTimeoutMs ?? 120_000) / 1000)} s: ${problem}`
      : `not healthy within ${Math.round(wait.timeoutMs / 1000)} s after it was ready: ${problem}`,
  );
}

function unhealthy(wait: HealthWait, why: string): OpsError {
  return new OpsError('UNHEALTHY', `release ${wait.version} did not become healthy: ${why}`, { version: wait.version });
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
