/**
 * Which help calls one staff member's page shows (issue 10): the calls still waiting, minus
 * those this person chose to "Ignore" (recorded per staff name by the back office,
 * state.staff.ignoredHelp; the others still see them). A call someone took ("I'll take it")
 * is handled: it leaves every page (the locker's screens say help is on its way).
 */
export function visibleHelpCalls(state, me) {
  const ignored = new Set((state.staff?.ignoredHelp ?? []).filter((row) => row.staff === me).map((row) => `${row.unitId}/${row.callId}`));
  return state.helpCalls.filter((call) => call.state === 'open' && !ignored.has(`${call.unitId}/${call.callId}`));
}
