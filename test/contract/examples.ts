/**
 * Valid example messages of the back-office protocol (v1): every message type, every event
 * type docs/protocol.md lists, every command name. Each is typed with kiosk/sync/messages.ts,
 * so TypeScript checks them against the types while test/contract/protocol-schemas.test.ts
 * checks them against docs/schemas/: together they tie the schemas to the types.
 *
 * Realistic data (a Norwegian workshop): plates as a dealer system writes them, E.164 phones,
 * real scrypt hashes (of made-up PINs). Reuse them in other tests; they are deeply frozen, so
 * clone (structuredClone) before changing one.
 */
import type {
  AckMessage,
  BackOfficeMessage,
  CommandMessage,
  CommandName,
  ErrorMessage,
  EventMessage,
  EventTime,
  EventType,
  HelloMessage,
  LockerMessage,
  NackMessage,
  ResultMessage,
  WelcomeMessage,
} from '../../kiosk/sync/messages.js';

export type CommandOf<N extends CommandName> = Extract<CommandMessage, { name: N }>;

export interface Example<M> {
  /** Unique across both directions, e.g. 'event key.deposited'. */
  readonly name: string;
  readonly message: M;
}

function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) frozen(child);
    Object.freeze(value);
  }
  return value;
}

// --- values ---------------------------------------------------------------------------------

export const UNIT_ID = 'bryn-01';
export const BOOT_ID = '6f1c2b9e-3d4a-4e8f-9b7c-2a1d0e5f4c3b';
/** scrypt (N 16384, r 8, p 1) of the made-up PIN 482913, as kiosk/core/pin.ts writes it. */
export const PIN_HASH = 'scrypt$16384$8$1$o/HC1OW2BxgpOktcbX6PkA==$uP3AcWS8G/gPsd4/FXjSZ/7WczQE5m/XLa5Kafsyvqg=';
/** scrypt of the made-up PIN 730155. */
export const PIN_HASH_2 = 'scrypt$16384$8$1$Dx4tPEtaaXiHlqW0w9Lh8A==$XoBHP6pCPOrRhjagRmjL3SdnleaKi0n8NcgJ8BSYS+s=';

/** Strings in the examples that are personal data: no validator message may contain them. */
export const PERSONAL_DATA: readonly string[] = frozen([
  'Kari Nordmann',
  'Ole-Johan Bakke',
  '+4791234567',
  '+4746812345',
  '+46701234567',
  'kari.nordmann@example.no',
  'EL 12345',
  'AB 12345',
  'Nøkkelen har en gul merkelapp',
]);

const AT: EventTime = { wall: '2025-03-14T07:42:05.318Z', mono: 5_123_456, bootId: BOOT_ID, clockSynchronised: true };
/** After a boot without network time: the wall clock is not to be trusted. */
const AT_UNSYNCHRONISED: EventTime = { wall: '1970-01-01T00:03:12.040Z', mono: 192_040, bootId: BOOT_ID, clockSynchronised: false };

// --- locker -> back office -----------------------------------------------------------------

export const helloExample: HelloMessage = frozen({
  v: 1,
  type: 'hello',
  unitId: UNIT_ID,
  softwareVersion: '0.1.0',
  bootId: BOOT_ID,
  clock: { wall: '2025-03-14T07:41:58.004Z', synchronised: true },
  timeZone: 'Europe/Oslo',
  link: { pingIntervalMs: 15_000, maxInFlight: 500 },
  compartments: [
    { id: 1, state: 'occupied', door: 'closed', reservationId: 'r-2025-0412' },
    { id: 2, state: 'reserved', door: 'closed', reservationId: 'r-2025-0419' },
    { id: 3, state: 'free', door: 'closed', reservationId: null },
    { id: 4, state: 'quarantined', door: 'unknown', reservationId: null },
    { id: 5, state: 'disabled', door: 'open', reservationId: null },
  ],
  inventory: { count: 5000, digest: 'sha256:9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8' },
  outbox: { firstUnacked: 118, firstHeld: 64, nextSeq: 121 },
  pinHashing: { salt: 'q83vEjRWeJCrze8SNFZ4kA==', N: 4096, r: 8, p: 1 },
});

/** A locker that has never been given anything and has sent nothing. */
export const helloFirstStartExample: HelloMessage = frozen({
  v: 1,
  type: 'hello',
  unitId: UNIT_ID,
  softwareVersion: '0.1.0',
  bootId: BOOT_ID,
  clock: { wall: '1970-01-01T00:00:41.530Z', synchronised: false },
  timeZone: 'Europe/Stockholm',
  link: { pingIntervalMs: 15_000, maxInFlight: 500 },
  compartments: [{ id: 1, state: 'free', door: 'closed', reservationId: null }],
  /** sha256 of nothing: the digest of an empty inventory. */
  inventory: { count: 0, digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  outbox: { firstUnacked: null, firstHeld: null, nextSeq: 1 },
});

function event(seq: number, type: EventType, payload: Record<string, unknown>, at: EventTime = AT): EventMessage {
  return { v: 1, type: 'event', seq, event: type, at, payload };
}

/** One event of every type docs/protocol.md lists, with the payload it describes. */
export const eventExamples: { readonly [E in EventType]: EventMessage } = frozen({
  'key.deposited': event(118, 'key.deposited', {
    reservationId: 'r-2025-0412',
    workOrder: 'AO-20431',
    compartment: 1,
    addedPhone: '+4746812345',
    remark: 'Nøkkelen har en gul merkelapp',
    confirmed: true,
  }),
  'key.collected': event(119, 'key.collected', { reservationId: 'r-2025-0398', compartment: 6, confirmed: false }),
  'compartment.opened': event(120, 'compartment.opened', { compartment: 1, reservationId: 'r-2025-0412', purpose: 'dropoff', confirmed: true }),
  'compartment.closed': event(121, 'compartment.closed', { compartment: 1 }),
  'compartment.forced': event(122, 'compartment.forced', { compartment: 7 }),
  'compartment.left-open': event(123, 'compartment.left-open', { compartment: 3, openForS: 120 }),
  'compartment.jammed': event(124, 'compartment.jammed', { compartment: 8, reservationId: 'r-2025-0420', error: 'JAMMED' }),
  'compartment.open-failed': event(125, 'compartment.open-failed', { compartment: 9, reservationId: 'r-2025-0421', error: 'BOARD_OFFLINE' }),
  'compartment.quarantined': event(126, 'compartment.quarantined', { compartment: 8, reason: 'open failed: JAMMED' }),
  'locker.full': event(127, 'locker.full', { reservationId: 'r-2025-0422' }),
  'lockout.locker': event(128, 'lockout.locker', { retryAfterS: 120, until: '2025-03-14T07:44:05.318Z', failures: 7 }),
  'lockout.reservation': event(129, 'lockout.reservation', { reservationId: 'r-2025-0423' }),
  'lockout.ended': event(136, 'lockout.ended', { scope: 'reservation', reservationId: 'r-2025-0423', reason: 'lifted' }),
  'pin.ambiguous': event(137, 'pin.ambiguous', { reservationIds: ['r-2025-0412', 'r-2025-0430'], session: '0b9d3c1e-5f2a-4c7b-8e6d-1a2b3c4d5e6f' }),
  'help.requested': event(130, 'help.requested', { callId: 'help-7f3a9c', step: 'identify', journey: 'pickup', compartment: null }),
  'pin.delivery-requested': event(131, 'pin.delivery-requested', { reservationId: 'r-2025-0419' }),
  'key.retrieved': event(135, 'key.retrieved', { reservationId: 'r-2025-0412', compartment: 1, requestId: 'mreq-2025-0031', tabletId: 'tablet-03' }),
  // the mechanic journey
  'mechanic.queued': event(136, 'mechanic.queued', { requestId: 'mreq-2025-0031', tabletId: 'tablet-03', reason: 'customer-at-locker', position: 1 }),
  'mechanic.qr-shown': event(137, 'mechanic.qr-shown', { requestId: 'mreq-2025-0031', tabletId: 'tablet-03', validForS: 60 }),
  'mechanic.expired': event(138, 'mechanic.expired', { requestId: 'mreq-2025-0030' }),
  'mechanic.refused': event(139, 'mechanic.refused', { requestId: 'mreq-2025-0031', tabletId: 'tablet-04', reason: 'WRONG_TABLET' }),
  'mechanic.opened': event(140, 'mechanic.opened', { requestId: 'mreq-2025-0031', tabletId: 'tablet-03', reservationId: 'r-2025-0412', compartment: 1, purpose: 'retrieve', confirmed: true }),
  'key.returned': event(141, 'key.returned', { reservationId: 'r-2025-0433', workOrder: 'WO-88213', compartment: 5, requestId: 'mreq-2025-0032', tabletId: 'tablet-03' }),
  'board.offline': event(132, 'board.offline', { board: 1, reason: 'no reply within 1000 ms' }, AT_UNSYNCHRONISED),
  'board.online': event(133, 'board.online', { board: 1 }, AT_UNSYNCHRONISED),
  // issue 7: journeys that end without Confirm, the item sensor, clearing a quarantine
  'journey.abandoned': event(140, 'journey.abandoned', { reservationId: 'r-2025-0412', compartment: 2, journey: 'dropoff', reason: 'abandoned', content: 'empty', quarantined: false }),
  'compartment.item-mismatch': event(141, 'compartment.item-mismatch', { compartment: 4, reservationId: 'r-2025-0431', journey: 'dropoff', expected: 'present', seen: 'absent' }),
  'compartment.quarantine-cleared': event(142, 'compartment.quarantine-cleared', { compartment: 8, state: 'free', reservationId: null, reason: 'Looked inside: empty, lock works', by: 'Ole-Johan Bakke' }),
  // issue 10: staff open a compartment from the back office (audited, throttled)
  'compartment.remote-open-requested': event(143, 'compartment.remote-open-requested', { compartment: 5, by: 'Kari Nordmann', reason: 'Customer forgot a bag in it' }),
  'compartment.remote-open-done': event(144, 'compartment.remote-open-done', { compartment: 5, by: 'Kari Nordmann', opened: true, result: 'confirmed', pulses: 1 }),
  'compartment.remote-open-refused': event(145, 'compartment.remote-open-refused', { compartment: 5, by: 'Kari Nordmann', reason: 'THROTTLED', retryAfterS: 42 }),
  'alarm.remote-open-throttled': event(146, 'alarm.remote-open-throttled', { compartment: 5, by: 'Kari Nordmann', limit: 4, windowS: 60, retryAfterS: 42 }),
  'customer.club-consent': event(154, 'customer.club-consent', { reservationId: 'r-2025-0419', method: 'vipps', consent: true }),
  // issue 12: the customer opens from the phone link
  'reservation.remote-open-requested': event(151, 'reservation.remote-open-requested', { reservationId: 'r-2025-0419', compartment: 16 }),
  'reservation.remote-open-done': event(152, 'reservation.remote-open-done', { reservationId: 'r-2025-0419', compartment: 16, opened: true, result: 'confirmed', pulses: 1 }),
  'reservation.remote-open-refused': event(153, 'reservation.remote-open-refused', { reservationId: 'r-2025-0419', compartment: 16, reason: 'NONCE_USED', retryAfterS: null }),
  // issue 12: paying at the locker, e-receipts
  'payment.requested': event(147, 'payment.requested', { reservationId: 'r-2025-0419', method: 'vipps-push', phone: '+4791234567', phoneMasked: '+47 *** ** 567' }),
  'payment.check-requested': event(148, 'payment.check-requested', { reservationId: 'r-2025-0419', version: 2 }),
  'payment.refused': event(149, 'payment.refused', { reservationId: 'r-2025-0419', version: 2, status: 'paid', reason: 'stale', heldVersion: 3 }),
  'receipt.requested': event(150, 'receipt.requested', { reservationId: 'r-2025-0419', channel: 'email', destinationMasked: 'k***@example.no' }),
  'compartment.open-refused': event(134, 'compartment.open-refused', {
    compartment: 2,
    reservationId: 'r-2025-0424',
    error: 'BOARD_OFFLINE',
    reason: 'board 0 did not answer within 500 ms',
  }),
});

/** An event type v1 does not have: accepted with any object payload (versioning rule). */
export const unknownEventExample: EventMessage = frozen({
  v: 1,
  type: 'event',
  seq: 134,
  event: 'door.sensor-drift',
  at: AT,
  payload: { compartment: 2, readings: [0, 1, 0], note: { anything: true } },
});

/** A help call sent ahead of a backlog: the same seq comes again in its place in the stream. */
export const urgentEventExample: EventMessage = frozen({ ...event(10_642, 'help.requested', { callId: 'help-8b1d2e', step: 'place-key', journey: 'dropoff', compartment: 4 }), urgent: true });

export const resultExamples = frozen({
  applied: { v: 1, type: 'result', commandId: 'cmd-000480', ok: true, result: { applied: true } },
  stale: { v: 1, type: 'result', commandId: 'cmd-000481', ok: true, result: { applied: false, reason: 'stale' } },
  failed: {
    v: 1,
    type: 'result',
    commandId: 'cmd-000482',
    ok: false,
    error: { code: 'AMOUNT_MISMATCH', message: "args.amount differs from the reservation's amount" },
  },
} satisfies Record<string, ResultMessage>);

function ok(commandId: string, result: Record<string, unknown>): ResultMessage {
  return { v: 1, type: 'result', commandId, ok: true, result };
}

/**
 * What each command's result looks like (docs/protocol.md's table; result.json#/$defs/<name>),
 * every variant: the contract test checks each against its definition, and the locker's real
 * results are checked against the same definitions in test/integration/sync-commands.test.ts.
 */
export const commandResultExamples: { readonly [N in CommandName]: readonly ResultMessage[] } = frozen({
  'reservation.upsert': [
    ok('cmd-000470', { applied: true, created: true, version: 3, status: 'booked' }),
    ok('cmd-000476', { applied: true, created: false, version: 2, status: 'ready' }),
    ok('cmd-000470', { applied: false, reason: 'stale', version: 4 }),
  ],
  'reservation.cancel': [
    ok('cmd-000471', { applied: true, version: 4, status: 'cancelled', freedCompartments: [2] }),
    ok('cmd-000471', { applied: false, reason: 'stale', version: 5 }),
    ok('cmd-000471', { applied: false, reason: 'already-cancelled', version: 4 }),
  ],
  'reservation.reset': [ok('cmd-000472', { applied: true, wasLocked: true })],
  'payment.status': [ok('cmd-000473', { applied: true, version: 2, status: 'paid' }), ok('cmd-000473', { applied: false, reason: 'stale', version: 3 })],
  'help.update': [ok('cmd-000474', { applied: true, state: 'taken' }), ok('cmd-000474', { applied: false, reason: 'stale', state: 'closed' })],
  'mechanic.request': [ok('cmd-000475', { recorded: true }), ok('cmd-000475', { recorded: true, duplicate: true })],
  'mechanic.open': [ok('cmd-000476', { accepted: true, compartment: 1, purpose: 'retrieve' }), ok('cmd-000476', { accepted: false, reason: 'REPLAYED' })],
  'lockout.lift': [ok('cmd-000491', { applied: true, scope: 'reservation', wasLocked: true }), ok('cmd-000491', { applied: true, scope: 'locker', wasLocked: false })],
  'compartment.clear-quarantine': [
    ok('cmd-000493', { applied: true, compartment: 8, state: 'free', reservationId: null }),
    ok('cmd-000494', { applied: true, compartment: 16, state: 'occupied', reservationId: 'r-2025-0419' }),
  ],
  'compartment.remote-open': [
    ok('cmd-000495', { accepted: true, compartment: 5 }),
    ok('cmd-000495', { accepted: false, reason: 'IN_JOURNEY' }),
    ok('cmd-000496', { accepted: false, reason: 'THROTTLED', retryAfterS: 42 }),
  ],
  'reservation.remote-open': [
    ok('cmd-000499', { accepted: true, compartment: 16 }),
    ok('cmd-000499', { accepted: false, reason: 'UNPAID' }),
    ok('cmd-000499', { accepted: false, reason: 'THROTTLED', retryAfterS: 42 }),
  ],
  'receipt.link': [ok('cmd-000497', { shown: true }), ok('cmd-000497', { shown: false })],
  'inventory.page': [
    ok('cmd-000490', {
      items: [
        { id: 'r-2025-0412', version: 3, paymentVersion: 0, status: 'deposited' },
        { id: 'r-2025-0419', version: 1, paymentVersion: 2, status: 'ready' },
      ],
      next: 'r-2025-0419',
      count: null,
      digest: null,
    }),
    ok('cmd-000492', {
      items: [{ id: 'r-2025-0533', version: 1, paymentVersion: 0, status: 'booked' }],
      next: null,
      count: 5000,
      digest: 'sha256:9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8',
    }),
  ],
});

export const lockerErrorExample: ErrorMessage = frozen({
  v: 1,
  type: 'error',
  code: 'SCHEMA',
  message: 'args.reservation.phones/0 must match pattern "^\\+[1-9][0-9]{6,14}$"',
  ref: 'cmd-000479',
});

// --- back office -> locker -----------------------------------------------------------------

export const welcomeExample: WelcomeMessage = frozen({ v: 1, type: 'welcome', serverTime: '2025-03-14T07:41:58.412Z', ackedSeq: 117 });
/** A back office that holds nothing for this unit yet. */
export const welcomeFirstExample: WelcomeMessage = frozen({ v: 1, type: 'welcome', serverTime: '2025-03-14T07:41:58.412Z', ackedSeq: 0 });

export const ackExample: AckMessage = frozen({ v: 1, type: 'ack', seq: 120 });

/** One command of every name. */
export const commandExamples: { readonly [N in CommandName]: CommandOf<N> } = frozen({
  'reservation.upsert': {
    v: 1,
    type: 'command',
    id: 'cmd-000470',
    name: 'reservation.upsert',
    args: {
      reservation: {
        id: 'r-2025-0412',
        code: 'K7Q2M9',
        kind: 'dropoff',
        workOrder: 'AO-20431',
        plate: 'EL 12345',
        driverName: 'Kari Nordmann',
        phones: ['+4791234567'],
        email: 'kari.nordmann@example.no',
        appointmentDate: '2025-03-14',
        appointmentTime: '07:30',
        pinHash: PIN_HASH,
        compartmentId: null,
        paymentRequired: false,
      },
      version: 3,
    },
  },
  'reservation.cancel': {
    v: 1,
    type: 'command',
    id: 'cmd-000471',
    name: 'reservation.cancel',
    args: { reservationId: 'r-2025-0415', version: 4 },
  },
  'reservation.reset': {
    v: 1,
    type: 'command',
    id: 'cmd-000472',
    name: 'reservation.reset',
    args: { reservationId: 'r-2025-0423', code: 'P3X8T1' },
  },
  'payment.status': {
    v: 1,
    type: 'command',
    id: 'cmd-000473',
    name: 'payment.status',
    args: { reservationId: 'r-2025-0419', status: 'paid', amount: 249_000, currency: 'NOK', version: 2 },
  },
  'help.update': {
    v: 1,
    type: 'command',
    id: 'cmd-000474',
    name: 'help.update',
    args: { callId: 'help-7f3a9c', state: 'taken', by: 'Ole-Johan Bakke' },
  },
  'mechanic.request': {
    v: 1,
    type: 'command',
    id: 'cmd-000475',
    name: 'mechanic.request',
    args: { requestId: 'mreq-2025-0031', reservationId: 'r-2025-0412', purpose: 'retrieve', tabletId: 'tablet-03' },
  },
  'mechanic.open': {
    v: 1,
    type: 'command',
    id: 'cmd-000476',
    name: 'mechanic.open',
    args: { requestId: 'mreq-2025-0031', token: 'eyJhbGciOiJIUzI1NiJ9.eyJyaWQiOiJtcmVxLTIwMjUtMDAzMSJ9.c2lnbmF0dXJl', tabletId: 'tablet-03' },
  },
  'inventory.page': {
    v: 1,
    type: 'command',
    id: 'cmd-000490',
    name: 'inventory.page',
    args: { after: null, limit: 200 },
  },
  'lockout.lift': {
    v: 1,
    type: 'command',
    id: 'cmd-000491',
    name: 'lockout.lift',
    args: { scope: 'reservation', reservationId: 'r-2025-0423' },
  },
  'compartment.clear-quarantine': {
    v: 1,
    type: 'command',
    id: 'cmd-000493',
    name: 'compartment.clear-quarantine',
    args: { compartment: 8, reason: 'Looked inside: empty, lock works', by: 'Ole-Johan Bakke' },
  },
  'compartment.remote-open': {
    v: 1,
    type: 'command',
    id: 'cmd-000495',
    name: 'compartment.remote-open',
    args: { compartment: 5, reason: 'Customer forgot a bag in it', by: 'Kari Nordmann' },
  },
  'reservation.remote-open': {
    v: 1,
    type: 'command',
    id: 'cmd-000499',
    name: 'reservation.remote-open',
    args: { reservationId: 'r-2025-0419', compartment: 16, nonce: 'lnk_3kT9qW2xVb7PzR4m' },
  },
  'receipt.link': {
    v: 1,
    type: 'command',
    id: 'cmd-000497',
    name: 'receipt.link',
    args: { reservationId: 'r-2025-0419', link: 'https://verksted.example.no/kvittering/7Qm2xK' },
  },
});

/** The payment page is ready: its link is the top screen's QR (issue 12). */
export const paymentRequestedExample: CommandOf<'payment.status'> = frozen({
  v: 1,
  type: 'command',
  id: 'cmd-000498',
  name: 'payment.status',
  args: { reservationId: 'r-2025-0419', status: 'requested', amount: 249_000, currency: 'NOK', version: 2, link: 'https://verksted.example.no/pay/pay-8f2c1a', method: 'vipps', receiptChannel: 'email' },
});

/** A pickup with payment: two phones, no e-mail, no time, the compartment already chosen. */
export const pickupUpsertExample: CommandOf<'reservation.upsert'> = frozen({
  v: 1,
  type: 'command',
  id: 'cmd-000476',
  name: 'reservation.upsert',
  args: {
    reservation: {
      id: 'r-2025-0419',
      code: 'W4N6B2',
      kind: 'pickup',
      workOrder: 'AO-20457',
      plate: 'AB 12345',
      driverName: 'Ole-Johan Bakke',
      phones: ['+4791234567', '+46701234567'],
      email: null,
      appointmentDate: '2025-03-15',
      appointmentTime: null,
      pinHash: PIN_HASH_2,
      compartmentId: 2,
      paymentRequired: true,
      amountDue: { amount: 249_000, currency: 'NOK' },
    },
    version: 1,
  },
});

/** The back office has the call (sent automatically as soon as it stored help.requested). */
export const helpReceivedExample: CommandOf<'help.update'> = frozen({
  v: 1,
  type: 'command',
  id: 'cmd-000491',
  name: 'help.update',
  args: { callId: 'help-8b1d2e', state: 'received', by: null },
});

/** The next page of the inventory. */
export const inventoryNextPageExample: CommandOf<'inventory.page'> = frozen({
  v: 1,
  type: 'command',
  id: 'cmd-000492',
  name: 'inventory.page',
  args: { after: 'r-2025-0419', limit: 200 },
});

/** The back office cannot take event 118 for good: the stream moves on past it. */
export const nackExample: NackMessage = frozen({ v: 1, type: 'nack', seq: 118, code: 'SCHEMA', reason: 'payload.compartment is required' });

export const helpClosedExample: CommandOf<'help.update'> = frozen({
  v: 1,
  type: 'command',
  id: 'cmd-000477',
  name: 'help.update',
  args: { callId: 'help-7f3a9c', state: 'closed', by: null },
});

export const refundExample: CommandOf<'payment.status'> = frozen({
  v: 1,
  type: 'command',
  id: 'cmd-000478',
  name: 'payment.status',
  args: { reservationId: 'r-2025-0419', status: 'refunded', amount: 0, currency: 'NOK', version: 3 },
});

export const backOfficeErrorExample: ErrorMessage = frozen({
  v: 1,
  type: 'error',
  code: 'UNKNOWN_TYPE',
  message: 'type is not one a locker sends in protocol version 1 (hello, event, result, error)',
  ref: null,
});

/** An error about an event: `ref` is its seq as a decimal string. */
export const eventErrorExample: ErrorMessage = frozen({ v: 1, type: 'error', code: 'SCHEMA', message: 'payload.compartment is required', ref: '118' });

// --- tables ---------------------------------------------------------------------------------

/** Every valid locker -> back office example. */
export const lockerExamples: readonly Example<LockerMessage>[] = frozen([
  { name: 'hello', message: helloExample },
  { name: 'hello (first start)', message: helloFirstStartExample },
  ...Object.values(eventExamples).map((message) => ({ name: `event ${message.event}`, message })),
  { name: 'event (unknown type)', message: unknownEventExample },
  { name: 'event (urgent copy)', message: urgentEventExample },
  ...Object.entries(resultExamples).map(([name, message]) => ({ name: `result (${name})`, message })),
  ...Object.entries(commandResultExamples).flatMap(([name, results]) => results.map((message, i) => ({ name: `result of ${name} #${i + 1}`, message }))),
  { name: 'error (locker)', message: lockerErrorExample },
]);

/** Every valid back office -> locker example. */
export const backOfficeExamples: readonly Example<BackOfficeMessage>[] = frozen([
  { name: 'welcome', message: welcomeExample },
  { name: 'welcome (first)', message: welcomeFirstExample },
  { name: 'ack', message: ackExample },
  { name: 'nack', message: nackExample },
  ...Object.values(commandExamples).map((message) => ({ name: `command ${message.name}`, message })),
  { name: 'command reservation.upsert (pickup, paid)', message: pickupUpsertExample },
  { name: 'command help.update (closed)', message: helpClosedExample },
  { name: 'command help.update (received)', message: helpReceivedExample },
  { name: 'command inventory.page (next page)', message: inventoryNextPageExample },
  { name: 'command payment.status (refunded)', message: refundExample },
  { name: 'command payment.status (requested, with its link)', message: paymentRequestedExample },
  { name: 'error (back office)', message: backOfficeErrorExample },
  { name: 'error (about an event)', message: eventErrorExample },
]);
