/**
 * help.update (docs/protocol.md, "Help calls"): received, taken, closed, never backwards; a call
 * the locker never made is NOT_FOUND; what the screen shows for each.
 */
import t from 'tap';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { commandFixture as fixture } from '../helpers/command-fixture.js';

t.test('a help call goes received -> taken -> closed; the screen shows taken and then nothing', async (t) => {
  const f = await fixture(t);
  // The screen's request: its event is all the locker writes (kiosk/core/journeys.ts).
  const store = createJourneyStore(f.db, { wallClock: () => new Date(), monoClock: () => 0, bootId: 'b' });
  await store.transaction((tx) => tx.event('help.requested', { callId: 'call-1', step: 'welcome', journey: null, compartment: null }));

  t.match(await f.run('h0', 'help.update', { callId: 'call-1', state: 'received', by: null }), { ok: true, result: { applied: true, state: 'received' } });
  t.same(f.helpStates, [], 'received changes nothing on screen ("we have called for help")');
  t.match(await f.db.get('SELECT state, received_at FROM help_calls WHERE id = ?', ['call-1']), { state: 'requested', received_at: /^\d{4}-/ });
  t.match(await f.run('h0b', 'help.update', { callId: 'call-1', state: 'received', by: null }), { ok: true, result: { applied: false, reason: 'stale', state: 'received' } });

  t.match(await f.run('h1', 'help.update', { callId: 'call-1', state: 'taken', by: 'Reception' }), { ok: true, result: { applied: true, state: 'taken' } });
  t.same(f.helpStates, ['taken'], 'the screen shows the call was taken');
  t.match(await f.db.get('SELECT state, taken_by, taken_at FROM help_calls WHERE id = ?', ['call-1']), { state: 'taken', taken_by: 'Reception' });
  t.match(await f.run('h1b', 'help.update', { callId: 'call-1', state: 'received', by: null }), { ok: true, result: { applied: false, reason: 'stale', state: 'taken' } }, 'a late received does not step back');

  t.match(await f.run('h2', 'help.update', { callId: 'call-1', state: 'closed', by: null }), { ok: true, result: { applied: true, state: 'closed' } });
  t.same(f.helpStates, ['taken', 'none'], 'closed removes the banner');
  t.match(await f.run('h3', 'help.update', { callId: 'call-1', state: 'taken', by: 'Late' }), { ok: true, result: { applied: false, reason: 'stale', state: 'closed' } }, 'a late "taken" does not reopen a closed call');
  t.same(f.helpStates, ['taken', 'none']);
});

t.test('a help call the locker never made is NOT_FOUND and changes nothing', async (t) => {
  const f = await fixture(t);
  for (const state of ['received', 'taken', 'closed'] as const) {
    t.match(await f.run(`x-${state}`, 'help.update', { callId: 'call-unknown', state, by: null }), { ok: false, error: { code: 'NOT_FOUND', message: /call-unknown/ } }, state);
  }
  t.same(f.helpStates, [], 'the screen is not touched');
  t.equal((await f.db.all('SELECT * FROM help_calls')).length, 0);
});

t.test('a call may be taken or closed without a received first', async (t) => {
  const f = await fixture(t);
  const store = createJourneyStore(f.db, { wallClock: () => new Date(), monoClock: () => 0, bootId: 'b' });
  await store.transaction(async (tx) => {
    await tx.event('help.requested', { callId: 'call-2', step: 'pin', journey: 'dropoff', compartment: null });
    await tx.event('help.requested', { callId: 'call-3', step: 'pin', journey: 'dropoff', compartment: null });
  });
  t.match(await f.run('a', 'help.update', { callId: 'call-2', state: 'taken', by: 'Ola' }), { ok: true, result: { applied: true } });
  t.match(await f.run('b', 'help.update', { callId: 'call-3', state: 'closed', by: null }), { ok: true, result: { applied: true, state: 'closed' } });
  t.same(f.helpStates, ['taken', 'none']);
});
