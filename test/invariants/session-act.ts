/**
 * One customer action on the real core, as the screen's server would send it, for the tests
 * that drive Journeys directly (the wrong-key property, the day in a minute): a refusal the
 * core answers with a domain error (PIN_WRONG, NOT_READY...) is a result, not a failure of
 * the test; anything else is thrown. Returns once the core has settled what the action started.
 */
import type { Journeys } from '../../kiosk/core/journeys.js';
import type { SessionAction, SessionView } from '../../kiosk/core/session-view.js';
import { isDomainError } from '../../kiosk/errors.js';

export interface ActResult {
  view: SessionView;
  /** The domain error's code when the core refused the action, else null. */
  error: string | null;
}

export async function act(journeys: Journeys, action: SessionAction): Promise<ActResult> {
  let error: string | null = null;
  try {
    await journeys.dispatch(action);
  } catch (e) {
    if (!isDomainError(e)) throw e;
    error = e.code;
  }
  await journeys.settled();
  return { view: journeys.view(), error };
}
