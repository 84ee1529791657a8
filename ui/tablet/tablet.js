/**
 * The mechanic's tablet. Enrolled once with a code from the staff page, it keeps its device
 * credential (localStorage) and sends it with every request. It lists today's work orders,
 * those whose key is in the locker first (with a key icon): "Scan QR" asks the locker for the
 * key (or, for a finished car, for a compartment to return it in); the locker shows a one-time
 * QR on its top screen; the camera reads it (getUserMedia + BarcodeDetector where the browser
 * has it), or its text is typed; the back office forwards it to the locker, which opens.
 */
import { clock, h, live, replace, toast } from '/common.js';
import { milestoneStrip } from '/work-order.js';

const CREDENTIAL = 'keylocker.tablet.credential';
let state = null;
let me = null;
/** The request waiting for its scan: { requestId, workOrder, purpose }. */
let pending = null;
let stream = null;

async function api(path, body) {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${localStorage.getItem(CREDENTIAL) ?? ''}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = new Error(data.error?.message ?? `request failed (${res.status})`);
    error.status = res.status;
    throw error;
  }
  return data;
}

async function whoAmI() {
  try {
    me = (await api('/api/tablets/me')).tablet;
  } catch {
    me = null;
  }
  document.getElementById('enrol').hidden = me !== null;
  document.getElementById('work').hidden = me === null;
  document.getElementById('who').textContent = me ? `${me.name} · ${me.tabletId}` : 'Not enrolled';
  if (me) startFeed();
  render();
}

document.getElementById('enrol-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const enrolled = await api('/api/tablets/enrol', { code: document.getElementById('enrol-code').value, name: document.getElementById('enrol-name').value });
    localStorage.setItem(CREDENTIAL, enrolled.credential);
    toast(`Enrolled as ${enrolled.name}`);
    await whoAmI();
  } catch (error) {
    toast(error.message, 'bad');
  }
});

/** A key, drawn (no emoji font is needed on the tablet). */
const KEY_ICON = `data:image/svg+xml;charset=utf-8,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#15803d" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"><circle cx="7.5" cy="15.5" r="4.5"/><path d="M10.7 12.3 20 3M16 7l3 3M14 9l2 2"/></svg>')}`;

function render() {
  if (!state || !me) return;
  const orders = document.getElementById('orders');
  if (state.orders.length === 0) replace(orders, h('p', { class: 'empty' }, 'No work orders today.'));
  else {
    replace(orders, h('ul', { class: 'key-list' }, state.orders.map((o) =>
      h('li', { class: `key order ${o.keyInLocker ? 'in-locker' : ''}`, 'data-work-order': o.workOrder },
        h('span', { class: 'key-icon' }, o.keyInLocker ? h('img', { src: KEY_ICON, alt: 'key in the locker', title: 'key in the locker' }) : ''),
        h('span', { class: 'wo' }, o.workOrder),
        h('span', { class: 'plate' }, o.plateDisplay),
        h('span', { class: 'muted' }, o.keyInLocker && o.compartmentId ? `compartment ${o.compartmentId}` : o.status),
        o.canRetrieve && h('button', { type: 'button', class: 'primary', onclick: () => ask(o, 'retrieve') }, 'Scan QR'),
        o.canReturn && h('button', { type: 'button', onclick: () => ask(o, 'deposit') }, 'Return key'),
        milestoneStrip(state.workOrders?.[o.workOrder], state.timeZone)))));
  }
  const requests = document.getElementById('requests');
  const mine = state.requests.filter((r) => r.tabletId === me.tabletId);
  replace(requests, mine.length === 0 ? h('p', { class: 'empty' }, 'No requests yet.') : h('ul', { class: 'request-list' }, mine.map((r) => {
    const answer = r.scan?.result;
    const phase = answer ? (answer.accepted ? 'answered' : 'refused') : r.ok === false ? 'refused' : 'sent';
    const text = answer
      ? answer.accepted ? `compartment ${answer.compartment} opened` : `refused: ${answer.reason}`
      : r.scan ? 'scan sent to the locker…' : r.ok === false ? `refused: ${r.result?.error?.code ?? 'error'}` : 'scan the QR on the locker';
    const waiting = !r.scan && r.ok !== false;
    return h('li', { class: `request ${phase}`, 'data-request': r.requestId },
      h('strong', {}, `${r.workOrder ?? r.reservationId} · ${r.purpose === 'deposit' ? 'return' : 'collect'}`),
      h('span', { class: 'state' }, text),
      h('span', { class: 'muted' }, `asked ${clock(r.createdAt, state.timeZone, true)}`),
      waiting && h('button', { type: 'button', class: 'primary', onclick: () => { pending = { requestId: r.requestId, workOrder: r.workOrder ?? r.reservationId, purpose: r.purpose }; void showScanner(); } }, 'Scan'));
  })));
}

async function ask(order, purpose) {
  try {
    const { requestId } = await api('/api/mechanic/request', { reservationId: order.reservationId, purpose });
    pending = { requestId, workOrder: order.workOrder, purpose };
    showScanner();
  } catch (error) {
    toast(error.message, 'bad');
  }
}

/**
 * Reads QR codes from the camera: the browser's BarcodeDetector where it has one, else jsQR
 * (served by the back office) over the video's frames.
 */
async function qrReader() {
  if ('BarcodeDetector' in window) {
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video).catch(() => []))[0]?.rawValue ?? null;
  }
  if (!window.jsQR) {
    await new Promise((resolve, reject) => {
      const script = h('script', { src: '/tablet/vendor/jsQR.js' });
      script.addEventListener('load', resolve);
      script.addEventListener('error', reject);
      document.head.append(script);
    });
  }
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    if (!video.videoWidth) return null;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: 'dontInvert' })?.data ?? null;
  };
}

async function showScanner() {
  document.getElementById('scan').hidden = false;
  document.getElementById('scan-what').textContent = `Scan the QR code on the locker's top screen for ${pending.workOrder}.`;
  document.getElementById('scan-token').value = '';
  const video = document.getElementById('camera');
  if (!navigator.mediaDevices?.getUserMedia) return; // the typed fallback
  try {
    stopCamera();
    const read = await qrReader();
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    // Bounded: about a minute of frames, as long as the QR lives.
    for (let tries = 0; tries < 600 && pending && stream; tries += 1) {
      const text = await read(video);
      if (text) return send(text);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch {
    // No camera, or not allowed: the typed fallback stays.
  }
}

function stopCamera() {
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  document.getElementById('camera').hidden = true;
}

async function send(token) {
  if (!pending) return;
  try {
    await api('/api/mechanic/scan', { requestId: pending.requestId, token: token.trim() });
    toast('Sent to the locker');
    stopCamera();
    document.getElementById('scan').hidden = true;
    pending = null;
  } catch (error) {
    toast(error.message, 'bad');
  }
}

document.getElementById('scan-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void send(document.getElementById('scan-token').value);
});

let feedStarted = false;
/** The work-order feed, once the tablet is enrolled: its credential is offered as a subprotocol (a WebSocket has no headers). */
function startFeed() {
  if (feedStarted) return;
  feedStarted = true;
  live('tablet', (next) => { state = next; render(); }, (up) => {
    const badge = document.getElementById('live');
    badge.className = `live ${up ? 'on' : 'off'}`;
    badge.textContent = up ? 'live' : 'reconnecting…';
  }, () => ['keylocker.tablet', localStorage.getItem(CREDENTIAL) ?? '']);
}
void whoAmI();
