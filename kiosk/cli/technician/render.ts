/** How lockerctl status and selftest read for a person (--json gives the objects as they are). */

interface StatusCompartment {
  id: number;
  state: string;
  door: string;
  content: string;
  reservationId: string | null;
  quarantineReason: string | null;
  inJourney: boolean;
}

interface StatusResult {
  service?: string;
  unitId: string;
  version: string;
  uptimeS: number | null;
  hardware: string;
  boards: { board: number; online: boolean; lastError: string | null }[];
  compartments: StatusCompartment[];
  backOffice: { provisioned: boolean; url: string | null; state: string; lastConnectedAt: string | null; outboxPending: number; outboxLagS: number | null; refusedEvents: number | null };
  clock: { now: string; timeZone: string; synchronised: boolean | null; offsetMs: number | null };
  pinLockout: { lockerLockedForS: number; reservationsLocked: number } | null;
}

/** Columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function yesNo(value: boolean | null): string {
  return value === null ? 'unknown' : value ? 'yes' : 'NO';
}

export function renderStatus(value: object): string {
  const s = value as StatusResult;
  const bo = s.backOffice;
  const boards = s.boards.length === 0 ? 'unknown (the service is stopped)' : s.boards.map((b) => `board ${b.board} ${b.online ? 'online' : `OFFLINE (${b.lastError ?? 'no answer'})`}`).join(', ');
  const link = bo.provisioned
    ? `${bo.state} ${bo.url ?? ''}${bo.lastConnectedAt ? `, last connected ${bo.lastConnectedAt}` : ''}`
    : 'unprovisioned (backOffice.url is not set: lockerctl provision)';
  const lockout = s.pinLockout === null ? 'unknown' : s.pinLockout.lockerLockedForS > 0 ? `PIN entry locked for ${s.pinLockout.lockerLockedForS} s (lockerctl lockout clear)` : 'none';
  const lines = [
    `unit ${s.unitId}, version ${s.version}, ${s.service === 'stopped' ? 'service STOPPED (read from the store)' : `up ${s.uptimeS ?? 0} s`}, hardware ${s.hardware}`,
    `boards:      ${boards}`,
    `back office: ${link}`,
    `outbox:      ${bo.outboxPending} pending${bo.outboxLagS === null ? '' : `, oldest ${bo.outboxLagS} s old`}${bo.refusedEvents ? `, ${bo.refusedEvents} refused` : ''}`,
    `clock:       ${s.clock.now} (${s.clock.timeZone}), synchronised ${yesNo(s.clock.synchronised)}${s.clock.offsetMs === null ? '' : `, ${s.clock.offsetMs} ms from the back office`}`,
    `PIN lockout: ${lockout}${s.pinLockout?.reservationsLocked ? `; ${s.pinLockout.reservationsLocked} reservation(s) locked` : ''}`,
    '',
    table(
      ['#', 'state', 'door', 'content', 'note'],
      s.compartments.map((c) => [
        String(c.id),
        c.state,
        c.door,
        c.content,
        [c.inJourney ? 'customer mid-journey' : '', c.quarantineReason ?? ''].filter(Boolean).join('; '),
      ]),
    ),
  ];
  return lines.join('\n');
}

interface SelfTestResultView {
  compartments: { compartment: number; result: string; pulses: number; detail: string }[];
  confirmed: number;
  faults: number;
}

export function renderSelfTest(value: object): string {
  const r = value as SelfTestResultView;
  return [
    table(['#', 'result', 'pulses', 'detail'], r.compartments.map((c) => [String(c.compartment), c.result, String(c.pulses), c.detail])),
    '',
    `${r.confirmed} confirmed, ${r.faults} fault(s)${r.compartments.some((c) => c.result === 'skipped') ? `, ${r.compartments.filter((c) => c.result === 'skipped').length} skipped` : ''}`,
  ].join('\n');
}
