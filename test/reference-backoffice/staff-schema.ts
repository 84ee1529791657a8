/** The staff side's tables (staff-ops.ts), kept apart so store.ts's migrations import no logic. */

/** Back-office migration 5 (store.ts): who ignored which help call, per staff name. */
export const HELP_IGNORES_MIGRATION = `
CREATE TABLE help_call_ignores (
  unit_id    TEXT NOT NULL,
  call_id    TEXT NOT NULL,
  staff_name TEXT NOT NULL,
  at         TEXT NOT NULL,
  PRIMARY KEY (unit_id, call_id, staff_name)
);
`;
