/**
 * The reference back office as a program of its own:
 *
 *   tsx test/reference-backoffice/main.ts --data-dir ./var/backoffice --port 8090 \
 *     --units units.json [--host 127.0.0.1] [--audience A] [--time-zone Europe/Oslo] [--demo]
 *
 * where units.json is `[{ "unitId": "oslo-ryen-1", "publicJwk": { "kty": "OKP", "crv": "Ed25519", "x": "..." } }]`
 * (the locker's enrolment record: `unitKey` on its /health, its log at first start, or
 * `lockerctl provision`; docs/protocol.md, "Enrolment"; a `kid` in the JWK must be its RFC 7638 thumbprint).
 * It has no staff login: it is a reference and a demo, never a production back office.
 */
import { createLogger } from '../../kiosk/logging.js';
import { startReferenceBackOffice } from './start.js';

function argValue(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: readonly string[]): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
  const units = argValue(args, '--units');
  const backOffice = await startReferenceBackOffice({
    dataDir: argValue(args, '--data-dir') ?? './var/backoffice',
    host: argValue(args, '--host') ?? '127.0.0.1',
    port: Number(argValue(args, '--port') ?? 8090),
    audience: argValue(args, '--audience') ?? 'keylocker-backoffice',
    timeZone: argValue(args, '--time-zone') ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    demo: args.includes('--demo'),
    logger,
    ...(units ? { unitsFile: units } : {}),
  });
  process.stderr.write(`\n  reference back office: ${backOffice.url}\n  mechanic tablet:       ${backOffice.url}tablet/\n  lockers connect to:    ${backOffice.lockerUrl}\n\n`);
  const stop = (): void => {
    void backOffice.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`reference back office: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
