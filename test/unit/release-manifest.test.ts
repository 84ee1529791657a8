/**
 * The manifest's checks on their own: a tree against its checksums, the machine a release is
 * for, a manifest that tries to leave its directory, and the CPU of a native module.
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkCompatible, elfMachine, hashTree, parseManifest, verifyTree, type ReleaseManifest } from '../../kiosk/cli/release/manifest.js';

function manifestFor(files: ReleaseManifest['files']): ReleaseManifest {
  return {
    format: 1,
    name: 'keylocker',
    version: '1.0.0',
    builtAt: '2026-11-28T00:00:00.000Z',
    platform: 'linux',
    arch: 'arm64',
    node: { version: 'v20.19.2', abi: '115', napi: '10' },
    schemaVersion: 4,
    files,
  };
}

t.test('a tree matches its manifest; a changed, missing or extra file does not', async (t) => {
  const dir = t.testdir({ dist: { 'main.js': 'console.log(1)\n' }, ui: { 'index.html': '<p>hi</p>' } });
  const manifest = manifestFor(await hashTree(dir));
  t.same(Object.keys(manifest.files), ['dist/main.js', 'ui/index.html']);
  await t.resolves(verifyTree(dir, manifest));
  writeFileSync(join(dir, 'dist', 'main.js'), 'console.log(2)\n');
  await t.rejects(verifyTree(dir, manifest), { code: 'CHECKSUM_MISMATCH', message: /dist\/main\.js: sha256 [0-9a-f]{64}, manifest says/ });
  const fresh = t.testdir({ dist: { 'main.js': 'console.log(1)\n', 'extra.js': 'evil()' } });
  await t.rejects(verifyTree(fresh, manifest), { message: /ui\/index\.html: missing.*dist\/extra\.js: not in the manifest|dist\/extra\.js: not in the manifest/s });
});

t.test('a link inside a release is refused', async (t) => {
  const dir = t.testdir({ ui: { 'index.html': 'x' } });
  symlinkSync('/etc/shadow', join(dir, 'ui', 'shadow'));
  await t.rejects(hashTree(dir), { code: 'BAD_RELEASE', message: /ui\/shadow is not a plain file/ });
});

t.test('a manifest is validated: no path out of the release, a usable version', async (t) => {
  const good = manifestFor({ 'dist/main.js': { sha256: 'a'.repeat(64), size: 1 } });
  t.equal(parseManifest(JSON.stringify(good), 'm').version, '1.0.0');
  t.throws(() => parseManifest(JSON.stringify({ ...good, files: { '../../etc/passwd': { sha256: 'a'.repeat(64), size: 1 } } }), 'm'), { code: 'BAD_RELEASE', message: /leaves the release/ });
  t.throws(() => parseManifest(JSON.stringify({ ...good, version: '../x' }), 'm'), { code: 'BAD_RELEASE', message: /manifest key "version"/ });
  t.throws(() => parseManifest('{"format": 2}', 'm'), { code: 'BAD_RELEASE' });
  t.throws(() => parseManifest('not json', 'm'), { code: 'BAD_RELEASE', message: /not JSON/ });
});

t.test('a release runs only on the OS, CPU and Node ABI it was built for', async (t) => {
  const manifest = manifestFor({});
  t.doesNotThrow(() => checkCompatible(manifest, { platform: 'linux', arch: 'arm64', abi: '115' }));
  t.throws(() => checkCompatible(manifest, { platform: 'linux', arch: 'x64', abi: '115' }), { code: 'INCOMPATIBLE_RELEASE', message: /CPU arm64, this machine x64/ });
  t.throws(() => checkCompatible(manifest, { platform: 'linux', arch: 'arm64', abi: '137' }), { code: 'INCOMPATIBLE_RELEASE', message: /Node ABI 115 \(Node v20\.19\.2\), this machine's Node has ABI 137/ });
});

t.test('the CPU of an ELF object', async (t) => {
  const header = (machine: number) => {
    const buffer = Buffer.alloc(20);
    buffer.writeUInt32BE(0x7f454c46, 0);
    buffer[5] = 1; // little-endian
    buffer.writeUInt16LE(machine, 18);
    return buffer;
  };
  t.equal(elfMachine(header(183)), 183, 'aarch64');
  t.equal(elfMachine(header(62)), 62, 'x86-64');
  t.equal(elfMachine(Buffer.from('MZ not an ELF file at all')), null);
});
