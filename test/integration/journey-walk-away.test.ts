/**
 * Issue 7, points 7 and 8, on fakes with a fake clock: a closed door finishes the step when
 * the customer walks away (recorded unconfirmed, nothing quarantined); an item sensor, where
 * fitted, confirms it or raises an alarm; an abandon with the door open first asks for the door
 * to be closed, and only a truly unknown content is quarantined.
 */
import t from 'tap';
import { clearQuarantineNow } from '../../kiosk/core/quarantine.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { doorJourneys, PICKUP_COMPARTMENT, toPlaceKey, toTakeKey, type DoorRig } from '../helpers/door-journeys.js';

const DOOR_IDLE_MS = 180_000;

async function closeDoor(rig: DoorRig, compartment: number): Promise<void> {
  rig.sim.closeDoor(compartment - 1);
  await rig.settle();
  if (rig.bank.doorState(compartment) !== 'closed') throw new Error(`door ${compartment} should read closed`);
}

/** The customer leaves: the door step's idle limit runs out. */
async function walkAway(rig: DoorRig): Promise<void> {
  await rig.advance(DOOR_IDLE_MS + 1000);
}

const types = async (rig: DoorRig) => (await rig.events()).map((e) => e.type);

t.test('point 7: drop-off, key in, door closed, the customer walks away: deposited unconfirmed, not quarantined', async (t) => {
  const rig = await doorJourneys(t);
  const compartment = await toPlaceKey(rig);
  rig.sim.setItemPresent(compartment - 1, true);
  await closeDoor(rig, compartment);
  await rig.advance(61_000);
  t.equal(rig.journeys.view().step, 'place-key', 'still there after the typing steps\' 60 s');
  t.equal(rig.journeys.view().idleEnds, 'deposited', 'the idle warning says the key will be recorded as dropped off');
  await walkAway(rig);
  t.equal(rig.journeys.view().step, 'welcome');
  t.match(await reservations.getById(rig.db, 'drop'), { status: 'deposited', compartmentId: compartment });
  t.match(await rig.store.compartment(compartment), { state: 'occupied', reservationId: 'drop', quarantineReason: null });
  const sent = await rig.events();
  t.notOk(sent.some((e) => e.type === 'compartment.quarantined'), 'nothing quarantined');
  t.match(sent.find((e) => e.type === 'key.deposited')?.payload, { reservationId: 'drop', compartment, confirmed: false });
  t.same(await rig.store.inflight(), []);
});

t.test('point 7: Confirm stays the normal way to finish, recorded as confirmed', async (t) => {
  const rig = await doorJourneys(t);
  const compartment = await toPlaceKey(rig);
  await closeDoor(rig, compartment);
  const view = await rig.act({ type: 'confirm' });
  t.equal(view.step, 'done');
  t.match((await rig.events()).find((e) => e.type === 'key.deposited')?.payload, { confirmed: true });
});

t.test('point 7: pickup, key taken, door closed, the customer walks away: collected unconfirmed, compartment free', async (t) => {
  const rig = await doorJourneys(t);
  const compartment = await toTakeKey(rig);
  t.equal(compartment, PICKUP_COMPARTMENT);
  rig.sim.setItemPresent(compartment - 1, false);
  await closeDoor(rig, compartment);
  t.equal(rig.journeys.view().idleEnds, 'collected');
  await walkAway(rig);
  t.equal(rig.journeys.view().step, 'welcome');
  t.match(await reservations.getById(rig.db, 'pick'), { status: 'collected', compartmentId: null });
  t.match(await rig.store.compartment(compartment), { state: 'free', reservationId: null });
  t.match((await rig.events()).find((e) => e.type === 'key.collected')?.payload, { reservationId: 'pick', compartment, confirmed: false });
  t.notOk((await types(rig)).includes('compartment.quarantined'));
});

t.test('point 7: the door still open when the customer walks away: quarantined, the back office told', async (t) => {
  const rig = await doorJourneys(t);
  const compartment = await toPlaceKey(rig);
  t.equal(rig.journeys.view().idleEnds, 'staff-check');
  await walkAway(rig);
  t.match(await rig.store.compartment(compartment), { state: 'quarantined' });
  t.match(await reservations.getById(rig.db, 'drop'), { status: 'booked', compartmentId: null });
  t.match((await rig.events()).find((e) => e.type === 'journey.abandoned')?.payload, { reservationId: 'drop', compartment, reason: 'idle', content: 'unknown', quarantined: true });
});

t.test('point 7 with item sensors: they confirm, or disagree and raise an alarm', async (t) => {
  t.test('drop-off: key seen inside: deposited unconfirmed', async (t) => {
    const rig = await doorJourneys(t, { itemSensors: true });
    const compartment = await toPlaceKey(rig);
    rig.sim.setItemPresent(compartment - 1, true);
    await closeDoor(rig, compartment);
    await walkAway(rig);
    t.match(await reservations.getById(rig.db, 'drop'), { status: 'deposited' });
    t.match(await rig.store.compartment(compartment), { state: 'occupied' });
  });
  t.test('drop-off: the door closed on an empty compartment: item-mismatch, quarantined, booking still open', async (t) => {
    const rig = await doorJourneys(t, { itemSensors: true });
    const compartment = await toPlaceKey(rig);
    await closeDoor(rig, compartment);
    t.equal(rig.journeys.view().itemInside, false);
    t.equal(rig.journeys.view().idleEnds, 'staff-check');
    await walkAway(rig);
    t.match(await reservations.getById(rig.db, 'drop'), { status: 'booked', compartmentId: null });
    t.match(await rig.store.compartment(compartment), { state: 'quarantined', reservationId: null });
    const sent = await rig.events();
    t.match(sent.find((e) => e.type === 'compartment.item-mismatch')?.payload, { compartment, reservationId: 'drop', journey: 'dropoff', expected: 'present', seen: 'absent' });
    t.notOk(sent.some((e) => e.type === 'key.deposited'));
  });
  t.test('pickup: the key seen still inside: item-mismatch, quarantined with its claim', async (t) => {
    const rig = await doorJourneys(t, { itemSensors: true });
    const compartment = await toTakeKey(rig);
    await closeDoor(rig, compartment);
    await walkAway(rig);
    t.match(await reservations.getById(rig.db, 'pick'), { status: 'ready' });
    t.match(await rig.store.compartment(compartment), { state: 'quarantined', reservationId: 'pick' });
    t.match((await rig.events()).find((e) => e.type === 'compartment.item-mismatch')?.payload, { expected: 'absent', seen: 'present' });
  });
  t.test('pickup: the key seen gone: collected unconfirmed', async (t) => {
    const rig = await doorJourneys(t, { itemSensors: true });
    const compartment = await toTakeKey(rig);
    rig.sim.setItemPresent(compartment - 1, false);
    await closeDoor(rig, compartment);
    await walkAway(rig);
    t.match(await reservations.getById(rig.db, 'pick'), { status: 'collected' });
    t.notOk((await types(rig)).includes('compartment.item-mismatch'));
  });
});

t.test('point 8: abandon with the door open asks for the door first; nothing ends until it closes', async (t) => {
  const rig = await doorJourneys(t);
  const compartment = await toPlaceKey(rig);
  await rig.act({ type: 'abandon' });
  const view = await rig.act({ type: 'abandonConfirm' });
  t.match(view, { step: 'close-door', compartment, door: 'open', confirmAbandon: false });
  t.equal(rig.journeys.topView().compartment, compartment, 'the top screen shows the door number');
  await t.rejects(rig.act({ type: 'abandon' }), { code: 'BAD_ACTION' }, 'nothing more to abandon');
  await rig.advance(120_000);
  t.equal(rig.journeys.view().step, 'close-door', 'waiting at a door has the door\'s idle limit');
  t.match(await rig.store.compartment(compartment), { state: 'reserved' }, 'not quarantined while the customer is there');
  t.equal(rig.journeys.view().idleEnds, 'staff-check');
  // No item sensor: after the door closes, nobody can say whether the key went back out.
  await closeDoor(rig, compartment);
  await rig.settle();
  t.equal(rig.journeys.view().step, 'welcome', 'the door closing ends it');
  t.match(await rig.store.compartment(compartment), { state: 'quarantined' });
  t.match((await rig.events()).find((e) => e.type === 'journey.abandoned')?.payload, { reservationId: 'drop', compartment, reason: 'abandoned', content: 'unknown', quarantined: true });

  // Staff look and clear it (what lockerctl calls): refused while the door is open, then free.
  rig.sim.forceDoor(compartment - 1);
  await rig.settle();
  await t.rejects(clearQuarantineNow(rig.store, rig.bank, { compartment, reason: 'empty', by: 'tech' }), { code: 'DOOR_OPEN' });
  await closeDoor(rig, compartment);
  t.same(await clearQuarantineNow(rig.store, rig.bank, { compartment, reason: 'empty', by: 'tech' }), { compartment, state: 'free', reservationId: null });
  await t.rejects(clearQuarantineNow(rig.store, rig.bank, { compartment, reason: 'again', by: 'tech' }), { code: 'NOT_QUARANTINED' });
  t.match(await rig.store.compartment(compartment), { state: 'free' });
});

t.test('point 8 with item sensors: a drop-off undone with the key taken back frees the compartment', async (t) => {
  const rig = await doorJourneys(t, { itemSensors: true });
  const compartment = await toPlaceKey(rig);
  rig.sim.setItemPresent(compartment - 1, true); // the key went in
  await rig.settle();
  await rig.act({ type: 'abandon' });
  await rig.act({ type: 'abandonConfirm' });
  t.equal(rig.journeys.view().step, 'close-door');
  t.equal(rig.journeys.view().itemInside, true, 'the screen can say the key is still inside');
  rig.sim.setItemPresent(compartment - 1, false); // the customer takes the key back
  await closeDoor(rig, compartment);
  await rig.settle();
  t.equal(rig.journeys.view().step, 'welcome');
  t.match(await rig.store.compartment(compartment), { state: 'free', reservationId: null });
  t.match(await reservations.getById(rig.db, 'drop'), { status: 'booked', compartmentId: null });
  t.match((await rig.events()).find((e) => e.type === 'journey.abandoned')?.payload, { content: 'empty', quarantined: false });
});

t.test('point 8 with item sensors: the key left in and the customer walks away: deposited, not lost', async (t) => {
  const rig = await doorJourneys(t, { itemSensors: true });
  const compartment = await toPlaceKey(rig);
  rig.sim.setItemPresent(compartment - 1, true);
  await rig.act({ type: 'abandon' });
  await rig.act({ type: 'abandonConfirm' });
  // The door closes with the key still in: not ended, the screen says the key is inside.
  await closeDoor(rig, compartment);
  await rig.settle();
  t.match(rig.journeys.view(), { step: 'close-door', itemInside: true, idleEnds: 'deposited' });
  await walkAway(rig);
  t.equal(rig.journeys.view().step, 'welcome');
  t.match(await reservations.getById(rig.db, 'drop'), { status: 'deposited' });
  t.match((await rig.events()).find((e) => e.type === 'key.deposited')?.payload, { confirmed: false });
});

t.test('point 8 with item sensors: a pickup undone with the key put back keeps it for the customer', async (t) => {
  const rig = await doorJourneys(t, { itemSensors: true });
  const compartment = await toTakeKey(rig);
  await rig.act({ type: 'abandon' });
  await rig.act({ type: 'abandonConfirm' });
  t.equal(rig.journeys.view().step, 'close-door');
  t.equal(rig.journeys.view().idleEnds, 'staff-check', 'door open: content unknown if they leave now');
  await closeDoor(rig, compartment);
  await rig.settle();
  t.equal(rig.journeys.view().step, 'welcome');
  t.match(await rig.store.compartment(compartment), { state: 'occupied', reservationId: 'pick' });
  t.match(await reservations.getById(rig.db, 'pick'), { status: 'ready', compartmentId: compartment });
  t.match((await rig.events()).find((e) => e.type === 'journey.abandoned')?.payload, { journey: 'pickup', content: 'key', quarantined: false });
  t.notOk((await types(rig)).includes('compartment.quarantined'));
});

t.test('point 8: abandon after the door was closed again ends at once (no door to close)', async (t) => {
  const rig = await doorJourneys(t, { itemSensors: true });
  const compartment = await toPlaceKey(rig);
  await closeDoor(rig, compartment);
  await rig.act({ type: 'abandon' });
  const view = await rig.act({ type: 'abandonConfirm' });
  t.equal(view.step, 'welcome');
  t.match(await rig.store.compartment(compartment), { state: 'free' }, 'seen empty: back in service');
});
