import t, { type Test } from 'tap';
import { ConfigError, configPathFrom, decodeConfig, defaultCompartments, loadConfig } from '../../kiosk/config/load.js';
import { PULSE_HARD_CAP_MS } from '../../controller/lock-bank.js';

function rejects(t: Test, raw: unknown, pattern: RegExp): void {
  try {
    decodeConfig(raw, 'locker.json');
    t.fail(`accepted ${JSON.stringify(raw)}`);
  } catch (error) {
    t.ok(error instanceof ConfigError, 'a ConfigError');
    t.match((error as Error).message, pattern);
  }
}

t.test('no file gives the simulator defaults', async (t) => {
  const config = await loadConfig(null);
  t.equal(config.hardware.kind, 'sim');
  t.equal(config.locks.pulseMs, 300);
  t.equal(config.server.host, '127.0.0.1', 'loopback by default');
  t.equal(config.compartmentWiring.length, 16);
  t.same(config.compartmentWiring[0], { id: 1, lock: { board: 0, channel: 0 }, door: { board: 0, channel: 0 } });
  t.equal(config.source, null);
});

t.test('bad values name the key and the value', async (t) => {
  rejects(t, { locks: { pulseMs: 'long' } }, /key "locks\.pulseMs" has value "long"/);
  rejects(t, { locks: { pulseMs: PULSE_HARD_CAP_MS + 1 } }, /key "locks\.pulseMs" has value 1501/);
  rejects(t, { locks: { pulseMS: 300 } }, /unknown key "locks\.pulseMS"/);
  rejects(t, { hardware: { kind: 'arduino' } }, /key "hardware\.kind" has value "arduino"/);
  rejects(t, { timeZone: 'Mars/Olympus' }, /key "timeZone" has value "Mars\/Olympus": not an IANA time zone/);
  rejects(t, { server: { port: 70000 } }, /key "server\.port" has value 70000/);
  rejects(t, [], /top level must be a JSON object/);
  rejects(t, { hardware: { kind: 'gpio' } }, /"hardware\.compartments" is required when hardware\.kind is "gpio"/);
});

t.test('wiring is checked against the hardware', async (t) => {
  const c = (id: number, lock: [number, number], door: [number, number] | null) => ({
    id,
    lock: { board: lock[0], channel: lock[1] },
    door: door ? { board: door[0], channel: door[1] } : null,
  });
  rejects(t, { hardware: { kind: 'kerong', compartments: [c(1, [10, 0], [10, 0])] } }, /hardware\.compartments\.0\.lock.*Kerong board ids are 0-9/);
  rejects(t, { hardware: { kind: 'mcp23017', compartments: [c(1, [0x20, 0], [0x20, 7])] } }, /compartments\.0\.door.*GPA7 and GPB7 must be outputs/);
  rejects(t, { hardware: { kind: 'mcp23017', compartments: [c(1, [0x20, 0], [0x20, 1]), c(2, [0x20, 1], [0x20, 2])] } }, /compartments\.1\.lock.*already used by hardware\.compartments\.0\.door/);
  rejects(t, { hardware: { kind: 'sim', compartments: [c(1, [0, 0], [0, 0]), c(1, [0, 1], [0, 1])] } }, /duplicate compartment id/);
  rejects(t, { hardware: { kind: 'sim', compartments: [c(2, [0, 0], [0, 0])] } }, /ids must be 1\.\.N/);
  const gpio = decodeConfig({ hardware: { kind: 'gpio', compartments: [c(1, [0, 17], [0, 27]), c(2, [0, 22], null)] } }, null);
  t.equal(gpio.compartmentWiring.length, 2);
  t.equal(gpio.compartmentWiring[1]?.door, null, 'a compartment may have no door switch');
});

t.test('default MCP23017 wiring keeps GPA7/GPB7 as outputs and uses every pin once', async (t) => {
  const wiring = defaultCompartments('mcp23017');
  const doors = wiring.map((w) => w.door);
  t.notOk(doors.some((d) => d && (d.channel === 7 || d.channel === 15)));
  const pins = wiring.flatMap((w) => [w.lock, w.door]).map((r) => `${r?.board}:${r?.channel}`);
  t.equal(new Set(pins).size, 32);
  t.same(decodeConfig({ hardware: { kind: 'mcp23017' } }, null).compartmentWiring, wiring, 'the decoder accepts its own default');
});

t.test('where the file comes from', async (t) => {
  t.equal(configPathFrom(['--config', '/etc/keylocker/locker.json'], {}), '/etc/keylocker/locker.json');
  t.equal(configPathFrom(['--config=/x.json'], {}), '/x.json');
  t.equal(configPathFrom([], { KEYLOCKER_CONFIG: '/env.json' }), '/env.json');
  t.equal(configPathFrom(['--config', 'a.json'], { KEYLOCKER_CONFIG: '/env.json' }), 'a.json', 'the flag wins');
  t.equal(configPathFrom([], {}), null);
  t.throws(() => configPathFrom(['--config'], {}), ConfigError);
});

t.test('files that cannot be read or parsed', async (t) => {
  const dir = t.testdir({ 'bad.json': '{ "locks": ', 'ok.json': JSON.stringify({ locks: { pulseMs: 500 } }) });
  await t.rejects(loadConfig(`${dir}/missing.json`), /cannot read config file .*missing\.json: ENOENT/);
  await t.rejects(loadConfig(`${dir}/bad.json`), /is not valid JSON/);
  const ok = await loadConfig(`${dir}/ok.json`);
  t.equal(ok.locks.pulseMs, 500);
  t.equal(ok.locks.doorConfirmTimeoutMs, 2000, 'other keys keep their defaults');
});
