/**
 * Which help calls one staff member's page shows (issue 10): a waiting call, unless this person
 * chose "Ignore" (recorded per staff name by the back office, state.staff.ignoredHelp); a taken
 * call only on the page of the person who took it (to close it when done): for everyone else
 * it is handled and leaves their list. Closed calls leave every list.
 */
export function visibleHelpCalls(state, me) {
  const ignored = new Set((state.staff?.ignoredHelp ?? []).filter((row) => row.staff === me).map((row) => `${row.unitId}/${row.callId}`));
  return state.helpCalls.filter((call) => {
    if (call.state === 'open') return !ignored.has(`${call.unitId}/${call.callId}`);
    if (call.state === 'taken') return me !== '' && call.takenBy === me;
    return false;
  });
}
