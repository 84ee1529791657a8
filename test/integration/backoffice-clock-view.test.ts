/**
 * The staff page's "clock not synchronised" follows the unit: a locker that said hello before
 * NTP answered, then synchronised, is shown synchronised from its next event on (the README's
 * demo walk found the tag stuck on the hello's clock).
 */
import t from 'tap';
import { FakeLocker, UNIT, hello, start, token, unitKeys } from '../helpers/fake-locker.js';

t.test("the unit's clock on the staff page is the newest the locker told, hello or event", async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.teardown(() => locker.close());
  const wall = new Date(Date.now() - 1000).toISOString();
  await locker.hello(hello({ clock: { wall, synchronised: false } }));
  const clock = async () => (await bo.service.staffState()).units.find((u) => u.unitId === UNIT)?.clock;
  t.match(await clock(), { synchronised: false }, 'after the hello: not synchronised');
  await locker.settle(1, 'compartment.closed', { compartment: 1 }); // its at says clockSynchronised: true
  t.match(await clock(), { synchronised: true }, 'after a newer event that says synchronised');
  t.same(locker.invalid, [], 'every frame matched its schema');
});
