/**
 * A work order's milestones as a strip (staff page and mechanic's tablet): car in the workshop,
 * key dropped, collected by the mechanic, returned, collected by the customer; each with its
 * time and who or where once it happened (test/reference-backoffice/work-order-timeline.ts).
 */
import { clock, h } from '/common.js';

const STAGE_TEXT = {
  'in-workshop': 'Car in the workshop',
  'key-dropped': 'Key dropped',
  'collected-by-mechanic': 'Collected by the mechanic',
  returned: 'Returned for pickup',
  'collected-by-customer': 'Collected by the customer',
};

export function milestoneStrip(milestones, timeZone) {
  if (!milestones || milestones.length === 0) return null;
  return h('ol', { class: 'milestones', 'aria-label': 'Work order timeline' }, milestones.map((m) =>
    h('li', { class: m.at ? 'done' : 'todo', 'data-stage': m.stage },
      h('span', { class: 'stage' }, STAGE_TEXT[m.stage] ?? m.stage),
      m.at ? h('time', { datetime: m.at }, clock(m.at, timeZone)) : null,
      m.detail ? h('span', { class: 'muted' }, m.detail) : null)));
}
