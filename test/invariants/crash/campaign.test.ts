/**
 * How long a crash campaign's lane goes on (campaign.ts, laneGoesOn): its quota of kills, then
 * on while some place the campaign is for has no kill yet, up to its most; never after a
 * violation. The campaign itself runs the real locker (test/integration/crash-anywhere.test.ts).
 */
import t from 'tap';
import { emptyReport, landedEverywhere, laneGoesOn, type CampaignReport } from './campaign.js';

/** A campaign that has landed everywhere, changed by `over`. */
function report(over: Partial<CampaignReport> = {}): CampaignReport {
  return {
    ...emptyReport(1),
    startupKills: 3,
    landings: { 'intent-without-outcome': 4, 'door-open-in-flight': 2, 'no-actuation': 10 },
    duringPulse: 1,
    journeys: { finished: 5 },
    ...over,
  };
}

t.test('landed everywhere: each place the campaign is for, at least once', async (t) => {
  t.ok(landedEverywhere(report()));
  t.notOk(landedEverywhere(report({ duringPulse: 0 })), 'no kill during a pulse');
  t.notOk(landedEverywhere(report({ startupKills: 0 })), 'no kill during start-up');
  t.notOk(landedEverywhere(report({ landings: { 'intent-without-outcome': 4, 'no-actuation': 10 } })), 'no kill with a door open mid-journey');
  t.notOk(landedEverywhere(report({ landings: { 'door-open-in-flight': 2 } })), 'no kill between an intent and its outcome');
  t.notOk(landedEverywhere(report({ journeys: { abandoned: 3 } })), 'no journey finished');
});

t.test('a lane: its quota, then on until landed everywhere, never past its most', async (t) => {
  const lane = (kills: number) => ({ kills, quota: 25, most: 100 });
  t.ok(laneGoesOn(lane(24), report()), 'quota not done');
  t.notOk(laneGoesOn(lane(25), report()), 'quota done and landed everywhere: stops');
  t.ok(laneGoesOn(lane(25), report({ duringPulse: 0 })), 'quota done, no kill during a pulse yet: goes on');
  t.ok(laneGoesOn(lane(99), report({ duringPulse: 0 })), 'still short of its most');
  t.notOk(laneGoesOn(lane(100), report({ duringPulse: 0 })), 'at its most: stops, and the test says which place no kill reached');
  t.notOk(laneGoesOn(lane(3), report({ violations: ['x'] })), 'a violation stops it at once');
  t.notOk(laneGoesOn({ kills: 25, quota: 25, most: 25 }, report({ duringPulse: 0 })), 'no more than the quota when most is the quota (the soak)');
});
