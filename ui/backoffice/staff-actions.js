/** The staff page's actions: each posts to the JSON API and says how it went in a toast. */
import { post, toast } from '/common.js';

export async function act(path, body, done) {
  try {
    await post(path, body);
    toast(done);
  } catch (error) {
    toast(error.message, 'bad');
  }
}

export function cancel(r) {
  if (!window.confirm(`Cancel ${r.code} (${r.plateDisplay}, ${r.driverName})?`)) return;
  act(`/api/reservations/${r.id}/cancel`, {}, `${r.code} cancelled`);
}

export function pay(r, status) {
  act(`/api/reservations/${r.id}/payment`, { status }, `${r.code}: payment ${status}`);
}

export function help(call, what) {
  const by = document.getElementById('staff-name').value.trim() || null;
  if (what === 'ignore') {
    if (!by) return toast('Type your name first: ignoring hides the call for you only', 'bad');
    return act(`/api/help/${encodeURIComponent(call.callId)}/ignore`, { staff: by, unitId: call.unitId }, 'Help call hidden for you');
  }
  act(`/api/help/${encodeURIComponent(call.callId)}/${what}`, { by, unitId: call.unitId }, what === 'take' ? 'Help call taken' : 'Help call closed');
}
