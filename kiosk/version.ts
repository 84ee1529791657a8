/**
 * The software's version, as its package.json says: the checkout's when run from source, the
 * release's (written by `npm run release`) when run from /opt/keylocker/current/dist. /health
 * reports it, and `lockerctl update` waits for /health to report the new one.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** kiosk/ (source) has package.json one level up; dist/kiosk/ two levels up. */
export function softwareVersion(from = HERE): string {
  for (const dir of [join(from, '..'), join(from, '..', '..')]) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'keylocker' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this directory: try the next
    }
  }
  return '0.0.0-unknown';
}
