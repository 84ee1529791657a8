/**
 * One customer's session at the bottom screen: what the journey service keeps between
 * touches. Plain data; kiosk/core/journeys.ts owns it and moves it through the state machine.
 */
import { randomUUID } from 'node:crypto';
import type { IdentifyMode, JourneyKind, SessionStep } from './session-view.js';

export interface Session {
  id: string;
  /** null until the PIN decides ("I have a PIN"). */
  journey: JourneyKind | null;
  step: SessionStep;
  identifyMode: IdentifyMode;
  /** Reservations a plate/phone lookup matched: wrong PINs then count against them. */
  lookupMatches: string[];
  destinations: string[];
  reservationId: string | null;
  compartment: number | null;
  /** The door of `compartment` has been seen open in this session. */
  doorOpened: boolean;
  addedPhone: string | null;
  remark: string | null;
  retryAfterS: number | null;
  /** A reservation of the other journey whose PIN the customer typed: offered as a switch, not counted as wrong. */
  switchOffer: string | null;
}

export function newSession(journey: JourneyKind | null): Session {
  return {
    id: randomUUID(),
    journey,
    step: 'welcome',
    identifyMode: 'pin',
    lookupMatches: [],
    destinations: [],
    reservationId: null,
    compartment: null,
    doorOpened: false,
    addedPhone: null,
    remark: null,
    retryAfterS: null,
    switchOffer: null,
  };
}
