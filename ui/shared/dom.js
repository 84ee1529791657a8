/**
 * Tiny DOM helpers for the screens: build elements without a framework, and lock a kiosk page
 * down (no selection, context menu, pinch zoom or drag). No state lives here.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Create an element. `props`: `class`, `text`, `on<event>` handlers, booleans set or drop
 * attributes, anything else becomes an attribute. Children: nodes, strings, arrays, or
 * null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** A small stroked icon from SVG path data (24x24 box); decorative, hidden from readers. */
export function icon(pathData, className = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', pathData);
  svg.append(path);
  return svg;
}

export const ICONS = {
  close: 'M5 5 19 19M19 5 5 19',
  backspace: 'M9 5h11v14H9l-6-7zM12 9l5 6M17 9l-5 6',
  help: 'M12 2.5a9.5 9.5 0 1 0 0 19 9.5 9.5 0 1 0 0-19M9.3 9.3a2.8 2.8 0 1 1 3.8 2.6c-.7.3-1.1.9-1.1 1.6v.8M12 17.3v.2',
  phone: 'M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2',
  check: 'M4 12.5 9.5 18 20 6',
  globe: 'M12 2.5a9.5 9.5 0 1 0 0 19 9.5 9.5 0 1 0 0-19M2.5 12h19M12 2.5c2.6 2.6 3.8 6 3.8 9.5s-1.2 6.9-3.8 9.5M12 2.5C9.4 5.1 8.2 8.5 8.2 12s1.2 6.9 3.8 9.5',
  warning: 'M12 3 2 20.5h20zM12 9.5v5M12 17.3v.2',
  door: 'M6 21V3h12v18M3 21h18M14.5 12.5v.2',
};

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Kiosk hygiene: no context menu, no selection or drag, no pinch or ctrl-wheel zoom. */
export function lockDownKiosk(doc = document) {
  const stop = (event) => event.preventDefault();
  for (const type of ['contextmenu', 'selectstart', 'dragstart', 'gesturestart']) doc.addEventListener(type, stop);
  doc.addEventListener('touchmove', (event) => { if (event.touches.length > 1) event.preventDefault(); }, { passive: false });
  doc.addEventListener('wheel', (event) => { if (event.ctrlKey) event.preventDefault(); }, { passive: false });
  doc.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && ['+', '-', '=', '0'].includes(event.key)) event.preventDefault();
  });
}
