/**
 * The command processor on a temporary SQLite file, for the command tests: `run` applies one
 * command and checks that its result has the shape docs/schemas/result.json defines for that
 * command (so the documented table of results is what the locker really answers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Test } from 'tap';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { compartments } from '../../kiosk/store/repositories.js';
import { CommandProcessor, type ReservationChange } from '../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage, CommandName, DoorStateWire, ReservationWire, ResultMessage } from '../../kiosk/sync/messages.js';
import { SCHEMA_BASE_ID, SCHEMA_FILES, defaultSchemaDir } from '../../kiosk/sync/validate.js';
import { openTempDb } from './store.js';
import { PIN_HASH } from './sync.js';

export interface CommandFixture {
  db: Db;
  processor: CommandProcessor;
  helpStates: string[];
  changes: [string, ReservationChange][];
  /** Applies one command; fails the test if an ok result does not match result.json#/$defs/<name>. */
  run<N extends CommandName>(id: string, name: N, args: CommandArgs[N]): Promise<ResultMessage>;
}

let resultShapes: Map<string, ValidateFunction> | null = null;

/** result.json#/$defs/<command name>, compiled once per process. */
export function resultShape(name: CommandName): ValidateFunction {
  if (!resultShapes) {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, discriminator: true });
    addFormats.default(ajv, ['date', 'date-time', 'email']);
    for (const file of SCHEMA_FILES) ajv.addSchema(JSON.parse(readFileSync(join(defaultSchemaDir(), file), 'utf8')) as object);
    resultShapes = new Map();
    const defs = (JSON.parse(readFileSync(join(defaultSchemaDir(), 'result.json'), 'utf8')) as { $defs: Record<string, unknown> }).$defs;
    for (const key of Object.keys(defs)) resultShapes.set(key, ajv.getSchema(`${SCHEMA_BASE_ID}result.json#/$defs/${key}`) as ValidateFunction);
  }
  const shape = resultShapes.get(name);
  if (!shape) throw new Error(`result.json has no definition for ${name}`);
  return shape;
}

export async function commandFixture(t: Test, compartmentCount = 4, options: { doorState?: (compartment: number) => DoorStateWire } = {}): Promise<CommandFixture> {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, compartmentCount, new Date()));
  const helpStates: string[] = [];
  const changes: [string, ReservationChange][] = [];
  const processor = new CommandProcessor({
    db,
    lockouts: new LockoutService(),
    logger: createSilentLogger(),
    help: { setHelpCall: (state) => helpStates.push(state) },
    ...(options.doorState ? { doorState: options.doorState } : {}),
  });
  processor.events.on('reservationChanged', (id, change) => changes.push([id, change]));
  return {
    db,
    processor,
    helpStates,
    changes,
    async run(id, name, args) {
      const result = await processor.apply({ v: 1, type: 'command', id, name, args } as CommandMessage);
      if (result.ok) {
        const shape = resultShape(name);
        if (!shape(result.result)) t.fail(`${name} result ${JSON.stringify(result.result)} does not match result.json#/$defs/${name}: ${JSON.stringify(shape.errors?.[0])}`);
      }
      return result;
    },
  };
}

export function wire(overrides: Partial<ReservationWire> = {}): ReservationWire {
  return {
    id: 'r-1',
    code: 'C-1',
    kind: 'dropoff',
    workOrder: 'WO-1',
    plate: 'ab-12 345',
    driverName: 'Kari Nordmann',
    phones: ['+4791234567'],
    email: null,
    appointmentDate: '2025-03-14',
    appointmentTime: '08:30',
    pinHash: PIN_HASH,
    compartmentId: null,
    paymentRequired: false,
    ...overrides,
  };
}

export const countRows = async (db: Db, table: string): Promise<number> => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0;
