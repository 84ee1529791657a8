/**
 * What every lockerctl operation works with: the layout, the service manager, the config, and
 * a line of progress for the technician (stderr; --json output goes to stdout only).
 */
import { join } from 'node:path';
import { ConfigError, loadConfig, type ResolvedConfig } from '../config/load.js';
import { OpsError } from '../errors.js';
import { DB_FILE, type Layout } from './layout.js';
import type { ServiceManager } from './service/service-manager.js';

export interface OpsContext {
  layout: Layout;
  service: ServiceManager;
  progress: (line: string) => void;
  /** How long a started release has to become healthy before it is switched back. */
  healthTimeoutMs: number;
  /** The node binary that runs a release's own code (its migrations). */
  node: string;
}

export async function loadOpsConfig(ctx: OpsContext): Promise<ResolvedConfig> {
  try {
    return await loadConfig(ctx.layout.configFile);
  } catch (error) {
    if (error instanceof ConfigError) throw new OpsError('BAD_INPUT', error.message);
    throw error;
  }
}

export function databasePath(config: ResolvedConfig): string {
  return join(config.dataDir, DB_FILE);
}
