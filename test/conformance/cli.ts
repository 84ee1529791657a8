/**
 * npm run conformance -- --url wss://dms.example.com/locker --unit-id kit-01 --unit-key kit-01.pem \
 *   --audience dms.example.com [--ca ca.pem] [--timeout-ms 10000] [--json] [--print-enrolment]
 *
 * Plays a locker against a back office and reports each rule of docs/protocol.md as PASS, FAIL
 * or SKIP (not checked, because an earlier step failed). The customer's rules (P-PAY-1,
 * P-RCPT-1, P-OPEN-1) need a customer to pay at the back office's provider and press its phone
 * link, which the command line cannot be: it reports them SKIP with that reason (the kit's API
 * takes a `customer`). Exit code 0 when every other rule passed and none failed, 1 otherwise,
 * 2 for a usage error. The unit must be enrolled with the back office first:
 * `--print-enrolment` prints its record (no connection is made).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { formatReport, runConformance } from './kit.js';
import { KitUnit } from './kit-unit.js';
import { CUSTOMER_RULES } from './kit-customer.js';

const USAGE = `usage: npm run conformance -- --url <wss://...> --unit-id <id> --unit-key <pkcs8.pem> --audience <aud>
                              [--ca <pem>] [--timeout-ms <ms>] [--json] [--print-enrolment]
  --url              the back office's locker endpoint (ws:// only to this machine)
  --unit-id          a unit enrolled for the kit (it sends events and answers commands as that unit)
  --unit-key         that unit's Ed25519 private key, PKCS#8 PEM (openssl genpkey -algorithm ed25519)
  --audience         the audience the back office expects in tokens
  --ca               a CA certificate (PEM) to trust for wss://
  --timeout-ms       how long to wait for each answer (default 10000)
  --json             print the report as JSON
  --print-enrolment  print the unit's enrolment record (public JWK with kid) and exit`;

class UsageError extends Error {}

function value(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index < 0) return undefined;
  const found = args[index + 1];
  if (found === undefined || found.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return found;
}

function required(args: readonly string[], name: string): string {
  const found = value(args, name);
  if (found === undefined) throw new UsageError(`${name} is required`);
  return found;
}

function readKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: readFileSync(path), format: 'pem' });
  } catch (error) {
    throw new UsageError(`--unit-key ${path}: not a readable PEM private key (${(error as NodeJS.ErrnoException).code ?? 'invalid'})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`--unit-key ${path}: an ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

export async function main(args: readonly string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out(USAGE);
    return 0;
  }
  try {
    const unitId = required(args, '--unit-id');
    const privateKey = readKey(required(args, '--unit-key'));
    if (args.includes('--print-enrolment')) {
      out(JSON.stringify(new KitUnit(unitId, privateKey, '').enrolment(), null, 2));
      return 0;
    }
    const url = required(args, '--url');
    if (!/^wss?:\/\//.test(url)) throw new UsageError('--url must be ws:// or wss://');
    const ca = value(args, '--ca');
    const timeout = value(args, '--timeout-ms');
    const timeoutMs = timeout === undefined ? 10_000 : Number(timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new UsageError('--timeout-ms must be an integer of at least 100');
    const report = await runConformance({
      url,
      unitId,
      privateKey,
      audience: required(args, '--audience'),
      timeoutMs,
      ...(ca ? { ca: readFileSync(ca) } : {}),
      progress: (line) => err(`conformance: ${line}`),
    });
    out(args.includes('--json') ? JSON.stringify(report, null, 2) : formatReport(report));
    const otherSkips = report.results.filter((r) => r.verdict === 'skip' && !(CUSTOMER_RULES as readonly string[]).includes(r.id));
    return report.failed === 0 && otherSkips.length === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

// Run only as a program (tests import main).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2), (text) => process.stdout.write(`${text}\n`), (text) => process.stderr.write(`${text}\n`)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`conformance kit failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
