/**
 * What a driver knows of each board's health: when it last answered, and whether an exchange
 * with it has failed since. Every driver records its exchanges here and checks the pulse
 * guard against it right before an output would go on (see PulseGuard in lock-board.ts).
 *
 * "Answered" means the board proved it is there: a valid status reply, an acknowledged I2C
 * transfer, a GPIO line read or written. An unlock sent to a bus board is not an answer (it
 * gets no reply); a timeout, a corrupt reply or a failed transfer is a failure.
 */
import type { Clock } from '../kiosk/lib/clock.js';
import { HardwareError } from './errors.js';
import type { PulseGuard } from './lock-board.js';

interface Health {
  /** clock.now() of the last answer; null: never answered. */
  answeredAt: number | null;
  /** Why the last exchange failed; null: it did not. */
  failure: string | null;
}

export class BoardAnswers {
  readonly #clock: Clock;
  readonly #boards = new Map<number, Health>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  answered(board: number): void {
    this.#boards.set(board, { answeredAt: this.#clock.now(), failure: null });
  }

  failed(board: number, reason: string): void {
    const health = this.#boards.get(board);
    this.#boards.set(board, { answeredAt: health?.answeredAt ?? null, failure: reason });
  }

  /** Every board known so far failed (the port or bus itself failed). */
  failedAll(boards: Iterable<number>, reason: string): void {
    for (const board of boards) this.failed(board, reason);
  }

  /**
   * Throws unless a pulse to `board` may go out now: PULSE_CANCELLED if the guard's signal is
   * aborted, BOARD_OFFLINE if the board's last exchange failed, it never answered, or its
   * last answer is older than `guard.answeredWithinMs`. `describe` names the command.
   */
  checkGuard(board: number, guard: PulseGuard, describe: string): void {
    if (guard.signal?.aborted) throw new HardwareError('PULSE_CANCELLED', `${describe}: cancelled before it was sent`);
    const health = this.#boards.get(board);
    if (!health || health.answeredAt === null) {
      throw new HardwareError('BOARD_OFFLINE', `${describe}: refused, board ${board} has not answered yet`);
    }
    if (health.failure !== null) {
      throw new HardwareError('BOARD_OFFLINE', `${describe}: refused, the last exchange with board ${board} failed (${health.failure})`);
    }
    const age = this.#clock.now() - health.answeredAt;
    if (age > guard.answeredWithinMs) {
      throw new HardwareError('BOARD_OFFLINE', `${describe}: refused, board ${board} last answered ${Math.round(age)} ms ago (limit ${guard.answeredWithinMs} ms)`);
    }
  }
}
