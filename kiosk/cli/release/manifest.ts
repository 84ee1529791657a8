/**
 * A release's manifest: what it is (version, the store schema it migrates to), what it runs on
 * (OS, CPU, Node ABI of its native modules) and a SHA-256 for every file. `npm run release`
 * writes it; `lockerctl update` checks an unpacked release against it before anything changes.
 *
 * The checksums prove the tarball arrived whole and unaltered by accident; they are not a
 * signature (whoever can hand the technician a tarball can hand over a matching manifest).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { decode, integer, object, oneOf, record, string, type Infer } from '../../lib/decode.js';
import { OpsError } from '../../errors.js';

export const MANIFEST_FILE = 'manifest.json';
/** Release versions become directory names: no slashes, no dot-dot, no spaces. */
export const VERSION_PATTERN = /^[0-9][0-9A-Za-z.+_-]{0,63}$/;

const fileEntry = object({ sha256: string({ pattern: [/^[0-9a-f]{64}$/, '64 lowercase hex digits'] }), size: integer({ min: 0 }) });

const manifestSchema = object({
  format: oneOf([1]),
  name: oneOf(['keylocker']),
  version: string({ pattern: [VERSION_PATTERN, 'a release version (digits first; letters, digits, . + _ -)'], check: [(v) => !v.includes('..'), 'must not hold ".."'] }),
  builtAt: string(),
  platform: string({ min: 1 }),
  arch: string({ min: 1 }),
  node: object({ version: string(), abi: string({ pattern: [/^[0-9]+$/, 'digits'] }), napi: string() }),
  schemaVersion: integer({ min: 1 }),
  files: record(string({ min: 1 }), fileEntry),
});

export type ReleaseManifest = Infer<typeof manifestSchema>;
export type FileEntry = Infer<typeof fileEntry>;

export function parseManifest(text: string, source: string): ReleaseManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new OpsError('BAD_RELEASE', `${source}: the manifest is not JSON`);
  }
  const decoded = decode(manifestSchema, raw);
  if (!decoded.ok) throw new OpsError('BAD_RELEASE', `${source}: manifest key "${decoded.issue.path.join('.') || '(top level)'}": ${decoded.issue.problem}`);
  for (const path of Object.keys(decoded.value.files)) assertSafeRelativePath(path, source);
  return decoded.value;
}

export async function readManifest(releaseDir: string): Promise<ReleaseManifest> {
  const path = join(releaseDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new OpsError('BAD_RELEASE', `${releaseDir} has no ${MANIFEST_FILE}: not a keylocker release`);
  }
  return parseManifest(text, path);
}

function assertSafeRelativePath(path: string, source: string): void {
  if (path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '' || part === '.')) {
    throw new OpsError('BAD_RELEASE', `${source}: file path "${path}" leaves the release`);
  }
}

/**
 * Every regular file under `dir` (the manifest itself aside) with its hash and size, keyed by
 * its path with "/" separators. A symlink, device, socket or FIFO is refused: a release is
 * plain files, so nothing in it can point outside it. Synchronous on purpose: a release has
 * thousands of small files, lockerctl does nothing else meanwhile, and one async hop per file
 * made this ten times slower.
 */
export async function hashTree(dir: string): Promise<Record<string, FileEntry>> {
  const files: Record<string, FileEntry> = {};
  const walk = (current: string): void => {
    const entries = readdirSync(current, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = join(current, entry.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        if (rel === MANIFEST_FILE) continue;
        const content = readFileSync(full);
        files[rel] = { sha256: createHash('sha256').update(content).digest('hex'), size: content.length };
      } else throw new OpsError('BAD_RELEASE', `${rel} is not a plain file (a link or device): a release holds only files`);
    }
  };
  walk(dir);
  return files;
}

/** Every file present, as the manifest says, and nothing else. */
export async function verifyTree(dir: string, manifest: ReleaseManifest): Promise<void> {
  const actual = await hashTree(dir);
  const problems: string[] = [];
  for (const [path, expected] of Object.entries(manifest.files)) {
    const got = actual[path];
    if (!got) problems.push(`${path}: missing`);
    else if (got.sha256 !== expected.sha256 || got.size !== expected.size) problems.push(`${path}: sha256 ${got.sha256}, manifest says ${expected.sha256}`);
  }
  for (const path of Object.keys(actual)) if (!manifest.files[path]) problems.push(`${path}: not in the manifest`);
  if (problems.length > 0) {
    throw new OpsError('CHECKSUM_MISMATCH', `release ${manifest.version} does not match its manifest: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`, {
      version: manifest.version,
      problems: problems.slice(0, 50),
    });
  }
}

export interface Host {
  platform: string;
  arch: string;
  abi: string;
}

export const THIS_HOST: Host = { platform: process.platform, arch: process.arch, abi: process.versions.modules };

/** A release's native modules load only on the OS, CPU and Node ABI they were built for. */
export function checkCompatible(manifest: ReleaseManifest, host: Host = THIS_HOST): void {
  const mismatches: string[] = [];
  if (manifest.platform !== host.platform) mismatches.push(`OS ${manifest.platform}, this machine ${host.platform}`);
  if (manifest.arch !== host.arch) mismatches.push(`CPU ${manifest.arch}, this machine ${host.arch}`);
  if (manifest.node.abi !== host.abi) mismatches.push(`Node ABI ${manifest.node.abi} (Node ${manifest.node.version}), this machine's Node has ABI ${host.abi}`);
  if (mismatches.length > 0) {
    throw new OpsError('INCOMPATIBLE_RELEASE', `release ${manifest.version} was built for another machine: ${mismatches.join('; ')}`, {
      release: { platform: manifest.platform, arch: manifest.arch, abi: manifest.node.abi },
      host,
    });
  }
}

/** The ELF e_machine of each Node CPU name we ship for. */
export const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183, arm: 40, ia32: 3 };

/** The CPU an ELF shared object was built for, or null when it is not ELF. */
export function elfMachine(header: Buffer): number | null {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return null;
  const littleEndian = header[5] === 1;
  return littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18);
}
