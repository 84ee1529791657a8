import t from 'tap';
import { allowedTransitions, mayChooseJourney, nextStep, progressOf, type SessionEvent } from '../../kiosk/core/session-machine.js';
import type { JourneyKind, SessionStep } from '../../kiosk/core/session-view.js';

const STEPS: SessionStep[] = ['welcome', 'identify', 'lookup-result', 'lookup-sent', 'details', 'opening', 'place-key', 'payment', 'take-key', 'close-door', 'receipt', 'done', 'locked-out', 'failed'];
const EVENTS: SessionEvent[] = ['start', 'identified', 'lookedUp', 'pinSent', 'retryIdentify', 'lockedOut', 'paymentNeeded', 'paid', 'confirmDetails', 'opened', 'openFailed', 'finished', 'receiptOffered', 'abandonOpen', 'end'];

// The whole table, written out once more by hand: a change to the machine must change this.
const EXPECTED: Record<JourneyKind | 'undecided', string[]> = {
  // "I have a PIN": only identification, until the PIN names a reservation (and its journey).
  undecided: [
    'welcome start identify',
    'identify lookedUp lookup-result',
    'identify lockedOut locked-out',
    'identify end welcome',
    'lookup-result pinSent lookup-sent',
    'lookup-result retryIdentify identify',
    'lookup-result end welcome',
    'lookup-sent retryIdentify identify',
    'lookup-sent end welcome',
    'locked-out retryIdentify identify',
    'locked-out end welcome',
  ],
  dropoff: [
    'welcome start identify',
    'identify identified details',
    'identify lookedUp lookup-result',
    'identify lockedOut locked-out',
    'identify end welcome',
    'lookup-result pinSent lookup-sent',
    'lookup-result retryIdentify identify',
    'lookup-result end welcome',
    'lookup-sent retryIdentify identify',
    'lookup-sent end welcome',
    'details confirmDetails opening',
    'details end welcome',
    'opening opened place-key',
    'opening openFailed failed',
    'place-key finished done',
    'place-key abandonOpen close-door',
    'place-key end welcome',
    'close-door end welcome',
    'done end welcome',
    'locked-out retryIdentify identify',
    'locked-out end welcome',
    'failed end welcome',
  ],
  pickup: [
    'welcome start identify',
    'identify identified opening',
    'identify lookedUp lookup-result',
    'identify lockedOut locked-out',
    'identify end welcome',
    'identify paymentNeeded payment',
    'lookup-result pinSent lookup-sent',
    'lookup-result retryIdentify identify',
    'lookup-result end welcome',
    'lookup-sent retryIdentify identify',
    'lookup-sent end welcome',
    'payment paid opening',
    'payment end welcome',
    'opening opened take-key',
    'opening openFailed failed',
    'take-key finished done',
    'take-key receiptOffered receipt',
    'take-key abandonOpen close-door',
    'take-key end welcome',
    // issue 12: a paid pickup offers a receipt, then "thank you"
    'receipt finished done',
    'receipt end welcome',
    'close-door end welcome',
    'done end welcome',
    'locked-out retryIdentify identify',
    'locked-out end welcome',
    'failed end welcome',
  ],
};

for (const journey of ['dropoff', 'pickup', null] as const) {
  t.test(`${journey ?? 'undecided'}: every (step, event) pair is either in the table or refused`, async (t) => {
    const expected = new Set(EXPECTED[journey ?? 'undecided']);
    const seen = new Set<string>();
    for (const step of STEPS) {
      for (const event of EVENTS) {
        const to = nextStep(journey, step, event);
        const key = `${step} ${event} ${to}`;
        if (to === null) {
          t.notOk([...expected].some((e) => e.startsWith(`${step} ${event} `)), `${step} --${event}--> refused`);
        } else {
          t.ok(expected.has(key), `${step} --${event}--> ${to} is expected`);
          seen.add(key);
        }
      }
    }
    t.same([...seen].sort(), [...expected].sort(), 'every expected transition is allowed');
    t.same(allowedTransitions(journey).map((x) => x.join(' ')).sort(), [...expected].sort());
  });
}

t.test('no journey can reach opening without identification', async (t) => {
  for (const journey of ['dropoff', 'pickup'] as const) {
    t.equal(nextStep(journey, 'identify', 'confirmDetails'), null);
    t.equal(nextStep(journey, 'welcome', 'identified'), null);
    t.equal(nextStep(journey, 'lookup-result', 'identified'), null);
    t.equal(nextStep(journey, 'opening', 'end'), null, 'cannot walk away while a lock is working');
  }
  t.equal(nextStep('pickup', 'payment', 'identified'), null, 'payment cannot be skipped');
  t.equal(nextStep(null, 'welcome', 'start'), 'identify');
  t.equal(nextStep(null, 'identify', 'identified'), null, 'an undecided session is never identified: the PIN decides the journey first');
});

t.test('the journey is chosen or switched only while identifying', async (t) => {
  t.same(STEPS.filter(mayChooseJourney), ['identify']);
});

t.test('progress: step n of m', async (t) => {
  t.same(progressOf('dropoff', 'identify'), { index: 1, count: 4 });
  t.same(progressOf('dropoff', 'lookup-sent'), { index: 1, count: 4 });
  t.same(progressOf('dropoff', 'details'), { index: 2, count: 4 });
  t.same(progressOf('dropoff', 'opening'), { index: 3, count: 4 });
  t.same(progressOf('dropoff', 'done'), { index: 4, count: 4 });
  t.same(progressOf('pickup', 'payment'), { index: 2, count: 4 });
  t.same(progressOf('pickup', 'take-key'), { index: 3, count: 4 });
  t.equal(progressOf(null, 'welcome'), null);
  t.equal(progressOf('dropoff', 'failed'), null);
});
