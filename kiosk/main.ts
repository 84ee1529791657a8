/**
 * The service's entry point: read the configuration, build the locker, print where its
 * screens are, and shut down cleanly (every output off) on SIGTERM or SIGINT.
 *
 * Exit codes: 0 clean stop; 2 bad configuration (nothing was energised); 1 anything else.
 */
import { ConfigError, configPathFrom, loadConfig } from './config/load.js';
import { startLocker } from './locker.js';
import { createLogger } from './logging.js';
import { SERVICE_DB } from './store/db.js';
import { createNotifier } from './systemd-notify.js';

async function main(): Promise<number> {
  let config;
  try {
    config = await loadConfig(configPathFrom(process.argv.slice(2), process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`keylocker: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger({ level: config.log.level });
  const locker = await startLocker({ config, logger, db: SERVICE_DB });
  const notifier = createNotifier(process.env, logger);
  // STATUS carries the health URL: `systemctl status` shows it, and lockerctl's process runner reads it.
  notifier.ready(`serving ${locker.urls.health}`, () => locker.watchdog.check());
  const where = config.hardware.kind === 'sim' ? 'on the simulator' : `on ${config.hardware.kind}`;
  logger.info({ hardware: config.hardware.kind, dataDir: config.dataDir, provisioned: locker.sync !== null, urls: locker.urls }, `keylocker running ${where}`);
  // A person at a terminal gets the addresses in plain words; under systemd the log says it all.
  if (process.stderr.isTTY) {
    const lines = [
      '',
      `  keylocker ${where}`,
      `  bottom screen (customer):  ${locker.urls.bottom}`,
      `  top screen:                ${locker.urls.top}`,
      ...(locker.urls.sim ? [`  simulator:                 ${locker.urls.sim}`] : []),
      `  health:                    ${locker.urls.health}`,
      locker.sync ? `  back office:               ${config.backOffice.url}` : '  back office:               none (unprovisioned: set backOffice.url)',
      '',
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: driving every output off');
      notifier.stopping();
      notifier.stop();
      locker.stop().then(
        () => {
          logger.flush();
          resolve(0);
        },
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`keylocker: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
