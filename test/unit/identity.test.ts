import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import t from 'tap';
import { enrolmentRecord, IdentityError, KEY_FILE_NAME, loadOrCreateIdentity } from '../../kiosk/sync/identity.js';

t.test('first start makes a key file of mode 0600; a restart reuses it', async (t) => {
  const dir = t.testdir();
  const first = await loadOrCreateIdentity(dir, 'unit-1');
  t.equal(first.created, true);
  const info = await stat(join(dir, KEY_FILE_NAME));
  t.equal(info.mode & 0o777, 0o600, 'owner read/write only');
  t.match(await readFile(join(dir, KEY_FILE_NAME), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  t.same(
    (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
    [],
    'no temporary file left behind',
  );

  const again = await loadOrCreateIdentity(dir, 'unit-1');
  t.equal(again.created, false);
  t.same(again.publicKeyJwk, first.publicKeyJwk, 'same key after a restart');
  t.equal(again.fingerprint, first.fingerprint);
  t.equal(again.kid, first.kid);
  t.match(first.publicKeyJwk, { kty: 'OKP', crv: 'Ed25519', kid: first.kid, alg: 'EdDSA', use: 'sig' });
  t.notOk('d' in first.publicKeyJwk, 'the public JWK carries no private part');
  t.match(first.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
});

t.test('a key file readable by group or others is refused', async (t) => {
  const dir = t.testdir();
  await loadOrCreateIdentity(dir, 'unit-1');
  await chmod(join(dir, KEY_FILE_NAME), 0o644);
  await t.rejects(loadOrCreateIdentity(dir, 'unit-1'), { name: 'IdentityError', code: 'KEY_FILE_TOO_OPEN', message: /mode 0644.*chmod 600/s });
  await chmod(join(dir, KEY_FILE_NAME), 0o640);
  await t.rejects(loadOrCreateIdentity(dir, 'unit-1'), IdentityError);
});

t.test('a key file that is not an Ed25519 PKCS#8 key is refused without quoting it', async (t) => {
  const dir = t.testdir();
  await writeFile(join(dir, KEY_FILE_NAME), 'not a key at all, secret-ish text', { mode: 0o600 });
  const error = await loadOrCreateIdentity(dir, 'unit-1').catch((e: unknown) => e);
  t.match(error, { code: 'KEY_FILE_INVALID' });
  t.notMatch((error as Error).message, /secret-ish/);
});

t.test('the token verifies against the public JWK with the right claims', async (t) => {
  const dir = t.testdir();
  const identity = await loadOrCreateIdentity(dir, 'unit-7');
  const before = Math.floor(Date.now() / 1000);
  const token = await identity.signToken({ audience: 'keylocker-backoffice' });
  const after = Math.ceil(Date.now() / 1000);
  t.equal(decodeProtectedHeader(token).alg, 'EdDSA');

  const key = await importJWK(identity.publicKeyJwk, 'EdDSA');
  const { payload } = await jwtVerify(token, key, {
    algorithms: ['EdDSA'],
    issuer: 'unit-7',
    subject: 'unit-7',
    audience: 'keylocker-backoffice',
    requiredClaims: ['iat', 'exp', 'jti'],
  });
  t.equal(payload.iss, 'unit-7');
  t.equal(payload.sub, 'unit-7');
  t.equal(payload.aud, 'keylocker-backoffice');
  t.ok((payload.iat ?? 0) >= before && (payload.iat ?? 0) <= after, 'iat is the time of signing');
  t.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300, 'default lifetime 5 minutes');
  t.match(payload.jti, /^[0-9a-f-]{36}$/);

  const second = await identity.signToken({ audience: 'keylocker-backoffice', ttlS: 60 });
  const { payload: p2 } = await jwtVerify(second, key, { audience: 'keylocker-backoffice' });
  t.equal((p2.exp ?? 0) - (p2.iat ?? 0), 60);
  t.not(p2.jti, payload.jti, 'every token has its own jti');

  await t.rejects(jwtVerify(token, key, { audience: 'another-audience' }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  const other = await loadOrCreateIdentity(t.testdir(), 'unit-7');
  await t.rejects(jwtVerify(token, await importJWK(other.publicKeyJwk, 'EdDSA')), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

  const expired = await identity.signToken({ audience: 'keylocker-backoffice', ttlS: 1, now: new Date(Date.now() - 3_600_000) });
  await t.rejects(jwtVerify(expired, key, { audience: 'keylocker-backoffice' }), { code: 'ERR_JWT_EXPIRED' });

  await t.rejects(identity.signToken({ audience: 'x', ttlS: 301 }), { code: 'TTL_INVALID' }, 'the protocol allows 5 minutes at most');
  await t.rejects(identity.signToken({ audience: 'x', ttlS: 0 }), { code: 'TTL_INVALID' });
});

t.test('enrolment: the public JWK carries its RFC 7638 thumbprint as kid, the tokens name it, the fingerprint is the kid grouped', async (t) => {
  const identity = await loadOrCreateIdentity(t.testdir(), 'unit-9');
  const { kty, crv, x } = identity.publicKeyJwk;
  const thumbprint = await calculateJwkThumbprint({ kty, crv, x } as { kty: string; crv: string; x: string }, 'sha256');
  t.equal(identity.kid, thumbprint, 'kid = jose.calculateJwkThumbprint(sha256) of the public JWK');
  t.match(identity.kid, /^[A-Za-z0-9_-]{43}$/, 'base64url of 32 bytes');
  t.equal(identity.fingerprint.split(' ').join(''), identity.kid, 'the fingerprint is the whole kid');
  t.match(identity.fingerprint, /^([A-Za-z0-9_-]{4} ){10}[A-Za-z0-9_-]{3}$/, 'in groups of four');
  const other = await loadOrCreateIdentity(t.testdir(), 'unit-9');
  t.not(other.kid, identity.kid, 'another key, another kid');

  const token = await identity.signToken({ audience: 'a' });
  t.same(decodeProtectedHeader(token), { alg: 'EdDSA', typ: 'JWT', kid: identity.kid });

  const record = enrolmentRecord(identity);
  t.same(record, { unitId: 'unit-9', kid: identity.kid, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid: identity.kid, alg: 'EdDSA', use: 'sig' } });
  const key = await importJWK(record.publicJwk, 'EdDSA');
  t.ok((await jwtVerify(token, key, { audience: 'a' })).payload, 'the record verifies the tokens');
  t.notOk('d' in record.publicJwk, 'no private part');
});
