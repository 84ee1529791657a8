/**
 * The lock timing settings, decoded at the edge: each key valid alone can still make an
 * unsafe or useless combination, and such a file is refused with one message naming the key
 * and its value (main.ts turns a ConfigError into exit code 2, before anything is energised).
 */
import t, { type Test } from 'tap';
import { ConfigError, decodeConfig, effectivePulseOf } from '../../kiosk/config/load.js';
import { createHardware } from '../../kiosk/hardware.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { createSilentLogger } from '../../kiosk/logging.js';

function rejects(t: Test, raw: Record<string, unknown>, pattern: RegExp): void {
  try {
    decodeConfig(raw, 'locker.json');
    t.fail(`accepted ${JSON.stringify(raw)}`);
  } catch (error) {
    t.ok(error instanceof ConfigError, 'a ConfigError');
    t.match((error as Error).message, pattern);
  }
}

const kerong = (extra: Record<string, unknown> = {}) => ({ kind: 'kerong', kerong: { path: '/dev/null', ...extra } });

t.test('the rest is never below three times the pulse the board applies', async (t) => {
  rejects(t, { locks: { pulseMs: 400, restMs: 1000 } }, /^config file locker\.json: key "locks\.restMs" has value 1000: below 3 x the pulse the board applies \(locks\.pulseMs = 400\); at least 1200/);
  // A Kerong board applies its own pulse: the rest is measured against that, not locks.pulseMs.
  rejects(t, { hardware: kerong({ boardPulseMs: 600 }), locks: { pulseMs: 300, restMs: 1000 } }, /key "locks\.restMs" has value 1000: below 3 x the pulse the board applies \(hardware\.kerong\.boardPulseMs = 600\); at least 1800/);
  t.equal(decodeConfig({ hardware: kerong({ boardPulseMs: 600 }), locks: { restMs: 1800 } }, null).locks.restMs, 1800, 'exactly 3x is accepted');
  t.equal(decodeConfig({ locks: { restMs: 5000 } }, null).locks.restMs, 5000, 'a longer rest (a cooler solenoid) is accepted');
  t.equal(decodeConfig({}, null).locks.restMs, null, 'default: computed, 3x the pulse');
});

t.test('the pulse the lock gets: boardPulseMs on Kerong, locks.pulseMs on direct drive', async (t) => {
  t.same(effectivePulseOf(decodeConfig({ locks: { pulseMs: 400 } }, null)), { onMs: 400, totalMs: 400, key: 'locks.pulseMs' });
  t.same(effectivePulseOf(decodeConfig({ hardware: kerong({ boardPulseMs: 700 }), locks: { pulseMs: 300 } }, null)), {
    onMs: 700,
    totalMs: 750,
    key: 'hardware.kerong.boardPulseMs',
  });
});

t.test('a door-confirm time that cannot hold a pulse and one poll is refused', async (t) => {
  rejects(t, { locks: { pulseMs: 800, doorConfirmTimeoutMs: 1000, pollIntervalMs: 500 } }, /key "locks\.doorConfirmTimeoutMs" has value 1000: shorter than the pulse \(locks\.pulseMs = 800, 800 ms with its command\) plus one poll interval \(locks\.pollIntervalMs = 500\)/);
  rejects(t, { hardware: kerong({ boardPulseMs: 1000 }), locks: { doorConfirmTimeoutMs: 1200 } }, /key "locks\.doorConfirmTimeoutMs" has value 1200: .*hardware\.kerong\.boardPulseMs = 1000, 1050 ms with its command/);
  t.ok(decodeConfig({ locks: { pulseMs: 800, doorConfirmTimeoutMs: 1300, pollIntervalMs: 500 } }, null), 'exactly enough is accepted');
});

t.test('a Kerong reply timeout must end before the next poll is due', async (t) => {
  rejects(t, { hardware: kerong({ replyTimeoutMs: 500 }), locks: { pollIntervalMs: 500 } }, /key "hardware\.kerong\.replyTimeoutMs" has value 500: must be shorter than locks\.pollIntervalMs \(500\)/);
  t.ok(decodeConfig({ hardware: kerong({ replyTimeoutMs: 400 }), locks: { pollIntervalMs: 500 } }, null), 'shorter is accepted');
  t.ok(decodeConfig({ hardware: { kind: 'sim', kerong: { replyTimeoutMs: 5000 } } }, null), 'the Kerong keys do not matter on another kind');
  const defaults = decodeConfig({ hardware: { kind: 'kerong' } }, null);
  t.ok(defaults.hardware.kerong.replyTimeoutMs < defaults.locks.pollIntervalMs, 'the defaults keep it');
});

t.test('the configured rest reaches the lock bank', async (t) => {
  const config = decodeConfig({ locks: { pulseMs: 200, restMs: 2000 } }, null);
  const clock = createFakeClock();
  const { bank } = await createHardware(config, clock, createSilentLogger());
  t.same(bank.pulseOf(1), { onMs: 200, restMs: 2000 });
  const computed = await createHardware(decodeConfig({ locks: { pulseMs: 200 } }, null), clock, createSilentLogger());
  t.same(computed.bank.pulseOf(1), { onMs: 200, restMs: 600 }, 'null: three times the pulse');
});
