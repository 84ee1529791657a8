/**
 * How long a customer waits after OK: a bare PIN is checked against every candidate
 * reservation of the day, in parallel on libuv's thread pool. Baseline: one scrypt hash.
 */
import { hashPin, verifyPin } from '../../kiosk/core/pin.js';

export async function benchPinCheck(candidates = 30): Promise<Record<string, number>> {
  const hashes = await Promise.all(Array.from({ length: candidates }, (_, i) => hashPin(String(100000 + i))));
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  const single = await time(() => verifyPin('999999', hashes[0] as string));
  const parallel = await time(() => Promise.all(hashes.map((h) => verifyPin('999999', h))));
  const serial = await time(async () => {
    for (const h of hashes) await verifyPin('999999', h);
  });
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    pinCandidates: candidates,
    pinCheckParallelMs: round(parallel),
    pinCheckSerialMs: round(serial),
    oneScryptVerifyMs: round(single),
    pinCheckParallelVsOneVerify: round(parallel / single),
  };
}
